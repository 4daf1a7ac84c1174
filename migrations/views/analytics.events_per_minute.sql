-- views/analytics.events_per_minute.sql
-- Tumbling 1-minute windows on event time; users = distinct user_id.
CREATE OR REPLACE VIEW analytics.events_per_minute AS
SELECT a.bucket, a.event_type, a.events, a.users FROM etl.agg_events_1m AS a;
