-- 0002_create_etl_offsets.sql
-- How far each Kafka partition has been loaded: the source of truth for the
-- worker's start position (Kafka's committed offsets are only a courtesy).
-- A batch advances next_offset with `... WHERE next_offset = <expected>` in the
-- same transaction as its COPY; zero rows updated means another worker moved
-- it (a zombie after a rebalance), and the batch rolls back.

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
