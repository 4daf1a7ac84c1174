-- functions/etl.lock_session_parts.sql
-- Takes the session merge's lock of part p_part (etl.session_merge_part), or of both parts
-- when p_part is NULL, for the transaction: waits for them when p_wait, otherwise returns
-- false at once when another session holds one (a part taken before it stays taken until the
-- transaction ends). Both parts are taken in the same order everywhere, so two merges never
-- wait for each other's part.
CREATE OR REPLACE FUNCTION etl.lock_session_parts(p_part integer, p_wait boolean)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_part integer;
BEGIN
    -- Purpose: a merge of one part never waits for the other.
    FOR v_part IN 0..1 LOOP
        CONTINUE WHEN p_part IS NOT NULL AND v_part <> p_part;
        IF NOT etl.lock_for_transaction('etl.merge_pending_sessions part ' || v_part, p_wait) THEN
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.lock_session_parts(integer, boolean) TO pipeline_writer;
