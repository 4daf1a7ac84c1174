-- 0003_create_etl_batches.sql
-- The batch ledger: one row per committed batch, written in the batch's own
-- transaction, so a row here proves the batch's events, rejects and offsets
-- committed together.

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
    CONSTRAINT batches_pkey PRIMARY KEY (batch_id),
    CONSTRAINT batches_counts_check CHECK (events >= 0 AND rejected >= 0 AND bytes >= 0)
);

CREATE INDEX IF NOT EXISTS batches_committed_at_idx ON etl.batches (committed_at);

COMMENT ON TABLE etl.batches IS 'One row per committed batch: counts, offset ranges, ingest latency.';
