-- views/analytics.late_events_per_minute.sql
-- Events loaded after their 1-minute window was final; they are in every aggregate too.
CREATE OR REPLACE VIEW analytics.late_events_per_minute AS
SELECT l.bucket, l.topic, sum(l.events)::bigint AS late_events, min(l.watermark) AS first_judged_against
FROM etl.late_events AS l
GROUP BY l.bucket, l.topic;
