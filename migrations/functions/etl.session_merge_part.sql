-- functions/etl.session_merge_part.sql
-- Which part of the session merge a user's pieces belong to: 0 or 1, by a hash of the user id
-- (hashtext: the same in every session and every release of PostgreSQL 15). A user's sessions
-- are merged only from that user's pieces, so the two parts touch no row in common and can be
-- merged at once, each under its own lock (etl.lock_session_parts). Two parts: the worker
-- merges them on two connections of their own (AggregateRefresher).
--
-- The one etl function without SET search_path: a SET clause keeps PostgreSQL from inlining a
-- SQL function, and called as a function it cost about 2 µs a piece (each part's merge looks
-- at every pending piece: BENCHMARKS.md, "Tenth session"). Inlined, it is the expression
-- itself. Its body is standard SQL (RETURN), parsed when the function is created: what it calls
-- is bound then, and named in pg_catalog, so no caller's search_path can change it.
CREATE OR REPLACE FUNCTION etl.session_merge_part(p_user_id text)
RETURNS integer
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
RETURN pg_catalog.hashtext(p_user_id) OPERATOR(pg_catalog.&) 1;

GRANT EXECUTE ON FUNCTION etl.session_merge_part(text) TO pipeline_writer;
