-- duplicates.sql
-- How many records in the last 24 hours repeated an event_id already loaded
-- (producer retries), per hour: exact copies and conflicts (same event_id,
-- other content), the share of all records, and for the latest conflicts
-- both payloads side by side. Each event counts once in every aggregate.
WITH hours AS (
    SELECT date_trunc('hour', b.committed_at, 'UTC') AS hour,
           sum(b.events + b.rejected + b.duplicates + b.conflicts)::bigint AS records,
           sum(b.duplicates)::bigint AS duplicates,
           sum(b.conflicts)::bigint AS conflicts
    FROM etl.batches AS b
    WHERE b.committed_at >= now() - interval '24 hours'
    GROUP BY 1
)
SELECT h.hour, h.records, h.duplicates, h.conflicts,
       round(100.0 * (h.duplicates + h.conflicts) / nullif(h.records, 0), 2) AS repeated_pct
FROM hours AS h
ORDER BY h.hour DESC;

SELECT c.event_id, c.detected_at,
       format('p%s@%s', c.first_partition, c.first_offset) AS first_record, c.first_payload,
       format('p%s@%s', c.kafka_partition, c.kafka_offset) AS conflicting_record, c.conflicting_payload
FROM etl.event_id_conflicts AS c
ORDER BY c.detected_at DESC
LIMIT 5;
