-- functions/etl.merge_pending_sessions.sql
-- The session windows' own maintenance, apart from the rollups' (etl.refresh_rollups): merges
-- every session piece the worker shipped and a refresh has released (etl.take_session_pieces)
-- into etl.agg_user_sessions, in one transaction: those of part p_part (etl.session_merge_part),
-- or of both parts when it is NULL. Returns the batches whose pieces it merged; 0 when there
-- were none, or when p_wait is false and another merge holds the lock of a part it needs.
-- The two parts touch different users' sessions and can be merged at once
-- (AggregateRefresher.finish: the end of a load merges them on two connections).
--
-- Why apart (issue 13, BENCHMARKS.md): a merge rewrites about one session row per user it
-- touches, so its cost follows the distinct users of the pieces it takes, not their events;
-- merged less often, a returning user's row is rewritten once for several batches. On the
-- high-cardinality data 12 merges of 300 000 events' pieces took 2.19 s, 3 merges 1.69 s, one
-- 0.88 s. The rollups' refresh, which decides how soon a batch shows in the per-minute views,
-- no longer waits for it. etl.refresh_aggregates runs both.
CREATE OR REPLACE FUNCTION etl.merge_pending_sessions(p_wait boolean DEFAULT false, p_part integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
-- The pieces of many batches: the merge's sort and hash aggregate stay in memory (as in
-- etl.refresh_rollups), and its statements are not worth compiling.
SET work_mem = '64MB'
SET jit = off
AS $$
DECLARE
    v_batches bigint[];
BEGIN
    -- Purpose: session windows that keep up at a cost per merge, not per batch.
    IF NOT etl.lock_session_parts(p_part, p_wait) THEN
        RETURN 0;
    END IF;
    PERFORM etl.prepare_refresh_rows();
    v_batches := etl.take_session_pieces(p_part);
    IF v_batches IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM etl.merge_user_sessions(NULL, NULL, NULL, NULL);
    RETURN cardinality(v_batches);
END;
$$;

GRANT EXECUTE ON FUNCTION etl.merge_pending_sessions(boolean, integer) TO pipeline_writer;
