-- 0026_merge_sessions_in_parts.sql
-- The session merge can run in two parts at once (issue 13: the final refresh ≤ 1 s): pieces
-- are split by a hash of their user (etl.session_merge_part), each part under a lock of its
-- own (etl.lock_session_parts), so that at the end of a load the worker merges the two halves
-- on its two refresher connections. etl.take_session_pieces and etl.merge_pending_sessions
-- gain the part; their old forms are dropped here, and their files create the new ones.
DROP FUNCTION IF EXISTS etl.take_session_pieces();
DROP FUNCTION IF EXISTS etl.merge_pending_sessions(boolean);
