-- 0014_partition_user_sessions.sql
-- Session windows whose refresh cost follows the batch, not the history.
-- Measured (BENCHMARKS.md): with 1 000 000 sessions, inserting a batch's
-- 5 000 new sessions into etl.agg_user_sessions touched a random leaf page of
-- each of its three user-keyed B-trees per session, and each dirty user's
-- lookup descended 1 000 000-entry indexes. Now the table is range-partitioned
-- by session_end, one partition per UTC day:
-- - new and extended sessions end after the batch's events, so they land in
--   the latest partitions, whose indexes hold one day of sessions;
-- - the lookup of a dirty user's mergeable sessions (those ending at or after
--   its first new event) and their DELETE carry a plain lower bound on
--   session_end, so partitions that ended before every dirty range are pruned.
-- Two indexes instead of three: the key (user_id, session_end) serves the
-- lookup and the DELETE (sessions of one user are disjoint, so no two of them
-- end at the same instant); session_start serves readers' time filters.
-- A partition key must be part of the key, hence (user_id, session_end) and
-- not the former (user_id, session_start) (still unique by construction).

-- Creates the daily partitions of etl.agg_user_sessions for the given UTC
-- days of session_end, if missing; returns how many.
CREATE OR REPLACE FUNCTION etl.ensure_session_partitions(p_days date[])
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER  -- the writer refreshes; creating a partition needs the parent's owner
SET search_path = ''
AS $$
DECLARE
    v_day     date;
    v_name    text;
    v_created integer := 0;
BEGIN
    -- Purpose: one partition per UTC day of session_end; creators serialize on
    -- an advisory lock and the second finds the partition there.
    FOREACH v_day IN ARRAY p_days LOOP
        -- 'agg_user_sessions_p' || yyyymmdd: 27 characters, below the 63-byte identifier limit.
        v_name := 'agg_user_sessions_p' || to_char(v_day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass('etl.' || v_name) IS NOT NULL;
        PERFORM pg_advisory_xact_lock(hashtext('etl.agg_user_sessions partitions'));
        CONTINUE WHEN to_regclass('etl.' || v_name) IS NOT NULL;
        BEGIN
            EXECUTE format(
                'CREATE TABLE etl.%I PARTITION OF etl.agg_user_sessions FOR VALUES FROM (%L) TO (%L)',
                v_name,
                (v_day::timestamp AT TIME ZONE 'UTC'),
                ((v_day + 1)::timestamp AT TIME ZONE 'UTC'));
            v_created := v_created + 1;
        EXCEPTION WHEN duplicate_table THEN
            NULL;  -- committed by another session after our catalog snapshot
        END;
    END LOOP;
    RETURN v_created;
END;
$$;

-- Replace the plain table by the partitioned one, keeping every session.
DO $$
BEGIN
    IF (SELECT c.relkind FROM pg_catalog.pg_class AS c WHERE c.oid = to_regclass('etl.agg_user_sessions')) = 'r' THEN
        ALTER TABLE etl.agg_user_sessions RENAME TO agg_user_sessions_0008;
        ALTER TABLE etl.agg_user_sessions_0008 RENAME CONSTRAINT agg_user_sessions_pkey TO agg_user_sessions_0008_pkey;
        ALTER INDEX etl.agg_user_sessions_start_idx RENAME TO agg_user_sessions_0008_start_idx;
        ALTER INDEX etl.agg_user_sessions_user_id_end_idx RENAME TO agg_user_sessions_0008_user_id_end_idx;
    END IF;
END;
$$;

CREATE TABLE IF NOT EXISTS etl.agg_user_sessions (
    user_id       text        NOT NULL,
    session_start timestamptz NOT NULL,
    session_end   timestamptz NOT NULL,
    last_event_at timestamptz NOT NULL,
    events        bigint      NOT NULL,
    pages         bigint      NOT NULL,
    revenue       numeric     NOT NULL,
    CONSTRAINT agg_user_sessions_pkey PRIMARY KEY (user_id, session_end)
) PARTITION BY RANGE (session_end);

CREATE INDEX IF NOT EXISTS agg_user_sessions_start_idx ON etl.agg_user_sessions (session_start);

COMMENT ON TABLE etl.agg_user_sessions IS
    'Session windows per user (30-minute gap), partitioned by UTC day of session_end (etl.ensure_session_partitions).';

DO $$
BEGIN
    IF to_regclass('etl.agg_user_sessions_0008') IS NOT NULL THEN
        PERFORM etl.ensure_session_partitions(ARRAY(
            SELECT DISTINCT (s.session_end AT TIME ZONE 'UTC')::date FROM etl.agg_user_sessions_0008 AS s));
        INSERT INTO etl.agg_user_sessions
        SELECT s.user_id, s.session_start, s.session_end, s.last_event_at, s.events, s.pages, s.revenue
        FROM etl.agg_user_sessions_0008 AS s;
    END IF;
END;
$$;

-- Same columns as in 0010; now reads the partitioned table.
CREATE OR REPLACE VIEW analytics.user_sessions AS
SELECT s.user_id, s.session_start, s.session_end, s.events, s.pages, s.revenue
FROM etl.agg_user_sessions AS s;

DROP TABLE IF EXISTS etl.agg_user_sessions_0008;

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

-- As in 0009, except the session windows (see the header): the lookup and
-- the DELETE carry plain session_end bounds, and the partitions the new
-- sessions need are created first.
CREATE OR REPLACE FUNCTION etl.refresh_aggregates(p_wait boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_minutes timestamptz[];
    v_lo      timestamptz;
    v_hi      timestamptz;
    v_users   text[];
    v_from    timestamptz[];
    v_to      timestamptz[];
BEGIN
    -- Purpose: the cost follows the touched buckets, never the history.
    IF p_wait THEN
        PERFORM pg_advisory_xact_lock(hashtext('etl.refresh_aggregates'));
    ELSIF NOT pg_try_advisory_xact_lock(hashtext('etl.refresh_aggregates')) THEN
        RETURN 0;
    END IF;

    -- Marks committed after this DELETE's snapshot stay for the next refresh.
    WITH d AS (DELETE FROM etl.dirty_minutes RETURNING bucket)
    SELECT array_agg(DISTINCT d.bucket ORDER BY d.bucket) INTO v_minutes FROM d;

    WITH d AS (DELETE FROM etl.dirty_users RETURNING user_id, first_time, last_time),
    r AS (SELECT d.user_id, min(d.first_time) AS t_from, max(d.last_time) AS t_to FROM d GROUP BY d.user_id)
    SELECT array_agg(r.user_id), array_agg(r.t_from), array_agg(r.t_to) INTO v_users, v_from, v_to FROM r;

    -- The contract guarantees currency, service and level on their types;
    -- '(none)' keeps a refresh from failing (and blocking every later one)
    -- should an event without them reach staging anyway.
    --
    -- Each run of consecutive dirty buckets (an island) is recomputed with
    -- one range statement per aggregate: the range is a plain value, so the
    -- planner prunes to the touched partitions and range-scans their
    -- event_time index even when a fresh partition has no statistics yet.
    FOR v_lo, v_hi IN
        SELECT min(m), max(m) + interval '1 minute'
        FROM (SELECT m, m - row_number() OVER (ORDER BY m) * interval '1 minute' AS island
              FROM unnest(v_minutes) AS m) AS x
        GROUP BY island
    LOOP
        DELETE FROM etl.agg_events_1m WHERE bucket >= v_lo AND bucket < v_hi;
        INSERT INTO etl.agg_events_1m (bucket, event_type, events, users)
        SELECT date_trunc('minute', e.event_time, 'UTC'), e.event_type, count(*), count(DISTINCT e.user_id)
        FROM staging.events AS e
        WHERE e.event_time >= v_lo AND e.event_time < v_hi
        GROUP BY 1, 2;

        DELETE FROM etl.agg_revenue_1m WHERE bucket >= v_lo AND bucket < v_hi;
        INSERT INTO etl.agg_revenue_1m (bucket, currency, transactions, revenue)
        SELECT date_trunc('minute', e.event_time, 'UTC'), coalesce(e.payload ->> 'currency', '(none)'), count(*),
               coalesce(sum((e.payload ->> 'amount')::numeric), 0)
        FROM staging.events AS e
        WHERE e.event_time >= v_lo AND e.event_time < v_hi AND e.event_type = 'transaction'
        GROUP BY 1, 2;

        DELETE FROM etl.agg_page_views_1m WHERE bucket >= v_lo AND bucket < v_hi;
        INSERT INTO etl.agg_page_views_1m (bucket, page, country, views, users)
        SELECT date_trunc('minute', e.event_time, 'UTC'), coalesce(e.payload ->> 'page', '(none)'),
               coalesce(e.payload ->> 'country', '(none)'), count(*), count(DISTINCT e.user_id)
        FROM staging.events AS e
        WHERE e.event_time >= v_lo AND e.event_time < v_hi AND e.event_type = 'page_view'
        GROUP BY 1, 2, 3;

        DELETE FROM etl.agg_logs_1m WHERE bucket >= v_lo AND bucket < v_hi;
        INSERT INTO etl.agg_logs_1m (bucket, service, level, events)
        SELECT date_trunc('minute', e.event_time, 'UTC'), coalesce(e.payload ->> 'service', '(none)'),
               coalesce(e.payload ->> 'level', '(none)'), count(*)
        FROM staging.events AS e
        WHERE e.event_time >= v_lo AND e.event_time < v_hi AND e.event_type = 'log'
        GROUP BY 1, 2, 3;
    END LOOP;

    FOR v_lo, v_hi IN
        SELECT min(f), max(f) + interval '5 minutes'
        FROM (SELECT f, f - row_number() OVER (ORDER BY f) * interval '5 minutes' AS island
              FROM (SELECT DISTINCT date_bin(interval '5 minutes', m, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS f
                    FROM unnest(v_minutes) AS m) AS d) AS x
        GROUP BY island
    LOOP
        DELETE FROM etl.agg_events_5m WHERE bucket >= v_lo AND bucket < v_hi;
        INSERT INTO etl.agg_events_5m (bucket, event_type, events, users)
        SELECT date_bin(interval '5 minutes', e.event_time, TIMESTAMPTZ '2000-01-01 00:00:00+00'), e.event_type,
               count(*), count(DISTINCT e.user_id)
        FROM staging.events AS e
        WHERE e.event_time >= v_lo AND e.event_time < v_hi
        GROUP BY 1, 2;
    END LOOP;

    -- Hourly rollups and the funnel scan the whole touched hour (distinct
    -- users and sessions do not add up across minutes).
    FOR v_lo, v_hi IN
        SELECT min(h), max(h) + interval '1 hour'
        FROM (SELECT h, h - row_number() OVER (ORDER BY h) * interval '1 hour' AS island
              FROM (SELECT DISTINCT date_trunc('hour', m, 'UTC') AS h FROM unnest(v_minutes) AS m) AS d) AS x
        GROUP BY island
    LOOP
        DELETE FROM etl.agg_events_1h WHERE bucket >= v_lo AND bucket < v_hi;
        INSERT INTO etl.agg_events_1h (bucket, event_type, events, users)
        SELECT date_trunc('hour', e.event_time, 'UTC'), e.event_type, count(*), count(DISTINCT e.user_id)
        FROM staging.events AS e
        WHERE e.event_time >= v_lo AND e.event_time < v_hi
        GROUP BY 1, 2;

        DELETE FROM etl.agg_funnel_1h WHERE bucket >= v_lo AND bucket < v_hi;
        INSERT INTO etl.agg_funnel_1h (bucket, sessions, sessions_viewed, sessions_clicked,
                                       sessions_added_to_cart, sessions_paid)
        SELECT date_trunc('hour', e.event_time, 'UTC'),
               count(DISTINCT (e.user_id, e.payload ->> 'session_id')),
               count(DISTINCT (e.user_id, e.payload ->> 'session_id')) FILTER (WHERE e.event_type = 'page_view'),
               count(DISTINCT (e.user_id, e.payload ->> 'session_id')) FILTER (WHERE e.event_type = 'click'),
               count(DISTINCT (e.user_id, e.payload ->> 'session_id'))
                   FILTER (WHERE e.event_type = 'click' AND e.payload ->> 'element' = 'add_to_cart'),
               count(DISTINCT (e.user_id, e.payload ->> 'session_id')) FILTER (WHERE e.event_type = 'transaction')
        FROM staging.events AS e
        WHERE e.event_time >= v_lo AND e.event_time < v_hi AND e.payload ? 'session_id'
        GROUP BY 1;
    END LOOP;

    IF v_users IS NOT NULL THEN
        PERFORM etl.refresh_user_sessions(v_users, v_from, v_to);
    END IF;

    RETURN coalesce(cardinality(v_minutes), 0);  -- an empty array_agg is NULL
END;
$$;

-- Recomputes the session windows of the given users around their event-time
-- ranges [p_from[i], p_to[i]] from staging: widens each range to the sessions
-- it can merge with (those within 30 minutes), drops those sessions and
-- rebuilds the range (sessions outside it are more than 30 minutes away).
-- Called by etl.refresh_aggregates under its lock.
CREATE OR REPLACE FUNCTION etl.refresh_user_sessions(p_users text[], p_from timestamptz[], p_to timestamptz[])
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_users text[];
    v_from  timestamptz[];
    v_to    timestamptz[];
    v_first timestamptz;
    v_lo    timestamptz;
    v_hi    timestamptz;
BEGIN
    -- Purpose: touch only the partitions that can hold a dirty user's sessions.
    SELECT min(f) INTO v_first FROM unnest(p_from) AS f;

    WITH u AS (SELECT * FROM unnest(p_users, p_from, p_to) AS u(user_id, t_from, t_to)),
    r AS (
        SELECT u.user_id, least(u.t_from, min(s.session_start)) AS lo,
               greatest(u.t_to, max(s.last_event_at)) AS hi
        FROM u
        LEFT JOIN etl.agg_user_sessions AS s
            ON s.user_id = u.user_id
           AND s.session_end >= u.t_from
           -- a plain value: partitions ending before every dirty range are pruned
           AND s.session_end >= v_first
           AND (s.session_start <= u.t_to + interval '30 minutes') IS TRUE
        GROUP BY u.user_id, u.t_from, u.t_to
    )
    SELECT array_agg(r.user_id), array_agg(r.lo), array_agg(r.hi), min(r.lo), max(r.hi)
    INTO v_users, v_from, v_to, v_lo, v_hi
    FROM r;

    -- The sessions starting in [lo, hi] are the ones found above, so each
    -- ends at or after its user's first new event (>= v_first): a bound for
    -- pruning; s.session_end >= r.lo is the key's range for each user.
    DELETE FROM etl.agg_user_sessions AS s
    USING unnest(v_users, v_from, v_to) AS r(user_id, lo, hi)
    WHERE s.user_id = r.user_id AND s.session_end >= r.lo AND s.session_start >= r.lo AND s.session_start <= r.hi
      AND s.session_end >= v_first;

    -- New sessions end at last event + 30 minutes, within [lo, hi] + 30 minutes
    -- of their user (per user: a replay of 2024 beside today's batch needs
    -- the days of each, not every day between).
    PERFORM etl.ensure_session_partitions(ARRAY(
        SELECT DISTINCT d::date
        FROM (SELECT DISTINCT ((r.lo + interval '30 minutes') AT TIME ZONE 'UTC')::date AS first_day,
                              ((r.hi + interval '30 minutes') AT TIME ZONE 'UTC')::date AS last_day
              FROM unnest(v_from, v_to) AS r(lo, hi)) AS r,
             generate_series(r.first_day, r.last_day, interval '1 day') AS d));

    INSERT INTO etl.agg_user_sessions (user_id, session_start, session_end, last_event_at, events, pages, revenue)
    WITH ev AS (
        SELECT e.user_id, e.event_time, e.event_type, e.payload
        FROM unnest(v_users, v_from, v_to) AS r(user_id, lo, hi)
        JOIN staging.events AS e ON e.user_id = r.user_id AND e.event_time >= r.lo AND e.event_time <= r.hi
        -- The overall range as plain values: partitions outside it are pruned at plan time.
        WHERE e.event_time >= v_lo AND e.event_time <= v_hi
    ),
    marked AS (
        SELECT ev.*,
               CASE WHEN ev.event_time - lag(ev.event_time) OVER w < interval '30 minutes' THEN 0 ELSE 1 END
                   AS starts_session
        FROM ev
        WINDOW w AS (PARTITION BY ev.user_id ORDER BY ev.event_time)
    ),
    numbered AS (
        SELECT marked.*,
               sum(marked.starts_session) OVER (PARTITION BY marked.user_id ORDER BY marked.event_time
                                                ROWS UNBOUNDED PRECEDING) AS session_no
        FROM marked
    )
    SELECT n.user_id, min(n.event_time), max(n.event_time) + interval '30 minutes', max(n.event_time), count(*),
           count(*) FILTER (WHERE n.event_type = 'page_view'),
           coalesce(sum((n.payload ->> 'amount')::numeric) FILTER (WHERE n.event_type = 'transaction'), 0)
    FROM numbered AS n
    GROUP BY n.user_id, n.session_no;
END;
$$;

-- 0008 applied again (migrations must apply twice) would give the new table
-- 0008's (user_id, session_end) index; the key already is that index.
DROP INDEX IF EXISTS etl.agg_user_sessions_user_id_end_idx;
