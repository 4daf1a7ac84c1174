-- functions/etl.prepare_refresh_rows.sql
-- Empties (creating them first in this session if needed) the temp tables a
-- refresh works in: etl_refresh_rows, the rows it adds (from_batch: the row
-- belongs to a batch this refresh adds and reads back, rather than to a minute
-- it recomputes), etl_refresh_partials, the partial aggregates it merges (the
-- columns of etl.batch_partials, 0021, but batch_id), and etl_refresh_sessions,
-- the pieces of the session windows it merges (those of etl.batch_session_pieces, their batch_id
-- NULL for the pieces not taken from there, and stored_start: the key of the stored session a
-- piece stands for, 0024, with that session's address, stored_rel and stored_tid, by which the
-- merge rewrites it). A temp table lives as long as
-- its session: created once per connection, not per refresh (no catalog
-- churn); ON COMMIT DELETE ROWS empties it when the refresh's transaction ends.
CREATE OR REPLACE FUNCTION etl.prepare_refresh_rows()
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: one place defines the refresh's working set.
    -- The newer of the two decides: a connection older than 0021 has etl_refresh_rows.
    IF to_regclass('pg_temp.etl_refresh_partials') IS NULL THEN
        CREATE TEMPORARY TABLE IF NOT EXISTS etl_refresh_rows (
            event_time timestamptz NOT NULL,
            bucket     timestamptz NOT NULL,
            event_type text        NOT NULL,
            user_id    text        NOT NULL,
            session_id text,
            steps      smallint    NOT NULL,
            page       text,
            country    text,
            currency   text,
            amount     numeric,
            service    text,
            level      text,
            from_batch boolean     NOT NULL
        ) ON COMMIT DELETE ROWS;
        CREATE TEMPORARY TABLE IF NOT EXISTS etl_refresh_partials ON COMMIT DELETE ROWS AS
        SELECT p.aggregate, p.bucket, p.event_type, p.page, p.country, p.currency, p.service, p.level,
               p.counts, p.sums, p.sketches
        FROM etl.batch_partials AS p
        WITH NO DATA;
        -- Only this session ever sees a temp table; a role it switches to
        -- (SET ROLE) may refresh too.
        GRANT SELECT, INSERT, DELETE ON pg_temp.etl_refresh_rows, pg_temp.etl_refresh_partials TO PUBLIC;
    ELSE
        -- a second refresh in the same transaction (tests, rebuild_aggregates)
        DELETE FROM pg_temp.etl_refresh_rows;
        DELETE FROM pg_temp.etl_refresh_partials;
    END IF;
    -- Its newest column decides: a connection that prepared it before has it without stored_tid.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                   WHERE a.attrelid = to_regclass('pg_temp.etl_refresh_sessions') AND a.attname = 'stored_tid') THEN
        IF to_regclass('pg_temp.etl_refresh_sessions') IS NOT NULL THEN
            DROP TABLE pg_temp.etl_refresh_sessions;
        END IF;
        CREATE TEMPORARY TABLE etl_refresh_sessions ON COMMIT DELETE ROWS AS
        SELECT p.user_id, p.first_at, p.last_at, p.events, p.pages, p.revenue, NULL::timestamptz AS stored_start,
               p.batch_id, NULL::oid AS stored_rel, NULL::tid AS stored_tid
        FROM etl.batch_session_pieces AS p
        WITH NO DATA;
        GRANT SELECT, INSERT, DELETE ON pg_temp.etl_refresh_sessions TO PUBLIC;
    ELSE
        DELETE FROM pg_temp.etl_refresh_sessions;
    END IF;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.prepare_refresh_rows() TO pipeline_writer;
