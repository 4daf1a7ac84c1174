-- views/analytics.events_per_hour.sql
CREATE OR REPLACE VIEW analytics.events_per_hour AS
SELECT a.bucket, a.event_type, a.events, a.users,
       coalesce(a.bucket + interval '1 hour' <= (SELECT min(w.watermark) FROM analytics.watermarks AS w), false)
           AS is_final
FROM etl.agg_events_1h AS a;
