-- error_rate_by_service.sql
-- Which services log the largest share of errors in the last hour?
-- error_rate = error-level log events / all log events of the service.
SELECT service,
       sum(events) AS log_events,
       sum(events) FILTER (WHERE level = 'error') AS errors,
       round(coalesce(sum(events) FILTER (WHERE level = 'error'), 0)::numeric / nullif(sum(events), 0), 4)
           AS error_rate
FROM analytics.logs_per_minute
WHERE bucket >= now() - interval '1 hour'
GROUP BY service
ORDER BY error_rate DESC NULLS LAST, service;
