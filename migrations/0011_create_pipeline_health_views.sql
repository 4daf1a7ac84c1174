-- 0011_create_pipeline_health_views.sql
-- Pipeline health from the batch ledger and control tables, for Grafana's
-- pipeline dashboard: throughput, ingest latency, rejections, offsets, gaps,
-- age of the last commit. Minutes here are commit (arrival) time, not event time.

CREATE OR REPLACE VIEW analytics.pipeline_throughput_per_minute AS
SELECT date_trunc('minute', b.committed_at, 'UTC') AS bucket,
       count(*) AS batches,
       sum(b.events)::bigint AS events,
       sum(b.rejected)::bigint AS rejected,
       sum(b.bytes)::bigint AS bytes
FROM etl.batches AS b
GROUP BY 1;

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

CREATE OR REPLACE VIEW analytics.rejections_per_minute AS
SELECT date_trunc('minute', r.rejected_at, 'UTC') AS bucket, r.reason, count(*) AS rejected
FROM etl.rejected_events AS r
GROUP BY 1, r.reason;

-- Lag inputs: Kafka's high watermark is not in the database; lag = high watermark - next_offset.
CREATE OR REPLACE VIEW analytics.pipeline_offsets AS
SELECT o.topic, o.partition, o.next_offset, o.updated_at, o.updated_by, now() - o.updated_at AS age
FROM etl.offsets AS o;

CREATE OR REPLACE VIEW analytics.pipeline_gaps AS
SELECT g.topic, g.partition, g.first_offset, g.last_offset, g.last_offset - g.first_offset + 1 AS messages_lost,
       g.detected_at, g.detected_by
FROM etl.gaps AS g;

CREATE OR REPLACE VIEW analytics.pipeline_last_commit AS
SELECT max(b.committed_at) AS last_committed_at,
       extract(epoch FROM now() - max(b.committed_at))::double precision AS age_seconds
FROM etl.batches AS b;
