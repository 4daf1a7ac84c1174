-- Tests/SQL/schema.sql (pgTAP, run by scripts/test with pg_prove on a freshly migrated database)
-- The objects issue 4 promises exist with the promised signatures, every etl
-- function pins its search_path, and the roles have exactly the promised rights.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(42);

SELECT has_table('staging', 'events', 'staging.events');
SELECT is((SELECT relkind::text FROM pg_class WHERE oid = 'staging.events'::regclass), 'p', 'staging.events is partitioned');
SELECT has_trigger('staging', 'events', 'events_record_touched_buckets', 'the touched-bucket trigger');
SELECT hasnt_index('staging', 'events', 'events_event_time_offset_idx', 'no (event_time, kafka_offset) B-tree (0028)');
SELECT has_index('staging', 'events', 'events_batch_id_event_time_brin_idx', '(batch_id, event_time) BRIN index: a batch''s rows, ranges of event time (0028)');
SELECT hasnt_index('staging', 'events', 'events_batch_id_idx', 'no batch_id B-tree (0025)');
SELECT is(
    (SELECT count(*)::integer FROM pg_catalog.pg_index AS x JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid
     JOIN pg_catalog.pg_am AS a ON a.oid = i.relam
     WHERE x.indrelid = 'staging.events'::regclass AND a.amname <> 'brin'),
    0, 'staging.events has no index but BRIN: a staged event writes no B-tree entry');
SELECT has_index('etl', 'agg_user_sessions', 'agg_user_sessions_start_brin_idx', 'session_start BRIN index: sessions by a range of starts (0029)');
SELECT is(
    (SELECT array_agg(pg_catalog.pg_get_indexdef(x.indexrelid) ORDER BY 1) FROM pg_catalog.pg_index AS x
     JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid JOIN pg_catalog.pg_am AS a ON a.oid = i.relam
     WHERE x.indrelid = 'etl.agg_user_sessions'::regclass AND a.amname = 'btree'),
    ARRAY['CREATE INDEX agg_user_sessions_user_start_idx ON ONLY etl.agg_user_sessions USING btree (user_id, session_start)'],
    'etl.agg_user_sessions has one B-tree, (user_id, session_start): a new session writes one B-tree entry');
-- A day's partitions of each, made after the migrations, carry their parents' index options too.
SELECT lives_ok($$SELECT etl.ensure_event_partitions(ARRAY[DATE '2031-01-01'])$$, 'a new day of staging');
SELECT lives_ok($$SELECT etl.ensure_session_partitions(ARRAY[DATE '2031-01-01'])$$, 'a new day of sessions');
SELECT is(
    (SELECT array_agg(i.relname::text ORDER BY 1) FROM pg_catalog.pg_class AS i JOIN pg_catalog.pg_am AS a ON a.oid = i.relam
     WHERE a.amname = 'brin' AND i.reloptions @> ARRAY['autosummarize=on']),
    NULL,
    'no BRIN index asks autovacuum to summarize each range as it fills, new partitions included: under load the 256 requests PostgreSQL keeps overflow and each dropped one is logged (0031)');

SELECT has_function('etl', 'refresh_aggregates', ARRAY['boolean']);
SELECT function_returns('etl', 'refresh_aggregates', ARRAY['boolean'], 'integer');
SELECT has_function('etl', 'rebuild_aggregates', ARRAY['timestamp with time zone', 'timestamp with time zone']);
SELECT function_returns('etl', 'rebuild_aggregates', ARRAY['timestamp with time zone', 'timestamp with time zone'], 'integer');
SELECT has_function('etl', 'ensure_partitions', ARRAY['integer', 'integer']);
SELECT has_function('etl', 'drop_partitions_older_than', ARRAY['interval']);
SELECT has_function('etl', 'refresh_materialized_views', ARRAY[]::text[]);

SELECT columns_are('analytics', 'events_per_minute', ARRAY['bucket', 'event_type', 'events', 'users']);
SELECT col_type_is('analytics', 'events_per_minute', 'users', 'bigint', 'events_per_minute.users is bigint');
SELECT columns_are('analytics', 'revenue_per_minute', ARRAY['bucket', 'currency', 'transactions', 'revenue']);
SELECT col_type_is('analytics', 'revenue_per_minute', 'revenue', 'numeric', 'revenue_per_minute.revenue is numeric');
SELECT columns_are('analytics', 'user_sessions',
                   ARRAY['user_id', 'session_start', 'session_end', 'events', 'pages', 'revenue']);
SELECT has_view('analytics', 'late_events_per_minute', 'late events view');
SELECT has_materialized_view('analytics', 'daily_summary', 'daily summary');

SELECT is(
    (SELECT setting_value FROM etl.settings WHERE setting_name = 'allowed_lateness'), '5 minutes',
    'allowed lateness defaults to 5 minutes');

SELECT is_empty(
    $$SELECT p.proname FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
      WHERE n.nspname = 'etl' AND NOT coalesce(p.proconfig @> ARRAY['search_path=""'], false)
        AND p.oid <> 'etl.session_merge_part(text)'::regprocedure$$,
    'every etl function sets search_path = '''' (but etl.session_merge_part, inlined: its body is bound)');
SELECT ok(
    (SELECT p.prosqlbody IS NOT NULL FROM pg_proc AS p WHERE p.oid = 'etl.session_merge_part(text)'::regprocedure),
    'etl.session_merge_part has a standard SQL body: what it calls is bound when it is created, not by search_path');

SELECT has_role('pipeline_writer');
SELECT has_role('grafana_reader');
SELECT schema_privs_are('analytics', 'grafana_reader', ARRAY['USAGE']);
SELECT schema_privs_are('staging', 'grafana_reader', ARRAY[]::text[]);
SELECT schema_privs_are('etl', 'grafana_reader', ARRAY[]::text[]);
SELECT is_empty(
    $$SELECT rolname FROM pg_authid WHERE rolname IN ('pipeline_writer', 'grafana_reader') AND rolpassword IS NOT NULL$$,
    'no password set by a migration');

-- The writer can run a whole batch and the maintenance (partitions are created as their owner).
SET ROLE pipeline_writer;
SELECT lives_ok($$SELECT etl.ensure_event_partitions(ARRAY[DATE '2026-03-01'])$$, 'writer creates a partition');
SELECT lives_ok(
    $$INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
      VALUES (gen_random_uuid(), 'page_view', '2026-03-01 10:00:00+00', 'u1', '{}', 'events', 0, 0, nextval('etl.batch_id_seq'))$$,
    'writer loads staging (the trigger writes etl as the writer)');
-- A day is split by Kafka partition modulo 4, so that a worker's lanes COPY into tables of their own.
SELECT is(
    (SELECT string_agg(c.relname || ':' || pg_get_expr(c.relpartbound, c.oid), '; ' ORDER BY c.relname)
     FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'staging.events_p20260301'::regclass),
    'events_p20260301_0:FOR VALUES IN (0); events_p20260301_1:FOR VALUES IN (1, ''-1''); '
    || 'events_p20260301_2:FOR VALUES IN (2, ''-2''); events_p20260301_3:FOR VALUES IN (3, ''-3'')',
    'a day of staging.events is four tables, by kafka_partition modulo 4');
SELECT lives_ok(
    $$INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, batch_id)
      VALUES (gen_random_uuid(), 'page_view', '2026-03-01 10:00:00+00', 'u1', '{}', 'events', 6, 0, nextval('etl.batch_id_seq')),
             (gen_random_uuid(), 'page_view', '2026-03-01 10:00:00+00', 'u1', '{}', 'events', -7, 0, nextval('etl.batch_id_seq'))$$,
    'a row of any partition number finds its table');
SELECT is((SELECT count(*)::integer FROM staging.events_p20260301_2), 1, 'partition 6 lands in the table of 6 % 4');
SELECT is((SELECT count(*)::integer FROM staging.events_p20260301_3), 1, 'partition -7 lands in the table of 7 % 4');
SELECT lives_ok(
    $$SELECT etl.refresh_aggregates(true), etl.ensure_partitions(), etl.drop_partitions_older_than('10 years'),
             etl.refresh_materialized_views()$$,
    'writer refreshes and maintains');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
