-- views/etl.aggregate_inputs.sql
-- What the aggregates read of each event, named once. A plain view: the
-- planner inlines it, so a filter on event_time still uses the index, and the
-- payload is read only for the rows that pass. The worker computes the same
-- columns for the batches it aggregates itself (Sources/PipelineCore/AggregateInputs.swift). The contract
-- guarantees currency, service and level on their types; '(none)' keeps a
-- refresh from failing (and blocking every later one) should an event
-- without them reach staging anyway. A session is (user_id, session_id);
-- steps are the funnel bits (1 viewed, 2 clicked, 4 added to cart: a click
-- on 'add_to_cart', 8 paid), as in 0015. Country is optional on every event
-- type (page views per country, and what a declared aggregate may group by).
CREATE OR REPLACE VIEW etl.aggregate_inputs AS
SELECT e.batch_id,
       e.event_time,
       date_trunc('minute', e.event_time, 'UTC') AS bucket,
       e.event_type,
       e.user_id,
       e.payload ->> 'session_id' AS session_id,
       (CASE WHEN e.event_type = 'page_view' THEN 1
             WHEN e.event_type = 'click' AND (e.payload ->> 'element' = 'add_to_cart') IS TRUE THEN 2 | 4
             WHEN e.event_type = 'click' THEN 2
             WHEN e.event_type = 'transaction' THEN 8
             ELSE 0 END)::smallint AS steps,
       CASE WHEN e.event_type = 'page_view' THEN coalesce(e.payload ->> 'page', '(none)') END AS page,
       coalesce(e.payload ->> 'country', '(none)') AS country,
       CASE WHEN e.event_type = 'transaction' THEN coalesce(e.payload ->> 'currency', '(none)') END AS currency,
       CASE WHEN e.event_type = 'transaction' THEN (e.payload ->> 'amount')::numeric END AS amount,
       CASE WHEN e.event_type = 'log' THEN coalesce(e.payload ->> 'service', '(none)') END AS service,
       CASE WHEN e.event_type = 'log' THEN coalesce(e.payload ->> 'level', '(none)') END AS level
FROM staging.events AS e;

COMMENT ON VIEW etl.aggregate_inputs IS 'The fields of staging.events the aggregates read (etl.refresh_aggregates).';
