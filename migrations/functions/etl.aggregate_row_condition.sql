-- functions/etl.aggregate_row_condition.sql
-- The SQL condition over a refresh row (pg_temp.etl_refresh_rows AS r) that a declaration's
-- only_rows or a measure's "when" names. Declarations name conditions from this list, never
-- write SQL: the refresh builds its statements from them (etl.aggregate_partials_statement).
CREATE OR REPLACE FUNCTION etl.aggregate_row_condition(p_name text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    -- Purpose: the row conditions an aggregate may declare, defined once.
    RETURN CASE p_name
        WHEN 'in_session' THEN 'r.session_id IS NOT NULL'
        WHEN 'viewed' THEN '(r.steps & 1) <> 0'
        WHEN 'clicked' THEN '(r.steps & 2) <> 0'
        WHEN 'added_to_cart' THEN '(r.steps & 4) <> 0'
        WHEN 'paid' THEN '(r.steps & 8) <> 0'
    END;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.aggregate_row_condition(text) TO pipeline_writer;
