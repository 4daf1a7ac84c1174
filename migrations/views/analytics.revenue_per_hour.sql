-- views/analytics.revenue_per_hour.sql
-- Revenue is additive, so its rollups are sums of the 1-minute table.
CREATE OR REPLACE VIEW analytics.revenue_per_hour AS
SELECT date_trunc('hour', a.bucket, 'UTC') AS bucket, a.currency,
       sum(a.transactions)::bigint AS transactions, sum(a.revenue) AS revenue
FROM etl.agg_revenue_1m AS a
GROUP BY 1, a.currency;
