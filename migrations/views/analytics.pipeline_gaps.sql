-- views/analytics.pipeline_gaps.sql
CREATE OR REPLACE VIEW analytics.pipeline_gaps AS
SELECT g.topic, g.partition, g.first_offset, g.last_offset, g.last_offset - g.first_offset + 1 AS messages_lost,
       g.detected_at, g.detected_by
FROM etl.gaps AS g;
