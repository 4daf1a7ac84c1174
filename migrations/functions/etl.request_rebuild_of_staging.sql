-- functions/etl.request_rebuild_of_staging.sql
-- Requests a rebuild (etl.request_rebuild) of everything staging.events holds,
-- one request per run of consecutive daily partitions, trimmed to its first
-- and last event, newest run first (lowest id, so rebuilt first); returns how
-- many. A day whose partition retention dropped keeps its aggregates (a
-- rebuild would empty it). 0015 did the same inline.
CREATE OR REPLACE FUNCTION etl.request_rebuild_of_staging(p_reason text)
RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_requested integer;
BEGIN
    -- Purpose: the backfill a migration that changes an aggregate's state requests.
    PERFORM etl.request_rebuild(b.first_event, b.last_event + interval '1 microsecond', p_reason)
    FROM (SELECT min(d.day) AS first_day, max(d.day) + 1 AS end_day
          FROM (SELECT p.day, p.day - (row_number() OVER (ORDER BY p.day))::integer AS run
                FROM (SELECT to_date(substr(c.relname, 9), 'YYYYMMDD') AS day
                      FROM pg_catalog.pg_inherits AS i
                      JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
                      WHERE i.inhparent = 'staging.events'::regclass
                        AND c.relname ~ '^events_p[0-9]{8}$') AS p) AS d
          GROUP BY d.run) AS r
    CROSS JOIN LATERAL (
        -- min and max only: two index probes per run, not a scan
        SELECT min(e.event_time) AS first_event, max(e.event_time) AS last_event
        FROM staging.events AS e
        WHERE e.event_time >= r.first_day::timestamp AT TIME ZONE 'UTC'
          AND e.event_time < r.end_day::timestamp AT TIME ZONE 'UTC') AS b
    WHERE b.first_event IS NOT NULL
    ORDER BY r.first_day DESC;
    GET DIAGNOSTICS v_requested = ROW_COUNT;
    RETURN v_requested;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.request_rebuild_of_staging(text) TO pipeline_writer;
