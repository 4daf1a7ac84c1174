-- functions/etl.ensure_session_partitions.sql
-- Creates the daily partitions of etl.agg_user_sessions for the given UTC
-- days of session_end, if missing; returns how many. Half of each page stays
-- free (fillfactor 50): a session extended in place is rewritten on its page,
-- with no index entry (0024).
CREATE OR REPLACE FUNCTION etl.ensure_session_partitions(p_days date[])
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER  -- the writer refreshes; creating a partition needs the parent's owner
SET search_path = ''
AS $$
DECLARE
    v_day     date;
    v_name    text;
    v_created integer := 0;
BEGIN
    -- Purpose: one partition per UTC day of session_end; creators serialize on
    -- an advisory lock and the second finds the partition there.
    FOREACH v_day IN ARRAY p_days LOOP
        -- 'agg_user_sessions_p' || yyyymmdd: 27 characters, below the 63-byte identifier limit.
        v_name := 'agg_user_sessions_p' || to_char(v_day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass('etl.' || v_name) IS NOT NULL;
        PERFORM pg_advisory_xact_lock(hashtext('etl.agg_user_sessions partitions'));
        CONTINUE WHEN to_regclass('etl.' || v_name) IS NOT NULL;
        BEGIN
            EXECUTE format(
                'CREATE TABLE etl.%I PARTITION OF etl.agg_user_sessions FOR VALUES FROM (%L) TO (%L) WITH (fillfactor = 50)',
                v_name,
                (v_day::timestamp AT TIME ZONE 'UTC'),
                ((v_day + 1)::timestamp AT TIME ZONE 'UTC'));
            v_created := v_created + 1;
        EXCEPTION WHEN duplicate_table THEN
            NULL;  -- committed by another session after our catalog snapshot
        END;
    END LOOP;
    RETURN v_created;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.ensure_session_partitions(date[]) TO pipeline_writer;
