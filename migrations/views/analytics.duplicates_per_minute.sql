-- views/analytics.duplicates_per_minute.sql
-- Per minute of detection (arrival time, like the other health views).
CREATE OR REPLACE VIEW analytics.duplicates_per_minute AS
SELECT date_trunc('minute', d.detected_at, 'UTC') AS bucket,
       count(*) FILTER (WHERE d.reason = 'duplicate') AS duplicates,
       count(*) FILTER (WHERE d.reason = 'event_id_conflict') AS conflicts
FROM etl.duplicate_events AS d
GROUP BY 1;
