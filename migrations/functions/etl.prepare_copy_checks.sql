-- functions/etl.prepare_copy_checks.sql
-- Empties (creating them first in this session if needed) the temp tables in which a batch's
-- copies are found and judged: etl_batch_ids, a batch's event ids with their position among
-- its events (the worker COPYs them, etl.taken_event_ids reads them), and etl_copies, records
-- whose event_id an earlier record claimed, with the columns of staging.events and their
-- payload's hash (0027; NULL from the deduplication trigger); etl.divert_copies moves them to
-- etl.duplicate_events. Created once per connection, not per batch (no catalog churn); ON
-- COMMIT DELETE ROWS empties them when the transaction ends.
CREATE OR REPLACE FUNCTION etl.prepare_copy_checks()
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: one place defines where copies are judged.
    IF to_regclass('pg_temp.etl_copies') IS NULL THEN
        CREATE TEMPORARY TABLE etl_batch_ids (event_id uuid NOT NULL, position integer NOT NULL)
            ON COMMIT DELETE ROWS;
        CREATE TEMPORARY TABLE etl_copies (LIKE staging.events INCLUDING DEFAULTS, payload_hash bigint)
            ON COMMIT DELETE ROWS;
        -- Only this session ever sees a temp table; the deduplication trigger (SECURITY
        -- DEFINER) may have created them, and the worker's role fills them.
        GRANT SELECT, INSERT, DELETE ON pg_temp.etl_batch_ids, pg_temp.etl_copies TO PUBLIC;
    ELSE
        DELETE FROM pg_temp.etl_batch_ids;
        DELETE FROM pg_temp.etl_copies;
    END IF;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.prepare_copy_checks() TO pipeline_writer;
