-- functions/etl.event_partition.sql
-- The name of staging.events' partition for a UTC day, schema-qualified and quoted as SQL
-- needs it: the one definition that etl.ensure_event_partitions creates partitions under and
-- the worker COPYs a batch's rows into (PostgresEventSink+DayPartitions.swift). STABLE, not
-- IMMUTABLE: to_char is (though 'YYYYMMDD' reads no locale); to_char and not date's text form,
-- which follows DateStyle.
CREATE OR REPLACE FUNCTION etl.event_partition(p_day date)
RETURNS text
LANGUAGE sql
STABLE
PARALLEL SAFE
SET search_path = ''
AS $$
    -- 'events_p' || yyyymmdd: 16 characters, far below the 63-byte identifier limit.
    SELECT format('staging.%I', 'events_p' || to_char(p_day, 'YYYYMMDD'));
$$;

GRANT EXECUTE ON FUNCTION etl.event_partition(date) TO pipeline_writer;
