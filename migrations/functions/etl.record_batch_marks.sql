-- functions/etl.record_batch_marks.sql
-- The marks a load into staging.events leaves, from its summary per (topic, minute, batch):
-- the one definition of what both the trigger etl.record_touched_buckets (every statement into
-- staging.events) and the worker (a batch it COPYed straight into the day partitions, where no
-- trigger fires: PostgresEventSink+DayPartitions.swift) record. It
--   marks each (minute, batch) in etl.dirty_minutes,
--   counts the events of minutes already final into etl.late_events (per topic and minute: the
--   lowest batch, the events, the watermark they were judged against),
--   advances each topic's watermark in etl.watermarks when the load moves it forward.
-- One call takes a whole load, however many topics and batches it holds: every part of it is
-- judged against the watermark as it was before (as Spark judges a micro-batch against the
-- previous batch's watermark), never against a watermark another part of it moved.
--   p_events: the events that count of that topic, minute and batch. 0 when every record there
--     was moved out by the deduplication: the minute is still marked for the batch (as it
--     always was), but is neither late nor moves the watermark.
--   p_max_event_times: the latest event_time among those events (NULL when p_events is 0).
-- The minutes are truncated here too, so a caller's summary cannot mark a minute twice.
CREATE OR REPLACE FUNCTION etl.record_batch_marks(
    p_topics text[], p_minutes timestamptz[], p_batch_ids bigint[], p_events bigint[],
    p_max_event_times timestamptz[])
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
SET jit = off
AS $$
DECLARE
    v_lateness interval;
BEGIN
    INSERT INTO etl.dirty_minutes (bucket, batch_id)
    SELECT DISTINCT date_trunc('minute', m.minute, 'UTC'), m.batch_id
    FROM unnest(p_minutes, p_batch_ids) AS m(minute, batch_id);

    SELECT s.setting_value::interval INTO v_lateness
    FROM etl.settings AS s WHERE s.setting_name = 'allowed_lateness';
    v_lateness := coalesce(v_lateness, interval '5 minutes');

    -- One statement: the late events and the watermark read etl.watermarks as it was before it.
    WITH counted AS MATERIALIZED (
        SELECT m.topic, date_trunc('minute', m.minute, 'UTC') AS minute, m.batch_id, m.events, m.max_event_time
        FROM unnest(p_topics, p_minutes, p_batch_ids, p_events, p_max_event_times)
            AS m(topic, minute, batch_id, events, max_event_time)
        WHERE m.events > 0
    ),
    late AS (
        INSERT INTO etl.late_events (topic, bucket, batch_id, events, watermark)
        SELECT c.topic, c.minute, min(c.batch_id), sum(c.events), w.max_event_time - v_lateness
        FROM counted AS c
        JOIN etl.watermarks AS w ON w.topic = c.topic
        WHERE c.minute + interval '1 minute' <= w.max_event_time - v_lateness
        GROUP BY c.topic, c.minute, w.max_event_time
    )
    INSERT INTO etl.watermarks AS w (topic, max_event_time)
    SELECT c.topic, max(c.max_event_time)
    FROM counted AS c
    GROUP BY c.topic
    HAVING max(c.max_event_time) > coalesce(
        (SELECT p.max_event_time FROM etl.watermarks AS p WHERE p.topic = c.topic), '-infinity')
    ON CONFLICT ON CONSTRAINT watermarks_pkey DO UPDATE
    SET max_event_time = excluded.max_event_time, updated_at = now()
    WHERE w.max_event_time < excluded.max_event_time;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.record_batch_marks(text[], timestamptz[], bigint[], bigint[], timestamptz[])
    TO pipeline_writer;
