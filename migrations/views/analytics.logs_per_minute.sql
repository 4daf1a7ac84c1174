-- views/analytics.logs_per_minute.sql
CREATE OR REPLACE VIEW analytics.logs_per_minute AS
SELECT a.bucket, a.service, a.level, a.events FROM etl.agg_logs_1m AS a;
