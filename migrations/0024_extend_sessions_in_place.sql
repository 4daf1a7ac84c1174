-- 0024_extend_sessions_in_place.sql
-- Session windows are extended in place (issue 13; BENCHMARKS.md, "Sessions extended in
-- place"): a merge that moves a session's end, counts and revenue, and not its start, UPDATEs
-- the row instead of deleting it and inserting it again. No index holds session_end, so such an
-- update is heap-only (HOT) when its page has room: no index entry is written.
-- - The primary key (user_id, session_end) becomes a plain index on (user_id, session_start). A
--   unique index on a partitioned table must hold the partition key, session_end, and one
--   holding it makes every extension write index entries. etl.merge_user_sessions, the only
--   writer (one at a time, under etl.lock_for_transaction), keeps one row per (user_id,
--   session_start); Tests/SQL/sessions.sql checks it.
-- - The day partitions leave half of each page free (fillfactor 50) for the rewritten rows;
--   etl.ensure_session_partitions creates the new ones so.
ALTER TABLE etl.agg_user_sessions DROP CONSTRAINT IF EXISTS agg_user_sessions_pkey;
CREATE INDEX IF NOT EXISTS agg_user_sessions_user_start_idx ON etl.agg_user_sessions (user_id, session_start);

DO $$
DECLARE
    v_partition regclass;
BEGIN
    FOR v_partition IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits AS i
                       WHERE i.inhparent = 'etl.agg_user_sessions'::regclass LOOP
        EXECUTE format('ALTER TABLE %s SET (fillfactor = 50)', v_partition);
    END LOOP;
END;
$$;

COMMENT ON TABLE etl.agg_user_sessions IS
    'Session windows per user (30-minute gap), one row per (user_id, session_start), partitioned by UTC day of session_end (etl.ensure_session_partitions).';
