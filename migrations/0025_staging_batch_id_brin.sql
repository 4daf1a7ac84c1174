-- 0025_staging_batch_id_brin.sql
-- staging.events finds a batch's rows by a BRIN index on batch_id instead of a B-tree (issue 13;
-- BENCHMARKS.md, "Fifth session"): a B-tree entry per staged event cost about 1.2 µs of
-- PostgreSQL's time per event, a BRIN summary a tenth of that. The one reader is the refresh,
-- for a batch the worker did not aggregate (0021: rare, an inexact sum or a declaration it does
-- not understand); batch ids grow with time and a batch's rows are written together, so a
-- block range's summary narrows such a read to the ranges the batch's rows were written in.
DROP INDEX IF EXISTS staging.events_batch_id_idx;
CREATE INDEX IF NOT EXISTS events_batch_id_brin_idx ON staging.events USING brin (batch_id);
