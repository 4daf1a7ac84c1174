-- Tests/SQL/declared_aggregates.sql (pgTAP, run by scripts/test with pg_prove on a freshly migrated database)
-- Rollups declared in etl.aggregates (0020): the existing ones are declared; a new declaration
-- gets its table and view; a batch merges into it; a late batch adds to it; rebuilding the range
-- from staging gives exactly what incremental maintenance gave; a mark without a batch
-- recomputes its hour and nothing twice; wrong declarations are refused with what is wrong.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(16);

SELECT set_eq($$SELECT name FROM etl.aggregates$$,
              ARRAY['events_1m', 'events_5m', 'events_1h', 'revenue_1m', 'page_views_1m', 'logs_1m', 'funnel_1h'],
              'the rollups before 0020 are declared');
SELECT hasnt_function('etl', 'add_refresh_rows_to_rollup', 'no bespoke rollup statement left');

INSERT INTO etl.aggregates (name, bucket_width, event_types, dimensions, measures, view_name)
VALUES ('revenue_country_15m', interval '15 minutes', '{transaction}', '{country,currency}',
        '[{"column": "transactions", "kind": "count"}, {"column": "revenue", "kind": "sum", "of": "amount"},
          {"column": "buyers_sketch", "kind": "distinct", "of": "user_id"}]',
        'revenue_per_country_per_15_minutes');
SELECT is(etl.create_declared_aggregates(), 1, 'its table is created');
SELECT columns_are('etl', 'agg_revenue_country_15m',
                   ARRAY['bucket', 'country', 'currency', 'transactions', 'revenue', 'buyers_sketch']);
SELECT col_is_pk('etl', 'agg_revenue_country_15m', ARRAY['bucket', 'country', 'currency'], 'keyed by bucket and dimensions');
SELECT columns_are('analytics', 'revenue_per_country_per_15_minutes',
                   ARRAY['bucket', 'country', 'currency', 'transactions', 'revenue', 'buyers', 'is_final']);
SELECT is(etl.create_declared_aggregates(), 0, 'a second run creates nothing');

SELECT etl.ensure_event_partitions(ARRAY[DATE '2026-04-01']);
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'transaction', '2026-04-01 10:01:00+00', 'u1', '{"amount": 10.50, "currency": "EUR", "country": "ES"}', 'events', 0, 0, 1),
       (gen_random_uuid(), 'transaction', '2026-04-01 10:14:59+00', 'u1', '{"amount": 2.25, "currency": "EUR", "country": "ES"}', 'events', 0, 1, 1),
       (gen_random_uuid(), 'transaction', '2026-04-01 10:15:00+00', 'u2', '{"amount": 7, "currency": "USD"}', 'events', 0, 2, 1),
       (gen_random_uuid(), 'page_view', '2026-04-01 10:16:00+00', 'u3', '{"page": "/a", "country": "ES"}', 'events', 0, 3, 1);
SELECT is(etl.refresh_aggregates(), 4, 'four minutes');
SELECT results_eq(
    $$SELECT bucket, country, currency, transactions, revenue, buyers
      FROM analytics.revenue_per_country_per_15_minutes ORDER BY 1, 2, 3$$,
    $$VALUES ('2026-04-01 10:00+00'::timestamptz, 'ES'::text, 'EUR'::text, 2::bigint, 12.75::numeric, 1::bigint),
             ('2026-04-01 10:15+00', '(none)', 'USD', 1, 7, 1)$$,
    'a batch merged: 15-minute buckets, a missing country is (none), page views not counted');

-- A late batch into the first bucket adds to it.
INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
VALUES (gen_random_uuid(), 'transaction', '2026-04-01 10:05:00+00', 'u4', '{"amount": 1, "currency": "EUR", "country": "ES"}', 'events', 0, 4, 2),
       (gen_random_uuid(), 'transaction', '2026-04-01 10:06:00+00', 'u1', '{"amount": 1, "currency": "EUR", "country": "ES"}', 'events', 0, 5, 2);
SELECT is(etl.refresh_aggregates(), 2, 'two minutes');
SELECT results_eq(
    $$SELECT transactions, revenue, buyers FROM analytics.revenue_per_country_per_15_minutes
      WHERE bucket = '2026-04-01 10:00+00' AND country = 'ES'$$,
    $$VALUES (4::bigint, 14.75::numeric, 2::bigint)$$,
    'the late batch added; u1 counted once');

CREATE TEMPORARY TABLE incremental AS SELECT * FROM analytics.revenue_per_country_per_15_minutes;
CREATE TEMPORARY TABLE incremental_events AS SELECT * FROM analytics.events_per_5_minutes;
SELECT is(etl.rebuild_aggregates('2026-04-01 10:00+00', '2026-04-01 11:00+00'), 60, 'a rebuild of the hour');
SELECT set_eq($$SELECT * FROM analytics.revenue_per_country_per_15_minutes$$, $$SELECT * FROM incremental$$,
              'rebuilt from staging: exactly the incremental result');
-- A mark without a batch, by hand: its hour is recomputed, nothing counted twice.
INSERT INTO etl.dirty_minutes (bucket) VALUES ('2026-04-01 10:16:00+00');
SELECT is(etl.refresh_aggregates(), 1, 'one minute marked by hand');
SELECT set_eq($$SELECT * FROM analytics.events_per_5_minutes$$, $$SELECT * FROM incremental_events$$,
              'a hand-made mark recomputes its hour: the 5-minute rollup unchanged');

SELECT throws_like(
    $$INSERT INTO etl.aggregates (name, bucket_width, measures) VALUES ('bad_measure', interval '1 minute',
      '[{"column": "x", "kind": "median", "of": "amount"}]'); SELECT etl.create_declared_aggregates()$$,
    '%aggregate bad_measure: measure x must be%', 'an unknown kind of measure is refused, named');

SELECT * FROM finish();
ROLLBACK;
