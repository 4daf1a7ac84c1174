-- active_users_5m.sql
-- How many distinct users were active in each 5-minute window of the last
-- 2 hours (event time)? Computed from staging, because distinct users do not
-- add up across the event types of analytics.events_per_5_minutes.
SELECT date_bin(interval '5 minutes', event_time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
       count(DISTINCT user_id) AS active_users,
       count(*) AS events
FROM staging.events
WHERE event_time >= now() - interval '2 hours'
GROUP BY 1
ORDER BY 1;
