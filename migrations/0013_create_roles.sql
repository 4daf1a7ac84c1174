-- 0013_create_roles.sql
-- pipeline_writer: what the worker and cron need (load, refresh, maintain).
-- grafana_reader: USAGE and SELECT on analytics only, nothing on staging or etl
-- (analytics views run with their owner's rights, so they still work for it).
-- Both LOGIN roles are created only if missing and WITHOUT passwords: set them
-- at deploy time from the environment (README, "Roles": psql's \getenv, then :'pw').
-- Roles are cluster-wide: creating them needs CREATEROLE (a migrating user
-- without it should create them beforehand; the grants below still apply).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pipeline_writer') THEN
        CREATE ROLE pipeline_writer LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'grafana_reader') THEN
        CREATE ROLE grafana_reader LOGIN;
    END IF;
END;
$$;

-- The writer: read and write control data, load staging, run the functions.
GRANT USAGE ON SCHEMA etl, staging, analytics TO pipeline_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA etl TO pipeline_writer;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA staging TO pipeline_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO pipeline_writer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA etl TO pipeline_writer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA etl TO pipeline_writer;
-- Creating or dropping a partition needs ownership of staging.events, and a
-- REFRESH of a materialized view needs ownership of it: those functions run
-- with their owner's rights (search_path is '' in each, so that is safe).
ALTER FUNCTION etl.ensure_event_partitions(date[]) SECURITY DEFINER;
ALTER FUNCTION etl.ensure_partitions(integer, integer) SECURITY DEFINER;
ALTER FUNCTION etl.drop_partitions_older_than(interval) SECURITY DEFINER;
ALTER FUNCTION etl.refresh_materialized_views() SECURITY DEFINER;
-- Partitions created later inherit nothing from the parent's grants, but
-- COPY goes through the parent, whose privileges are the ones checked.

-- The reader: analytics only.
GRANT USAGE ON SCHEMA analytics TO grafana_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO grafana_reader;
REVOKE ALL ON SCHEMA etl, staging FROM grafana_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA etl, staging FROM grafana_reader;
-- Functions are executable by PUBLIC by default; the reader has no USAGE on
-- etl, so it cannot call them.

-- Tables and views added by later migrations (run by the same migrating role).
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO grafana_reader, pipeline_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA etl GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO pipeline_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA etl GRANT USAGE, SELECT ON SEQUENCES TO pipeline_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA staging GRANT SELECT, INSERT ON TABLES TO pipeline_writer;
