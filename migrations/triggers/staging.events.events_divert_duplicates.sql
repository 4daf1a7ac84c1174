-- triggers/staging.events.events_divert_duplicates.sql
-- AFTER STATEMENT triggers fire in name order: this one ("divert") before
-- events_record_touched_buckets ("record"), which skips the diverted records.
CREATE OR REPLACE TRIGGER events_divert_duplicates
AFTER INSERT ON staging.events
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT
EXECUTE FUNCTION etl.divert_duplicate_events();
