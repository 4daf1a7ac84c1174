-- functions/etl.summarize_staging_ranges.sql
-- Summarizes the block ranges not summarized yet of staging's BRIN indexes (0028, 0031) in the
-- tables that hold a Kafka partition's rows between two times (a day's table per day: the one a
-- row of the partition is in). All but a table's last range, which PostgreSQL leaves until it is
-- full: a read scans at most that one. Autovacuum's VACUUM summarizes after enough inserts; until
-- then a BRIN read scans those ranges whatever its condition, and during a load that is most of
-- the day. etl.divert_copies calls it before each read of a claiming batch's rows: 1 000 000
-- events of which 5% conflicts loaded in 11 s with it, 19 s without, each read scanning about
-- 6 000 pages (BENCHMARKS.md, "Eighteenth session"). Each range is summarized once, by whoever
-- comes first (this or autovacuum): the work is moved, not added; a table with nothing new costs
-- a look at its index's map. Returns the ranges summarized.
-- lock_timeout: summarizing takes the table's SHARE UPDATE EXCLUSIVE lock for the call; a table
-- autovacuum or the other lane holds, or one being dropped, is passed over (the read scans its
-- tail meanwhile) rather than waited for.
CREATE OR REPLACE FUNCTION etl.summarize_staging_ranges(
    p_from timestamptz, p_to timestamptz, p_kafka_partition integer)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER  -- brin_summarize_new_values needs the index's owner; search_path is '', so that is safe
SET search_path = ''
SET lock_timeout = '5ms'
AS $$
DECLARE
    v_day    date;
    v_table  regclass;
    v_index  regclass;
    v_ranges integer := 0;
BEGIN
    -- Purpose: one place knows which indexes staging's reads by batch need summarized.
    FOR v_day IN
        SELECT d::date FROM generate_series((p_from AT TIME ZONE 'UTC')::date, (p_to AT TIME ZONE 'UTC')::date,
                                            interval '1 day') AS d
    LOOP
        -- The day's table for the partition: where a row of its rows' remainder is (the day's
        -- tables' key, etl.ensure_event_partitions, prunes the read to it).
        BEGIN
            v_table := NULL;
            SELECT e.tableoid INTO v_table FROM staging.events AS e
            WHERE e.event_time >= (v_day::timestamp AT TIME ZONE 'UTC')
              AND e.event_time < ((v_day + 1)::timestamp AT TIME ZONE 'UTC')
              AND e.kafka_partition % 4 = p_kafka_partition % 4
            LIMIT 1;
            FOR v_index IN
                SELECT x.indexrelid::regclass
                FROM pg_catalog.pg_index AS x
                JOIN pg_catalog.pg_class AS c ON c.oid = x.indexrelid
                JOIN pg_catalog.pg_am AS a ON a.oid = c.relam
                WHERE x.indrelid = v_table AND a.amname = 'brin'
            LOOP
                v_ranges := v_ranges + pg_catalog.brin_summarize_new_values(v_index);
            END LOOP;
        EXCEPTION WHEN lock_not_available THEN
            NULL;  -- a lock held elsewhere (autovacuum, the other lane, a partition being dropped)
        END;
    END LOOP;
    RETURN v_ranges;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.summarize_staging_ranges(timestamptz, timestamptz, integer) TO pipeline_writer;
