-- functions/etl.divert_duplicate_events.sql
-- The deduplication trigger of staging.events, for records staged without their ids claimed
-- first: the worker claims a batch's ids by COPY and moves its copies away before staging
-- anything (PostgresEventSink+Claims, +Copies), and reaches this only for a batch PostgreSQL
-- refused a row of (its rows then isolated through the parent), or for rows a user INSERTs
-- by hand. The claim statement returns the records that claimed nothing; those are copied to
-- pg_temp.etl_copies (without a payload hash: their content is compared), judged by
-- etl.divert_copies (the worker's verdicts), and leave staging in one DELETE. jit = off: with a
-- transition table's estimates PostgreSQL would compile these small statements first. A batch
-- whose ids the worker already claimed by COPY (pipeline.event_ids_claimed) skips it all.
CREATE OR REPLACE FUNCTION etl.divert_duplicate_events()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
SET jit = off
AS $$
DECLARE
    v_copies       bigint;
    v_topics       text[];
    v_partitions   integer[];
    v_offsets      bigint[];
    v_from         timestamptz;
    v_to           timestamptz;
    v_first_batch  bigint;
    v_last_batch   bigint;
BEGIN
    -- The worker claimed every record's event_id by COPY in this transaction, just before this
    -- statement (PostgresEventSink+Claims.swift; set for this COPY only): no record is a copy.
    IF current_setting('pipeline.event_ids_claimed', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM etl.prepare_copy_checks();
    -- Within the statement the lowest (event_id, partition, offset) wins: ON
    -- CONFLICT DO NOTHING skips a later row of the same statement too. Across
    -- transactions the first to commit wins: ON CONFLICT waits for a concurrent
    -- claimer of the same event_id, then does nothing. Inserting in event_id
    -- order touches each leaf page of the (random-keyed) primary key once per
    -- batch, not once per event.
    WITH claimed AS (
        INSERT INTO etl.event_ids (event_id, event_time, kafka_topic, kafka_partition, kafka_offset, batch_id)
        SELECT n.event_id, n.event_time, n.kafka_topic, n.kafka_partition, n.kafka_offset, n.batch_id
        FROM new_events AS n
        ORDER BY n.event_id, n.kafka_partition, n.kafka_offset
        ON CONFLICT ON CONSTRAINT event_ids_pkey DO NOTHING
        RETURNING kafka_topic, kafka_partition, kafka_offset
    )
    INSERT INTO pg_temp.etl_copies
    SELECT n.* FROM new_events AS n
    WHERE NOT EXISTS (SELECT FROM claimed AS c
                      WHERE c.kafka_partition = n.kafka_partition AND c.kafka_offset = n.kafka_offset
                        AND c.kafka_topic = n.kafka_topic);
    GET DIAGNOSTICS v_copies = ROW_COUNT;

    -- The common case: every record claimed its own event_id.
    IF v_copies = 0 THEN
        RETURN NULL;
    END IF;

    -- A new statement, a new snapshot: it sees the claims just made and those
    -- committed meanwhile by another worker.
    SELECT array_agg(d.topic), array_agg(d.record_partition), array_agg(d.record_offset),
           min(d.record_time), max(d.record_time)
    INTO v_topics, v_partitions, v_offsets, v_from, v_to
    FROM etl.divert_copies() AS d;
    IF v_offsets IS NULL THEN
        RETURN NULL;
    END IF;
    -- The diverted records leave staging: one read of the rows of this statement's batches and
    -- times (staging keeps only a BRIN index, 0028: the plain bounds narrow it and prune the
    -- partitions), joined to the records by hash.
    SELECT min(n.batch_id), max(n.batch_id) INTO v_first_batch, v_last_batch FROM new_events AS n;
    DELETE FROM staging.events AS e
    USING unnest(v_topics, v_partitions, v_offsets) AS d(topic, record_partition, record_offset)
    WHERE e.batch_id >= v_first_batch AND e.batch_id <= v_last_batch
      AND e.event_time >= v_from AND e.event_time <= v_to
      AND e.kafka_partition = d.record_partition AND e.kafka_offset = d.record_offset AND e.kafka_topic = d.topic;
    RETURN NULL;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.divert_duplicate_events() TO pipeline_writer;
