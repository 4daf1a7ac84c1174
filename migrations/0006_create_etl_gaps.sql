-- 0006_create_etl_gaps.sql
-- Data the worker never loaded because Kafka deleted it first (the stored
-- offset lay below the partition's log start). Never silent: each gap is a
-- row here, an error in the log and a metric.

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
