-- 0012_create_partition_maintenance.sql
-- Maintenance for the daily partitions of staging.events: created ahead (the
-- worker also creates any day it needs, e.g. for a replay of old data) and
-- dropped after the retention period. Aggregates are kept: they are small and
-- are the history once the raw events are gone (a rebuild of a dropped range
-- would empty it, so rebuild only ranges still in staging).

-- Creates the partitions from p_days_back days ago to p_days_ahead days ahead (UTC).
CREATE OR REPLACE FUNCTION etl.ensure_partitions(p_days_back integer DEFAULT 1, p_days_ahead integer DEFAULT 3)
RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: cron entry point; etl.ensure_event_partitions serializes creators.
    RETURN etl.ensure_event_partitions(ARRAY(
        SELECT (now() AT TIME ZONE 'UTC')::date + d FROM generate_series(-p_days_back, p_days_ahead) AS d));
END;
$$;

-- Drops the daily partitions whose whole day ended more than p_age ago; returns how many.
CREATE OR REPLACE FUNCTION etl.drop_partitions_older_than(p_age interval)
RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_name    text;
    v_dropped integer := 0;
BEGIN
    -- Purpose: retention; skipped (0) when another run holds the lock.
    IF p_age < interval '0' THEN
        RAISE EXCEPTION 'drop_partitions_older_than: p_age must not be negative (got %)', p_age
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('etl.drop_partitions_older_than')) THEN
        RETURN 0;
    END IF;
    FOR v_name IN
        SELECT c.relname
        FROM pg_catalog.pg_inherits AS i
        JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'staging.events'::regclass
          AND c.relname ~ '^events_p[0-9]{8}$'
          -- the partition's day ends at day + 1
          AND (to_date(substr(c.relname, 9), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= now() - p_age
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE staging.%I', v_name);
        v_dropped := v_dropped + 1;
    END LOOP;
    RETURN v_dropped;
END;
$$;
