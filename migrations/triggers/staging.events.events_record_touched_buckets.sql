-- triggers/staging.events.events_record_touched_buckets.sql
CREATE OR REPLACE TRIGGER events_record_touched_buckets
AFTER INSERT ON staging.events
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT
EXECUTE FUNCTION etl.record_touched_buckets();
