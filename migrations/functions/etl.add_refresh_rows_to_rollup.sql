-- functions/etl.add_refresh_rows_to_rollup.sql
-- One events rollup (agg_events_5m or _1h with its membership table) grows
-- by pg_temp.etl_refresh_rows: events = the sum of its 1-minute rows (at most
-- 60 per type, just made current), users += the memberships new to it.
CREATE OR REPLACE FUNCTION etl.add_refresh_rows_to_rollup(p_events regclass, p_users regclass, p_width interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: the 5-minute and hourly rollups are one statement, written once.
    EXECUTE format($sql$
        WITH seen AS MATERIALIZED (
            SELECT DISTINCT date_bin($1, r.bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket, r.event_type, r.user_id
            FROM pg_temp.etl_refresh_rows AS r
        ),
        added AS (
            INSERT INTO %2$s (bucket, event_type, user_id)
            SELECT s.bucket, s.event_type, s.user_id FROM seen AS s
            ON CONFLICT (bucket, event_type, user_id) DO NOTHING
            RETURNING bucket, event_type
        ),
        new_users AS (SELECT a.bucket, a.event_type, count(*) AS users FROM added AS a GROUP BY 1, 2)
        INSERT INTO %1$s AS t (bucket, event_type, events, users)
        SELECT k.bucket, k.event_type,
               -- a batch committed meanwhile may have no 1-minute rows yet: its marks add it next time
               coalesce((SELECT sum(m.events) FROM etl.agg_events_1m AS m
                         WHERE m.bucket >= k.bucket AND m.bucket < k.bucket + $1
                           AND m.event_type = k.event_type), 0)::bigint,
               coalesce(n.users, 0)
        FROM (SELECT DISTINCT s.bucket, s.event_type FROM seen AS s) AS k
        LEFT JOIN new_users AS n ON n.bucket = k.bucket AND n.event_type = k.event_type
        ON CONFLICT (bucket, event_type) DO UPDATE
        SET events = excluded.events, users = t.users + excluded.users
        $sql$, p_events, p_users)
    USING p_width;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.add_refresh_rows_to_rollup(regclass,regclass,interval) TO pipeline_writer;
