-- views/analytics.pipeline_latency_per_minute.sql
-- Per-batch percentiles cannot be merged exactly: p50_ms is the event-weighted
-- mean of the batches' medians, p95_ms and max_ms the worst batch's.
CREATE OR REPLACE VIEW analytics.pipeline_latency_per_minute AS
SELECT date_trunc('minute', b.committed_at, 'UTC') AS bucket,
       sum(b.latency_p50_ms * b.events) / nullif(sum(b.events) FILTER (WHERE b.latency_p50_ms IS NOT NULL), 0)
           AS p50_ms,
       max(b.latency_p95_ms) AS p95_ms,
       max(b.latency_max_ms) AS max_ms,
       avg(b.copy_ms) AS copy_ms_avg
FROM etl.batches AS b
GROUP BY 1;
