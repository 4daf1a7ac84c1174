-- functions/etl.create_declared_aggregates.sql
-- Run by `pipeline migrate` after every migration and definition: creates the table
-- etl.agg_<name> of each declared aggregate (etl.aggregates, 0020) that has none and requests
-- a rebuild of the staged history for it (etl.request_rebuild_of_staging: an hour per refresh,
-- newest first), and keeps the view analytics.<view_name> of each declaration that names one.
-- Returns the tables created.
CREATE OR REPLACE FUNCTION etl.create_declared_aggregates()
RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_aggregate etl.aggregates;
    v_columns   text;
    v_keys      text;
    v_selected  text;
    v_created   integer := 0;
BEGIN
    -- Purpose: declaring an aggregate is all it takes to have it.
    FOR v_aggregate IN SELECT * FROM etl.aggregates AS a ORDER BY a.name LOOP
        -- The same checks the refresh will make, before anything is created.
        PERFORM etl.aggregate_partials_statement(v_aggregate.name);
        SELECT coalesce(string_agg(format(', %I text NOT NULL', d), '' ORDER BY o), ''),
               coalesce(string_agg(format(', %I', d), '' ORDER BY o), ''),
               coalesce(string_agg(format(', a.%I', d), '' ORDER BY o), '')
        INTO v_keys, v_columns, v_selected
        FROM unnest(v_aggregate.dimensions) WITH ORDINALITY AS x(d, o);

        IF to_regclass(format('etl.%I', 'agg_' || v_aggregate.name)) IS NULL THEN
            EXECUTE format('CREATE TABLE etl.%I (bucket timestamptz NOT NULL%s%s, CONSTRAINT %I PRIMARY KEY (bucket%s))',
                'agg_' || v_aggregate.name, v_keys,
                (SELECT string_agg(format(', %I %s NOT NULL', m ->> 'column',
                                          CASE m ->> 'kind' WHEN 'count' THEN 'bigint' WHEN 'sum' THEN 'numeric'
                                               ELSE 'public.hll' END), '' ORDER BY o)
                 FROM jsonb_array_elements(v_aggregate.measures) WITH ORDINALITY AS x(m, o)),
                'agg_' || v_aggregate.name || '_pkey', v_columns);
            EXECUTE format('COMMENT ON TABLE etl.%I IS %L', 'agg_' || v_aggregate.name,
                format('Declared aggregate %s (etl.aggregates): buckets of %s.', v_aggregate.name, v_aggregate.bucket_width));
            PERFORM etl.request_rebuild_of_staging(format('aggregate %s declared', v_aggregate.name));
            v_created := v_created + 1;
        END IF;

        IF v_aggregate.view_name IS NOT NULL THEN
            -- Distinct counts read as numbers, under the column's name without "_sketch".
            EXECUTE format(
                'CREATE OR REPLACE VIEW analytics.%I AS SELECT a.bucket%s%s, coalesce(a.bucket + %L::interval <= '
                || '(SELECT min(w.watermark) FROM analytics.watermarks AS w), false) AS is_final FROM etl.%I AS a',
                v_aggregate.view_name, v_selected,
                (SELECT string_agg(CASE WHEN m ->> 'kind' = 'distinct'
                                        THEN format(', round(public.hll_cardinality(a.%I))::bigint AS %I', m ->> 'column',
                                                    regexp_replace(m ->> 'column', '_sketch$', ''))
                                        ELSE format(', a.%I', m ->> 'column') END, '' ORDER BY o)
                 FROM jsonb_array_elements(v_aggregate.measures) WITH ORDINALITY AS x(m, o)),
                v_aggregate.bucket_width, 'agg_' || v_aggregate.name);
            EXECUTE format('COMMENT ON VIEW analytics.%I IS %L', v_aggregate.view_name,
                format('Declared aggregate %s (etl.aggregates); distinct counts from hll sketches: 0.81 %% standard error, exact up to 1 280.',
                       v_aggregate.name));
        END IF;
    END LOOP;
    RETURN v_created;
END;
$$;
