-- views/etl.event_id_conflicts.sql
-- Both payloads of every event_id conflict, side by side, for people in psql (as jsonb: both are
-- kept as json, the text as sent).
CREATE OR REPLACE VIEW etl.event_id_conflicts AS
SELECT d.event_id,
       d.first_topic, d.first_partition, d.first_offset, f.payload::jsonb AS first_payload,
       d.kafka_topic, d.kafka_partition, d.kafka_offset, d.payload::jsonb AS conflicting_payload,
       d.batch_id, d.detected_at
FROM etl.duplicate_events AS d
LEFT JOIN staging.events AS f
    ON f.event_time = d.first_event_time AND f.event_id = d.event_id AND f.kafka_topic = d.first_topic
   AND f.kafka_partition = d.first_partition AND f.kafka_offset = d.first_offset
WHERE d.reason = 'event_id_conflict';
