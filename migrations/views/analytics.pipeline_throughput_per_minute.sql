-- views/analytics.pipeline_throughput_per_minute.sql
-- The ledger's throughput view gains the batches' duplicate and conflict counts (new last columns).
CREATE OR REPLACE VIEW analytics.pipeline_throughput_per_minute AS
SELECT date_trunc('minute', b.committed_at, 'UTC') AS bucket,
       count(*) AS batches,
       sum(b.events)::bigint AS events,
       sum(b.rejected)::bigint AS rejected,
       sum(b.bytes)::bigint AS bytes,
       sum(b.duplicates)::bigint AS duplicates,
       sum(b.conflicts)::bigint AS conflicts
FROM etl.batches AS b
GROUP BY 1;
