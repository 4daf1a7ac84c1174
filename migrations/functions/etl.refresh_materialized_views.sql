-- functions/etl.refresh_materialized_views.sql
-- Refreshes the plain materialized views without blocking readers; skips
-- (returns false) when another run holds the lock.
CREATE OR REPLACE FUNCTION etl.refresh_materialized_views()
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER  -- a REFRESH needs ownership of the materialized view; search_path is '', so that is safe
SET search_path = ''
AS $$
BEGIN
    -- Purpose: cron entry point for the small full-refresh views.
    IF NOT pg_try_advisory_xact_lock(hashtext('etl.refresh_materialized_views')) THEN
        RETURN false;
    END IF;
    REFRESH MATERIALIZED VIEW CONCURRENTLY analytics.daily_summary;
    RETURN true;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.refresh_materialized_views() TO pipeline_writer;
