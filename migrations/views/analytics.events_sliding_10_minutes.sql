-- views/analytics.events_sliding_10_minutes.sql
-- Sliding window: 10 minutes, sliding by 1, ending at each minute that has
-- events of that type (window = [bucket - 9 min, bucket + 1 min)). Distinct
-- users do not add up across minutes, so only counts are given.
CREATE OR REPLACE VIEW analytics.events_sliding_10_minutes AS
SELECT a.bucket - interval '9 minutes' AS window_start,
       a.bucket + interval '1 minute' AS window_end,
       a.event_type,
       sum(a.events) OVER (PARTITION BY a.event_type ORDER BY a.bucket
                           RANGE BETWEEN interval '9 minutes' PRECEDING AND CURRENT ROW)::bigint AS events
FROM etl.agg_events_1m AS a;
