-- views/analytics.events_per_minute.sql
-- Tumbling 1-minute windows on event time; users = distinct user_id, from an hll sketch
-- (standard error 0.81 %; exact up to 1 280 users).
CREATE OR REPLACE VIEW analytics.events_per_minute AS
SELECT a.bucket, a.event_type, a.events, round(public.hll_cardinality(a.users_sketch))::bigint AS users
FROM etl.agg_events_1m AS a;
