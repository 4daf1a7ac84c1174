-- functions/etl.record_touched_buckets.sql
-- The trigger that marks what a statement into staging.events touched: every load but the
-- worker's batches COPYed straight into the day partitions (the worker records those itself)
-- goes through it: a batch holding a copy, refused rows being isolated, rows staged by hand.
-- What it records is etl.record_batch_marks' (one definition for both); this function only
-- sums the statement's rows per (topic, minute, batch) for it, all in one call, so every part
-- of the statement is judged against the watermark as it was before it. The records the
-- deduplication trigger (which fires first) moved out are left out of the late counts and the
-- watermark; their minutes are marked as before. Until this change (issue 13) the marking
-- itself was written here.
CREATE OR REPLACE FUNCTION etl.record_touched_buckets()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
SET jit = off
AS $$
DECLARE
    v_diverted boolean;
BEGIN
    v_diverted := EXISTS (SELECT 1 FROM etl.duplicate_events AS d
                          WHERE d.batch_id = ANY (ARRAY(SELECT DISTINCT n.batch_id FROM new_events AS n)));

    PERFORM etl.record_batch_marks(array_agg(s.topic), array_agg(s.minute), array_agg(s.batch_id),
                                   array_agg(s.events), array_agg(s.max_event_time))
    FROM (
        SELECT k.kafka_topic AS topic, date_trunc('minute', k.event_time, 'UTC') AS minute, k.batch_id,
               count(*) FILTER (WHERE k.kept) AS events, max(k.event_time) FILTER (WHERE k.kept) AS max_event_time
        FROM (
            SELECT n.kafka_topic, n.event_time, n.batch_id,
                   NOT (v_diverted AND EXISTS (
                       SELECT 1 FROM etl.duplicate_events AS d
                       WHERE d.kafka_topic = n.kafka_topic AND d.kafka_partition = n.kafka_partition
                         AND d.kafka_offset = n.kafka_offset)) AS kept
            FROM new_events AS n) AS k
        GROUP BY k.kafka_topic, 2, k.batch_id) AS s;
    RETURN NULL;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.record_touched_buckets() TO pipeline_writer;
