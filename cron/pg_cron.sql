-- cron/pg_cron.sql
-- Schedules the pipeline's maintenance inside PostgreSQL with pg_cron
-- (Debian: postgresql-15-cron; needs shared_preload_libraries = 'pg_cron' and
-- cron.database_name set to this database). Run once, as a superuser, in the
-- database named by cron.database_name:
--   psql -X -v ON_ERROR_STOP=1 -d pipeline -f cron/pg_cron.sql
-- Rerunnable: cron.schedule(name, ...) replaces a job of the same name.
-- The same SQL functions are called by cron/crontab on servers without pg_cron.
-- Every entry point returns at once when its advisory lock is taken.

CREATE EXTENSION IF NOT EXISTS pg_cron;

-- Backstop for the worker's refresh after each batch: recompute the dirty buckets.
SELECT cron.schedule('pipeline-refresh-aggregates', '* * * * *', 'SELECT etl.refresh_aggregates()');

-- Daily partitions of staging.events from yesterday to 3 days ahead.
SELECT cron.schedule('pipeline-ensure-partitions', '7 * * * *', 'SELECT etl.ensure_partitions(1, 3)');

-- Retention: drop raw events older than 30 days (aggregates are kept). Adjust the interval.
SELECT cron.schedule('pipeline-drop-old-partitions', '17 3 * * *',
                     $$SELECT etl.drop_partitions_older_than(interval '30 days')$$);

-- Plain materialized views (analytics.daily_summary), REFRESH ... CONCURRENTLY.
SELECT cron.schedule('pipeline-refresh-materialized-views', '*/5 * * * *',
                     'SELECT etl.refresh_materialized_views()');
