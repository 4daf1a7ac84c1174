-- 0020_declare_aggregates.sql
-- Every rollup is one row of etl.aggregates (issue 13): its bucket width, the events it counts,
-- its dimensions and its measures. The refresh merges each batch into every declared rollup
-- with one statement it builds from the row (etl.aggregate_merge_statement); `pipeline migrate`
-- creates the table of a new declaration, and its view when it names one, and requests a
-- rebuild of the staged history for it (etl.create_declared_aggregates). To add a rollup, a
-- migration inserts one row (README, "Declaring an aggregate").
--
-- The tables of the rollups declared here already exist (0018, 0019); their views stay in
-- views/, written by hand.

CREATE TABLE IF NOT EXISTS etl.aggregates (
    name         text        NOT NULL,
    bucket_width interval    NOT NULL,
    event_types  text[],
    only_rows    text,
    dimensions   text[]      NOT NULL DEFAULT '{}',
    measures     jsonb       NOT NULL,
    view_name    text,
    declared_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT aggregates_pkey PRIMARY KEY (name),
    CONSTRAINT aggregates_name_check CHECK (name ~ '^[a-z][a-z0-9_]{0,40}$'),
    CONSTRAINT aggregates_view_name_check CHECK (view_name ~ '^[a-z][a-z0-9_]{0,50}$'),
    -- Whole minutes that divide an hour: a rebuild recomputes whole hours, and every bucket
    -- lies within one.
    CONSTRAINT aggregates_bucket_width_check CHECK (
        bucket_width >= interval '1 minute' AND bucket_width <= interval '1 hour'
        AND extract(epoch FROM bucket_width)::integer % 60 = 0
        AND 3600 % extract(epoch FROM bucket_width)::integer = 0)
);

COMMENT ON TABLE etl.aggregates IS
    'One row per rollup, table etl.agg_<name>: what the refresh merges each batch into (README, "Declaring an aggregate").';
COMMENT ON COLUMN etl.aggregates.event_types IS 'The event types it counts; NULL: every type.';
COMMENT ON COLUMN etl.aggregates.only_rows IS
    'NULL: every row of those types; in_session: only events with a session_id (also: viewed, clicked, added_to_cart, paid).';
COMMENT ON COLUMN etl.aggregates.dimensions IS
    'Besides the bucket, columns of etl.aggregate_inputs: event_type, page, country, currency, service, level.';
COMMENT ON COLUMN etl.aggregates.measures IS
    'A JSON array of {"column": name, "kind": "count" | "sum" | "distinct", "of": amount (sum) or user_id | session (distinct), "when": a row flag as in only_rows}.';
COMMENT ON COLUMN etl.aggregates.view_name IS
    'When set, pipeline migrate keeps a view analytics.<view_name> over the table: distinct counts read with hll_cardinality, and is_final.';

INSERT INTO etl.aggregates (name, bucket_width, event_types, only_rows, dimensions, measures) VALUES
    ('events_1m', interval '1 minute', NULL, NULL, '{event_type}',
     '[{"column": "events", "kind": "count"}, {"column": "users_sketch", "kind": "distinct", "of": "user_id"}]'),
    ('events_5m', interval '5 minutes', NULL, NULL, '{event_type}',
     '[{"column": "events", "kind": "count"}, {"column": "users_sketch", "kind": "distinct", "of": "user_id"}]'),
    ('events_1h', interval '1 hour', NULL, NULL, '{event_type}',
     '[{"column": "events", "kind": "count"}, {"column": "users_sketch", "kind": "distinct", "of": "user_id"}]'),
    ('revenue_1m', interval '1 minute', '{transaction}', NULL, '{currency}',
     '[{"column": "transactions", "kind": "count"}, {"column": "revenue", "kind": "sum", "of": "amount"}]'),
    ('page_views_1m', interval '1 minute', '{page_view}', NULL, '{page,country}',
     '[{"column": "views", "kind": "count"}, {"column": "users_sketch", "kind": "distinct", "of": "user_id"}]'),
    ('logs_1m', interval '1 minute', '{log}', NULL, '{service,level}',
     '[{"column": "events", "kind": "count"}]'),
    ('funnel_1h', interval '1 hour', NULL, 'in_session', '{}',
     '[{"column": "sessions_sketch", "kind": "distinct", "of": "session"},
       {"column": "viewed_sketch", "kind": "distinct", "of": "session", "when": "viewed"},
       {"column": "clicked_sketch", "kind": "distinct", "of": "session", "when": "clicked"},
       {"column": "added_to_cart_sketch", "kind": "distinct", "of": "session", "when": "added_to_cart"},
       {"column": "paid_sketch", "kind": "distinct", "of": "session", "when": "paid"}]')
ON CONFLICT ON CONSTRAINT aggregates_pkey DO NOTHING;

-- The merge is built from the declarations now.
DROP FUNCTION IF EXISTS etl.add_refresh_rows_to_rollup(regclass, interval);
