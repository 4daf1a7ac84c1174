-- functions/etl.add_refresh_rows_to_rollup.sql
-- One events rollup (agg_events_5m or _1h) grows by pg_temp.etl_refresh_rows: events = the sum
-- of its 1-minute rows (at most 60 per type, just made current: a recomputed minute's rows are
-- not added twice), users_sketch = its sketch united with the rows' (idempotent, 0019).
CREATE OR REPLACE FUNCTION etl.add_refresh_rows_to_rollup(p_rollup regclass, p_width interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: the 5-minute and hourly rollups are one statement, written once.
    EXECUTE format($sql$
        INSERT INTO %1$s AS t (bucket, event_type, events, users_sketch)
        SELECT k.bucket, k.event_type,
               -- a batch committed meanwhile may have no 1-minute rows yet: its marks add it next time
               coalesce((SELECT sum(m.events) FROM etl.agg_events_1m AS m
                         WHERE m.bucket >= k.bucket AND m.bucket < k.bucket + $1
                           AND m.event_type = k.event_type), 0)::bigint,
               k.users_sketch
        FROM (SELECT date_bin($1, r.bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket, r.event_type,
                     public.hll_add_agg(public.hll_hash_text(r.user_id), 14, 5, -1, 1) AS users_sketch
              FROM pg_temp.etl_refresh_rows AS r
              GROUP BY 1, 2) AS k
        ON CONFLICT (bucket, event_type) DO UPDATE
        SET events = excluded.events, users_sketch = public.hll_union(t.users_sketch, excluded.users_sketch)
        $sql$, p_rollup)
    USING p_width;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.add_refresh_rows_to_rollup(regclass,interval) TO pipeline_writer;
