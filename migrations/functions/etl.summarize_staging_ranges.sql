-- functions/etl.summarize_staging_ranges.sql
-- Summarizes the block ranges of staging's BRIN indexes (0028, 0031) not summarized yet, in the
-- tables holding the given days: all but each table's last range, which PostgreSQL leaves until
-- it is full (a read scans at most that one). Autovacuum's VACUUM does it after enough inserts;
-- until then a BRIN read scans those ranges whatever its condition, and during a load that is
-- most of the day. etl.divert_copies calls it before reading claimers' rows by batch: with it,
-- 1 000 000 events of which 5% conflicts loaded in 11 s, without it in 19 s, each read by batch
-- scanning about 6 000 pages (BENCHMARKS.md, "Eighteenth session"). Each range is summarized
-- once, by whoever comes first (this or autovacuum): the work is moved, not added. Returns the
-- ranges summarized.
-- lock_timeout: summarizing takes the table's SHARE UPDATE EXCLUSIVE lock for the call; a table
-- autovacuum or another lane holds is passed over (its reads scan the tail meanwhile) rather
-- than waited for.
CREATE OR REPLACE FUNCTION etl.summarize_staging_ranges(p_days date[])
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER  -- brin_summarize_new_values needs the index's owner; search_path is '', so that is safe
SET search_path = ''
SET lock_timeout = '20ms'
AS $$
DECLARE
    v_index  regclass;
    v_ranges integer := 0;
BEGIN
    -- Purpose: one place knows which indexes staging's reads by batch need summarized.
    FOR v_index IN
        SELECT x.indexrelid::regclass
        FROM (SELECT DISTINCT d.day FROM unnest(p_days) AS d(day)) AS d
        CROSS JOIN LATERAL pg_catalog.pg_partition_tree(to_regclass(etl.event_partition(d.day))) AS t
        JOIN pg_catalog.pg_index AS x ON x.indrelid = t.relid
        JOIN pg_catalog.pg_class AS c ON c.oid = x.indexrelid
        JOIN pg_catalog.pg_am AS a ON a.oid = c.relam
        WHERE t.isleaf AND a.amname = 'brin'
    LOOP
        BEGIN
            v_ranges := v_ranges + pg_catalog.brin_summarize_new_values(v_index);
        EXCEPTION WHEN lock_not_available THEN
            NULL;
        END;
    END LOOP;
    RETURN v_ranges;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.summarize_staging_ranges(date[]) TO pipeline_writer;
