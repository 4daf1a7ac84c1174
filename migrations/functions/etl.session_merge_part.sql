-- functions/etl.session_merge_part.sql
-- Which part of the session merge a user's pieces belong to: 0 or 1, by a hash of the user id
-- (hashtext: the same in every session and every release of PostgreSQL 15). A user's sessions
-- are merged only from that user's pieces, so the two parts touch no row in common and can be
-- merged at once, each under its own lock (etl.lock_session_parts). Two parts: the worker has
-- two refresher connections to run them on (AggregateRefresher.finish).
CREATE OR REPLACE FUNCTION etl.session_merge_part(p_user_id text)
RETURNS integer
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = ''
RETURN hashtext(p_user_id) & 1;

GRANT EXECUTE ON FUNCTION etl.session_merge_part(text) TO pipeline_writer;
