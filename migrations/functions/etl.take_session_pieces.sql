-- functions/etl.take_session_pieces.sql
-- Moves the session pieces waiting in etl.batch_session_pieces into the merge's working set
-- (pg_temp.etl_refresh_sessions, etl.prepare_refresh_rows) and returns the batches they came
-- from (NULL when none). Only the pieces of batches whose marks a refresh has taken: a batch
-- whose marks are still in etl.dirty_minutes (committed after the rollups' refresh began) is
-- left out of a rebuild's read of staging (etl.merge_user_sessions), so its pieces wait for the
-- refresh that takes its marks, then go with the next merge. Only the pieces of part p_part
-- (etl.session_merge_part), or of both parts when it is NULL: the caller holds their lock
-- (etl.lock_session_parts).
CREATE OR REPLACE FUNCTION etl.take_session_pieces(p_part integer DEFAULT NULL)
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
          AND (p_part IS NULL OR etl.session_merge_part(p.user_id) = p_part)
        RETURNING p.*
    ),
    moved AS (
        INSERT INTO pg_temp.etl_refresh_sessions (user_id, first_at, last_at, events, pages, revenue, batch_id)
        SELECT t.user_id, t.first_at, t.last_at, t.events, t.pages, t.revenue, t.batch_id FROM taken AS t
    )
    SELECT array_agg(DISTINCT t.batch_id) INTO v_batches FROM taken AS t;
    RETURN v_batches;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.take_session_pieces(integer) TO pipeline_writer;
