-- Tests/SQL/dedup.sql (pgTAP, run by scripts/test with pg_prove on a freshly migrated database)
-- Producer duplicates: the first record of an event_id stays in staging.events,
-- every later one moves to etl.duplicate_events (exact copy: 'duplicate';
-- other content: 'event_id_conflict'), and aggregates count the event once.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(21);

SELECT etl.ensure_event_partitions(ARRAY[DATE '2026-02-01', DATE '2026-02-02']);

SELECT has_trigger('staging', 'events', 'events_divert_duplicates', 'the duplicate-diverting trigger');

-- One statement, like one COPY: event A twice (partitions 1 and 0: the lower
-- partition wins within a statement) and event B once.
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES ('00000000-0000-4000-8000-00000000000a', 'transaction', '2026-02-01 10:00:10+00', 'u1',
        '{"amount": 10.00, "currency": "EUR"}', 'events', 1, 0, 1),
       ('00000000-0000-4000-8000-00000000000a', 'transaction', '2026-02-01 10:00:10+00', 'u1',
        '{"currency": "EUR", "amount": 10.00}', 'events', 0, 0, 1),
       ('00000000-0000-4000-8000-00000000000b', 'click', '2026-02-01 10:00:20+00', 'u2',
        '{"element": "nav"}', 'events', 0, 1, 1);

SELECT results_eq(
    $$SELECT event_id::text, kafka_partition, kafka_offset FROM staging.events ORDER BY 1$$,
    $$VALUES ('00000000-0000-4000-8000-00000000000a', 0, 0::bigint), ('00000000-0000-4000-8000-00000000000b', 0, 1)$$,
    'within a statement the first record (partition 0) stays, its copy leaves staging');
SELECT results_eq(
    $$SELECT kafka_partition, kafka_offset, reason, first_partition, first_offset FROM etl.duplicate_events$$,
    $$VALUES (1, 0::bigint, 'duplicate'::text, 0, 0::bigint)$$,
    'the copy is a duplicate (same jsonb, keys in another order), pointing at the first');

SELECT results_eq(
    $$SELECT event_id::text, batch_id FROM etl.event_ids ORDER BY 1$$,
    $$VALUES ('00000000-0000-4000-8000-00000000000a', 1::bigint), ('00000000-0000-4000-8000-00000000000b', 1)$$,
    'a claim names its batch, where a copy''s verdict reads the claimer''s row');

-- Later statements (later batches): A again, A with other content and an
-- event_time far ahead (which must not move the watermark), C new; then B
-- again after its window became final (not a late event: it changes nothing).
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES ('00000000-0000-4000-8000-00000000000a', 'transaction', '2026-02-01 10:00:10+00', 'u1',
        '{"amount": 10.00, "currency": "EUR"}', 'events', 0, 2, 2),
       ('00000000-0000-4000-8000-00000000000a', 'transaction', '2026-02-02 23:00:00+00', 'u1',
        '{"amount": 99.00, "currency": "EUR"}', 'events', 0, 3, 2),
       ('00000000-0000-4000-8000-00000000000c', 'click', '2026-02-01 10:30:00+00', 'u3',
        '{"element": "nav"}', 'events', 0, 4, 2);
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES ('00000000-0000-4000-8000-00000000000b', 'click', '2026-02-01 10:00:20+00', 'u2',
        '{"element": "nav"}', 'events', 0, 5, 3);

SELECT is((SELECT count(*)::int FROM staging.events), 3, 'staging holds A, B and C once each');
SELECT results_eq(
    $$SELECT kafka_partition, kafka_offset, reason, batch_id FROM etl.duplicate_events ORDER BY batch_id, kafka_offset$$,
    $$VALUES (1, 0::bigint, 'duplicate'::text, 1::bigint), (0, 2, 'duplicate', 2), (0, 3, 'event_id_conflict', 2),
             (0, 5, 'duplicate', 3)$$,
    'copies across batches are duplicates, other content under the same id a conflict');
SELECT results_eq(
    $$SELECT first_payload, conflicting_payload FROM etl.event_id_conflicts$$,
    $$VALUES ('{"amount": 10.00, "currency": "EUR"}'::jsonb, '{"amount": 99.00, "currency": "EUR"}'::jsonb)$$,
    'both payloads of a conflict are findable');
SELECT is((SELECT max_event_time FROM etl.watermarks WHERE topic = 'events'), '2026-02-01 10:30:00+00'::timestamptz,
          'a conflicting record''s event_time does not move the watermark');
SELECT is((SELECT coalesce(sum(events), 0)::int FROM etl.late_events WHERE batch_id = 3), 0,
          'a late copy of an event is not a late event');

SELECT cmp_ok(etl.refresh_aggregates(), '>', 0, 'refresh');
SELECT results_eq(
    $$SELECT bucket, event_type, events, users FROM analytics.events_per_minute ORDER BY 1, 2$$,
    $$VALUES ('2026-02-01 10:00:00+00'::timestamptz, 'click'::text, 1::bigint, 1::bigint),
             ('2026-02-01 10:00:00+00', 'transaction', 1, 1),
             ('2026-02-01 10:30:00+00', 'click', 1, 1)$$,
    'events_per_minute counts each event once');
SELECT results_eq(
    $$SELECT transactions, revenue FROM analytics.revenue_per_minute$$,
    $$VALUES (1::bigint, 10.00::numeric)$$,
    'revenue counts the first payload once, not the conflict');
SELECT results_eq(
    $$SELECT sum(duplicates)::bigint, sum(conflicts)::bigint FROM analytics.duplicates_per_minute$$,
    $$VALUES (3::bigint, 1::bigint)$$,
    'duplicates_per_minute');

-- The horizon: ids whose event_time fell behind max event time - lateness - window are forgotten.
UPDATE etl.settings SET setting_value = '10 minutes' WHERE setting_name = 'dedup_window';
SELECT is(etl.prune_event_ids(), 2::bigint, 'A and B (10:00) are behind 10:30 - 5 min - 10 min; C stays');
SELECT results_eq($$SELECT event_id::text FROM etl.event_ids$$, $$VALUES ('00000000-0000-4000-8000-00000000000c')$$,
                  'C is remembered');
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES ('00000000-0000-4000-8000-00000000000b', 'click', '2026-02-01 10:00:20+00', 'u2',
        '{"element": "nav"}', 'events', 0, 6, 4),
       ('00000000-0000-4000-8000-00000000000c', 'click', '2026-02-01 10:30:00+00', 'u3',
        '{"element": "nav"}', 'events', 0, 7, 4);
SELECT is((SELECT count(*)::int FROM staging.events WHERE event_id = '00000000-0000-4000-8000-00000000000b'), 2,
          'beyond the horizon a copy loads as a new event (documented)');
SELECT is((SELECT reason FROM etl.duplicate_events WHERE kafka_offset = 7), 'duplicate',
          'within the horizon it is still caught');

-- A claim made before 0032 names no batch: its claimer's row is found by time.
UPDATE etl.event_ids SET batch_id = NULL WHERE event_id = '00000000-0000-4000-8000-00000000000c';
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES ('00000000-0000-4000-8000-00000000000c', 'click', '2026-02-01 10:30:00+00', 'u3',
        '{ "element":"nav" }', 'events', 0, 8, 5),
       ('00000000-0000-4000-8000-00000000000c', 'click', '2026-02-01 10:30:00+00', 'u3',
        '{"element": "footer"}', 'events', 0, 9, 5);
SELECT results_eq(
    $$SELECT kafka_offset, reason FROM etl.duplicate_events WHERE batch_id = 5 ORDER BY 1$$,
    $$VALUES (8::bigint, 'duplicate'::text), (9, 'event_id_conflict')$$,
    'a claim without a batch: the same content in other bytes is a duplicate, other content a conflict');
SELECT is((SELECT count(*)::int FROM staging.events WHERE event_id = '00000000-0000-4000-8000-00000000000c'), 1,
          'neither stays in staging');

-- Before claimers' rows are read by batch, their tables' new BRIN ranges are summarized, once
-- (all but a table's last range, which PostgreSQL leaves until it is full: a read scans at most
-- that one).
SELECT etl.ensure_event_partitions(ARRAY[DATE '2026-02-03']);
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
SELECT md5('d' || g)::uuid, 'click', '2026-02-03 08:00:00+00', 'u4', '{"element": "nav"}', 'events', 0, 100 + g, 6
FROM generate_series(1, 8000) AS g;
SELECT cmp_ok(etl.summarize_staging_ranges('2026-02-03 08:00+00', '2026-02-03 08:00+00', 4), '>', 0,
              'a table''s new ranges are summarized (partition 4: the table partition 0 is in)');
SELECT is(etl.summarize_staging_ranges('2026-02-03 08:00+00', '2026-02-04 08:00+00', 0), 0,
          'once; a day without tables is passed over');

SELECT * FROM finish();
ROLLBACK;
