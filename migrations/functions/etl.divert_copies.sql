-- functions/etl.divert_copies.sql
-- Moves the records in pg_temp.etl_copies (etl.prepare_copy_checks: records whose event_id an
-- earlier record claimed) to etl.duplicate_events with their verdict: `duplicate` when their
-- content equals the claimer's as jsonb (key order and spacing do not matter),
-- `event_id_conflict` otherwise. Returns the records it moved. The worker calls it for the
-- copies it found before staging (PostgresEventSink+Copies), the deduplication trigger for
-- those it found after (etl.divert_duplicate_events): one definition of the verdicts.
-- Each record is one primary-key probe of etl.event_ids for its claimer. A copy whose payload
-- hash equals its claimer's (0027: the same bytes) is a duplicate without more; only the others
-- read the claimer's row from staging (by its event_time, through the BRIN index of 0028:
-- LATERAL ... LIMIT 1, always a probe, whatever the estimates) and compare. A record whose
-- claimer was pruned meanwhile is not moved (the trigger leaves it in staging as a new event;
-- the worker's claimers are locked, and cannot be).
-- jit = off: with a temp table's missing statistics PostgreSQL would compile this first.
-- plpgsql, not sql: the temp table does not exist when the function is created.
CREATE OR REPLACE FUNCTION etl.divert_copies()
RETURNS TABLE (topic text, record_partition integer, record_offset bigint, record_time timestamptz)
LANGUAGE plpgsql
SET search_path = ''
SET jit = off
AS $$
BEGIN
    -- Purpose: one definition of the verdicts.
    RETURN QUERY
    WITH moved AS (
        INSERT INTO etl.duplicate_events (
            kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, event_id, event_time, payload, reason,
            first_topic, first_partition, first_offset, first_event_time, batch_id)
        SELECT n.kafka_topic, n.kafka_partition, n.kafka_offset, n.kafka_timestamp, n.event_id, n.event_time,
               n.payload,
               CASE WHEN n.payload_hash = i.payload_hash OR f.payload::jsonb = n.payload::jsonb THEN 'duplicate'
                    ELSE 'event_id_conflict' END,
               i.kafka_topic, i.kafka_partition, i.kafka_offset, i.event_time, n.batch_id
        FROM pg_temp.etl_copies AS n
        -- the claimer
        CROSS JOIN LATERAL (SELECT c.* FROM etl.event_ids AS c WHERE c.event_id = n.event_id LIMIT 1) AS i
        -- The claimer's row, when the hashes cannot decide (a condition on the outer row alone:
        -- checked once, before any scan); missing only if its partition was dropped meanwhile
        -- (then the content cannot be compared, and a conflict is the safe verdict).
        LEFT JOIN LATERAL (
            SELECT e.payload FROM staging.events AS e
            WHERE (n.payload_hash = i.payload_hash) IS NOT TRUE
              AND e.event_time = i.event_time AND e.kafka_offset = i.kafka_offset
              AND e.kafka_partition = i.kafka_partition AND e.kafka_topic = i.kafka_topic
            LIMIT 1) AS f ON true
        RETURNING duplicate_events.kafka_topic, duplicate_events.kafka_partition, duplicate_events.kafka_offset,
                  duplicate_events.event_time
    )
    SELECT * FROM moved;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.divert_copies() TO pipeline_writer;
