-- functions/etl.ensure_event_partitions.sql
-- Creates the daily partitions of staging.events for the given days, if missing.
-- Runs in its own short transaction before a batch loads, so the batch
-- transaction itself never takes the parent's exclusive lock.
CREATE OR REPLACE FUNCTION etl.ensure_event_partitions(p_days date[])
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER  -- creating a partition needs ownership of staging.events; search_path is '', so that is safe
SET search_path = ''
AS $$
DECLARE
    v_day     date;
    v_name    text;
    v_created integer := 0;
BEGIN
    -- Purpose: one partition per UTC day; two workers creating the same day
    -- serialize on the advisory lock and the second finds it there.
    FOREACH v_day IN ARRAY p_days LOOP
        v_name := etl.event_partition(v_day);  -- qualified and quoted
        CONTINUE WHEN to_regclass(v_name) IS NOT NULL;
        PERFORM pg_advisory_xact_lock(hashtext('staging.events partitions'));
        CONTINUE WHEN to_regclass(v_name) IS NOT NULL;
        BEGIN
            EXECUTE format(
                'CREATE TABLE %s PARTITION OF staging.events FOR VALUES FROM (%L) TO (%L)',
                v_name,
                (v_day::timestamp AT TIME ZONE 'UTC'),
                ((v_day + 1)::timestamp AT TIME ZONE 'UTC'));
            v_created := v_created + 1;
        EXCEPTION WHEN duplicate_table THEN
            -- An advisory lock does not refresh the catalog cache, so the check
            -- above can miss a partition another session just committed.
            NULL;
        END;
    END LOOP;
    RETURN v_created;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.ensure_event_partitions(date[]) TO pipeline_writer;
