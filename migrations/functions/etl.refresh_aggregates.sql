-- functions/etl.refresh_aggregates.sql
-- Brings every aggregate up to date with the committed batches, in one transaction: the
-- declared rollups (etl.refresh_rollups), then the session windows (etl.merge_pending_sessions).
-- What `pipeline refresh`, pg_cron's backstop and the worker's last refresh before it exits
-- run; while loading, the worker runs the two apart (AggregateRefresher.swift). Returns the
-- minutes the rollups' refresh recomputed. With p_wait false, a part another session is
-- running is left to it (or to the next refresh).
CREATE OR REPLACE FUNCTION etl.refresh_aggregates(p_wait boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_touched integer;
BEGIN
    -- Purpose: one call that leaves nothing behind.
    v_touched := etl.refresh_rollups(p_wait);
    PERFORM etl.merge_pending_sessions(p_wait);
    RETURN v_touched;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.refresh_aggregates(boolean) TO pipeline_writer;
