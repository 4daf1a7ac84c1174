-- views/analytics.events_per_5_minutes.sql
CREATE OR REPLACE VIEW analytics.events_per_5_minutes AS
SELECT a.bucket, a.event_type, a.events, a.users,
       coalesce(a.bucket + interval '5 minutes' <= (SELECT min(w.watermark) FROM analytics.watermarks AS w), false)
           AS is_final
FROM etl.agg_events_5m AS a;
