-- 0005_create_etl_rejected_events.sql
-- Dead letters: every message that broke the event contract (or that
-- PostgreSQL refused), kept whole with a reason code and a human detail.
-- Loaded in the same transaction as the batch's accepted events.

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
