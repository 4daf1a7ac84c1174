-- revenue_today.sql
-- How much revenue came in today (UTC, by event time), per currency?
-- Amounts in different currencies are not converted or added together.
SELECT currency,
       sum(transactions) AS transactions,
       sum(revenue) AS revenue,
       round(sum(revenue) / nullif(sum(transactions), 0), 2) AS average_order
FROM analytics.revenue_per_minute
WHERE bucket >= date_trunc('day', now(), 'UTC')
GROUP BY currency
ORDER BY revenue DESC, currency;
