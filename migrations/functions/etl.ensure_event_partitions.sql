-- functions/etl.ensure_event_partitions.sql
-- Creates the daily partitions of staging.events for the given days, if missing.
-- Runs in its own short transaction before a batch loads, so the batch
-- transaction itself never takes the parent's exclusive lock.
--
-- A day is itself partitioned by kafka_partition modulo 4, into four tables
-- (events_pYYYYMMDD_0 … _3). Why: a worker's lanes (pipeline worker
-- --connections) each COPY their partitions' events (partition number modulo
-- the lane count) into the day at the same time, and one table makes them
-- queue for its extension lock, each new page taken in turn; with two or four
-- lanes, each lane's rows go to tables of its own. Two backends COPYing the
-- same 250 000 staged rows: 1.34–1.48 s into one table, 1.03–1.26 s into two
-- (BENCHMARKS.md, "Thirteenth session"). Days created before this change keep
-- their single table: the worker COPYs into the day either way, and PostgreSQL
-- routes the rows.
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
    v_tables  CONSTANT integer := 4;  -- a day's tables: kafka_partition modulo this
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
                'CREATE TABLE %s PARTITION OF staging.events FOR VALUES FROM (%L) TO (%L)'
                || ' PARTITION BY LIST ((kafka_partition %% %s))',
                v_name,
                (v_day::timestamp AT TIME ZONE 'UTC'),
                ((v_day + 1)::timestamp AT TIME ZONE 'UTC'),
                v_tables);
            -- The day's name needs no quotes (events_p and digits), so a suffix keeps it
            -- one identifier. Kafka numbers partitions from 0; a negative number (a row
            -- staged by hand) goes with its absolute value's table.
            FOR v_remainder IN 0..v_tables - 1 LOOP
                EXECUTE format(
                    'CREATE TABLE %s_%s PARTITION OF %s FOR VALUES IN (%s)',
                    v_name, v_remainder, v_name,
                    CASE WHEN v_remainder = 0 THEN '0' ELSE v_remainder || ', ' || -v_remainder END);
            END LOOP;
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
