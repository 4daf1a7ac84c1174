-- Tests/SQL/sessions.sql (pgTAP, run by scripts/test with pg_prove on a freshly migrated database)
-- The session windows are merged apart from the rollups: etl.refresh_rollups leaves a shipped
-- batch's pieces waiting, etl.merge_pending_sessions merges the pieces of every batch whose
-- marks a refresh took, and etl.refresh_aggregates does both. Rows read back and rebuilds
-- still merge in the rollups' refresh, and a rebuild keeps the pieces it holds.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(20);

SELECT etl.ensure_event_partitions(ARRAY[DATE '2026-04-01']);

-- A batch as the worker loads it: its rows (the trigger marks their minutes), its ledger row
-- saying it shipped its own aggregates, and its session pieces (no partial rows: no rollup
-- needs them here).
CREATE FUNCTION pg_temp.load_shipped(p_batch bigint, p_user text, p_times timestamptz[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
    SELECT gen_random_uuid(), 'click', t, p_user, '{}', 't', 0, p_batch * 100 + o, p_batch
    FROM unnest(p_times) WITH ORDINALITY AS x(t, o);
    INSERT INTO etl.batches (batch_id, worker_id, topic, started_at, events, rejected, bytes, partitions, copy_ms, aggregated_by_worker)
    VALUES (p_batch, 'w', 't', now(), cardinality(p_times), 0, 0, '[]', 0, true);
    INSERT INTO etl.batch_session_pieces (batch_id, user_id, first_at, last_at, events, pages, revenue)
    SELECT p_batch, p_user, min(t), max(t), count(*), 0, 0 FROM unnest(p_times) AS t;
$$;

SELECT pg_temp.load_shipped(1, 'u1', '{2026-04-01 10:00+00, 2026-04-01 10:10+00}');
SELECT cmp_ok(etl.refresh_rollups(), '>', 0, 'the rollups'' refresh takes the batch''s marks');
SELECT is_empty('SELECT * FROM analytics.user_sessions', 'and leaves its session pieces waiting');
SELECT is((SELECT count(*) FROM etl.batch_session_pieces), 1::bigint, 'one piece waits');
SELECT is(etl.merge_pending_sessions(), 1, 'the session merge takes the one batch released');
SELECT results_eq($$SELECT user_id, session_start, events FROM analytics.user_sessions$$,
                  $$VALUES ('u1'::text, '2026-04-01 10:00+00'::timestamptz, 2::bigint)$$, 'its session');
SELECT is_empty('SELECT * FROM etl.batch_session_pieces', 'no piece left');

-- A batch whose marks no refresh has taken yet keeps its pieces; refresh_aggregates runs both.
SELECT pg_temp.load_shipped(2, 'u1', '{2026-04-01 10:20+00}');
SELECT is(etl.merge_pending_sessions(), 0, 'pieces of a batch still marked wait for the rollups'' refresh');
SELECT is((SELECT count(*) FROM etl.batch_session_pieces), 1::bigint, 'its piece is still there');
SELECT cmp_ok(etl.refresh_aggregates(), '>', 0, 'refresh_aggregates: the rollups, then the sessions');
SELECT results_eq($$SELECT user_id, session_start, events FROM analytics.user_sessions$$,
                  $$VALUES ('u1'::text, '2026-04-01 10:00+00'::timestamptz, 3::bigint)$$,
                  'the piece extends the session');
SELECT is((SELECT sum(t.n_tup_hot_upd) FROM pg_stat_xact_user_tables AS t
           WHERE t.schemaname = 'etl' AND t.relname LIKE 'agg_user_sessions_p%'), 1::numeric,
          'in place: its row rewritten on its page (a HOT update), no index entry written');

-- Rows staged by hand (no ledger row) are read back, and merged by the rollups' refresh itself.
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'click', '2026-04-01 10:05+00', 'u2', '{}', 't', 1, 0, 3);
SELECT etl.refresh_rollups();
SELECT results_eq($$SELECT user_id, events FROM analytics.user_sessions WHERE user_id = 'u2'$$,
                  $$VALUES ('u2'::text, 1::bigint)$$, 'rows read back become sessions in the rollups'' refresh');

-- A rebuild of 10:00-11:00 while a batch holds the same user's event at 14:00: the rebuild
-- reads its range from staging, the piece brings 14:00 (once dropped with the rebuilt user).
SELECT pg_temp.load_shipped(4, 'u1', '{2026-04-01 14:00+00}');
SELECT pg_temp.load_shipped(5, 'u1', '{2026-04-01 10:30+00}');
SELECT etl.refresh_rollups();  -- batches 4 and 5 released, their pieces waiting
SELECT etl.request_rebuild('2026-04-01 10:00+00', '2026-04-01 11:00+00', 'test');
SELECT etl.refresh_aggregates();
SELECT results_eq(
    $$SELECT user_id, session_start, events FROM analytics.user_sessions ORDER BY 1, 2$$,
    $$VALUES ('u1'::text, '2026-04-01 10:00+00'::timestamptz, 4::bigint), ('u1', '2026-04-01 14:00+00', 1),
             ('u2', '2026-04-01 10:05+00', 1)$$,
    'a rebuild counts every event once: staged ones in its range, pieces in hand beside it');
SELECT is_empty('SELECT * FROM etl.batch_session_pieces', 'every piece merged');

-- Pieces that only extend a session or start one are written without chaining; the others are
-- chained. Sessions 12:00-12:10 (u8 also 13:00), then one merge brings: u3 12:05 (inside its
-- session), u4 12:39 (under 30 minutes after it), u5 12:40 (30 minutes: a new session), u6 11:45
-- (before it: the start moves), u7 12:30 and 13:05 (a gap of 35 minutes between its pieces), u8
-- 12:35 (bridging its two sessions), u9 12:00 (a new user).
SELECT pg_temp.load_shipped(10 + n, 'u' || n, '{2026-04-01 12:00+00, 2026-04-01 12:10+00}') FROM generate_series(3, 8) AS n;
SELECT pg_temp.load_shipped(19, 'u8', '{2026-04-01 13:00+00}');
SELECT etl.refresh_aggregates();
SELECT pg_temp.load_shipped(b, u, ARRAY[t]) FROM (VALUES
    (20, 'u3', '2026-04-01 12:05+00'::timestamptz), (21, 'u4', '2026-04-01 12:39+00'), (22, 'u5', '2026-04-01 12:40+00'),
    (23, 'u6', '2026-04-01 11:45+00'), (24, 'u7', '2026-04-01 12:30+00'), (25, 'u7', '2026-04-01 13:05+00'),
    (26, 'u8', '2026-04-01 12:35+00'), (27, 'u9', '2026-04-01 12:00+00')) AS x(b, u, t);
SELECT etl.refresh_aggregates();
SELECT results_eq(
    $$SELECT user_id, session_start, session_end, events FROM analytics.user_sessions WHERE user_id > 'u2' ORDER BY 1, 2$$,
    $$VALUES ('u3'::text, '2026-04-01 12:00+00'::timestamptz, '2026-04-01 12:40+00'::timestamptz, 3::bigint),
             ('u4', '2026-04-01 12:00+00', '2026-04-01 13:09+00', 3),
             ('u5', '2026-04-01 12:00+00', '2026-04-01 12:40+00', 2), ('u5', '2026-04-01 12:40+00', '2026-04-01 13:10+00', 1),
             ('u6', '2026-04-01 11:45+00', '2026-04-01 12:40+00', 3),
             ('u7', '2026-04-01 12:00+00', '2026-04-01 13:00+00', 3), ('u7', '2026-04-01 13:05+00', '2026-04-01 13:35+00', 1),
             ('u8', '2026-04-01 12:00+00', '2026-04-01 13:30+00', 4),
             ('u9', '2026-04-01 12:00+00', '2026-04-01 12:30+00', 1)$$,
    'appends, events inside, new sessions, moved starts, gaps and bridges');

-- The merge in two parts (etl.session_merge_part, 0026): a batch merged for one part's users
-- and not yet for the other's is still counted once by a rebuild, which knows the pieces in
-- hand per user, not per batch.
CREATE FUNCTION pg_temp.user_in_part(p_part integer) RETURNS text LANGUAGE sql AS $$
    SELECT u FROM (SELECT 'w' || n AS u FROM generate_series(1, 100) AS n) AS x
    WHERE etl.session_merge_part(u) = p_part ORDER BY u LIMIT 1
$$;
SELECT pg_temp.load_shipped(30, pg_temp.user_in_part(0), '{2026-04-01 16:00+00}');
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'click', '2026-04-01 16:00+00', pg_temp.user_in_part(1), '{}', 't', 0, 3001, 30);
INSERT INTO etl.batch_session_pieces (batch_id, user_id, first_at, last_at, events, pages, revenue)
VALUES (30, pg_temp.user_in_part(1), '2026-04-01 16:00+00', '2026-04-01 16:00+00', 1, 0, 0);
SELECT etl.refresh_rollups();
SELECT is(etl.merge_pending_sessions(p_part => 0), 1, 'a merge of part 0 takes the batch');
SELECT results_eq($$SELECT user_id FROM analytics.user_sessions WHERE session_start = '2026-04-01 16:00+00'$$,
                  $$VALUES (pg_temp.user_in_part(0))$$, 'and merges its part''s user only');
SELECT etl.request_rebuild('2026-04-01 15:30+00', '2026-04-01 16:30+00', 'test');
SELECT etl.refresh_rollups() FROM generate_series(1, 3);
SELECT results_eq(
    $$SELECT user_id, events FROM analytics.user_sessions WHERE session_start = '2026-04-01 16:00+00' ORDER BY 1$$,
    $$SELECT u, 1::bigint FROM unnest(ARRAY[pg_temp.user_in_part(0), pg_temp.user_in_part(1)]) AS u ORDER BY 1$$,
    'a rebuild then counts each user''s event once: part 0''s from staging, part 1''s from its piece');

-- Everything merged equals a rebuild from staging alone.
CREATE TEMPORARY TABLE merged AS SELECT user_id, session_start, session_end, events FROM analytics.user_sessions;
SELECT etl.request_rebuild('2026-04-01 00:00+00', '2026-04-02 00:00+00', 'test');
SELECT etl.refresh_aggregates() FROM generate_series(1, 24);
SELECT results_eq($$SELECT user_id, session_start, session_end, events FROM analytics.user_sessions ORDER BY 1, 2$$,
                  $$SELECT * FROM merged ORDER BY 1, 2$$, 'a rebuild of the day gives the same sessions');
SELECT is_empty($$SELECT user_id, session_start FROM etl.agg_user_sessions GROUP BY 1, 2 HAVING count(*) > 1$$,
                'one row per user and session start (no unique index keeps it: 0024)');

SELECT * FROM finish();
ROLLBACK;
