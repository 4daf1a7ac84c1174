-- 0029_sessions_start_brin.sql
-- etl.agg_user_sessions finds sessions by time through a BRIN index on session_start instead of
-- a B-tree (issue 13; BENCHMARKS.md, "Tenth session"). On high-cardinality data a session
-- merge inserts about one session for every three pieces it takes, and each insert paid two
-- B-tree entries: 48 000 session inserts took 446–496 ms with both, 320–358 ms with only the
-- (user_id, session_start) one. Its readers: views and dashboards that filter by a range of
-- session_start (analytics.user_sessions). Sessions are inserted in about the order they
-- start, and extended in place (HOT, 0024) without moving, so each block range holds a narrow
-- span of starts. The merges find a user's sessions by (user_id, session_start), which stays.
-- autosummarize: autovacuum summarizes each block range as it fills (as staging's, 0028).
DROP INDEX IF EXISTS etl.agg_user_sessions_start_idx;
CREATE INDEX IF NOT EXISTS agg_user_sessions_start_brin_idx ON etl.agg_user_sessions
    USING brin (session_start) WITH (autosummarize = on);
