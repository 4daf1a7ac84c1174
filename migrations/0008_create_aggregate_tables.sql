-- 0008_create_aggregate_tables.sql
-- State for incremental aggregates: the settings (allowed lateness), the
-- per-topic watermark, the dirty buckets and users each batch touched, the
-- late-event counts, and the aggregate tables themselves (etl-owned; people
-- and Grafana read them through analytics.* views, 0010).
-- Dirty tables are insert-only (no unique key): two workers committing
-- batches for the same minute never wait on each other's row locks.

CREATE TABLE IF NOT EXISTS etl.settings (
    setting_name  text        NOT NULL,
    setting_value text        NOT NULL,
    description   text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settings_pkey PRIMARY KEY (setting_name)
);

INSERT INTO etl.settings (setting_name, setting_value, description)
VALUES ('allowed_lateness', '5 minutes',
        'Watermark = max event time loaded per topic minus this interval; a 1-minute window ending at or below it is final.')
ON CONFLICT ON CONSTRAINT settings_pkey DO NOTHING;

COMMENT ON TABLE etl.settings IS 'Pipeline settings read by SQL functions (allowed_lateness).';

CREATE TABLE IF NOT EXISTS etl.watermarks (
    topic          text        NOT NULL,
    max_event_time timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT watermarks_pkey PRIMARY KEY (topic)
);

COMMENT ON TABLE etl.watermarks IS 'Max event time loaded per topic, advanced by the staging.events trigger in the batch transaction.';

-- One row per (batch, minute) the batch touched; cleared by etl.refresh_aggregates.
CREATE TABLE IF NOT EXISTS etl.dirty_minutes (
    bucket    timestamptz NOT NULL,
    batch_id  bigint,      -- NULL when marked by etl.rebuild_aggregates
    marked_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS dirty_minutes_bucket_idx ON etl.dirty_minutes (bucket);

COMMENT ON TABLE etl.dirty_minutes IS 'Minute buckets touched since the last refresh (insert-only, duplicates allowed).';

-- One row per (batch, user): the event-time range whose session windows must be recomputed.
CREATE TABLE IF NOT EXISTS etl.dirty_users (
    user_id    text        NOT NULL,
    first_time timestamptz NOT NULL,
    last_time  timestamptz NOT NULL,
    batch_id   bigint,
    CONSTRAINT dirty_users_range_check CHECK (first_time <= last_time)
);

COMMENT ON TABLE etl.dirty_users IS 'Users whose session windows a batch touched, with the event-time range (insert-only).';

-- Events that arrived for a window already final (bucket end <= watermark at load time).
CREATE TABLE IF NOT EXISTS etl.late_events (
    topic     text        NOT NULL,
    bucket    timestamptz NOT NULL,
    batch_id  bigint      NOT NULL,
    events    bigint      NOT NULL,
    watermark timestamptz NOT NULL,  -- the watermark the batch was judged against
    CONSTRAINT late_events_events_check CHECK (events > 0)
);

CREATE INDEX IF NOT EXISTS late_events_bucket_idx ON etl.late_events (bucket);

COMMENT ON TABLE etl.late_events IS 'Per batch and minute, events loaded after their window was final; still counted in every aggregate.';

-- Aggregates, recomputed per bucket from staging by etl.refresh_aggregates.
CREATE TABLE IF NOT EXISTS etl.agg_events_1m (
    bucket     timestamptz NOT NULL,
    event_type text        NOT NULL,
    events     bigint      NOT NULL,
    users      bigint      NOT NULL,
    CONSTRAINT agg_events_1m_pkey PRIMARY KEY (bucket, event_type)
);

CREATE TABLE IF NOT EXISTS etl.agg_events_5m (
    bucket     timestamptz NOT NULL,
    event_type text        NOT NULL,
    events     bigint      NOT NULL,
    users      bigint      NOT NULL,
    CONSTRAINT agg_events_5m_pkey PRIMARY KEY (bucket, event_type)
);

CREATE TABLE IF NOT EXISTS etl.agg_events_1h (
    bucket     timestamptz NOT NULL,
    event_type text        NOT NULL,
    events     bigint      NOT NULL,
    users      bigint      NOT NULL,
    CONSTRAINT agg_events_1h_pkey PRIMARY KEY (bucket, event_type)
);

CREATE TABLE IF NOT EXISTS etl.agg_revenue_1m (
    bucket       timestamptz NOT NULL,
    currency     text        NOT NULL,
    transactions bigint      NOT NULL,
    revenue      numeric     NOT NULL,
    CONSTRAINT agg_revenue_1m_pkey PRIMARY KEY (bucket, currency)
);

-- page and country are optional in the contract: a missing one is '(none)'.
CREATE TABLE IF NOT EXISTS etl.agg_page_views_1m (
    bucket  timestamptz NOT NULL,
    page    text        NOT NULL,
    country text        NOT NULL,
    views   bigint      NOT NULL,
    users   bigint      NOT NULL,
    CONSTRAINT agg_page_views_1m_pkey PRIMARY KEY (bucket, page, country)
);

CREATE TABLE IF NOT EXISTS etl.agg_logs_1m (
    bucket  timestamptz NOT NULL,
    service text        NOT NULL,
    level   text        NOT NULL,
    events  bigint      NOT NULL,
    CONSTRAINT agg_logs_1m_pkey PRIMARY KEY (bucket, service, level)
);

-- Sessions are (user_id, session_id) pairs; events without session_id are not in the funnel.
CREATE TABLE IF NOT EXISTS etl.agg_funnel_1h (
    bucket                 timestamptz NOT NULL,
    sessions               bigint      NOT NULL,
    sessions_viewed        bigint      NOT NULL,
    sessions_clicked       bigint      NOT NULL,
    sessions_added_to_cart bigint      NOT NULL,
    sessions_paid          bigint      NOT NULL,
    CONSTRAINT agg_funnel_1h_pkey PRIMARY KEY (bucket)
);

-- Session windows: a new session after 30 minutes without events (Spark's
-- session_window); session_end = last event + 30 minutes, as in Spark.
CREATE TABLE IF NOT EXISTS etl.agg_user_sessions (
    user_id       text        NOT NULL,
    session_start timestamptz NOT NULL,
    session_end   timestamptz NOT NULL,
    last_event_at timestamptz NOT NULL,
    events        bigint      NOT NULL,
    pages         bigint      NOT NULL,
    revenue       numeric     NOT NULL,
    CONSTRAINT agg_user_sessions_pkey PRIMARY KEY (user_id, session_start)
);

CREATE INDEX IF NOT EXISTS agg_user_sessions_start_idx ON etl.agg_user_sessions (session_start);
-- A refresh looks for a dirty user's sessions that end at or after its new
-- events: a range on this index, whatever the user's history.
CREATE INDEX IF NOT EXISTS agg_user_sessions_user_id_end_idx ON etl.agg_user_sessions (user_id, session_end);
