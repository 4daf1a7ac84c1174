-- functions/etl.ensure_partitions.sql
-- Cron's partition maintenance also creates the session partitions ahead, so
-- a refresh rarely creates one (creating takes a brief exclusive lock on the
-- parent, held until that refresh commits).
CREATE OR REPLACE FUNCTION etl.ensure_partitions(p_days_back integer DEFAULT 1, p_days_ahead integer DEFAULT 3)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER  -- as in 0013: partitions are created as the tables' owner
SET search_path = ''
AS $$
DECLARE
    v_today date := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    -- Purpose: cron entry point; the ensure_* functions serialize creators.
    RETURN etl.ensure_event_partitions(ARRAY(
               SELECT v_today + d FROM generate_series(-p_days_back, p_days_ahead) AS d))
         + etl.ensure_session_partitions(ARRAY(
               SELECT v_today + d FROM generate_series(-p_days_back, p_days_ahead) AS d));
END;
$$;

GRANT EXECUTE ON FUNCTION etl.ensure_partitions(integer,integer) TO pipeline_writer;
