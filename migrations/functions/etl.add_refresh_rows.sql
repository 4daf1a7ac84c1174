-- functions/etl.add_refresh_rows.sql
-- Merges pg_temp.etl_refresh_rows into every declared aggregate (etl.aggregates, 0020): for
-- each, the rows become partial rows (etl.aggregate_partials_statement), beside those the
-- worker shipped, and the partial rows merge into its table (etl.aggregate_merge_statement).
-- Called by etl.refresh_rollups under its lock, after it has cleared the buckets it
-- recomputes and taken the shipped partial rows of the batches it adds.
CREATE OR REPLACE FUNCTION etl.add_refresh_rows()
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_name text;
BEGIN
    -- Purpose: every aggregate grows by the rows added, never by re-reading its bucket.
    FOR v_name IN SELECT a.name FROM etl.aggregates AS a ORDER BY a.name LOOP
        EXECUTE etl.aggregate_partials_statement(v_name);
        EXECUTE etl.aggregate_merge_statement(v_name);
    END LOOP;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.add_refresh_rows() TO pipeline_writer;
