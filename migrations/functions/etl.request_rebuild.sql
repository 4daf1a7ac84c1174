-- functions/etl.request_rebuild.sql
-- Records [p_from, p_to), widened to whole UTC hours, for the next refreshes
-- to rebuild; returns the request's id. For migrations that change an
-- aggregate's definition: `SELECT etl.request_rebuild(from, to, '00NN: why')`.
CREATE OR REPLACE FUNCTION etl.request_rebuild(p_from timestamptz, p_to timestamptz, p_reason text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_from timestamptz := date_trunc('hour', p_from, 'UTC');
    v_to   timestamptz := date_trunc('hour', p_to - interval '1 microsecond', 'UTC') + interval '1 hour';
    v_id   bigint;
BEGIN
    -- Purpose: a backfill no single refresh has to do at once.
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
        RAISE EXCEPTION 'request_rebuild: p_from (%) must be before p_to (%)', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO etl.rebuild_requests (range_from, range_to, next_to, reason)
    VALUES (v_from, v_to, v_to, coalesce(p_reason, ''))
    RETURNING request_id INTO v_id;
    RETURN v_id;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.request_rebuild(timestamp with time zone,timestamp with time zone,text) TO pipeline_writer;
