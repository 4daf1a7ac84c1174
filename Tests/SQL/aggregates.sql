-- Tests/SQL/aggregates.sql (pgTAP, run by scripts/test with pg_prove on a freshly migrated database)
-- The trigger marks touched buckets in the inserting transaction, a refresh
-- recomputes only those, late events are counted against the previous
-- watermark, and the maintenance functions do what they say.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(27);

SELECT etl.ensure_event_partitions(ARRAY[DATE '2025-12-31', DATE '2026-01-01', DATE '2024-03-01']);

-- One statement, like one COPY: two minutes across a day boundary, three users.
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'page_view', '2025-12-31 23:59:10+00', 'u1', '{"session_id": "s1", "page": "/a", "country": "ES"}', 'events', 0, 0, 1),
       (gen_random_uuid(), 'page_view', '2025-12-31 23:59:50+00', 'u2', '{"session_id": "s2", "page": "/a", "country": "ES"}', 'events', 0, 1, 1),
       (gen_random_uuid(), 'transaction', '2026-01-01 00:00:20+00', 'u1', '{"session_id": "s1", "amount": 10.25, "currency": "EUR"}', 'events', 0, 2, 1),
       (gen_random_uuid(), 'transaction', '2026-01-01 00:00:40+00', 'u3', '{"session_id": "s3", "amount": 4.75, "currency": "EUR"}', 'events', 0, 3, 1),
       (gen_random_uuid(), 'click', '2026-01-01 00:20:00+00', 'u3', '{"session_id": "s3", "element": "add_to_cart"}', 'events', 0, 4, 1);

SELECT is((SELECT count(DISTINCT bucket)::int FROM etl.dirty_minutes), 3, 'three minutes marked');
SELECT is((SELECT count(*)::int FROM etl.dirty_users), 0, 'users are not marked: a refresh finds them in the batch''s rows');
SELECT is((SELECT max_event_time FROM etl.watermarks WHERE topic = 'events'), '2026-01-01 00:20:00+00'::timestamptz,
          'watermark source: the max event time');
SELECT is(etl.refresh_aggregates(), 3, 'refresh recomputes the three minutes');
SELECT is_empty('SELECT * FROM etl.dirty_minutes', 'marks cleared');
SELECT results_eq(
    $$SELECT bucket, event_type, events, users FROM analytics.events_per_minute ORDER BY 1, 2$$,
    $$VALUES ('2025-12-31 23:59:00+00'::timestamptz, 'page_view'::text, 2::bigint, 2::bigint),
             ('2026-01-01 00:00:00+00', 'transaction', 2, 2),
             ('2026-01-01 00:20:00+00', 'click', 1, 1)$$,
    'events_per_minute');
SELECT results_eq(
    $$SELECT bucket, currency, transactions, revenue FROM analytics.revenue_per_minute$$,
    $$VALUES ('2026-01-01 00:00:00+00'::timestamptz, 'EUR'::text, 2::bigint, 15.00::numeric)$$,
    'revenue_per_minute');
SELECT results_eq(
    $$SELECT sessions_viewed, sessions_clicked, sessions_added_to_cart, sessions_paid FROM analytics.session_funnel_per_hour
      WHERE bucket = '2026-01-01 00:00:00+00'$$,
    $$VALUES (0::bigint, 1::bigint, 1::bigint, 2::bigint)$$,
    'funnel: add_to_cart is a click on element add_to_cart');
SELECT results_eq(
    $$SELECT user_id, session_start, events, pages, revenue FROM analytics.user_sessions ORDER BY 1, 2$$,
    $$VALUES ('u1'::text, '2025-12-31 23:59:10+00'::timestamptz, 2::bigint, 1::bigint, 10.25::numeric),
             ('u2', '2025-12-31 23:59:50+00', 1, 1, 0),
             ('u3', '2026-01-01 00:00:40+00', 2, 0, 4.75)$$,
    'user_sessions across midnight');
SELECT is(etl.refresh_aggregates(), 0, 'nothing dirty: nothing recomputed');

-- A rolled-back statement leaves no marks.
SAVEPOINT doomed;
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'click', '2026-01-01 00:05:00+00', 'u9', '{"element": "x"}', 'events', 0, 5, 2);
ROLLBACK TO SAVEPOINT doomed;
SELECT is_empty('SELECT * FROM etl.dirty_minutes', 'a rolled-back insert leaves no marks');

-- Late: window 23:59 ended long before the watermark (00:15); 00:16 is within the lateness.
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'page_view', '2025-12-31 23:59:30+00', 'u4', '{"page": "/b"}', 'events', 0, 6, 3),
       (gen_random_uuid(), 'page_view', '2026-01-01 00:16:30+00', 'u4', '{"page": "/b"}', 'events', 0, 7, 3);
SELECT results_eq(
    $$SELECT bucket, late_events FROM analytics.late_events_per_minute$$,
    $$VALUES ('2025-12-31 23:59:00+00'::timestamptz, 1::bigint)$$,
    'only the event for a final window is late');
SELECT is(etl.refresh_aggregates(), 2, 'a late event touches only its own minute');
SELECT is((SELECT events FROM analytics.events_per_minute WHERE bucket = '2025-12-31 23:59:00+00'), 3::bigint,
          'the late event is counted');

-- One statement holding rows of two batches: each batch is marked and added,
-- and a user already counted in a minute is not counted there again.
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'page_view', '2026-01-01 00:16:40+00', 'u4', '{"page": "/b"}', 'events', 0, 9, 5),
       (gen_random_uuid(), 'page_view', '2026-01-01 00:16:50+00', 'u6', '{"page": "/b"}', 'events', 0, 10, 6);
SELECT results_eq($$SELECT batch_id FROM etl.dirty_minutes ORDER BY 1$$, $$VALUES (5::bigint), (6::bigint)$$,
                  'a minute is marked once per batch with rows in it');
SELECT is(etl.refresh_aggregates(), 1, 'one minute touched');
SELECT results_eq(
    $$SELECT events, users FROM analytics.events_per_minute WHERE bucket = '2026-01-01 00:16:00+00'$$,
    $$VALUES (3::bigint, 2::bigint)$$,
    'both batches added to the minute; u4 counted once');
SELECT results_eq(
    $$SELECT views, users FROM analytics.page_views_per_minute WHERE bucket = '2026-01-01 00:16:00+00' AND page = '/b'$$,
    $$VALUES (3::bigint, 2::bigint)$$,
    'page views and their users likewise');

-- A replay of 2024 is late, and does not move the watermark.
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'log', '2024-03-01 10:00:00+00', 'u5', '{"service": "api", "level": "error"}', 'events', 0, 8, 4);
SELECT is((SELECT max_event_time FROM etl.watermarks WHERE topic = 'events'), '2026-01-01 00:20:00+00'::timestamptz,
          'old data leaves the watermark');
SELECT is((SELECT sum(late_events)::int FROM analytics.late_events_per_minute), 2, 'the replayed event is late');

-- Rebuild after the aggregates were lost.
TRUNCATE etl.agg_events_1m;
SELECT is(etl.rebuild_aggregates('2025-12-31 23:00+00', '2026-01-01 01:00+00'), 121,
          'rebuild: every minute of the range (120) and the 2024 minute still pending');
SELECT is((SELECT sum(events)::int FROM analytics.events_per_minute), 10, 'rebuilt from staging');
SELECT throws_ok($$SELECT etl.rebuild_aggregates('2026-01-02', '2026-01-01')$$, '22023', NULL, 'an empty range is refused');

-- Partition maintenance.
SELECT cmp_ok(etl.ensure_partitions(1, 3), '>=', 4, 'partitions around today are created');
SELECT is(etl.drop_partitions_older_than(interval '400 days'), 1, 'the 2024 partition is dropped');
SELECT results_eq($$SELECT events, users FROM analytics.events_per_minute WHERE bucket = '2024-03-01 10:00+00'$$,
                  $$VALUES (1::bigint, 1::bigint)$$, 'its aggregates stay, distinct users with them');
SELECT throws_ok($$SELECT etl.drop_partitions_older_than(interval '-1 day')$$, '22023', NULL, 'a negative age is refused');

SELECT * FROM finish();
ROLLBACK;
