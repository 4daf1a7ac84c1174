-- views/analytics.user_sessions.sql
-- Same columns as in 0010; now reads the partitioned table.
CREATE OR REPLACE VIEW analytics.user_sessions AS
SELECT s.user_id, s.session_start, s.session_end, s.events, s.pages, s.revenue
FROM etl.agg_user_sessions AS s;
