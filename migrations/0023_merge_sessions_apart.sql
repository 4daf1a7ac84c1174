-- 0023_merge_sessions_apart.sql
-- The session windows are merged apart from the rollups' refresh (issue 13): the worker's
-- pieces wait in etl.batch_session_pieces for etl.merge_pending_sessions, and
-- etl.merge_user_sessions learns which batches' pieces it holds (a fourth argument), so a
-- rebuild reads staging around them instead of dropping them. Its old form is dropped here;
-- functions/etl.merge_user_sessions.sql creates the new one.
DROP FUNCTION IF EXISTS etl.merge_user_sessions(text[], timestamptz[], timestamptz[]);

COMMENT ON TABLE etl.batch_session_pieces IS
    'Session pieces a worker shipped with a batch, until etl.merge_pending_sessions merges them (once a refresh has taken the batch''s marks).';
