-- 0015_create_incremental_rollups.sql
-- The 5-minute and 1-hour rollups and the hourly session funnel follow the
-- batch, not the events already in their bucket. Until now a refresh
-- recomputed every touched 5-minute and hour bucket from staging: with a live
-- stream each refresh re-read the current hour so far (up to 18 million rows
-- at 5 000 events/s), and one late event re-read its whole hour.
--
-- Now a refresh reads staging only for the dirty minutes (found via the dirty
-- marks; never the trigger's transition table, which would count records a
-- deduplication step later moves out of staging in the same transaction) and:
-- - events per (bucket, event_type) = the sum of the 1-minute table over the
--   bucket (at most 60 rows per type), which the same refresh has just made exact;
-- - users per (bucket, event_type): membership tables agg_users_5m/_1h hold
--   each (bucket, event_type, user_id) seen; the dirty minutes' keys are
--   inserted ON CONFLICT DO NOTHING and users grows by the rows newly
--   inserted, exactly (no approximate distinct counts);
-- - the funnel: agg_funnel_sessions_1h holds per (hour, user_id, session_id)
--   which steps the session reached; the dirty minutes' sessions are merged
--   in ON CONFLICT (step bits OR-ed) and each count grows by the sessions or
--   steps RETURNING reports as new. Re-reading a minute already counted adds nothing, so a refresh that
--   sees a batch committed after it took the marks is still exact.
-- The minute tables are still recomputed per dirty minute (a minute is small).
--
-- Rebuilds: etl.request_rebuild(from, to, reason) records a range in
-- etl.rebuild_requests; every refresh (the worker's, cron's, `pipeline
-- refresh`) first takes one chunk of it (setting rebuild_chunk, default one
-- hour, newest first), clears that chunk's rollup state and marks all of it
-- dirty, so no single refresh runs for hours. etl.rebuild_aggregates(from, to)
-- does a whole range at once, in the caller's transaction. Both recompute
-- whole hours (the membership state of an hour is all or nothing).
-- This migration changes the rollups' state, so it requests a rebuild of the
-- history still in staging (hours older than staging's retention keep their
-- rollups, with no membership state: see README, "Analytics in SQL").

CREATE TABLE IF NOT EXISTS etl.agg_users_5m (
    bucket     timestamptz NOT NULL,
    event_type text        NOT NULL,
    user_id    text        NOT NULL,
    CONSTRAINT agg_users_5m_pkey PRIMARY KEY (bucket, event_type, user_id)
);

COMMENT ON TABLE etl.agg_users_5m IS
    'Who was counted in agg_events_5m.users: one row per (5-minute bucket, event_type, user_id).';

CREATE TABLE IF NOT EXISTS etl.agg_users_1h (
    bucket     timestamptz NOT NULL,
    event_type text        NOT NULL,
    user_id    text        NOT NULL,
    CONSTRAINT agg_users_1h_pkey PRIMARY KEY (bucket, event_type, user_id)
);

COMMENT ON TABLE etl.agg_users_1h IS
    'Who was counted in agg_events_1h.users: one row per (hour, event_type, user_id).';

-- steps: bits of the funnel steps reached, 1 viewed, 2 clicked, 4 added to
-- cart, 8 paid. added: what the refresh that last wrote the row added (the
-- same bits, and 16 when it inserted the session): RETURNING reports it, so
-- the counts grow by what is new without reading the hour's sessions.
CREATE TABLE IF NOT EXISTS etl.agg_funnel_sessions_1h (
    bucket     timestamptz NOT NULL,
    user_id    text        NOT NULL,
    session_id text        NOT NULL,
    steps      smallint    NOT NULL,
    added      smallint    NOT NULL,
    CONSTRAINT agg_funnel_sessions_1h_pkey PRIMARY KEY (bucket, user_id, session_id)
);

COMMENT ON TABLE etl.agg_funnel_sessions_1h IS
    'Funnel steps (bits: 1 viewed, 2 clicked, 4 added to cart, 8 paid) each (user_id, session_id) reached per hour.';

-- Pending rebuilds, worked through newest first: [range_from, next_to) is still to do.
CREATE TABLE IF NOT EXISTS etl.rebuild_requests (
    request_id   bigint      GENERATED ALWAYS AS IDENTITY,
    range_from   timestamptz NOT NULL,
    range_to     timestamptz NOT NULL,
    next_to      timestamptz NOT NULL,
    reason       text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rebuild_requests_pkey PRIMARY KEY (request_id),
    CONSTRAINT rebuild_requests_range_check CHECK (range_from < range_to),
    CONSTRAINT rebuild_requests_next_to_check CHECK (next_to > range_from AND next_to <= range_to)
);

COMMENT ON TABLE etl.rebuild_requests IS
    'Time ranges whose aggregates a refresh recomputes from staging, one rebuild_chunk per refresh, newest first.';

INSERT INTO etl.settings (setting_name, setting_value, description)
VALUES ('rebuild_chunk', '1 hour',
        'How much of a requested rebuild (etl.rebuild_requests) one refresh recomputes; whole hours.')
ON CONFLICT ON CONSTRAINT settings_pkey DO NOTHING;

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

-- Clears the rollup state of the whole hours [p_from, p_to) and marks every
-- minute of them, and every user with events in them, dirty: the next
-- statements of the same refresh recompute them from staging. Only under the
-- refresh lock (etl.refresh_aggregates, etl.rebuild_aggregates).
CREATE OR REPLACE FUNCTION etl.mark_for_rebuild(p_from timestamptz, p_to timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: the one place that knows which state a rebuild starts from.
    DELETE FROM etl.agg_events_5m WHERE bucket >= p_from AND bucket < p_to;
    DELETE FROM etl.agg_users_5m WHERE bucket >= p_from AND bucket < p_to;
    DELETE FROM etl.agg_events_1h WHERE bucket >= p_from AND bucket < p_to;
    DELETE FROM etl.agg_users_1h WHERE bucket >= p_from AND bucket < p_to;
    DELETE FROM etl.agg_funnel_1h WHERE bucket >= p_from AND bucket < p_to;
    DELETE FROM etl.agg_funnel_sessions_1h WHERE bucket >= p_from AND bucket < p_to;
    -- The minute tables and sessions are recomputed from staging as for any dirty mark.
    INSERT INTO etl.dirty_minutes (bucket)
    SELECT m FROM generate_series(p_from, p_to - interval '1 minute', interval '1 minute') AS m;
    INSERT INTO etl.dirty_users (user_id, first_time, last_time)
    SELECT e.user_id, min(e.event_time), max(e.event_time)
    FROM staging.events AS e
    WHERE e.event_time >= p_from AND e.event_time < p_to
    GROUP BY e.user_id;
END;
$$;

-- Adds the dirty minutes [p_lo, p_hi) to the 5-minute and hourly rollups and
-- the funnel (see the header). The 1-minute table must already be current
-- for those minutes. Called by etl.refresh_aggregates under its lock, once
-- per run of consecutive dirty minutes.
CREATE OR REPLACE FUNCTION etl.add_to_rollups(p_lo timestamptz, p_hi timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: rollups whose cost follows the dirty minutes, not their buckets.
    WITH seen AS MATERIALIZED (
        SELECT DISTINCT date_bin(interval '5 minutes', e.event_time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
               e.event_type, e.user_id
        FROM staging.events AS e
        WHERE e.event_time >= p_lo AND e.event_time < p_hi
    ),
    added AS (
        INSERT INTO etl.agg_users_5m (bucket, event_type, user_id)
        SELECT s.bucket, s.event_type, s.user_id FROM seen AS s
        ON CONFLICT ON CONSTRAINT agg_users_5m_pkey DO NOTHING
        RETURNING bucket, event_type
    ),
    new_users AS (SELECT a.bucket, a.event_type, count(*) AS users FROM added AS a GROUP BY 1, 2)
    INSERT INTO etl.agg_events_5m AS r (bucket, event_type, events, users)
    SELECT k.bucket, k.event_type,
           -- a batch committed after the minutes were recomputed may show up
           -- here first: its marks make the next refresh add it (hence coalesce)
           coalesce((SELECT sum(m.events) FROM etl.agg_events_1m AS m
                     WHERE m.bucket >= k.bucket AND m.bucket < k.bucket + interval '5 minutes'
                       AND m.event_type = k.event_type), 0)::bigint,
           coalesce(n.users, 0)
    FROM (SELECT DISTINCT s.bucket, s.event_type FROM seen AS s) AS k
    LEFT JOIN new_users AS n ON n.bucket = k.bucket AND n.event_type = k.event_type
    ON CONFLICT ON CONSTRAINT agg_events_5m_pkey DO UPDATE
    SET events = excluded.events, users = r.users + excluded.users;

    WITH seen AS MATERIALIZED (
        SELECT DISTINCT date_trunc('hour', e.event_time, 'UTC') AS bucket, e.event_type, e.user_id
        FROM staging.events AS e
        WHERE e.event_time >= p_lo AND e.event_time < p_hi
    ),
    added AS (
        INSERT INTO etl.agg_users_1h (bucket, event_type, user_id)
        SELECT s.bucket, s.event_type, s.user_id FROM seen AS s
        ON CONFLICT ON CONSTRAINT agg_users_1h_pkey DO NOTHING
        RETURNING bucket, event_type
    ),
    new_users AS (SELECT a.bucket, a.event_type, count(*) AS users FROM added AS a GROUP BY 1, 2)
    INSERT INTO etl.agg_events_1h AS r (bucket, event_type, events, users)
    SELECT k.bucket, k.event_type,
           coalesce((SELECT sum(m.events) FROM etl.agg_events_1m AS m
                     WHERE m.bucket >= k.bucket AND m.bucket < k.bucket + interval '1 hour'
                       AND m.event_type = k.event_type), 0)::bigint,
           coalesce(n.users, 0)
    FROM (SELECT DISTINCT s.bucket, s.event_type FROM seen AS s) AS k
    LEFT JOIN new_users AS n ON n.bucket = k.bucket AND n.event_type = k.event_type
    ON CONFLICT ON CONSTRAINT agg_events_1h_pkey DO UPDATE
    SET events = excluded.events, users = r.users + excluded.users;

    -- A session is (user_id, session_id); "added to cart" is a click whose
    -- element is 'add_to_cart' (as in 0009). The contract makes session_id a
    -- string when present. Each candidate row is one index probe (ON
    -- CONFLICT); only rows that gain a step are written, and RETURNING says
    -- which steps (and sessions) are new.
    WITH seen AS (
        SELECT date_trunc('hour', e.event_time, 'UTC') AS bucket, e.user_id, e.payload ->> 'session_id' AS session_id,
               bit_or(CASE WHEN e.event_type = 'page_view' THEN 1
                           WHEN e.event_type = 'click' AND (e.payload ->> 'element' = 'add_to_cart') IS TRUE THEN 2 | 4
                           WHEN e.event_type = 'click' THEN 2
                           WHEN e.event_type = 'transaction' THEN 8
                           ELSE 0 END)::smallint AS steps
        FROM staging.events AS e
        WHERE e.event_time >= p_lo AND e.event_time < p_hi AND e.payload ->> 'session_id' IS NOT NULL
        GROUP BY 1, 2, 3
    ),
    saved AS (
        INSERT INTO etl.agg_funnel_sessions_1h AS f (bucket, user_id, session_id, steps, added)
        SELECT s.bucket, s.user_id, s.session_id, s.steps, s.steps | 16 FROM seen AS s
        ON CONFLICT ON CONSTRAINT agg_funnel_sessions_1h_pkey DO UPDATE
        SET steps = f.steps | excluded.steps, added = excluded.steps & ~f.steps
        WHERE excluded.steps & ~f.steps <> 0
        RETURNING f.bucket, f.added
    )
    INSERT INTO etl.agg_funnel_1h AS r (bucket, sessions, sessions_viewed, sessions_clicked,
                                        sessions_added_to_cart, sessions_paid)
    SELECT n.bucket, count(*) FILTER (WHERE n.added & 16 <> 0), count(*) FILTER (WHERE n.added & 1 <> 0),
           count(*) FILTER (WHERE n.added & 2 <> 0), count(*) FILTER (WHERE n.added & 4 <> 0),
           count(*) FILTER (WHERE n.added & 8 <> 0)
    FROM saved AS n
    GROUP BY n.bucket
    ON CONFLICT ON CONSTRAINT agg_funnel_1h_pkey DO UPDATE
    SET sessions = r.sessions + excluded.sessions,
        sessions_viewed = r.sessions_viewed + excluded.sessions_viewed,
        sessions_clicked = r.sessions_clicked + excluded.sessions_clicked,
        sessions_added_to_cart = r.sessions_added_to_cart + excluded.sessions_added_to_cart,
        sessions_paid = r.sessions_paid + excluded.sessions_paid;
END;
$$;

-- As in 0014, plus: one chunk of a requested rebuild first, and the 5-minute
-- and hourly rollups and the funnel added from the dirty minutes only.
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

    PERFORM etl.take_rebuild_chunk();

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
    -- Each run of consecutive dirty minutes (an island) is recomputed with
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

        PERFORM etl.add_to_rollups(v_lo, v_hi);
    END LOOP;

    IF v_users IS NOT NULL THEN
        PERFORM etl.refresh_user_sessions(v_users, v_from, v_to);
    END IF;

    RETURN coalesce(cardinality(v_minutes), 0);  -- an empty array_agg is NULL
END;
$$;

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
    PERFORM pg_advisory_xact_lock(hashtext('etl.refresh_aggregates'));
    PERFORM etl.mark_for_rebuild(date_trunc('hour', p_from, 'UTC'),
                                 date_trunc('hour', p_to - interval '1 microsecond', 'UTC') + interval '1 hour');
    RETURN etl.refresh_aggregates(true);
END;
$$;

-- The history loaded before this migration has no membership state: rebuild
-- it, a chunk per refresh. Only what staging holds, run by run of consecutive
-- daily partitions and trimmed to their first and last event: a day whose
-- partition retention dropped keeps its aggregates (a rebuild would empty it).
-- The newest run is requested first (lowest id), so it is rebuilt first.
SELECT etl.request_rebuild(b.first_event, b.last_event + interval '1 microsecond',
                           '0015: membership state of the incremental 5-minute and hourly rollups and the funnel')
FROM (SELECT min(d.day) AS first_day, max(d.day) + 1 AS end_day
      FROM (SELECT p.day, p.day - (row_number() OVER (ORDER BY p.day))::integer AS run
            FROM (SELECT to_date(substr(c.relname, 9), 'YYYYMMDD') AS day
                  FROM pg_catalog.pg_inherits AS i
                  JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
                  WHERE i.inhparent = 'staging.events'::regclass AND c.relname ~ '^events_p[0-9]{8}$') AS p) AS d
      GROUP BY d.run) AS r
CROSS JOIN LATERAL (
    -- min and max only: two index probes per run, not a scan
    SELECT min(e.event_time) AS first_event, max(e.event_time) AS last_event
    FROM staging.events AS e
    WHERE e.event_time >= r.first_day::timestamp AT TIME ZONE 'UTC'
      AND e.event_time < r.end_day::timestamp AT TIME ZONE 'UTC') AS b
WHERE b.first_event IS NOT NULL
  AND NOT EXISTS (SELECT FROM etl.rebuild_requests AS q WHERE q.reason LIKE '0015:%')
ORDER BY r.first_day DESC;
