-- functions/etl.rebuild_aggregates.sql
-- Recomputes every aggregate for [p_from, p_to), widened to whole UTC hours,
-- from staging, in the caller's transaction (waits for a running refresh);
-- returns the number of 1-minute buckets recomputed (with any other dirty
-- ones). For a range too large for one transaction, use etl.request_rebuild.
-- Only for ranges still in staging (a dropped partition's range would come back empty).
CREATE OR REPLACE FUNCTION etl.rebuild_aggregates(p_from timestamptz, p_to timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: recompute a time range from staging without replaying Kafka.
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
        RAISE EXCEPTION 'rebuild_aggregates: p_from (%) must be before p_to (%)', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The lock before clearing: a refresh running now must not add to state we clear.
    PERFORM etl.lock_for_transaction('etl.refresh_aggregates', true);
    PERFORM etl.mark_for_rebuild(date_trunc('hour', p_from, 'UTC'),
                                 date_trunc('hour', p_to - interval '1 microsecond', 'UTC') + interval '1 hour');
    RETURN etl.refresh_aggregates(true);
END;
$$;

GRANT EXECUTE ON FUNCTION etl.rebuild_aggregates(timestamp with time zone,timestamp with time zone) TO pipeline_writer;
