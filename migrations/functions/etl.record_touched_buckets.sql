-- functions/etl.record_touched_buckets.sql
-- 0017's trigger function again, with three changes: a minute is marked once
-- per batch with rows in it (a refresh adds each marked batch's rows, so every
-- batch of a statement must be marked, not only the lowest); users are no
-- longer marked (the refresh finds them in the batch's rows; only a rebuild
-- marks users, with the range to redo); and the records
-- a deduplication moved out are left out of the late counts and the
-- watermark in one statement (both judged against the watermark before it).
CREATE OR REPLACE FUNCTION etl.record_touched_buckets()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
SET jit = off
AS $$
DECLARE
    v_lateness interval;
    v_diverted boolean;
BEGIN
    INSERT INTO etl.dirty_minutes (bucket, batch_id)
    SELECT DISTINCT date_trunc('minute', n.event_time, 'UTC'), n.batch_id
    FROM new_events AS n;

    SELECT s.setting_value::interval INTO v_lateness
    FROM etl.settings AS s WHERE s.setting_name = 'allowed_lateness';
    v_lateness := coalesce(v_lateness, interval '5 minutes');

    v_diverted := EXISTS (SELECT 1 FROM etl.duplicate_events AS d
                          WHERE d.batch_id = ANY (ARRAY(SELECT DISTINCT n.batch_id FROM new_events AS n)));

    -- Late: judged against the watermark of batches committed before this one
    -- (as Spark judges a micro-batch against the previous batch's watermark);
    -- every part of one statement sees the watermark as it was before it.
    WITH kept AS MATERIALIZED (
        SELECT n.kafka_topic, n.event_time, n.batch_id
        FROM new_events AS n
        WHERE NOT (v_diverted AND EXISTS (
            SELECT 1 FROM etl.duplicate_events AS d
            WHERE d.kafka_topic = n.kafka_topic AND d.kafka_partition = n.kafka_partition
              AND d.kafka_offset = n.kafka_offset))
    ),
    late AS (
        INSERT INTO etl.late_events (topic, bucket, batch_id, events, watermark)
        SELECT k.kafka_topic, date_trunc('minute', k.event_time, 'UTC'), min(k.batch_id), count(*),
               w.max_event_time - v_lateness
        FROM kept AS k
        JOIN etl.watermarks AS w ON w.topic = k.kafka_topic
        WHERE date_trunc('minute', k.event_time, 'UTC') + interval '1 minute' <= w.max_event_time - v_lateness
        GROUP BY k.kafka_topic, 2, w.max_event_time
    )
    INSERT INTO etl.watermarks AS w (topic, max_event_time)
    SELECT k.kafka_topic, max(k.event_time)
    FROM kept AS k
    GROUP BY k.kafka_topic
    HAVING max(k.event_time) > coalesce(
        (SELECT c.max_event_time FROM etl.watermarks AS c WHERE c.topic = k.kafka_topic), '-infinity')
    ON CONFLICT ON CONSTRAINT watermarks_pkey DO UPDATE
    SET max_event_time = excluded.max_event_time, updated_at = now()
    WHERE w.max_event_time < excluded.max_event_time;
    RETURN NULL;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.record_touched_buckets() TO pipeline_writer;
