-- views/analytics.daily_summary.sql
-- A plain materialized view: one row per UTC day, small enough to refresh whole.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.daily_summary AS
SELECT date_trunc('day', a.bucket, 'UTC') AS day, a.event_type, sum(a.events)::bigint AS events
FROM etl.agg_events_1h AS a
GROUP BY 1, a.event_type
WITH DATA;

-- REFRESH ... CONCURRENTLY needs a unique index.
CREATE UNIQUE INDEX IF NOT EXISTS daily_summary_day_event_type_idx ON analytics.daily_summary (day, event_type);
