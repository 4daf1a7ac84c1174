-- views/analytics.watermarks.sql
CREATE OR REPLACE VIEW analytics.watermarks AS
SELECT w.topic,
       w.max_event_time,
       s.setting_value::interval AS allowed_lateness,
       w.max_event_time - s.setting_value::interval AS watermark,
       w.updated_at
FROM etl.watermarks AS w
CROSS JOIN etl.settings AS s
WHERE s.setting_name = 'allowed_lateness';

COMMENT ON VIEW analytics.watermarks IS 'Per topic: max event time loaded minus the allowed lateness.';
