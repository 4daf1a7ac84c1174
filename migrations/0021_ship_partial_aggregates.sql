-- 0021_ship_partial_aggregates.sql
-- The worker aggregates each batch itself (issue 13): in the batch's transaction it COPYs one
-- row per declared aggregate and key the batch touched (etl.batch_partials) and one piece per
-- user and batch-local session (etl.batch_session_pieces), and records in the ledger that it
-- did. The refresh then merges those rows instead of reading the batch's events back from
-- staging and hashing them; it deletes them once merged. A batch the worker could not
-- aggregate exactly (a copy or a refused row in it, an amount with more than 18 digits) has no
-- such rows, and the refresh reads its events back as before: both ways give the same rows
-- (Tests/IntegrationTests/ShippedPartialsTests).

ALTER TABLE etl.batches ADD COLUMN IF NOT EXISTS aggregated_by_worker boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN etl.batches.aggregated_by_worker IS
    'The worker shipped the batch''s partial aggregates (etl.batch_partials, etl.batch_session_pieces) with it.';

-- One row per (aggregate, bucket, dimensions) a batch touched. A measure's value sits at its
-- position in the declaration's measures, in the array of its kind: counts (count), sums
-- (sum), sketches (distinct: hll, log2m 14, as etl.aggregate_partials_statement builds them).
-- A dimension the aggregate does not declare is NULL.
CREATE TABLE IF NOT EXISTS etl.batch_partials (
    batch_id   bigint      NOT NULL,
    aggregate  text        NOT NULL,
    bucket     timestamptz NOT NULL,
    event_type text,
    page       text,
    country    text,
    currency   text,
    service    text,
    level      text,
    counts     bigint[],
    sums       numeric[],
    sketches   public.hll[]
);
COMMENT ON TABLE etl.batch_partials IS
    'Partial aggregates a worker shipped with a batch, until etl.refresh_aggregates merges them.';

-- A user's events of one batch, chained into sessions within the batch (a gap of 30 minutes
-- or more starts a new piece): what etl.merge_user_sessions chains into session windows.
CREATE TABLE IF NOT EXISTS etl.batch_session_pieces (
    batch_id bigint      NOT NULL,
    user_id  text        NOT NULL,
    first_at timestamptz NOT NULL,
    last_at  timestamptz NOT NULL,
    events   bigint      NOT NULL,
    pages    bigint      NOT NULL,
    revenue  numeric     NOT NULL
);
COMMENT ON TABLE etl.batch_session_pieces IS
    'Session pieces a worker shipped with a batch, until etl.refresh_aggregates merges them.';

GRANT SELECT, INSERT, DELETE ON etl.batch_partials, etl.batch_session_pieces TO pipeline_writer;
