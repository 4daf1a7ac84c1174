-- functions/etl.aggregate_merge_statement.sql
-- The statement that merges a refresh's partial rows (pg_temp.etl_refresh_partials: built from
-- staged rows by etl.aggregate_partials_statement, or shipped by the worker with its batch)
-- into one declared aggregate: the partials of one key are summed (counts, sums) or united
-- (sketches, hll_union_agg), then added to the table's row with ON CONFLICT. Reads the
-- declaration as etl.aggregate_partials_statement checked it (call that first).
CREATE OR REPLACE FUNCTION etl.aggregate_merge_statement(p_name text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_aggregate etl.aggregates;
    v_columns   text;
    v_grouped   text;
    v_measures  text;
    v_values    text;
    v_updates   text;
BEGIN
    -- Purpose: a batch costs the keys it touched, whoever aggregated it.
    SELECT * INTO v_aggregate FROM etl.aggregates AS a WHERE a.name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no aggregate named % in etl.aggregates', p_name USING ERRCODE = 'undefined_object';
    END IF;
    SELECT coalesce(string_agg(format(', %I', d), '' ORDER BY o), ''),
           coalesce(string_agg(format(', p.%I', d), '' ORDER BY o), '')
    INTO v_columns, v_grouped
    FROM unnest(v_aggregate.dimensions) WITH ORDINALITY AS x(d, o);
    SELECT string_agg(format(', %I', m ->> 'column'), '' ORDER BY o),
           string_agg(CASE m ->> 'kind' WHEN 'count' THEN format(', sum(p.counts[%s])::bigint', o)
                                        WHEN 'sum' THEN format(', sum(p.sums[%s])', o)
                                        ELSE format(', public.hll_union_agg(p.sketches[%s])', o) END, '' ORDER BY o),
           string_agg(CASE m ->> 'kind' WHEN 'distinct' THEN format('%1$I = public.hll_union(t.%1$I, excluded.%1$I)', m ->> 'column')
                                        ELSE format('%1$I = t.%1$I + excluded.%1$I', m ->> 'column') END, ', ' ORDER BY o)
    INTO v_measures, v_values, v_updates
    FROM jsonb_array_elements(v_aggregate.measures) WITH ORDINALITY AS x(m, o);

    RETURN format(
        $sql$INSERT INTO etl.%I AS t (bucket%s%s)
SELECT p.bucket%s%s
FROM pg_temp.etl_refresh_partials AS p
WHERE p.aggregate = %L
GROUP BY p.bucket%s
ON CONFLICT (bucket%s) DO UPDATE SET %s$sql$,
        'agg_' || v_aggregate.name, v_columns, v_measures, v_grouped, v_values, p_name, v_grouped, v_columns, v_updates);
END;
$$;

GRANT EXECUTE ON FUNCTION etl.aggregate_merge_statement(text) TO pipeline_writer;
