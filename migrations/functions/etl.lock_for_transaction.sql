-- functions/etl.lock_for_transaction.sql
-- Takes the transaction-level advisory lock named p_name: waits for it when p_wait, otherwise
-- returns false at once when another session holds it. The one way the refresh
-- (etl.refresh_rollups) and the session merge (etl.merge_pending_sessions) exclude their like.
CREATE OR REPLACE FUNCTION etl.lock_for_transaction(p_name text, p_wait boolean)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    IF p_wait THEN
        PERFORM pg_advisory_xact_lock(hashtext(p_name));
        RETURN true;
    END IF;
    RETURN pg_try_advisory_xact_lock(hashtext(p_name));
END;
$$;

GRANT EXECUTE ON FUNCTION etl.lock_for_transaction(text, boolean) TO pipeline_writer;
