-- functions/etl.divert_duplicate_events.sql
-- 0017's deduplication trigger again, with the same verdicts, at a cost that
-- follows the diverted records instead of the history: 0017 found them with
-- joins the planner, blind on a freshly loaded partition without statistics,
-- ran as scans of all of etl.event_ids and of the day's partition for every
-- batch holding one copy (a 1 000 000-event load with 5% copies took twice as
-- long as without). Now the claim statement also returns the records that
-- claimed nothing, whole; each of those is one primary-key probe of
-- etl.event_ids and one (event_time, kafka_offset) probe for the claimer's
-- row, and leaves staging by the address of one more (LATERAL ... LIMIT 1:
-- always a probe, whatever the estimates). jit = off: with such estimates
-- PostgreSQL would compile these small statements first. A batch whose ids
-- the worker already claimed by COPY (pipeline.event_ids_claimed) skips it all.
CREATE OR REPLACE FUNCTION etl.divert_duplicate_events()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
SET jit = off
AS $$
DECLARE
    v_topics     text[];
    v_partitions integer[];
    v_offsets    bigint[];
    v_timestamps timestamptz[];
    v_ids        uuid[];
    v_times      timestamptz[];
    v_payloads   jsonb[];
    v_batches    bigint[];
BEGIN
    -- The worker claimed every record's event_id by COPY in this transaction, just before this
    -- statement (PostgresEventSink+Claims.swift; set for this COPY only): no record is a copy.
    IF current_setting('pipeline.event_ids_claimed', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- Within the statement the lowest (event_id, partition, offset) wins: ON
    -- CONFLICT DO NOTHING skips a later row of the same statement too. Across
    -- transactions the first to commit wins: ON CONFLICT waits for a concurrent
    -- claimer of the same event_id, then does nothing. Inserting in event_id
    -- order touches each leaf page of the (random-keyed) primary key once per
    -- batch, not once per event.
    WITH claimed AS (
        INSERT INTO etl.event_ids (event_id, event_time, kafka_topic, kafka_partition, kafka_offset)
        SELECT n.event_id, n.event_time, n.kafka_topic, n.kafka_partition, n.kafka_offset
        FROM new_events AS n
        ORDER BY n.event_id, n.kafka_partition, n.kafka_offset
        ON CONFLICT ON CONSTRAINT event_ids_pkey DO NOTHING
        RETURNING kafka_topic, kafka_partition, kafka_offset
    )
    SELECT array_agg(n.kafka_topic), array_agg(n.kafka_partition), array_agg(n.kafka_offset),
           array_agg(n.kafka_timestamp), array_agg(n.event_id), array_agg(n.event_time), array_agg(n.payload::jsonb),
           array_agg(n.batch_id)
    INTO v_topics, v_partitions, v_offsets, v_timestamps, v_ids, v_times, v_payloads, v_batches
    FROM new_events AS n
    WHERE NOT EXISTS (SELECT FROM claimed AS c
                      WHERE c.kafka_partition = n.kafka_partition AND c.kafka_offset = n.kafka_offset
                        AND c.kafka_topic = n.kafka_topic);

    -- The common case: every record claimed its own event_id.
    IF v_offsets IS NULL THEN
        RETURN NULL;
    END IF;

    -- A new statement, a new snapshot: it sees the claims just made and those
    -- committed meanwhile by another worker. Each diverted record leaves
    -- staging in the same statement.
    WITH diverted AS (
        INSERT INTO etl.duplicate_events (
            kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, event_id, event_time, payload, reason,
            first_topic, first_partition, first_offset, first_event_time, batch_id)
        SELECT n.kafka_topic, n.kafka_partition, n.kafka_offset, n.kafka_timestamp, n.event_id, n.event_time,
               n.payload, CASE WHEN f.payload::jsonb = n.payload THEN 'duplicate' ELSE 'event_id_conflict' END,
               i.kafka_topic, i.kafka_partition, i.kafka_offset, i.event_time, n.batch_id
        FROM unnest(v_topics, v_partitions, v_offsets, v_timestamps, v_ids, v_times, v_payloads, v_batches)
            AS n(kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, event_id, event_time, payload, batch_id)
        -- the claimer (a record whose claimer was pruned meanwhile stays a new event)
        CROSS JOIN LATERAL (SELECT c.* FROM etl.event_ids AS c WHERE c.event_id = n.event_id LIMIT 1) AS i
        -- The claimer's row; missing only if its partition was dropped meanwhile
        -- (then the content cannot be compared, and a conflict is the safe verdict).
        LEFT JOIN LATERAL (
            SELECT e.payload FROM staging.events AS e
            WHERE e.event_time = i.event_time AND e.kafka_offset = i.kafka_offset
              AND e.kafka_partition = i.kafka_partition AND e.kafka_topic = i.kafka_topic
            LIMIT 1) AS f ON true
        RETURNING kafka_topic, kafka_partition, kafka_offset, event_time
    ),
    gone AS (
        SELECT x.tableoid AS rel, x.ctid AS tid
        FROM diverted AS d
        CROSS JOIN LATERAL (
            SELECT s.tableoid, s.ctid FROM staging.events AS s
            WHERE s.event_time = d.event_time AND s.kafka_offset = d.kafka_offset
              AND s.kafka_partition = d.kafka_partition AND s.kafka_topic = d.kafka_topic
            LIMIT 1) AS x
    )
    DELETE FROM staging.events AS e
    USING gone AS g
    WHERE e.tableoid = g.rel AND e.ctid = g.tid;
    RETURN NULL;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.divert_duplicate_events() TO pipeline_writer;
