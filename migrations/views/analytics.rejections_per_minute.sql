-- views/analytics.rejections_per_minute.sql
CREATE OR REPLACE VIEW analytics.rejections_per_minute AS
SELECT date_trunc('minute', r.rejected_at, 'UTC') AS bucket, r.reason, count(*) AS rejected
FROM etl.rejected_events AS r
GROUP BY 1, r.reason;
