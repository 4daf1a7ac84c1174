-- 0031_brin_summarized_by_vacuum.sql
-- staging's and the sessions' BRIN indexes no longer ask autovacuum to summarize each block
-- range as it fills (0028, 0029 set autosummarize). PostgreSQL keeps at most 256 such requests
-- per database until autovacuum next visits it (autovacuum_naptime, a minute by default), and
-- logs every request it cannot keep. A loading worker fills ranges far faster: one
-- high-cardinality load of 1 000 000 events wrote 416 "request for BRIN range summarization …
-- was not recorded" entries to the server's log (three lines each), and a steady 20 000
-- events/s would write hundreds a minute (BENCHMARKS.md, "Seventeenth session"). The ranges not
-- summarized yet are read whole by a BRIN scan, as they were when their requests were dropped:
-- they are the recent tail, which a read of recent rows scans anyway, and autovacuum's VACUUM of
-- the partition (started by its inserts, autovacuum_vacuum_insert_threshold) summarizes them.
-- The storage parameter of a partitioned index cannot be changed, and new partitions copy it
-- from their parent's: both indexes are built again, once, without it.
DROP INDEX IF EXISTS staging.events_batch_id_event_time_brin_idx;
CREATE INDEX IF NOT EXISTS events_batch_id_event_time_brin_idx ON staging.events USING brin (batch_id, event_time);
DROP INDEX IF EXISTS etl.agg_user_sessions_start_brin_idx;
CREATE INDEX IF NOT EXISTS agg_user_sessions_start_brin_idx ON etl.agg_user_sessions USING brin (session_start);
