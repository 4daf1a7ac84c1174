-- 0022_stage_payload_as_json.sql
-- Staging costs less per event (issue 13; BENCHMARKS.md, "Issue 13, step by step"): the payload
-- is kept as json, the message's text as sent (validated, not converted), so PostgreSQL's COPY no
-- longer builds a jsonb value per event (0.6x the cost in the write-path study).
-- payload ->> 'page' and the other json operators work as before; = and the jsonb operators
-- (@>, ?) need payload::jsonb. The batch_id index stays: a batch the worker did not aggregate
-- (0021) is read back by it (by its marked minutes instead, one such batch over a million staged
-- events took minutes in scripts/bench-refresh).
-- The views over the column are dropped here and come back from their files.
DROP VIEW IF EXISTS etl.aggregate_inputs CASCADE;
DROP VIEW IF EXISTS etl.event_id_conflicts CASCADE;
ALTER TABLE staging.events ALTER COLUMN payload TYPE json USING payload::json;
COMMENT ON TABLE staging.events IS
    'Accepted events, the payload as json (the message as sent), partitioned by UTC day of event_time.';
