-- Tests/SQL/rollups.sql (pgTAP, run by scripts/test with pg_prove on a freshly migrated database)
-- The 5-minute and hourly rollups and the funnel grow by what the dirty
-- minutes add (late events exact, a re-read minute adds nothing), requested
-- rebuilds go one hour per refresh, newest first, and the roles reach the
-- new objects (migrations 0014-0015).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(37);

SELECT col_type_is('etl', 'agg_events_5m', 'users_sketch', 'hll', 'the 5-minute users are a sketch');
SELECT col_type_is('etl', 'agg_events_1h', 'users_sketch', 'hll', 'the hourly users are a sketch');
SELECT hasnt_table('etl', 'agg_funnel_sessions_1h', 'no membership table per session (0019)');
SELECT has_table('etl', 'rebuild_requests', 'pending rebuilds');
SELECT has_function('etl', 'request_rebuild', ARRAY['timestamp with time zone', 'timestamp with time zone', 'text']);
SELECT function_returns('etl', 'request_rebuild', ARRAY['timestamp with time zone', 'timestamp with time zone', 'text'], 'bigint');
SELECT is((SELECT relkind::text FROM pg_class WHERE oid = 'etl.agg_user_sessions'::regclass), 'p',
          'session windows are partitioned');
SELECT columns_are('analytics', 'events_per_hour', ARRAY['bucket', 'event_type', 'events', 'users', 'is_final']);
SELECT columns_are('analytics', 'events_per_5_minutes', ARRAY['bucket', 'event_type', 'events', 'users', 'is_final']);
SELECT columns_are('analytics', 'session_funnel_per_hour',
                   ARRAY['bucket', 'sessions', 'sessions_viewed', 'sessions_clicked', 'sessions_added_to_cart',
                         'sessions_paid', 'is_final']);

SELECT etl.ensure_event_partitions(ARRAY[DATE '2026-02-01']);

-- Hour 10: u1 views a page, u2 clicks add_to_cart; a later event makes hour 10 final.
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'page_view', '2026-02-01 10:05:00+00', 'u1', '{"session_id": "s1", "page": "/a"}', 'events', 0, 0, 1),
       (gen_random_uuid(), 'click', '2026-02-01 10:06:00+00', 'u2', '{"session_id": "s2", "element": "add_to_cart"}', 'events', 0, 1, 1),
       (gen_random_uuid(), 'log', '2026-02-01 12:00:30+00', 'u9', '{"service": "api", "level": "info"}', 'events', 0, 2, 1);
SELECT is(etl.refresh_aggregates(), 3, 'three minutes');
SELECT results_eq(
    $$SELECT event_type, events, users, is_final FROM analytics.events_per_hour WHERE bucket = '2026-02-01 10:00+00' ORDER BY 1$$,
    $$VALUES ('click'::text, 1::bigint, 1::bigint, true), ('page_view', 1, 1, true)$$,
    'hour 10');
SELECT results_eq(
    $$SELECT sessions, sessions_viewed, sessions_clicked, sessions_added_to_cart, sessions_paid
      FROM analytics.session_funnel_per_hour WHERE bucket = '2026-02-01 10:00+00'$$,
    $$VALUES (2::bigint, 1::bigint, 1::bigint, 1::bigint, 0::bigint)$$,
    'funnel of hour 10');

-- Late, into the final hour 10: u1 pays in its known session; u3 is new; u2 views a page in a new session.
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'transaction', '2026-02-01 10:40:00+00', 'u1', '{"session_id": "s1", "amount": 5, "currency": "EUR"}', 'events', 0, 3, 2),
       (gen_random_uuid(), 'page_view', '2026-02-01 10:41:00+00', 'u3', '{"session_id": "s3", "page": "/a"}', 'events', 0, 4, 2),
       (gen_random_uuid(), 'page_view', '2026-02-01 10:41:30+00', 'u2', '{"session_id": "s4", "page": "/b"}', 'events', 0, 5, 2);
SELECT is(etl.refresh_aggregates(), 2, 'the late minutes only, not their hour');
SELECT results_eq(
    $$SELECT event_type, events, users FROM analytics.events_per_hour WHERE bucket = '2026-02-01 10:00+00' ORDER BY 1$$,
    $$VALUES ('click'::text, 1::bigint, 1::bigint), ('page_view', 3, 3), ('transaction', 1, 1)$$,
    'hour 10 after the late events: users exact');
SELECT results_eq(
    $$SELECT sessions, sessions_viewed, sessions_clicked, sessions_added_to_cart, sessions_paid
      FROM analytics.session_funnel_per_hour WHERE bucket = '2026-02-01 10:00+00'$$,
    $$VALUES (4::bigint, 3::bigint, 1::bigint, 1::bigint, 1::bigint)$$,
    'funnel of hour 10 after the late events: a new step of a known session, two new sessions');
SELECT results_eq(
    $$SELECT bucket, event_type, events, users FROM analytics.events_per_5_minutes
      WHERE bucket < '2026-02-01 11:00+00' ORDER BY 1, 2$$,
    $$VALUES ('2026-02-01 10:05+00'::timestamptz, 'click'::text, 1::bigint, 1::bigint),
             ('2026-02-01 10:05+00', 'page_view', 1, 1),
             ('2026-02-01 10:40+00', 'page_view', 2, 2),
             ('2026-02-01 10:40+00', 'transaction', 1, 1)$$,
    '5-minute rollup');

-- A minute read again (a mark left by a batch the previous refresh already saw) adds nothing.
INSERT INTO etl.dirty_minutes (bucket) VALUES ('2026-02-01 10:41+00'), ('2026-02-01 10:05+00');
SELECT is(etl.refresh_aggregates(), 2, 'the re-marked minutes are recomputed');
SELECT results_eq(
    $$SELECT event_type, events, users FROM analytics.events_per_hour WHERE bucket = '2026-02-01 10:00+00' ORDER BY 1$$,
    $$VALUES ('click'::text, 1::bigint, 1::bigint), ('page_view', 3, 3), ('transaction', 1, 1)$$,
    'hour 10 unchanged');
SELECT results_eq(
    $$SELECT sessions, sessions_paid FROM analytics.session_funnel_per_hour WHERE bucket = '2026-02-01 10:00+00'$$,
    $$VALUES (4::bigint, 1::bigint)$$,
    'funnel unchanged');

-- A requested rebuild, widened to whole hours, one hour per refresh, newest first.
SELECT throws_ok($$SELECT etl.request_rebuild('2026-02-01 12:00', '2026-02-01 11:00', 'x')$$, '22023', NULL,
                 'an empty range is refused');
-- Wrong state that only a rebuild mends: 99 users in every hour, and no session.
UPDATE etl.agg_events_1h
SET users_sketch = (SELECT public.hll_add_agg(public.hll_hash_integer(i), 14, 5, -1, 1) FROM generate_series(1, 99) AS i);
UPDATE etl.agg_funnel_1h SET sessions_sketch = public.hll_empty(14, 5, -1, 1);
SELECT isnt(etl.request_rebuild('2026-02-01 10:30+00', '2026-02-01 12:10+00', 'test'), NULL::bigint, 'requested');
SELECT results_eq($$SELECT range_from, range_to, next_to FROM etl.rebuild_requests$$,
                  $$VALUES ('2026-02-01 10:00+00'::timestamptz, '2026-02-01 13:00+00'::timestamptz, '2026-02-01 13:00+00'::timestamptz)$$,
                  'whole hours');
SELECT is(etl.refresh_aggregates(), 60, 'one refresh: one hour');
SELECT is((SELECT next_to FROM etl.rebuild_requests), '2026-02-01 12:00+00'::timestamptz, 'the newest hour first');
SELECT is((SELECT users FROM analytics.events_per_hour WHERE bucket = '2026-02-01 12:00+00'), 1::bigint, 'hour 12 rebuilt');
SELECT is((SELECT users FROM analytics.events_per_hour WHERE bucket = '2026-02-01 10:00+00' AND event_type = 'click'), 99::bigint,
          'hour 10 not yet');
SELECT is(etl.refresh_aggregates() + etl.refresh_aggregates(), 120, 'two more refreshes, two more hours');
SELECT is_empty('SELECT * FROM etl.rebuild_requests', 'the request is done');
SELECT results_eq(
    $$SELECT event_type, events, users FROM analytics.events_per_hour WHERE bucket = '2026-02-01 10:00+00' ORDER BY 1$$,
    $$VALUES ('click'::text, 1::bigint, 1::bigint), ('page_view', 3, 3), ('transaction', 1, 1)$$,
    'hour 10 rebuilt exactly');

-- Session windows: a batch continuing a session extends it, late ones before and between sessions merge them.
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'page_view', '2026-02-01 20:00:00+00', 'w1', '{"session_id": "a"}', 'events', 0, 10, 3),
       (gen_random_uuid(), 'page_view', '2026-02-01 20:10:00+00', 'w1', '{"session_id": "a"}', 'events', 0, 11, 3);
SELECT etl.refresh_aggregates();
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'transaction', '2026-02-01 20:25:00+00', 'w1', '{"session_id": "a", "amount": 3, "currency": "EUR"}', 'events', 0, 12, 4),
       (gen_random_uuid(), 'click', '2026-02-01 21:30:00+00', 'w1', '{"session_id": "b", "element": "x"}', 'events', 0, 13, 4);
SELECT etl.refresh_aggregates();
SELECT results_eq(
    $$SELECT session_start, session_end, events, pages, revenue FROM analytics.user_sessions WHERE user_id = 'w1' ORDER BY 1$$,
    $$VALUES ('2026-02-01 20:00+00'::timestamptz, '2026-02-01 20:55+00'::timestamptz, 3::bigint, 2::bigint, 3::numeric),
             ('2026-02-01 21:30+00', '2026-02-01 22:00+00', 1, 0, 0)$$,
    'a continued session is extended; 65 minutes later a new one starts');
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'page_view', '2026-02-01 19:45:00+00', 'w1', '{"session_id": "a"}', 'events', 0, 14, 5),
       (gen_random_uuid(), 'page_view', '2026-02-01 20:50:00+00', 'w1', '{"session_id": "a"}', 'events', 0, 15, 5),
       (gen_random_uuid(), 'page_view', '2026-02-01 21:10:00+00', 'w1', '{"session_id": "a"}', 'events', 0, 16, 5);
SELECT etl.refresh_aggregates();
SELECT results_eq(
    $$SELECT session_start, session_end, events, pages, revenue FROM analytics.user_sessions WHERE user_id = 'w1' ORDER BY 1$$,
    $$VALUES ('2026-02-01 19:45+00'::timestamptz, '2026-02-01 22:00+00'::timestamptz, 7::bigint, 5::bigint, 3::numeric)$$,
    'late events before and between sessions merge them all');
SELECT is(etl.rebuild_aggregates('2026-02-01 19:00+00', '2026-02-01 22:00+00'), 180, 'rebuild');
SELECT results_eq(
    $$SELECT session_start, session_end, events, pages, revenue FROM analytics.user_sessions WHERE user_id = 'w1' ORDER BY 1$$,
    $$VALUES ('2026-02-01 19:45+00'::timestamptz, '2026-02-01 22:00+00'::timestamptz, 7::bigint, 5::bigint, 3::numeric)$$,
    'the rebuilt sessions equal the incremental ones');
-- 0018: sessions are merged from pieces. A late event inside a session only
-- adds to it; an event exactly 30 minutes after the last one starts a new session.
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'click', '2026-02-01 20:30:00+00', 'w1', '{"session_id": "a", "element": "x"}', 'events', 0, 17, 6),
       (gen_random_uuid(), 'page_view', '2026-02-01 22:00:00+00', 'w1', '{"session_id": "c"}', 'events', 0, 18, 6);
SELECT etl.refresh_aggregates();
SELECT results_eq(
    $$SELECT session_start, session_end, events, pages, revenue FROM analytics.user_sessions WHERE user_id = 'w1' ORDER BY 1$$,
    $$VALUES ('2026-02-01 19:45+00'::timestamptz, '2026-02-01 22:00+00'::timestamptz, 8::bigint, 5::bigint, 3::numeric),
             ('2026-02-01 22:00+00', '2026-02-01 22:30+00', 1, 1, 0)$$,
    'a late event inside a session adds to it; 30 minutes after the last event, a new session');

-- The writer requests and works through rebuilds; the reader sees none of the state.
SET ROLE pipeline_writer;
SELECT lives_ok($$SELECT etl.request_rebuild('2026-02-01 10:00+00', '2026-02-01 11:00+00', 'writer'), etl.refresh_aggregates(true)$$,
                'writer requests and refreshes');
RESET ROLE;
SET ROLE grafana_reader;
SELECT throws_ok('SELECT * FROM etl.agg_events_1h', '42501', NULL, 'reader: no rollup state');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
