-- functions/etl.mark_for_rebuild.sql
-- Clears the rollup state of the whole hours [p_from, p_to) and marks every
-- minute of them, and every user with events in them, dirty: the next
-- statements of the same refresh recompute them from staging. Only under the
-- refresh lock (etl.refresh_aggregates, etl.rebuild_aggregates).
CREATE OR REPLACE FUNCTION etl.mark_for_rebuild(p_from timestamptz, p_to timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: the one place that knows which state a rebuild starts from.
    DELETE FROM etl.agg_events_5m WHERE bucket >= p_from AND bucket < p_to;
    DELETE FROM etl.agg_events_1h WHERE bucket >= p_from AND bucket < p_to;
    DELETE FROM etl.agg_funnel_1h WHERE bucket >= p_from AND bucket < p_to;
    -- The minute tables and sessions are recomputed from staging as for any dirty mark.
    INSERT INTO etl.dirty_minutes (bucket)
    SELECT m FROM generate_series(p_from, p_to - interval '1 minute', interval '1 minute') AS m;
    INSERT INTO etl.dirty_users (user_id, first_time, last_time)
    SELECT e.user_id, min(e.event_time), max(e.event_time)
    FROM staging.events AS e
    WHERE e.event_time >= p_from AND e.event_time < p_to
    GROUP BY e.user_id;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.mark_for_rebuild(timestamp with time zone,timestamp with time zone) TO pipeline_writer;
