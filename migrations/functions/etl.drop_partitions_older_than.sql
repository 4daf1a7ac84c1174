-- functions/etl.drop_partitions_older_than.sql
-- Retention (SECURITY DEFINER: the writer may run it): drops the staging
-- partitions of the days older than p_age. The aggregates, with their
-- distinct-count sketches, are kept: a late event into a dropped day still
-- merges into them, and a user already counted there is not counted again.
CREATE OR REPLACE FUNCTION etl.drop_partitions_older_than(p_age interval)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_name    text;
    v_dropped integer := 0;
    v_cutoff  timestamptz;
BEGIN
    -- Purpose: retention; skipped (0) when another run holds the lock.
    IF p_age < interval '0' THEN
        RAISE EXCEPTION 'drop_partitions_older_than: p_age must not be negative (got %)', p_age
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('etl.drop_partitions_older_than')) THEN
        RETURN 0;
    END IF;
    -- Every day that ended by now() - p_age goes: the days before this one.
    v_cutoff := ((now() - p_age) AT TIME ZONE 'UTC')::date::timestamp AT TIME ZONE 'UTC';
    FOR v_name IN
        SELECT c.relname
        FROM pg_catalog.pg_inherits AS i
        JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'staging.events'::regclass
          AND c.relname ~ '^events_p[0-9]{8}$'
          AND to_date(substr(c.relname, 9), 'YYYYMMDD')::timestamp AT TIME ZONE 'UTC' < v_cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE staging.%I', v_name);
        v_dropped := v_dropped + 1;
    END LOOP;
    RETURN v_dropped;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.drop_partitions_older_than(interval) TO pipeline_writer;
