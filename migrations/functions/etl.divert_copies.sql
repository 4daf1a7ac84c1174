-- functions/etl.divert_copies.sql
-- Moves the records in pg_temp.etl_copies (etl.prepare_copy_checks: records whose event_id an
-- earlier record claimed) to etl.duplicate_events with their verdict: `duplicate` when their
-- content equals the claimer's as jsonb (key order and spacing do not matter),
-- `event_id_conflict` otherwise. Returns the records it moved. The worker calls it for the
-- copies it found before staging (PostgresEventSink+Copies), the deduplication trigger for
-- those it found after (etl.divert_duplicate_events): one definition of the verdicts.
-- Each record is one primary-key probe of etl.event_ids for its claimer. A copy whose payload
-- hash equals its claimer's (0027: the same bytes) is a duplicate without more; only the others
-- read the claimer's row from staging and compare.
--
-- How the claimers' rows are read: once per claiming batch and day table, through staging's
-- BRIN index on (batch_id, event_time) (the claim names its batch, 0032), that table's new
-- ranges summarized first (etl.summarize_staging_ranges), keeping the rows some copy asks for;
-- then joined to the copies by hash. Staging has no B-tree (0028), and a probe by time per copy
-- read most of the day: late events widen every BRIN range's time span, and the ranges not yet
-- summarized are read for any condition (a million messages with 5% conflicts: 503 s, now 11 s;
-- BENCHMARKS.md, "Eighteenth session"). The `kafka_partition % 4` condition repeats the day
-- tables' key (etl.ensure_event_partitions), so that each read prunes to one table; without it
-- the result is the same. Claims made before 0032 name no batch: their rows are probed by time,
-- one at a time, as before. Copies with the same bytes take a branch of their own that joins
-- nothing (joined with the others, they were sorted for a merge join: 50% duplicates loaded 15%
-- slower).
-- A record whose claimer was pruned meanwhile is not moved (the trigger leaves it in staging as
-- a new event; the worker's claimers are locked, and cannot be). A claimer's row that is gone
-- (its partition dropped) cannot be compared: the record is a conflict, the safe verdict.
-- jit = off: with a temp table's missing statistics PostgreSQL would compile this first.
-- enable_nestloop = off: the BRIN reads' estimates are a row or so, and with them the planner
-- joined the claimers' rows to the copies by a nested loop (12 s for 229 copies); the lateral
-- reads stay nested loops, they have no other plan. enable_seqscan = off: planned while the
-- day's tables were small, the reads by batch became scans of whole tables, kept in the plan
-- cache as the tables grew.
-- plpgsql, not sql: the temp table does not exist when the function is created.
CREATE OR REPLACE FUNCTION etl.divert_copies()
RETURNS TABLE (topic text, record_partition integer, record_offset bigint, record_time timestamptz)
LANGUAGE plpgsql
SET search_path = ''
SET jit = off
SET enable_nestloop = off
SET enable_seqscan = off
AS $$
BEGIN
    -- Purpose: one definition of the verdicts.
    RETURN QUERY
    WITH claimed AS MATERIALIZED (
        SELECT n.*, i.kafka_topic AS first_topic, i.kafka_partition AS first_partition,
               i.kafka_offset AS first_offset, i.event_time AS first_event_time, i.batch_id AS first_batch,
               (n.payload_hash = i.payload_hash) IS TRUE AS same_bytes
        FROM pg_temp.etl_copies AS n
        -- the claimer
        CROSS JOIN LATERAL (SELECT c.* FROM etl.event_ids AS c WHERE c.event_id = n.event_id LIMIT 1) AS i
    ),
    -- Where the rows the hashes cannot decide are: a claiming batch, a day table, a time span;
    -- that table's new ranges summarized as each row is made, so before its read below.
    claiming_batches AS MATERIALIZED (
        SELECT c.first_batch AS batch_id, c.first_partition % 4 AS day_table,
               min(c.first_event_time) AS t_from, max(c.first_event_time) AS t_to,
               etl.summarize_staging_ranges(min(c.first_event_time), max(c.first_event_time),
                                            min(c.first_partition)) AS ranges_summarized
        FROM claimed AS c
        WHERE NOT c.same_bytes AND c.first_batch IS NOT NULL
        GROUP BY 1, 2
    ),
    claimers AS MATERIALIZED (
        SELECT s.batch_id, s.kafka_topic, s.kafka_partition, s.kafka_offset, s.payload
        FROM claiming_batches AS b
        -- OFFSET 0: one index read per batch, not the lateral pulled up into a scan of the day
        CROSS JOIN LATERAL (
            SELECT e.batch_id, e.kafka_topic, e.kafka_partition, e.kafka_offset, e.payload
            FROM staging.events AS e
            WHERE e.batch_id = b.batch_id AND e.event_time >= b.t_from AND e.event_time <= b.t_to
              AND e.kafka_partition % 4 = b.day_table
            OFFSET 0) AS s
        WHERE (s.kafka_offset, s.kafka_partition, s.kafka_topic) IN (
            SELECT c.first_offset, c.first_partition, c.first_topic FROM claimed AS c WHERE NOT c.same_bytes)
    ),
    moved AS (
        INSERT INTO etl.duplicate_events (
            kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, event_id, event_time, payload, reason,
            first_topic, first_partition, first_offset, first_event_time, batch_id)
        -- The same bytes: a duplicate, nothing to read (most copies: a producer's retries).
        SELECT n.kafka_topic, n.kafka_partition, n.kafka_offset, n.kafka_timestamp, n.event_id, n.event_time,
               n.payload, 'duplicate',
               n.first_topic, n.first_partition, n.first_offset, n.first_event_time, n.batch_id
        FROM claimed AS n
        WHERE n.same_bytes
        UNION ALL
        SELECT n.kafka_topic, n.kafka_partition, n.kafka_offset, n.kafka_timestamp, n.event_id, n.event_time,
               n.payload,
               CASE WHEN coalesce(f.payload, g.payload)::jsonb = n.payload::jsonb THEN 'duplicate'
                    ELSE 'event_id_conflict' END,
               n.first_topic, n.first_partition, n.first_offset, n.first_event_time, n.batch_id
        FROM claimed AS n
        LEFT JOIN claimers AS f
          ON f.batch_id = n.first_batch AND f.kafka_offset = n.first_offset
         AND f.kafka_partition = n.first_partition AND f.kafka_topic = n.first_topic
        -- A claim from before 0032 (no batch): its claimer's row, probed by time (LATERAL ...
        -- LIMIT 1, a condition on the outer row alone: checked once, before any scan).
        LEFT JOIN LATERAL (
            SELECT e.payload FROM staging.events AS e
            WHERE n.first_batch IS NULL
              AND e.event_time = n.first_event_time AND e.kafka_offset = n.first_offset
              AND e.kafka_partition = n.first_partition AND e.kafka_topic = n.first_topic
            LIMIT 1) AS g ON true
        WHERE NOT n.same_bytes
        RETURNING duplicate_events.kafka_topic, duplicate_events.kafka_partition, duplicate_events.kafka_offset,
                  duplicate_events.event_time
    )
    SELECT * FROM moved;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.divert_copies() TO pipeline_writer;
