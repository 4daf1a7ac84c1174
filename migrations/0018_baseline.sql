-- 0018_baseline.sql
-- The schema that migrations 0001 to 0018 built, in one file: tables,
-- indexes, settings, roles and grants. Functions, views and triggers are not
-- here: each has one live definition in functions/, views/ or triggers/,
-- applied after the versioned migrations (migrations/README.md).
--
-- A fresh database applies this file as version 18. A database that recorded
-- exactly the files below (same names, same checksums) already has this
-- schema: the migrator records this baseline in their place and goes on
-- with 0019. A database part-way through them (below 0018) must first be
-- migrated to 0018 by a release that still has those files.
--
-- Replaces:
--   0001 create_schemas dac6eb5df797ab788dc42dbb0b4926b4c0826cec57178edba75ff249ed3fe921
--   0002 create_etl_offsets 08201879b26f5cc6ca70b7b07f17234b5436a2e258ee485bb489dba375d4a43c
--   0003 create_etl_batches bbaa11a21f20042bd4af2ade5cca02bfdac43c3306aa261b936a5245aa9eb494
--   0004 create_staging_events dd007977d282840b2bd469c5afcccb0e4d0421980d9f4a3abce6611de749ca4f
--   0005 create_etl_rejected_events f72cafc9e88a67571a8fe0577544a1187a17ebafbe5bc24395ad8fbd912e384a
--   0006 create_etl_gaps 1e928ebc64149ff1b4caf41debfc3c82fa3c0ffeaa0717bd38339b301f2dd8e6
--   0007 create_event_indexes e905264f130056d7a013895054a7cda274a0d7c0dd99a663052cf0d7ecd602fb
--   0008 create_aggregate_tables 9bd9865188225adb834c8af7e33cf22e33d399875d0880458eeec86da31d8989
--   0009 create_refresh_functions 052d648aa44e620a832a512d4a424daa440f7c1d65e5b6cb20571048c1ceb184
--   0010 create_analytics_views c705a7de322e35fe09e0560ec4b5936b5c5c4dc57060ba3feccf06337d682abb
--   0011 create_pipeline_health_views 9482e62c2308140db11d3dd66fc1034e4e6cd7dc4577ec58279e8f5d19ae8c37
--   0012 create_partition_maintenance 5464f41460c716991861f0e8a2c0f6cc31cf23a6367cf627d31402ad0b145cc5
--   0013 create_roles 02fef8e0dc43f8ff2b8cadb7578ae28db16684100f145547faeb871f816c7a8c
--   0014 partition_user_sessions ada5714fb9fa98722a4d87342e4af20e49e3b5a83d797c32c7e07b3bc7ec21a7
--   0015 create_incremental_rollups e6d4e90ca91a12b2a773fc11ae48c844d9a8409b3b49767bef2384a4639167a4
--   0016 extend_user_sessions dddf1770842e01fff8fae719e2f54e74d887e7f42811aaa8c8542fa694cdff5a
--   0017 create_event_dedup 81ffff4f8560b152c5e72c11741024993188450622e127a3326a664dd8d1d8a6
--   0018 refresh_from_batch_rows a3a54255b2bb83ec75adf1b198d16c80f460979152dcae3b935cd83c3332b205

-- ==== Schemas (was 0001_create_schemas.sql) ====

CREATE SCHEMA IF NOT EXISTS etl;

CREATE SCHEMA IF NOT EXISTS staging;

CREATE SCHEMA IF NOT EXISTS analytics;

COMMENT ON SCHEMA etl IS 'Pipeline control data: offsets, batch ledger, rejected events, gaps.';

COMMENT ON SCHEMA staging IS 'Raw validated events, loaded by COPY exactly once.';

COMMENT ON SCHEMA analytics IS 'Views and aggregates for people and Grafana; the only schema Grafana reads.';

-- ==== Roles and privileges (was 0013_create_roles.sql) ====
-- pipeline_writer: what the worker and cron need (load, refresh, maintain).
-- grafana_reader: USAGE and SELECT on analytics only, nothing on staging or etl
-- (analytics views run with their owner's rights, so they still work for it).
-- Both LOGIN roles are created only if missing and WITHOUT passwords: set them
-- at deploy time from the environment (README, "Roles": psql's \getenv, then :'pw').
-- Roles are cluster-wide: creating them needs CREATEROLE (a migrating user
-- without it should create them beforehand; the grants below still apply).
-- Default privileges come first, so every table below gets its grants as it
-- is created; the GRANTs at the end cover what the migrator made before this
-- file (etl.schema_migrations). Functions carry their own GRANT EXECUTE.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pipeline_writer') THEN
        CREATE ROLE pipeline_writer LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'grafana_reader') THEN
        CREATE ROLE grafana_reader LOGIN;
    END IF;
END;
$$;

-- Tables and views added by later migrations (run by the same migrating role).
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO grafana_reader, pipeline_writer;

ALTER DEFAULT PRIVILEGES IN SCHEMA etl GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO pipeline_writer;

ALTER DEFAULT PRIVILEGES IN SCHEMA etl GRANT USAGE, SELECT ON SEQUENCES TO pipeline_writer;

ALTER DEFAULT PRIVILEGES IN SCHEMA staging GRANT SELECT, INSERT ON TABLES TO pipeline_writer;

-- ==== Offsets (was 0002_create_etl_offsets.sql) ====

CREATE TABLE IF NOT EXISTS etl.offsets (
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    next_offset bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text        NOT NULL,
    CONSTRAINT offsets_pkey PRIMARY KEY (topic, partition),
    CONSTRAINT offsets_partition_check CHECK (partition >= 0),
    CONSTRAINT offsets_next_offset_check CHECK (next_offset >= 0)
);

COMMENT ON TABLE etl.offsets IS 'Next Kafka offset to load per partition; advanced only inside a batch transaction.';

-- ==== The batch ledger (was 0003_create_etl_batches.sql) ====

CREATE SEQUENCE IF NOT EXISTS etl.batch_id_seq AS bigint;

CREATE TABLE IF NOT EXISTS etl.batches (
    batch_id            bigint      NOT NULL,
    worker_id           text        NOT NULL,
    topic               text        NOT NULL,
    started_at          timestamptz NOT NULL,
    committed_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    events              integer     NOT NULL,
    rejected            integer     NOT NULL,
    bytes               bigint      NOT NULL,
    -- [{"partition": 0, "first_offset": 10, "last_offset": 99, "messages": 90}, ...]
    partitions          jsonb       NOT NULL,
    min_kafka_timestamp timestamptz,
    max_kafka_timestamp timestamptz,
    -- Ingest latency: commit time minus Kafka timestamp, in milliseconds.
    latency_p50_ms      double precision,
    latency_p95_ms      double precision,
    latency_max_ms      double precision,
    copy_ms             double precision NOT NULL,
    duplicates          integer     NOT NULL DEFAULT 0,
    conflicts           integer     NOT NULL DEFAULT 0,
    CONSTRAINT batches_pkey PRIMARY KEY (batch_id),
    CONSTRAINT batches_counts_check CHECK (events >= 0 AND rejected >= 0 AND bytes >= 0)
);

CREATE INDEX IF NOT EXISTS batches_committed_at_idx ON etl.batches (committed_at);

COMMENT ON TABLE etl.batches IS 'One row per committed batch: counts, offset ranges, ingest latency.';

-- ==== Staging (was 0004_create_staging_events.sql) ====

CREATE TABLE IF NOT EXISTS staging.events (
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    event_time      timestamptz NOT NULL,
    user_id         text        NOT NULL,
    payload         jsonb       NOT NULL,
    kafka_topic     text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    kafka_timestamp timestamptz,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    batch_id        bigint      NOT NULL
) PARTITION BY RANGE (event_time);

COMMENT ON TABLE staging.events IS 'Accepted events, raw payload as jsonb, partitioned by UTC day of event_time.';

-- ==== Rejected events (was 0005_create_etl_rejected_events.sql) ====

CREATE TABLE IF NOT EXISTS etl.rejected_events (
    kafka_topic     text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    kafka_timestamp timestamptz,
    kafka_key       bytea,
    raw             bytea,
    reason          text        NOT NULL,
    detail          text        NOT NULL,
    batch_id        bigint      NOT NULL,
    rejected_at     timestamptz NOT NULL DEFAULT now(),
    -- A Kafka record is loaded once: a second copy is a bug, and fails loudly.
    CONSTRAINT rejected_events_kafka_position_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE INDEX IF NOT EXISTS rejected_events_rejected_at_idx ON etl.rejected_events (rejected_at);

COMMENT ON TABLE etl.rejected_events IS 'Messages that failed the event contract, raw bytes kept, with reason and detail.';

-- ==== Gaps (was 0006_create_etl_gaps.sql) ====

CREATE TABLE IF NOT EXISTS etl.gaps (
    gap_id       bigint      GENERATED ALWAYS AS IDENTITY,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    first_offset bigint      NOT NULL,  -- first offset lost
    last_offset  bigint      NOT NULL,  -- last offset lost (inclusive)
    detected_at  timestamptz NOT NULL DEFAULT now(),
    detected_by  text        NOT NULL,
    CONSTRAINT gaps_pkey PRIMARY KEY (gap_id),
    CONSTRAINT gaps_range_check CHECK (first_offset <= last_offset)
);

COMMENT ON TABLE etl.gaps IS 'Offset ranges deleted by Kafka retention before they were loaded.';

-- ==== Settings, watermarks, marks and the aggregate tables (was 0008_create_aggregate_tables.sql) ====

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

-- ==== Session windows (was 0014_partition_user_sessions.sql) ====

CREATE TABLE IF NOT EXISTS etl.agg_user_sessions (
    user_id       text        NOT NULL,
    session_start timestamptz NOT NULL,
    session_end   timestamptz NOT NULL,
    last_event_at timestamptz NOT NULL,
    events        bigint      NOT NULL,
    pages         bigint      NOT NULL,
    revenue       numeric     NOT NULL,
    CONSTRAINT agg_user_sessions_pkey PRIMARY KEY (user_id, session_end)
) PARTITION BY RANGE (session_end);

CREATE INDEX IF NOT EXISTS agg_user_sessions_start_idx ON etl.agg_user_sessions (session_start);

COMMENT ON TABLE etl.agg_user_sessions IS
    'Session windows per user (30-minute gap), partitioned by UTC day of session_end (etl.ensure_session_partitions).';

-- ==== Incremental rollups: memberships and rebuild requests (was 0015_create_incremental_rollups.sql) ====

CREATE TABLE IF NOT EXISTS etl.agg_users_5m (
    bucket     timestamptz NOT NULL,
    event_type text        NOT NULL,
    user_id    text        NOT NULL,
    CONSTRAINT agg_users_5m_pkey PRIMARY KEY (bucket, event_type, user_id)
);

COMMENT ON TABLE etl.agg_users_5m IS
    'Who was counted in agg_events_5m.users: one row per (5-minute bucket, event_type, user_id).';

CREATE TABLE IF NOT EXISTS etl.agg_users_1h (
    bucket     timestamptz NOT NULL,
    event_type text        NOT NULL,
    user_id    text        NOT NULL,
    CONSTRAINT agg_users_1h_pkey PRIMARY KEY (bucket, event_type, user_id)
);

COMMENT ON TABLE etl.agg_users_1h IS
    'Who was counted in agg_events_1h.users: one row per (hour, event_type, user_id).';

-- steps: bits of the funnel steps reached, 1 viewed, 2 clicked, 4 added to
-- cart, 8 paid. added: what the refresh that last wrote the row added (the
-- same bits, and 16 when it inserted the session): RETURNING reports it, so
-- the counts grow by what is new without reading the hour's sessions.
CREATE TABLE IF NOT EXISTS etl.agg_funnel_sessions_1h (
    bucket     timestamptz NOT NULL,
    user_id    text        NOT NULL,
    session_id text        NOT NULL,
    steps      smallint    NOT NULL,
    added      smallint    NOT NULL,
    CONSTRAINT agg_funnel_sessions_1h_pkey PRIMARY KEY (bucket, user_id, session_id)
);

COMMENT ON TABLE etl.agg_funnel_sessions_1h IS
    'Funnel steps (bits: 1 viewed, 2 clicked, 4 added to cart, 8 paid) each (user_id, session_id) reached per hour.';

-- Pending rebuilds, worked through newest first: [range_from, next_to) is still to do.
CREATE TABLE IF NOT EXISTS etl.rebuild_requests (
    request_id   bigint      GENERATED ALWAYS AS IDENTITY,
    range_from   timestamptz NOT NULL,
    range_to     timestamptz NOT NULL,
    next_to      timestamptz NOT NULL,
    reason       text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rebuild_requests_pkey PRIMARY KEY (request_id),
    CONSTRAINT rebuild_requests_range_check CHECK (range_from < range_to),
    CONSTRAINT rebuild_requests_next_to_check CHECK (next_to > range_from AND next_to <= range_to)
);

COMMENT ON TABLE etl.rebuild_requests IS
    'Time ranges whose aggregates a refresh recomputes from staging, one rebuild_chunk per refresh, newest first.';

INSERT INTO etl.settings (setting_name, setting_value, description)
VALUES ('rebuild_chunk', '1 hour',
        'How much of a requested rebuild (etl.rebuild_requests) one refresh recomputes; whole hours.')
ON CONFLICT ON CONSTRAINT settings_pkey DO NOTHING;

-- ==== Deduplication (was 0017_create_event_dedup.sql) ====

INSERT INTO etl.settings (setting_name, setting_value, description)
VALUES ('dedup_window', '24 hours',
        'Event ids are remembered for duplicate detection while event_time >= max event time - allowed_lateness - this interval (etl.prune_event_ids).')
ON CONFLICT ON CONSTRAINT settings_pkey DO NOTHING;

-- One row per event_id within the horizon: the record that claimed it.
CREATE TABLE IF NOT EXISTS etl.event_ids (
    event_id        uuid        NOT NULL,
    event_time      timestamptz NOT NULL,
    kafka_topic     text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    CONSTRAINT event_ids_pkey PRIMARY KEY (event_id)
);

-- Pruning reads by event_time. Rows arrive nearly in event-time order, so a
-- BRIN index (a summary per block range, almost free to maintain on insert)
-- finds the old ones; a B-tree here would cost every event a second index insert.
CREATE INDEX IF NOT EXISTS event_ids_event_time_idx ON etl.event_ids USING brin (event_time);

COMMENT ON TABLE etl.event_ids IS 'First record of each event_id within the dedup horizon (etl.prune_event_ids forgets older ones).';

-- Every record whose event_id was already claimed, kept whole for audit.
CREATE TABLE IF NOT EXISTS etl.duplicate_events (
    kafka_topic      text        NOT NULL,
    kafka_partition  integer     NOT NULL,
    kafka_offset     bigint      NOT NULL,
    kafka_timestamp  timestamptz,
    event_id         uuid        NOT NULL,
    event_time       timestamptz NOT NULL,
    payload          jsonb       NOT NULL,
    reason           text        NOT NULL,
    -- The record that claimed the event_id: its row is in staging.events.
    first_topic      text        NOT NULL,
    first_partition  integer     NOT NULL,
    first_offset     bigint      NOT NULL,
    first_event_time timestamptz NOT NULL,
    batch_id         bigint      NOT NULL,
    detected_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT duplicate_events_reason_check CHECK (reason IN ('duplicate', 'event_id_conflict')),
    -- A Kafka record is loaded once: a second copy is a bug, and fails loudly.
    CONSTRAINT duplicate_events_kafka_position_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE INDEX IF NOT EXISTS duplicate_events_batch_id_idx ON etl.duplicate_events (batch_id);

CREATE INDEX IF NOT EXISTS duplicate_events_detected_at_idx ON etl.duplicate_events (detected_at);

COMMENT ON TABLE etl.duplicate_events IS 'Records whose event_id was already loaded: exact copies (duplicate) and different content (event_id_conflict); not in staging.events.';

COMMENT ON COLUMN etl.batches.events IS 'Records loaded into staging.events: new events, not counting duplicates or conflicts.';

COMMENT ON COLUMN etl.batches.duplicates IS 'Records moved to etl.duplicate_events as exact copies of an event already loaded.';

COMMENT ON COLUMN etl.batches.conflicts IS 'Records moved to etl.duplicate_events with an event_id already loaded but different content.';

-- ==== Refresh from batch rows: staging indexes, 1-minute memberships (was 0018_refresh_from_batch_rows.sql) ====

-- Finds a batch's rows without reading its minutes.
CREATE INDEX IF NOT EXISTS events_batch_id_idx ON staging.events (batch_id);

-- Ranges by event_time as before, and one record by (event_time, kafka_offset)
-- (the deduplication trigger's probes): with event_time alone, a probe read
-- every record of that millisecond (1 400 in a bulk load produced at full speed).
CREATE INDEX IF NOT EXISTS events_event_time_offset_idx ON staging.events (event_time, kafka_offset);

CREATE TABLE IF NOT EXISTS etl.agg_users_1m (
    bucket     timestamptz NOT NULL,
    event_type text        NOT NULL,
    user_id    text        NOT NULL,
    CONSTRAINT agg_users_1m_pkey PRIMARY KEY (bucket, event_type, user_id)
);

COMMENT ON TABLE etl.agg_users_1m IS
    'Who was counted in agg_events_1m.users: one row per (minute, event_type, user_id).';

CREATE TABLE IF NOT EXISTS etl.agg_page_users_1m (
    bucket  timestamptz NOT NULL,
    page    text        NOT NULL,
    country text        NOT NULL,
    user_id text        NOT NULL,
    CONSTRAINT agg_page_users_1m_pkey PRIMARY KEY (bucket, page, country, user_id)
);

COMMENT ON TABLE etl.agg_page_users_1m IS
    'Who was counted in agg_page_views_1m.users: one row per (minute, page, country, user_id).';

-- ==== Grants on what exists now (was 0013_create_roles.sql) ====

-- The writer: read and write control data, load staging, run the functions.
GRANT USAGE ON SCHEMA etl, staging, analytics TO pipeline_writer;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA etl TO pipeline_writer;

GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA staging TO pipeline_writer;

GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO pipeline_writer;

GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA etl TO pipeline_writer;

-- The reader: analytics only.
GRANT USAGE ON SCHEMA analytics TO grafana_reader;

GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO grafana_reader;

REVOKE ALL ON SCHEMA etl, staging FROM grafana_reader;

REVOKE ALL ON ALL TABLES IN SCHEMA etl, staging FROM grafana_reader;
