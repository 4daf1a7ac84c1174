-- views/analytics.pipeline_offsets.sql
-- Lag inputs: Kafka's high watermark is not in the database; lag = high watermark - next_offset.
CREATE OR REPLACE VIEW analytics.pipeline_offsets AS
SELECT o.topic, o.partition, o.next_offset, o.updated_at, o.updated_by, now() - o.updated_at AS age
FROM etl.offsets AS o;
