-- 0032_claims_name_their_batch.sql
-- A claim names the batch of the record that made it, so that judging a copy whose bytes differ
-- from its claimer's reads the claimer's row through staging's BRIN index on (batch_id,
-- event_time), one read per claiming batch (etl.divert_copies). By time alone each copy read
-- most of its day: late events widen every range's event_time span, and the ranges not yet
-- summarized are read for any condition. 229 such copies of a 1 000 000-event day took 14.4 s to
-- judge, 24 803 would have taken about half an hour; by batch 0.34 s and 1.1 s (BENCHMARKS.md,
-- "Eighteenth session"). No rewrite: claims made before this migration keep NULL and are judged
-- by time, as before.
ALTER TABLE etl.event_ids ADD COLUMN IF NOT EXISTS batch_id bigint;
COMMENT ON COLUMN etl.event_ids.batch_id IS
    'The claiming record''s batch (staging.events.batch_id), where etl.divert_copies reads its row; NULL for claims made before migration 0032.';
