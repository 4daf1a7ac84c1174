-- functions/etl.prune_event_ids.sql
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

GRANT EXECUTE ON FUNCTION etl.prune_event_ids() TO pipeline_writer;
