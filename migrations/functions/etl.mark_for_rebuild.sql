-- functions/etl.mark_for_rebuild.sql
-- Marks every minute of the whole hours [p_from, p_to), and every user with
-- events in them, dirty: the next statements of the same refresh recompute
-- them from staging (etl.refresh_rollups clears every declared aggregate's
-- buckets in those hours first). Only under the refresh lock
-- (etl.refresh_rollups, etl.rebuild_aggregates).
CREATE OR REPLACE FUNCTION etl.mark_for_rebuild(p_from timestamptz, p_to timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: the one place that knows which state a rebuild starts from.
    -- Every aggregate and the sessions are recomputed from staging as for any dirty mark.
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
