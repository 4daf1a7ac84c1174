-- functions/etl.divert_duplicate_events.sql
-- The deduplication trigger of staging.events, for records staged without their ids claimed
-- first: the worker claims a batch's ids by COPY and moves its copies away before staging
-- anything (PostgresEventSink+Claims, +Copies), and reaches this only for a batch PostgreSQL
-- refused a row of (its rows then isolated through the parent), or for rows a user INSERTs
-- by hand. The claim statement returns the records that claimed nothing; those are copied to
-- pg_temp.etl_copies, judged by etl.divert_copies (the worker's verdicts), and leave staging
-- by the address of one (event_time, kafka_offset) probe each (LATERAL ... LIMIT 1: always a
-- probe, whatever the estimates). jit = off: with such estimates PostgreSQL would compile these
-- small statements first. A batch whose ids the worker already claimed by COPY
-- (pipeline.event_ids_claimed) skips it all.
CREATE OR REPLACE FUNCTION etl.divert_duplicate_events()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
SET jit = off
AS $$
DECLARE
    v_copies bigint;
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
        INSERT INTO etl.event_ids (event_id, event_time, kafka_topic, kafka_partition, kafka_offset)
        SELECT n.event_id, n.event_time, n.kafka_topic, n.kafka_partition, n.kafka_offset
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
    -- committed meanwhile by another worker. Each diverted record leaves
    -- staging in the same statement.
    WITH diverted AS (
        SELECT * FROM etl.divert_copies()
    ),
    gone AS (
        SELECT x.tableoid AS rel, x.ctid AS tid
        FROM diverted AS d
        CROSS JOIN LATERAL (
            SELECT s.tableoid, s.ctid FROM staging.events AS s
            WHERE s.event_time = d.record_time AND s.kafka_offset = d.record_offset
              AND s.kafka_partition = d.record_partition AND s.kafka_topic = d.topic
            LIMIT 1) AS x
    )
    DELETE FROM staging.events AS e
    USING gone AS g
    WHERE e.tableoid = g.rel AND e.ctid = g.tid;
    RETURN NULL;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.divert_duplicate_events() TO pipeline_writer;
