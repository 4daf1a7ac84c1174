-- cron/pg_cron.sql
-- Schedules the pipeline's maintenance inside PostgreSQL with pg_cron
-- (Debian: postgresql-15-cron; the server needs shared_preload_libraries =
-- 'pg_cron'). pg_cron lives in one database (cron.database_name, default
-- postgres) and runs jobs in any: run this file as a superuser in that
-- database, naming the pipeline's database:
--   psql -X -v ON_ERROR_STOP=1 -d postgres -v pipeline_database=pipeline -f cron/pg_cron.sql
-- (without -v pipeline_database, the jobs run in the database psql is connected to).
-- Rerunnable: a job of the same name is replaced. cron/crontab calls the same
-- SQL functions on servers without pg_cron; each returns at once when a
-- previous run still holds its advisory lock.

\if :{?pipeline_database}
\else
\set pipeline_database :DBNAME
\endif

CREATE EXTENSION IF NOT EXISTS pg_cron;

-- Backstop for the worker's refresh after each cycle's batches: recompute the dirty buckets.
SELECT cron.schedule_in_database('pipeline-refresh-aggregates', '* * * * *',
                                 'SELECT etl.refresh_aggregates()', :'pipeline_database');

-- Daily partitions of staging.events from yesterday to 3 days ahead.
SELECT cron.schedule_in_database('pipeline-ensure-partitions', '7 * * * *',
                                 'SELECT etl.ensure_partitions(1, 3)', :'pipeline_database');

-- Retention: drop raw events older than 30 days (aggregates are kept). Adjust the interval.
SELECT cron.schedule_in_database('pipeline-drop-old-partitions', '17 3 * * *',
                                 $$SELECT etl.drop_partitions_older_than(interval '30 days')$$, :'pipeline_database');

-- Dedup state: forget event ids behind the horizon (allowed_lateness + dedup_window in etl.settings).
SELECT cron.schedule_in_database('pipeline-prune-event-ids', '27 * * * *',
                                 'SELECT etl.prune_event_ids()', :'pipeline_database');

-- Plain materialized views (analytics.daily_summary), REFRESH ... CONCURRENTLY.
SELECT cron.schedule_in_database('pipeline-refresh-materialized-views', '*/5 * * * *',
                                 'SELECT etl.refresh_materialized_views()', :'pipeline_database');
