-- 0030_duplicate_payload_as_json.sql
-- A copy's payload is kept as json, the message's text as sent, as staging keeps it (0022): moving
-- a copy no longer builds a jsonb value (issue 13). With half the messages copies, diverting them
-- was the largest statement of a load; by hand, 100 000 copies moved in 0.82 s into a json column
-- against 1.10-1.16 s into jsonb (BENCHMARKS.md, "Fourteenth session").
-- payload ->> 'page' and the other json operators work as before; = and the jsonb operators need
-- payload::jsonb (etl.event_id_conflicts shows both payloads as jsonb, as before).
-- The view over the column is dropped here and comes back from its file.
DROP VIEW IF EXISTS etl.event_id_conflicts CASCADE;
ALTER TABLE etl.duplicate_events ALTER COLUMN payload TYPE json USING payload::json;
COMMENT ON COLUMN etl.duplicate_events.payload IS 'The record''s payload as sent (json: the message''s text).';
