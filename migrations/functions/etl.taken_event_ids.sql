-- functions/etl.taken_event_ids.sql
-- The positions (pg_temp.etl_batch_ids, etl.prepare_copy_checks) of a batch's events whose
-- event_id etl.event_ids holds: a claim committed before this statement, or made earlier in
-- this transaction. Each claim found is locked (FOR KEY SHARE) until the transaction ends, so
-- that etl.prune_event_ids cannot delete it before etl.divert_copies judges its copies. One
-- primary-key probe per id (LATERAL: always a probe, whatever the temp table's missing
-- statistics make of a join), in the order the worker sent them (event_id order: each leaf
-- page once). plpgsql, not sql: the temp table does not exist when the function is created.
CREATE OR REPLACE FUNCTION etl.taken_event_ids()
RETURNS SETOF integer
LANGUAGE plpgsql
SET search_path = ''
SET jit = off
AS $$
BEGIN
    -- Purpose: one probe per id, and the claims found held.
    RETURN QUERY
    SELECT b.position
    FROM pg_temp.etl_batch_ids AS b
    CROSS JOIN LATERAL (
        SELECT c.event_id FROM etl.event_ids AS c WHERE c.event_id = b.event_id FOR KEY SHARE) AS c;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.taken_event_ids() TO pipeline_writer;
