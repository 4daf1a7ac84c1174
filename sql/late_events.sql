-- late_events.sql
-- Which 1-minute windows received events after they were final (event time
-- at least the allowed lateness behind the topic's newest event), and how
-- many? Those events are counted in every aggregate all the same.
SELECT w.topic, w.max_event_time, w.allowed_lateness, w.watermark
FROM analytics.watermarks AS w
ORDER BY w.topic;

SELECT bucket, topic, late_events, first_judged_against
FROM analytics.late_events_per_minute
ORDER BY bucket DESC
LIMIT 50;
