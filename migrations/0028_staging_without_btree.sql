-- 0028_staging_without_btree.sql
-- staging.events keeps no B-tree (issue 13; BENCHMARKS.md, "Ninth session"): its (event_time,
-- kafka_offset) B-tree cost every staged event an index insert, and served one record's probe
-- (a copy's claimer, a diverted record) and ranges by event time. Copies are now found before
-- staging (PostgresEventSink+Copies) and decided by their payload hash (0027); the remaining
-- readers go through one BRIN index on (batch_id, event_time) instead of 0025's on batch_id:
-- a batch's rows (the refresh's read-back of a batch the worker did not aggregate), a range of
-- event time (rebuilds, etl.aggregate_inputs), one record whose hash cannot decide (a conflict:
-- its claimer's row, by event_time), etl.event_id_conflicts. autosummarize: autovacuum
-- summarizes each block range as it fills, so that the ranges a read must scan whole (those
-- not summarized yet) stay the last few.
DROP INDEX IF EXISTS staging.events_event_time_offset_idx;
DROP INDEX IF EXISTS staging.events_batch_id_brin_idx;
CREATE INDEX IF NOT EXISTS events_batch_id_event_time_brin_idx ON staging.events
    USING brin (batch_id, event_time) WITH (autosummarize = on);
