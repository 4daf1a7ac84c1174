-- functions/etl.aggregate_merge_statement.sql
-- The statement that merges a refresh's rows (pg_temp.etl_refresh_rows) into one declared
-- aggregate (etl.aggregates, 0020): one row per bucket and dimensions the rows touch, added to
-- the table's with ON CONFLICT: counts and sums add, distinct counts are hll sketches (log2m
-- 14, 0.81 % standard error, exact up to 1 280 values; 0019) united with hll_union. Raises,
-- naming the declaration, when it names a dimension, measure or condition that does not exist.
CREATE OR REPLACE FUNCTION etl.aggregate_merge_statement(p_name text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_aggregate etl.aggregates;
    v_dimension text;
    v_measure   jsonb;
    v_column    text;
    v_filter    text;
    v_value     text;
    v_columns   text := '';
    v_grouped   text := '';
    v_measures  text := '';
    v_values    text := '';
    v_updates   text[] := '{}';
    v_where     text[] := '{}';
BEGIN
    -- Purpose: every rollup is maintained by the same code, built from its declaration.
    SELECT * INTO v_aggregate FROM etl.aggregates AS a WHERE a.name = p_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no aggregate named % in etl.aggregates', p_name USING ERRCODE = 'undefined_object';
    END IF;
    FOREACH v_dimension IN ARRAY v_aggregate.dimensions LOOP
        IF NOT v_dimension = ANY (ARRAY['event_type', 'page', 'country', 'currency', 'service', 'level']) THEN
            RAISE EXCEPTION 'aggregate %: unknown dimension % (known: event_type, page, country, currency, service, level)',
                p_name, v_dimension USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_columns := v_columns || format(', %I', v_dimension);
        v_grouped := v_grouped || format(', r.%I', v_dimension);
    END LOOP;
    IF v_aggregate.event_types IS NOT NULL THEN
        v_where := v_where || format('r.event_type = ANY (%L::text[])', v_aggregate.event_types);
    END IF;
    IF v_aggregate.only_rows IS NOT NULL THEN
        IF etl.aggregate_row_condition(v_aggregate.only_rows) IS NULL THEN
            RAISE EXCEPTION 'aggregate %: unknown only_rows % (known: in_session, viewed, clicked, added_to_cart, paid)',
                p_name, v_aggregate.only_rows USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_where := v_where || etl.aggregate_row_condition(v_aggregate.only_rows);
    END IF;

    FOR v_measure IN SELECT m FROM jsonb_array_elements(v_aggregate.measures) AS m LOOP
        v_column := v_measure ->> 'column';
        IF v_column IS NULL OR v_column !~ '^[a-z][a-z0-9_]{0,50}$' OR v_column = 'bucket'
           OR v_column = ANY (v_aggregate.dimensions) THEN
            RAISE EXCEPTION 'aggregate %: a measure needs a "column" of lower-case letters, digits and _ that is not bucket or a dimension (got %)',
                p_name, v_measure USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_filter := '';
        IF v_measure ? 'when' THEN
            IF etl.aggregate_row_condition(v_measure ->> 'when') IS NULL THEN
                RAISE EXCEPTION 'aggregate %: measure % has an unknown "when" % (known: in_session, viewed, clicked, added_to_cart, paid)',
                    p_name, v_column, v_measure ->> 'when' USING ERRCODE = 'invalid_parameter_value';
            END IF;
            v_filter := format(' FILTER (WHERE %s)', etl.aggregate_row_condition(v_measure ->> 'when'));
        END IF;
        CASE
            WHEN v_measure ->> 'kind' = 'count' AND NOT v_measure ? 'of' THEN
                v_value := 'count(*)' || v_filter;
                v_updates := v_updates || format('%1$I = t.%1$I + excluded.%1$I', v_column);
            WHEN v_measure ->> 'kind' = 'sum' AND v_measure ->> 'of' = 'amount' THEN
                v_value := format('coalesce(sum(r.amount)%s, 0)', v_filter);
                v_updates := v_updates || format('%1$I = t.%1$I + excluded.%1$I', v_column);
            WHEN v_measure ->> 'kind' = 'distinct' AND v_measure ->> 'of' IN ('user_id', 'session') THEN
                -- A session is (user_id, session_id), hashed as these bytes: no other pair gives them.
                v_value := format(
                    'coalesce(public.hll_add_agg(public.hll_hash_text(%s), 14, 5, -1, 1)%s, public.hll_empty(14, 5, -1, 1))',
                    CASE v_measure ->> 'of' WHEN 'user_id' THEN 'r.user_id'
                         ELSE $e$octet_length(r.user_id) || ':' || r.user_id || r.session_id$e$ END,
                    v_filter);
                v_updates := v_updates || format('%1$I = public.hll_union(t.%1$I, excluded.%1$I)', v_column);
            ELSE
                RAISE EXCEPTION 'aggregate %: measure % must be {"kind": "count"}, {"kind": "sum", "of": "amount"} or {"kind": "distinct", "of": "user_id" | "session"} (got %)',
                    p_name, v_column, v_measure USING ERRCODE = 'invalid_parameter_value';
        END CASE;
        v_measures := v_measures || format(', %I', v_column);
        v_values := v_values || ', ' || v_value;
    END LOOP;
    IF v_measures = '' THEN
        RAISE EXCEPTION 'aggregate %: no measures', p_name USING ERRCODE = 'invalid_parameter_value';
    END IF;

    RETURN format(
        $sql$INSERT INTO etl.%I AS t (bucket%s%s)
SELECT date_bin(%L::interval, r.bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00')%s%s
FROM pg_temp.etl_refresh_rows AS r%s
GROUP BY 1%s
ON CONFLICT (bucket%s) DO UPDATE SET %s$sql$,
        'agg_' || v_aggregate.name, v_columns, v_measures, v_aggregate.bucket_width, v_grouped, v_values,
        CASE WHEN cardinality(v_where) > 0 THEN E'\nWHERE ' || array_to_string(v_where, ' AND ') ELSE '' END,
        v_grouped, v_columns, array_to_string(v_updates, ', '));
END;
$$;

GRANT EXECUTE ON FUNCTION etl.aggregate_merge_statement(text) TO pipeline_writer;
