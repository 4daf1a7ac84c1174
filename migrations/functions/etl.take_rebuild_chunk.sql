-- functions/etl.take_rebuild_chunk.sql
-- Takes the newest rebuild_chunk of the oldest request, clears and marks it
-- (etl.mark_for_rebuild) and records the progress; returns the chunk's start,
-- or NULL when nothing is pending. Only under the refresh lock.
CREATE OR REPLACE FUNCTION etl.take_rebuild_chunk()
RETURNS timestamptz
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_chunk interval;
    v_id    bigint;
    v_from  timestamptz;
    v_to    timestamptz;
BEGIN
    -- Purpose: bounded work per refresh; the current hours are correct first.
    SELECT r.request_id, r.next_to, r.range_from INTO v_id, v_to, v_from
    FROM etl.rebuild_requests AS r
    ORDER BY r.request_id
    LIMIT 1;
    IF v_id IS NULL THEN
        RETURN NULL;
    END IF;
    -- Whole hours, at least one, whatever the setting says.
    SELECT make_interval(hours => greatest(1, ceil(extract(epoch FROM s.setting_value::interval) / 3600)::integer))
    INTO v_chunk
    FROM etl.settings AS s WHERE s.setting_name = 'rebuild_chunk';
    v_from := greatest(v_from, v_to - coalesce(v_chunk, interval '1 hour'));
    PERFORM etl.mark_for_rebuild(v_from, v_to);
    IF v_from <= (SELECT r.range_from FROM etl.rebuild_requests AS r WHERE r.request_id = v_id) THEN
        DELETE FROM etl.rebuild_requests WHERE request_id = v_id;
    ELSE
        UPDATE etl.rebuild_requests SET next_to = v_from WHERE request_id = v_id;
    END IF;
    RETURN v_from;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.take_rebuild_chunk() TO pipeline_writer;
