-- 0017_create_event_dedup.sql
-- Producer duplicates: a producer that retries (no idempotence, or a resend
-- after a timeout) writes the same event, same event_id, as a new Kafka
-- record at a new offset. The first record of an event_id to commit claims
-- it in etl.event_ids; every later record of that event_id moves, in the same
-- statement as its COPY, from staging.events to etl.duplicate_events: exact
-- copies with reason 'duplicate', different content under the same event_id
-- with reason 'event_id_conflict' (never merged). staging.events then holds
-- each event once, so every aggregate counts it once, and every Kafka record
-- is still accounted for exactly once: in staging.events, etl.rejected_events
-- or etl.duplicate_events.
--
-- The horizon: an event_id is remembered while its event_time is within
-- allowed_lateness + dedup_window of its topic's max event time;
-- etl.prune_event_ids() forgets older ones (cron runs it). A duplicate of a
-- forgotten event_id is loaded again as a new event.

INSERT INTO etl.settings (setting_name, setting_value, description)
VALUES ('dedup_window', '24 hours',
        'Event ids are remembered for duplicate detection while event_time >= max event time - allowed_lateness - this interval (etl.prune_event_ids).')
ON CONFLICT ON CONSTRAINT settings_pkey DO NOTHING;

-- One row per event_id within the horizon: the record that claimed it.
CREATE TABLE IF NOT EXISTS etl.event_ids (
    event_id        uuid        NOT NULL,
    event_time      timestamptz NOT NULL,
    kafka_topic     text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    CONSTRAINT event_ids_pkey PRIMARY KEY (event_id)
);

-- Pruning reads by event_time. Rows arrive nearly in event-time order, so a
-- BRIN index (a summary per block range, almost free to maintain on insert)
-- finds the old ones; a B-tree here would cost every event a second index insert.
CREATE INDEX IF NOT EXISTS event_ids_event_time_idx ON etl.event_ids USING brin (event_time);

COMMENT ON TABLE etl.event_ids IS 'First record of each event_id within the dedup horizon (etl.prune_event_ids forgets older ones).';

-- Every record whose event_id was already claimed, kept whole for audit.
CREATE TABLE IF NOT EXISTS etl.duplicate_events (
    kafka_topic      text        NOT NULL,
    kafka_partition  integer     NOT NULL,
    kafka_offset     bigint      NOT NULL,
    kafka_timestamp  timestamptz,
    event_id         uuid        NOT NULL,
    event_time       timestamptz NOT NULL,
    payload          jsonb       NOT NULL,
    reason           text        NOT NULL,
    -- The record that claimed the event_id: its row is in staging.events.
    first_topic      text        NOT NULL,
    first_partition  integer     NOT NULL,
    first_offset     bigint      NOT NULL,
    first_event_time timestamptz NOT NULL,
    batch_id         bigint      NOT NULL,
    detected_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT duplicate_events_reason_check CHECK (reason IN ('duplicate', 'event_id_conflict')),
    -- A Kafka record is loaded once: a second copy is a bug, and fails loudly.
    CONSTRAINT duplicate_events_kafka_position_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE INDEX IF NOT EXISTS duplicate_events_batch_id_idx ON etl.duplicate_events (batch_id);
CREATE INDEX IF NOT EXISTS duplicate_events_detected_at_idx ON etl.duplicate_events (detected_at);

COMMENT ON TABLE etl.duplicate_events IS 'Records whose event_id was already loaded: exact copies (duplicate) and different content (event_id_conflict); not in staging.events.';

ALTER TABLE etl.batches
    ADD COLUMN IF NOT EXISTS duplicates integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS conflicts  integer NOT NULL DEFAULT 0;

COMMENT ON COLUMN etl.batches.events IS 'Records loaded into staging.events: new events, not counting duplicates or conflicts.';
COMMENT ON COLUMN etl.batches.duplicates IS 'Records moved to etl.duplicate_events as exact copies of an event already loaded.';
COMMENT ON COLUMN etl.batches.conflicts IS 'Records moved to etl.duplicate_events with an event_id already loaded but different content.';

-- Purpose: per COPY statement, claim each new event_id for its first record
-- and move every other record to etl.duplicate_events. SECURITY DEFINER: the
-- worker's role may insert into staging but not delete from it.
CREATE OR REPLACE FUNCTION etl.divert_duplicate_events()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_claimed  bigint;
    v_diverted bigint;
BEGIN
    -- Within the statement the lowest (partition, offset) wins: ON CONFLICT DO
    -- NOTHING skips a later row of the same statement too. Across transactions
    -- the first to commit wins: ON CONFLICT waits for a concurrent claimer of
    -- the same event_id, then does nothing. Inserting in event_id order touches
    -- each leaf page of the (random-keyed) primary key once per batch, not once
    -- per event: about twice as fast as arrival order with 2M ids remembered.
    WITH claimed AS (
        INSERT INTO etl.event_ids (event_id, event_time, kafka_topic, kafka_partition, kafka_offset)
        SELECT n.event_id, n.event_time, n.kafka_topic, n.kafka_partition, n.kafka_offset
        FROM new_events AS n
        ORDER BY n.event_id, n.kafka_partition, n.kafka_offset
        ON CONFLICT ON CONSTRAINT event_ids_pkey DO NOTHING
        RETURNING 1
    )
    SELECT count(*) INTO v_claimed FROM claimed;

    -- The common case: every record claimed its own event_id.
    IF v_claimed = (SELECT count(*) FROM new_events) THEN
        RETURN NULL;
    END IF;

    -- A new statement, a new snapshot: it sees the claims just made and those
    -- committed meanwhile by another worker.
    INSERT INTO etl.duplicate_events (
        kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, event_id, event_time, payload, reason,
        first_topic, first_partition, first_offset, first_event_time, batch_id)
    SELECT n.kafka_topic, n.kafka_partition, n.kafka_offset, n.kafka_timestamp, n.event_id, n.event_time, n.payload,
           CASE WHEN f.payload = n.payload THEN 'duplicate' ELSE 'event_id_conflict' END,
           i.kafka_topic, i.kafka_partition, i.kafka_offset, i.event_time, n.batch_id
    FROM new_events AS n
    JOIN etl.event_ids AS i ON i.event_id = n.event_id
    -- The claimer's row; missing only if its partition was dropped meanwhile
    -- (then the content cannot be compared, and a conflict is the safe verdict).
    LEFT JOIN staging.events AS f
        ON f.event_time = i.event_time AND f.event_id = i.event_id AND f.kafka_topic = i.kafka_topic
       AND f.kafka_partition = i.kafka_partition AND f.kafka_offset = i.kafka_offset
    WHERE (n.kafka_topic, n.kafka_partition, n.kafka_offset) <> (i.kafka_topic, i.kafka_partition, i.kafka_offset);
    GET DIAGNOSTICS v_diverted = ROW_COUNT;

    IF v_diverted > 0 THEN
        DELETE FROM staging.events AS e
        USING etl.duplicate_events AS d
        WHERE d.batch_id = ANY (ARRAY(SELECT DISTINCT n.batch_id FROM new_events AS n))
          AND e.event_time = d.event_time AND e.event_id = d.event_id AND e.kafka_topic = d.kafka_topic
          AND e.kafka_partition = d.kafka_partition AND e.kafka_offset = d.kafka_offset;
    END IF;
    RETURN NULL;
END;
$$;

-- AFTER STATEMENT triggers fire in name order: this one ("divert") before
-- events_record_touched_buckets ("record"), which skips the diverted records.
CREATE OR REPLACE TRIGGER events_divert_duplicates
AFTER INSERT ON staging.events
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT
EXECUTE FUNCTION etl.divert_duplicate_events();

-- Forgets the event ids that fell behind the dedup horizon of their topic;
-- returns how many. Cron runs it (cron/); skipped (0) when another run holds the lock.
CREATE OR REPLACE FUNCTION etl.prune_event_ids()
RETURNS bigint
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_horizon interval;
    v_topic   text;
    v_cutoff  timestamptz;
    v_count   bigint;
    v_pruned  bigint := 0;
BEGIN
    -- Purpose: bounded dedup state; the horizon is in event time, per topic.
    IF NOT pg_try_advisory_xact_lock(hashtext('etl.prune_event_ids')) THEN
        RETURN 0;
    END IF;
    SELECT coalesce((SELECT s.setting_value::interval FROM etl.settings AS s WHERE s.setting_name = 'allowed_lateness'),
                    interval '5 minutes')
         + coalesce((SELECT s.setting_value::interval FROM etl.settings AS s WHERE s.setting_name = 'dedup_window'),
                    interval '24 hours')
    INTO v_horizon;
    FOR v_topic, v_cutoff IN SELECT w.topic, w.max_event_time - v_horizon FROM etl.watermarks AS w LOOP
        DELETE FROM etl.event_ids AS i WHERE i.event_time < v_cutoff AND i.kafka_topic = v_topic;
        GET DIAGNOSTICS v_count = ROW_COUNT;
        v_pruned := v_pruned + v_count;
    END LOOP;
    RETURN v_pruned;
END;
$$;

-- Both payloads of every event_id conflict, side by side, for people in psql.
CREATE OR REPLACE VIEW etl.event_id_conflicts AS
SELECT d.event_id,
       d.first_topic, d.first_partition, d.first_offset, f.payload AS first_payload,
       d.kafka_topic, d.kafka_partition, d.kafka_offset, d.payload AS conflicting_payload,
       d.batch_id, d.detected_at
FROM etl.duplicate_events AS d
LEFT JOIN staging.events AS f
    ON f.event_time = d.first_event_time AND f.event_id = d.event_id AND f.kafka_topic = d.first_topic
   AND f.kafka_partition = d.first_partition AND f.kafka_offset = d.first_offset
WHERE d.reason = 'event_id_conflict';

-- Per minute of detection (arrival time, like the other health views).
CREATE OR REPLACE VIEW analytics.duplicates_per_minute AS
SELECT date_trunc('minute', d.detected_at, 'UTC') AS bucket,
       count(*) FILTER (WHERE d.reason = 'duplicate') AS duplicates,
       count(*) FILTER (WHERE d.reason = 'event_id_conflict') AS conflicts
FROM etl.duplicate_events AS d
GROUP BY 1;

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

-- The worker's role: new tables got their grants from 0013's default
-- privileges; the prune function needs EXECUTE like the other etl functions.
GRANT EXECUTE ON FUNCTION etl.prune_event_ids() TO pipeline_writer;

-- 0009's trigger function again, with diverted records left out of the late
-- event counts and the watermark: a late copy of an event updates no window,
-- and a conflicting copy's event_time is not an event loaded. (Touched-minute
-- and user marks may include them: a recompute of an unchanged bucket is harmless.)
CREATE OR REPLACE FUNCTION etl.record_touched_buckets()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_lateness interval;
    v_batches  bigint[];
    v_diverted boolean;
BEGIN
    INSERT INTO etl.dirty_minutes (bucket, batch_id)
    SELECT date_trunc('minute', n.event_time, 'UTC'), min(n.batch_id)
    FROM new_events AS n
    GROUP BY 1;

    INSERT INTO etl.dirty_users (user_id, first_time, last_time, batch_id)
    SELECT n.user_id, min(n.event_time), max(n.event_time), min(n.batch_id)
    FROM new_events AS n
    GROUP BY n.user_id;

    SELECT s.setting_value::interval INTO v_lateness
    FROM etl.settings AS s WHERE s.setting_name = 'allowed_lateness';
    v_lateness := coalesce(v_lateness, interval '5 minutes');

    v_batches := ARRAY(SELECT DISTINCT n.batch_id FROM new_events AS n);
    v_diverted := EXISTS (SELECT 1 FROM etl.duplicate_events AS d WHERE d.batch_id = ANY (v_batches));

    -- Judged against the watermark of batches committed before this one (as
    -- Spark judges a micro-batch against the previous batch's watermark).
    INSERT INTO etl.late_events (topic, bucket, batch_id, events, watermark)
    SELECT n.kafka_topic, date_trunc('minute', n.event_time, 'UTC'), min(n.batch_id), count(*),
           w.max_event_time - v_lateness
    FROM new_events AS n
    JOIN etl.watermarks AS w ON w.topic = n.kafka_topic
    WHERE date_trunc('minute', n.event_time, 'UTC') + interval '1 minute' <= w.max_event_time - v_lateness
      AND NOT (v_diverted AND EXISTS (
          SELECT 1 FROM etl.duplicate_events AS d
          WHERE d.kafka_topic = n.kafka_topic AND d.kafka_partition = n.kafka_partition
            AND d.kafka_offset = n.kafka_offset))
    GROUP BY n.kafka_topic, 2, w.max_event_time;

    INSERT INTO etl.watermarks AS w (topic, max_event_time)
    SELECT n.kafka_topic, max(n.event_time)
    FROM new_events AS n
    WHERE NOT (v_diverted AND EXISTS (
        SELECT 1 FROM etl.duplicate_events AS d
        WHERE d.kafka_topic = n.kafka_topic AND d.kafka_partition = n.kafka_partition
          AND d.kafka_offset = n.kafka_offset))
    GROUP BY n.kafka_topic
    HAVING max(n.event_time) > coalesce(
        (SELECT c.max_event_time FROM etl.watermarks AS c WHERE c.topic = n.kafka_topic), '-infinity')
    ON CONFLICT ON CONSTRAINT watermarks_pkey DO UPDATE
    SET max_event_time = excluded.max_event_time, updated_at = now()
    WHERE w.max_event_time < excluded.max_event_time;
    RETURN NULL;
END;
$$;
