-- functions/etl.drop_partitions_older_than.sql
-- 0012's retention again (still SECURITY DEFINER, as 0013 made it), now also
-- forgetting the distinct-user and funnel memberships of the days it drops:
-- they grow with history, and without the day's events no rebuild can use
-- them. The aggregates themselves are kept. (A late event into a dropped day
-- counts its users as new there, as it did before this state existed.)
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
    DELETE FROM etl.agg_users_1m WHERE bucket < v_cutoff;
    DELETE FROM etl.agg_page_users_1m WHERE bucket < v_cutoff;
    DELETE FROM etl.agg_users_5m WHERE bucket < v_cutoff;
    DELETE FROM etl.agg_users_1h WHERE bucket < v_cutoff;
    DELETE FROM etl.agg_funnel_sessions_1h WHERE bucket < v_cutoff;
    RETURN v_dropped;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.drop_partitions_older_than(interval) TO pipeline_writer;
