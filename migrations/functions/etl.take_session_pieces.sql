-- functions/etl.take_session_pieces.sql
-- Moves the session pieces waiting in etl.batch_session_pieces into the merge's working set
-- (pg_temp.etl_refresh_sessions, etl.prepare_refresh_rows) and returns the batches they came
-- from (NULL when none). Only the pieces of batches whose marks a refresh has taken: a batch
-- whose marks are still in etl.dirty_minutes (committed after the rollups' refresh began) is
-- left out of a rebuild's read of staging (etl.merge_user_sessions), so its pieces wait for the
-- refresh that takes its marks, then go with the next merge. Under the session lock
-- (etl.merge_pending_sessions).
CREATE OR REPLACE FUNCTION etl.take_session_pieces()
RETURNS bigint[]
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_batches bigint[];
BEGIN
    -- Purpose: one definition of which pieces a merge may take.
    WITH taken AS (
        DELETE FROM etl.batch_session_pieces AS p
        WHERE NOT EXISTS (SELECT FROM etl.dirty_minutes AS d WHERE d.batch_id = p.batch_id)
        RETURNING p.*
    ),
    moved AS (
        INSERT INTO pg_temp.etl_refresh_sessions (user_id, first_at, last_at, events, pages, revenue)
        SELECT t.user_id, t.first_at, t.last_at, t.events, t.pages, t.revenue FROM taken AS t
    )
    SELECT array_agg(DISTINCT t.batch_id) INTO v_batches FROM taken AS t;
    RETURN v_batches;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.take_session_pieces() TO pipeline_writer;
