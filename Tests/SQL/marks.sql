-- Tests/SQL/marks.sql (pgTAP, run by scripts/test with pg_prove on a freshly migrated database)
-- etl.record_batch_marks records a load's marks from its summary per (topic, minute, batch),
-- every part of one call judged against the watermark as it was before the call; and the
-- trigger records rows staged by hand through it, one statement holding several topics and
-- batches as one call.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(13);

-- A first load of topic a (batch 7, two minutes): marked, the watermark set, nothing late
-- (there was no watermark to be late against).
SELECT etl.record_batch_marks(
    '{a,a}', '{2026-03-01 10:00+00, 2026-03-01 10:01+00}', '{7,7}', '{3,2}',
    '{2026-03-01 10:00:59+00, 2026-03-01 10:01:30.5+00}');
SELECT results_eq($$SELECT bucket, batch_id FROM etl.dirty_minutes ORDER BY 1$$,
                  $$VALUES ('2026-03-01 10:00+00'::timestamptz, 7::bigint), ('2026-03-01 10:01+00', 7)$$,
                  'each minute marked for its batch');
SELECT is((SELECT max_event_time FROM etl.watermarks WHERE topic = 'a'), '2026-03-01 10:01:30.5+00'::timestamptz,
          'the watermark source: the latest event time');
SELECT is_empty('SELECT * FROM etl.late_events', 'nothing late against no watermark');

-- One call, two topics, two batches. Topic a's watermark is 10:01:30.5 - 5 minutes = 09:56:30.5:
--   09:50 (batches 8 and 9): final, so late: one row, the lowest batch, 2 + 1 events;
--   09:57 ends at 09:58, after the watermark: not late;
--   11:00 moves a's watermark, yet the call's other parts are judged against the old one;
--   08:00 of batch 9 has 0 events (every record there diverted as a copy): marked, not late;
--   b had no watermark: nothing of it is late, and it gets one.
SELECT etl.record_batch_marks(
    '{a,a,a,a,a,b}',
    '{2026-03-01 09:50+00, 2026-03-01 09:50+00, 2026-03-01 09:57+00, 2026-03-01 11:00+00, 2026-03-01 08:00+00, 2026-03-01 09:00+00}',
    '{8,9,8,9,9,8}', '{2,1,4,1,0,5}',
    '{2026-03-01 09:50:10+00, 2026-03-01 09:50:40+00, 2026-03-01 09:57:59+00, 2026-03-01 11:00:05+00, NULL, 2026-03-01 09:00:30+00}');
SELECT results_eq(
    $$SELECT topic, bucket, batch_id, events, watermark FROM etl.late_events$$,
    $$VALUES ('a'::text, '2026-03-01 09:50+00'::timestamptz, 8::bigint, 3::bigint, '2026-03-01 09:56:30.5+00'::timestamptz)$$,
    'late: the final minute only, once for both batches, judged against the watermark before the call');
SELECT results_eq($$SELECT topic, max_event_time FROM etl.watermarks ORDER BY 1$$,
                  $$VALUES ('a'::text, '2026-03-01 11:00:05+00'::timestamptz), ('b', '2026-03-01 09:00:30+00')$$,
                  'each topic''s watermark advanced to its latest counted event');
SELECT results_eq(
    $$SELECT bucket, batch_id FROM etl.dirty_minutes WHERE batch_id IN (8, 9) ORDER BY 1, 2$$,
    $$VALUES ('2026-03-01 08:00+00'::timestamptz, 9::bigint), ('2026-03-01 09:00+00', 8), ('2026-03-01 09:50+00', 8),
             ('2026-03-01 09:50+00', 9), ('2026-03-01 09:57+00', 8), ('2026-03-01 11:00+00', 9)$$,
    'every (minute, batch) marked once, the diverted minute too');

-- An older load leaves the watermark (no row lock taken either).
SELECT etl.record_batch_marks('{a}', '{2026-03-01 10:59+00}', '{10}', '{1}', '{2026-03-01 10:59:30+00}');
SELECT is((SELECT max_event_time FROM etl.watermarks WHERE topic = 'a'), '2026-03-01 11:00:05+00'::timestamptz,
          'an older load does not move the watermark back');
SELECT lives_ok($$SELECT etl.record_batch_marks(NULL, NULL, NULL, NULL, NULL)$$, 'an empty load records nothing');

-- Rows staged by hand go through the trigger, which sums them per (topic, minute, batch) and
-- hands the whole statement to etl.record_batch_marks. Watermarks now: a 11:00:05, b 09:00:30.
DELETE FROM etl.dirty_minutes;
DELETE FROM etl.late_events;
SELECT etl.ensure_event_partitions(ARRAY[DATE '2026-02-28', DATE '2026-03-01']);
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'click', '2026-03-01 10:30:10+00', 'u1', '{}', 'a', 0, 0, 11),  -- late for a
       (gen_random_uuid(), 'click', '2026-03-01 10:30:50+00', 'u2', '{}', 'a', 0, 1, 12),  -- late, batch 12
       (gen_random_uuid(), 'click', '2026-03-01 11:20:00+00', 'u1', '{}', 'a', 0, 2, 12),  -- moves a
       (gen_random_uuid(), 'click', '2026-02-28 23:59:59.999999+00', 'u3', '{}', 'b', 1, 0, 11),  -- late for b
       (gen_random_uuid(), 'click', '2026-03-01 08:55:10+00', 'u3', '{}', 'b', 1, 1, 11);  -- within b's lateness
SELECT results_eq(
    $$SELECT topic, bucket, batch_id, events, watermark FROM etl.late_events ORDER BY 1, 2$$,
    $$VALUES ('a'::text, '2026-03-01 10:30+00'::timestamptz, 11::bigint, 2::bigint, '2026-03-01 10:55:05+00'::timestamptz),
             ('b', '2026-02-28 23:59+00', 11, 1, '2026-03-01 08:55:30+00')$$,
    'rows staged by hand: late per topic against that topic''s watermark before the statement');
SELECT results_eq($$SELECT topic, max_event_time FROM etl.watermarks ORDER BY 1$$,
                  $$VALUES ('a'::text, '2026-03-01 11:20:00+00'::timestamptz), ('b', '2026-03-01 09:00:30+00')$$,
                  'rows staged by hand: a moved, b not');
SELECT results_eq(
    $$SELECT bucket, batch_id FROM etl.dirty_minutes ORDER BY 1, 2$$,
    $$VALUES ('2026-02-28 23:59+00'::timestamptz, 11::bigint), ('2026-03-01 08:55+00', 11),
             ('2026-03-01 10:30+00', 11), ('2026-03-01 10:30+00', 12), ('2026-03-01 11:20+00', 12)$$,
    'rows staged by hand: every (minute, batch) marked');

-- The worker's COPY into a day partition fires no trigger of the parent: it records the marks itself.
SELECT etl.ensure_event_partitions(ARRAY[DATE '2026-03-02']);
DELETE FROM etl.dirty_minutes;
INSERT INTO staging.events_p20260302 (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'click', '2026-03-02 10:00:00+00', 'u1', '{}', 'a', 0, 3, 13);
SELECT is_empty('SELECT * FROM etl.dirty_minutes', 'rows put straight into a partition are not marked by the trigger');
SELECT is(etl.event_partition(DATE '2026-03-02'), 'staging.events_p20260302', 'the partition of a day, by name');

SELECT * FROM finish();
ROLLBACK;
