-- views/analytics.revenue_per_minute.sql
CREATE OR REPLACE VIEW analytics.revenue_per_minute AS
SELECT a.bucket, a.currency, a.transactions, a.revenue FROM etl.agg_revenue_1m AS a;
