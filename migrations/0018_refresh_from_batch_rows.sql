-- 0018_refresh_from_batch_rows.sql
-- A refresh reads the rows of the batches it adds, not the minutes they
-- touched. Until now every dirty minute was re-read whole, seven times (four
-- 1-minute tables, the 5-minute and hourly rollups, the funnel): with a live
-- stream each refresh re-read the current minute so far, and during a bulk
-- load whose events share a minute each refresh re-read every event loaded
-- so far (measured: refreshes after 4 batches of 50 000 events into one
-- minute took 344, 546, 829 and 1 150 ms, growing with the load).
--
-- Now:
-- - staging.events has a B-tree on batch_id (batch ids only grow, so each
--   insert lands on the rightmost leaf page: about +2% on a 50 000-row COPY),
--   its event_time index becomes (event_time, kafka_offset), and the one on
--   (user_id, event_time) goes;
-- - a mark with a batch_id means "add this batch's rows": the refresh reads
--   them once, by batch_id, into a session-local temp table, and every
--   aggregate grows by them: counts and sums add up; distinct users grow by
--   the (bucket, key, user) memberships new to agg_users_1m and
--   agg_page_users_1m (as the 5-minute and hourly rollups already did);
-- - a mark without a batch_id (a rebuild, or marked by hand) means
--   "recompute this minute": its 1-minute rows and memberships are cleared
--   and all of its rows are added, except those of batches whose marks are
--   still pending (a batch committed after this refresh took the marks: the
--   next refresh adds it, so it must not be counted here too);
-- - the 5-minute and hourly events stay sums of the 1-minute rows, users and
--   the funnel stay membership merges;
-- - session windows are merged from pieces (the sessions a batch's events can
--   touch, and the events): a late event inside a session no longer re-reads
--   the session from staging (etl.merge_user_sessions).
-- Each batch is added exactly once: its marks commit with its rows, and the
-- refresh lock makes one refresh take them.
--
-- Pending marks of batches loaded before this migration become "recompute",
-- and the history still in staging is rebuilt (an hour per refresh, newest
-- first) to fill the new membership tables.

-- Finds a batch's rows without reading its minutes.
CREATE INDEX IF NOT EXISTS events_batch_id_idx ON staging.events (batch_id);

-- Only the session windows read staging by user, and now only for a rebuild,
-- which reads its range by event time: the (user_id, event_time) index cost
-- every COPY about 17% (90 of 530 ms for 50 000 rows) for nothing.
DROP INDEX IF EXISTS staging.events_user_id_event_time_idx;

-- Ranges by event_time as before, and one record by (event_time, kafka_offset)
-- (the deduplication trigger's probes): with event_time alone, a probe read
-- every record of that millisecond (1 400 in a bulk load produced at full speed).
CREATE INDEX IF NOT EXISTS events_event_time_offset_idx ON staging.events (event_time, kafka_offset);
DROP INDEX IF EXISTS staging.events_event_time_idx;

CREATE TABLE IF NOT EXISTS etl.agg_users_1m (
    bucket     timestamptz NOT NULL,
    event_type text        NOT NULL,
    user_id    text        NOT NULL,
    CONSTRAINT agg_users_1m_pkey PRIMARY KEY (bucket, event_type, user_id)
);

COMMENT ON TABLE etl.agg_users_1m IS
    'Who was counted in agg_events_1m.users: one row per (minute, event_type, user_id).';

CREATE TABLE IF NOT EXISTS etl.agg_page_users_1m (
    bucket  timestamptz NOT NULL,
    page    text        NOT NULL,
    country text        NOT NULL,
    user_id text        NOT NULL,
    CONSTRAINT agg_page_users_1m_pkey PRIMARY KEY (bucket, page, country, user_id)
);

COMMENT ON TABLE etl.agg_page_users_1m IS
    'Who was counted in agg_page_views_1m.users: one row per (minute, page, country, user_id).';

-- What the aggregates read of each event, named once. A plain view: the
-- planner inlines it, so a filter on batch_id or event_time still uses the
-- index, and the payload is read only for the rows that pass. The contract
-- guarantees currency, service and level on their types; '(none)' keeps a
-- refresh from failing (and blocking every later one) should an event
-- without them reach staging anyway. A session is (user_id, session_id);
-- steps are the funnel bits (1 viewed, 2 clicked, 4 added to cart: a click
-- on 'add_to_cart', 8 paid), as in 0015.
CREATE OR REPLACE VIEW etl.aggregate_inputs AS
SELECT e.batch_id,
       e.event_time,
       date_trunc('minute', e.event_time, 'UTC') AS bucket,
       e.event_type,
       e.user_id,
       e.payload ->> 'session_id' AS session_id,
       (CASE WHEN e.event_type = 'page_view' THEN 1
             WHEN e.event_type = 'click' AND (e.payload ->> 'element' = 'add_to_cart') IS TRUE THEN 2 | 4
             WHEN e.event_type = 'click' THEN 2
             WHEN e.event_type = 'transaction' THEN 8
             ELSE 0 END)::smallint AS steps,
       CASE WHEN e.event_type = 'page_view' THEN coalesce(e.payload ->> 'page', '(none)') END AS page,
       CASE WHEN e.event_type = 'page_view' THEN coalesce(e.payload ->> 'country', '(none)') END AS country,
       CASE WHEN e.event_type = 'transaction' THEN coalesce(e.payload ->> 'currency', '(none)') END AS currency,
       CASE WHEN e.event_type = 'transaction' THEN (e.payload ->> 'amount')::numeric END AS amount,
       CASE WHEN e.event_type = 'log' THEN coalesce(e.payload ->> 'service', '(none)') END AS service,
       CASE WHEN e.event_type = 'log' THEN coalesce(e.payload ->> 'level', '(none)') END AS level
FROM staging.events AS e;

COMMENT ON VIEW etl.aggregate_inputs IS 'The fields of staging.events the aggregates read (etl.refresh_aggregates).';

-- Empties (creating them first in this session if needed) the temp tables a
-- refresh works in: etl_refresh_rows, the rows it adds (from_batch: the row
-- belongs to a batch this refresh adds, rather than to a minute it
-- recomputes), and etl_refresh_sessions, the pieces of the session windows it
-- merges. A temp table lives as long as its session: created once per
-- connection, not per refresh (no catalog churn); ON COMMIT DELETE ROWS
-- empties it when the refresh's transaction ends.
CREATE OR REPLACE FUNCTION etl.prepare_refresh_rows()
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: one place defines the refresh's working set.
    IF to_regclass('pg_temp.etl_refresh_rows') IS NULL THEN
        CREATE TEMPORARY TABLE etl_refresh_rows (
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
        CREATE TEMPORARY TABLE etl_refresh_sessions (
            user_id  text        NOT NULL,
            first_at timestamptz NOT NULL,
            last_at  timestamptz NOT NULL,
            events   bigint      NOT NULL,
            pages    bigint      NOT NULL,
            revenue  numeric     NOT NULL
        ) ON COMMIT DELETE ROWS;
        -- Only this session ever sees a temp table; a role it switches to
        -- (SET ROLE) may refresh too.
        GRANT SELECT, INSERT, DELETE ON pg_temp.etl_refresh_rows, pg_temp.etl_refresh_sessions TO PUBLIC;
    ELSE
        -- a second refresh in the same transaction (tests, rebuild_aggregates)
        DELETE FROM pg_temp.etl_refresh_rows;
        DELETE FROM pg_temp.etl_refresh_sessions;
    END IF;
END;
$$;

-- Adds pg_temp.etl_refresh_rows to the 1-minute tables, then to the 5-minute
-- and hourly rollups and the funnel. Called by etl.refresh_aggregates under
-- its lock.
CREATE OR REPLACE FUNCTION etl.add_refresh_rows()
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: every aggregate grows by the rows added, never by re-reading its bucket.
    WITH added AS (
        INSERT INTO etl.agg_users_1m (bucket, event_type, user_id)
        SELECT DISTINCT r.bucket, r.event_type, r.user_id FROM pg_temp.etl_refresh_rows AS r
        ON CONFLICT ON CONSTRAINT agg_users_1m_pkey DO NOTHING
        RETURNING bucket, event_type
    ),
    new_users AS (SELECT a.bucket, a.event_type, count(*) AS users FROM added AS a GROUP BY 1, 2)
    INSERT INTO etl.agg_events_1m AS t (bucket, event_type, events, users)
    SELECT c.bucket, c.event_type, c.events, coalesce(n.users, 0)
    FROM (SELECT r.bucket, r.event_type, count(*) AS events FROM pg_temp.etl_refresh_rows AS r GROUP BY 1, 2) AS c
    LEFT JOIN new_users AS n ON n.bucket = c.bucket AND n.event_type = c.event_type
    ON CONFLICT ON CONSTRAINT agg_events_1m_pkey DO UPDATE
    SET events = t.events + excluded.events, users = t.users + excluded.users;

    INSERT INTO etl.agg_revenue_1m AS t (bucket, currency, transactions, revenue)
    SELECT r.bucket, r.currency, count(*), coalesce(sum(r.amount), 0)
    FROM pg_temp.etl_refresh_rows AS r
    WHERE r.event_type = 'transaction'
    GROUP BY 1, 2
    ON CONFLICT ON CONSTRAINT agg_revenue_1m_pkey DO UPDATE
    SET transactions = t.transactions + excluded.transactions, revenue = t.revenue + excluded.revenue;

    WITH added AS (
        INSERT INTO etl.agg_page_users_1m (bucket, page, country, user_id)
        SELECT DISTINCT r.bucket, r.page, r.country, r.user_id FROM pg_temp.etl_refresh_rows AS r
        WHERE r.event_type = 'page_view'
        ON CONFLICT ON CONSTRAINT agg_page_users_1m_pkey DO NOTHING
        RETURNING bucket, page, country
    ),
    new_users AS (SELECT a.bucket, a.page, a.country, count(*) AS users FROM added AS a GROUP BY 1, 2, 3)
    INSERT INTO etl.agg_page_views_1m AS t (bucket, page, country, views, users)
    SELECT c.bucket, c.page, c.country, c.views, coalesce(n.users, 0)
    FROM (SELECT r.bucket, r.page, r.country, count(*) AS views FROM pg_temp.etl_refresh_rows AS r
          WHERE r.event_type = 'page_view' GROUP BY 1, 2, 3) AS c
    LEFT JOIN new_users AS n ON n.bucket = c.bucket AND n.page = c.page AND n.country = c.country
    ON CONFLICT ON CONSTRAINT agg_page_views_1m_pkey DO UPDATE
    SET views = t.views + excluded.views, users = t.users + excluded.users;

    INSERT INTO etl.agg_logs_1m AS t (bucket, service, level, events)
    SELECT r.bucket, r.service, r.level, count(*)
    FROM pg_temp.etl_refresh_rows AS r
    WHERE r.event_type = 'log'
    GROUP BY 1, 2, 3
    ON CONFLICT ON CONSTRAINT agg_logs_1m_pkey DO UPDATE
    SET events = t.events + excluded.events;

    PERFORM etl.add_refresh_rows_to_rollup('etl.agg_events_5m', 'etl.agg_users_5m', interval '5 minutes');
    PERFORM etl.add_refresh_rows_to_rollup('etl.agg_events_1h', 'etl.agg_users_1h', interval '1 hour');

    -- Each candidate row is one index probe (ON CONFLICT); only rows that
    -- gain a step are written, and RETURNING says which steps (and sessions) are new.
    WITH seen AS (
        SELECT date_trunc('hour', r.bucket, 'UTC') AS bucket, r.user_id, r.session_id, bit_or(r.steps)::smallint AS steps
        FROM pg_temp.etl_refresh_rows AS r
        WHERE r.session_id IS NOT NULL
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
    INSERT INTO etl.agg_funnel_1h AS t (bucket, sessions, sessions_viewed, sessions_clicked,
                                        sessions_added_to_cart, sessions_paid)
    SELECT n.bucket, count(*) FILTER (WHERE n.added & 16 <> 0), count(*) FILTER (WHERE n.added & 1 <> 0),
           count(*) FILTER (WHERE n.added & 2 <> 0), count(*) FILTER (WHERE n.added & 4 <> 0),
           count(*) FILTER (WHERE n.added & 8 <> 0)
    FROM saved AS n
    GROUP BY n.bucket
    ON CONFLICT ON CONSTRAINT agg_funnel_1h_pkey DO UPDATE
    SET sessions = t.sessions + excluded.sessions,
        sessions_viewed = t.sessions_viewed + excluded.sessions_viewed,
        sessions_clicked = t.sessions_clicked + excluded.sessions_clicked,
        sessions_added_to_cart = t.sessions_added_to_cart + excluded.sessions_added_to_cart,
        sessions_paid = t.sessions_paid + excluded.sessions_paid;
END;
$$;

-- One events rollup (agg_events_5m or _1h with its membership table) grows
-- by pg_temp.etl_refresh_rows: events = the sum of its 1-minute rows (at most
-- 60 per type, just made current), users += the memberships new to it.
CREATE OR REPLACE FUNCTION etl.add_refresh_rows_to_rollup(p_events regclass, p_users regclass, p_width interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: the 5-minute and hourly rollups are one statement, written once.
    EXECUTE format($sql$
        WITH seen AS MATERIALIZED (
            SELECT DISTINCT date_bin($1, r.bucket, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket, r.event_type, r.user_id
            FROM pg_temp.etl_refresh_rows AS r
        ),
        added AS (
            INSERT INTO %2$s (bucket, event_type, user_id)
            SELECT s.bucket, s.event_type, s.user_id FROM seen AS s
            ON CONFLICT (bucket, event_type, user_id) DO NOTHING
            RETURNING bucket, event_type
        ),
        new_users AS (SELECT a.bucket, a.event_type, count(*) AS users FROM added AS a GROUP BY 1, 2)
        INSERT INTO %1$s AS t (bucket, event_type, events, users)
        SELECT k.bucket, k.event_type,
               -- a batch committed meanwhile may have no 1-minute rows yet: its marks add it next time
               coalesce((SELECT sum(m.events) FROM etl.agg_events_1m AS m
                         WHERE m.bucket >= k.bucket AND m.bucket < k.bucket + $1
                           AND m.event_type = k.event_type), 0)::bigint,
               coalesce(n.users, 0)
        FROM (SELECT DISTINCT s.bucket, s.event_type FROM seen AS s) AS k
        LEFT JOIN new_users AS n ON n.bucket = k.bucket AND n.event_type = k.event_type
        ON CONFLICT (bucket, event_type) DO UPDATE
        SET events = excluded.events, users = t.users + excluded.users
        $sql$, p_events, p_users)
    USING p_width;
END;
$$;

-- Session windows (a new session after 30 minutes without events; ends 30
-- minutes after its last event), merged from pieces instead of re-read:
-- - the users of the batches this refresh adds: the sessions their new events
--   can touch are taken out (DELETE ... RETURNING) and become pieces, each
--   new event one more piece; the pieces are chained into sessions again
--   (a piece more than 30 minutes after every earlier one starts a new
--   session) and summed. A late event inside a session, before or after it,
--   or bridging two, costs the same as an append: staging is not read.
-- - users a rebuild marked (etl.dirty_users, with the range to redo): their
--   sessions touching the range are taken out and every staged event of the
--   widened range becomes a piece (except events of batches whose marks are
--   still pending: the next refresh adds those).
-- Replaces 0016's etl.refresh_user_sessions.
CREATE OR REPLACE FUNCTION etl.merge_user_sessions(p_users text[], p_from timestamptz[], p_to timestamptz[])
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_first timestamptz;
    v_users text[];         -- a rebuild's users, the ranges they are read over, and their bounds
    v_lo    timestamptz[];
    v_hi    timestamptz[];
    v_min   timestamptz;
    v_max   timestamptz;
BEGIN
    -- Purpose: session windows whose cost follows the new events.
    -- The sessions taken out all end at or after their user's first new event:
    -- a plain value, so the partitions ending earlier are pruned.
    SELECT min(r.event_time) INTO v_first FROM pg_temp.etl_refresh_rows AS r WHERE r.from_batch;
    IF v_first IS NOT NULL THEN
        WITH added AS (
            SELECT r.user_id, min(r.event_time) AS t_from, max(r.event_time) AS t_to
            FROM pg_temp.etl_refresh_rows AS r
            WHERE r.from_batch AND NOT r.user_id = ANY (coalesce(p_users, '{}'))
            GROUP BY r.user_id
        ),
        taken AS (
            DELETE FROM etl.agg_user_sessions AS s
            USING added AS a
            WHERE s.user_id = a.user_id AND s.session_end >= a.t_from AND s.session_end >= v_first
              AND s.session_start <= a.t_to + interval '30 minutes'
            RETURNING s.user_id, s.session_start, s.last_event_at, s.events, s.pages, s.revenue
        )
        INSERT INTO pg_temp.etl_refresh_sessions (user_id, first_at, last_at, events, pages, revenue)
        SELECT t.user_id, t.session_start, t.last_event_at, t.events, t.pages, t.revenue FROM taken AS t
        UNION ALL
        SELECT r.user_id, r.event_time, r.event_time, 1, (r.event_type = 'page_view')::integer, coalesce(r.amount, 0)
        FROM pg_temp.etl_refresh_rows AS r
        WHERE r.from_batch AND NOT r.user_id = ANY (coalesce(p_users, '{}'));
    END IF;

    IF p_users IS NOT NULL THEN
        SELECT min(f) INTO v_first FROM unnest(p_from) AS f;
        WITH marked AS (SELECT * FROM unnest(p_users, p_from, p_to) AS u(user_id, t_from, t_to)),
        taken AS (
            DELETE FROM etl.agg_user_sessions AS s
            USING marked AS m
            WHERE s.user_id = m.user_id AND s.session_end >= m.t_from AND s.session_end >= v_first
              AND s.session_start <= m.t_to + interval '30 minutes'
            RETURNING s.user_id, s.session_start, s.last_event_at
        ),
        widened AS (
            SELECT m.user_id, least(m.t_from, min(t.session_start)) AS lo, greatest(m.t_to, max(t.last_event_at)) AS hi
            FROM marked AS m
            LEFT JOIN taken AS t ON t.user_id = m.user_id
            GROUP BY m.user_id, m.t_from, m.t_to
        )
        SELECT array_agg(w.user_id), array_agg(w.lo), array_agg(w.hi), min(w.lo), max(w.hi)
        INTO v_users, v_lo, v_hi, v_min, v_max
        FROM widened AS w;

        -- A rebuild reads its range anyway: once, by event_time (the plain
        -- bounds prune the partitions), joined to the users by hash.
        INSERT INTO pg_temp.etl_refresh_sessions (user_id, first_at, last_at, events, pages, revenue)
        SELECT i.user_id, i.event_time, i.event_time, 1, (i.event_type = 'page_view')::integer, coalesce(i.amount, 0)
        FROM etl.aggregate_inputs AS i
        JOIN unnest(v_users, v_lo, v_hi) AS w(user_id, lo, hi)
            ON w.user_id = i.user_id AND i.event_time >= w.lo AND i.event_time <= w.hi
        WHERE i.event_time >= v_min AND i.event_time <= v_max
          AND NOT EXISTS (SELECT FROM etl.dirty_minutes AS p WHERE p.batch_id = i.batch_id);
    END IF;

    -- A session ends where its last event does, plus 30 minutes: those days' partitions.
    PERFORM etl.ensure_session_partitions(ARRAY(
        SELECT DISTINCT ((p.last_at + interval '30 minutes') AT TIME ZONE 'UTC')::date
        FROM pg_temp.etl_refresh_sessions AS p));

    INSERT INTO etl.agg_user_sessions (user_id, session_start, session_end, last_event_at, events, pages, revenue)
    SELECT c.user_id, min(c.first_at), max(c.last_at) + interval '30 minutes', max(c.last_at),
           sum(c.events), sum(c.pages), sum(c.revenue)
    FROM (SELECT m.*, sum(m.starts_session) OVER (PARTITION BY m.user_id ORDER BY m.first_at, m.last_at
                                                  ROWS UNBOUNDED PRECEDING) AS session_no
          FROM (SELECT p.*,
                       CASE WHEN p.first_at - max(p.last_at) OVER (PARTITION BY p.user_id ORDER BY p.first_at, p.last_at
                                                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                                 < interval '30 minutes' THEN 0 ELSE 1 END AS starts_session
                FROM pg_temp.etl_refresh_sessions AS p) AS m) AS c
    GROUP BY c.user_id, c.session_no;
END;
$$;

-- As in 0015, but from the rows of the marked batches (see the header).
CREATE OR REPLACE FUNCTION etl.refresh_aggregates(p_wait boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
-- Small statements with blind estimates (fresh partitions, temp tables): not worth compiling.
SET jit = off
AS $$
DECLARE
    v_batches    bigint[];       -- batches whose rows are added
    v_batches_lo timestamptz;    -- their marked minutes: [lo, hi)
    v_batches_hi timestamptz;
    v_recomputed timestamptz[];  -- minutes recomputed whole (marks without a batch)
    v_touched    integer;
    v_lo         timestamptz;
    v_hi         timestamptz;
    v_users      text[];         -- users whose session windows a rebuild recomputes
    v_from       timestamptz[];
    v_to         timestamptz[];
BEGIN
    -- Purpose: the cost follows the batches added, never the history or the bucket.
    IF p_wait THEN
        PERFORM pg_advisory_xact_lock(hashtext('etl.refresh_aggregates'));
    ELSIF NOT pg_try_advisory_xact_lock(hashtext('etl.refresh_aggregates')) THEN
        RETURN 0;
    END IF;

    PERFORM etl.take_rebuild_chunk();

    -- Marks committed after this DELETE's snapshot stay for the next refresh.
    WITH d AS (DELETE FROM etl.dirty_minutes RETURNING bucket, batch_id)
    SELECT array_agg(DISTINCT d.batch_id) FILTER (WHERE d.batch_id IS NOT NULL),
           array_agg(DISTINCT d.bucket ORDER BY d.bucket) FILTER (WHERE d.batch_id IS NULL),
           count(DISTINCT d.bucket),
           min(d.bucket) FILTER (WHERE d.batch_id IS NOT NULL),
           max(d.bucket) FILTER (WHERE d.batch_id IS NOT NULL) + interval '1 minute'
    INTO v_batches, v_recomputed, v_touched, v_batches_lo, v_batches_hi
    FROM d;

    WITH d AS (DELETE FROM etl.dirty_users RETURNING user_id, first_time, last_time),
    r AS (SELECT d.user_id, min(d.first_time) AS t_from, max(d.last_time) AS t_to FROM d GROUP BY d.user_id)
    SELECT array_agg(r.user_id), array_agg(r.t_from), array_agg(r.t_to) INTO v_users, v_from, v_to FROM r;

    PERFORM etl.prepare_refresh_rows();
    IF v_batches IS NOT NULL THEN
        -- Rows in a recomputed minute come in with the minute, below.
        INSERT INTO pg_temp.etl_refresh_rows
        SELECT i.event_time, i.bucket, i.event_type, i.user_id, i.session_id, i.steps, i.page, i.country, i.currency,
               i.amount, i.service, i.level, true
        FROM etl.aggregate_inputs AS i
        WHERE i.batch_id = ANY (v_batches)
          -- Every row of a marked batch is in a marked minute. Whole UTC days, as
          -- plain values: the other days' partitions are pruned, and the range is
          -- too wide for the planner to read it instead of the batch_id index.
          AND i.event_time >= date_trunc('day', v_batches_lo, 'UTC')
          AND i.event_time < date_trunc('day', v_batches_hi - interval '1 microsecond', 'UTC') + interval '1 day'
          AND NOT i.bucket = ANY (coalesce(v_recomputed, '{}'));
    END IF;

    -- One range statement per run of consecutive recomputed minutes (an
    -- island): the range is a plain value, so the planner prunes to the
    -- touched partitions and range-scans their event_time index even when a
    -- fresh partition has no statistics yet.
    FOR v_lo, v_hi IN
        SELECT min(m), max(m) + interval '1 minute'
        FROM (SELECT m, m - row_number() OVER (ORDER BY m) * interval '1 minute' AS island
              FROM unnest(v_recomputed) AS m) AS x
        GROUP BY island
    LOOP
        DELETE FROM etl.agg_events_1m WHERE bucket >= v_lo AND bucket < v_hi;
        DELETE FROM etl.agg_users_1m WHERE bucket >= v_lo AND bucket < v_hi;
        DELETE FROM etl.agg_revenue_1m WHERE bucket >= v_lo AND bucket < v_hi;
        DELETE FROM etl.agg_page_views_1m WHERE bucket >= v_lo AND bucket < v_hi;
        DELETE FROM etl.agg_page_users_1m WHERE bucket >= v_lo AND bucket < v_hi;
        DELETE FROM etl.agg_logs_1m WHERE bucket >= v_lo AND bucket < v_hi;
        -- A row whose batch still has marks (committed after the DELETE above)
        -- is the next refresh's to add.
        INSERT INTO pg_temp.etl_refresh_rows
        SELECT i.event_time, i.bucket, i.event_type, i.user_id, i.session_id, i.steps, i.page, i.country, i.currency,
               i.amount, i.service, i.level, i.batch_id = ANY (coalesce(v_batches, '{}'))
        FROM etl.aggregate_inputs AS i
        WHERE i.event_time >= v_lo AND i.event_time < v_hi
          AND NOT EXISTS (SELECT FROM etl.dirty_minutes AS p WHERE p.batch_id = i.batch_id);
    END LOOP;

    PERFORM etl.add_refresh_rows();
    PERFORM etl.merge_user_sessions(v_users, v_from, v_to);

    RETURN coalesce(v_touched, 0);
END;
$$;

-- The dirty-minute path of 0015 and the session re-read of 0016 are gone.
DROP FUNCTION IF EXISTS etl.add_to_rollups(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS etl.refresh_user_sessions(text[], timestamptz[], timestamptz[]);

-- Marks of batches loaded before this migration: their minutes are recomputed
-- whole (their 1-minute memberships do not exist yet).
UPDATE etl.dirty_minutes SET batch_id = NULL WHERE batch_id IS NOT NULL;

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

-- Fill the new membership tables for the history still in staging, newest
-- first, an hour per refresh. A rebuild rebuilds every aggregate, so 0015's
-- pending requests (same ranges) are replaced, not run twice.
DELETE FROM etl.rebuild_requests WHERE reason LIKE '0015:%';
SELECT etl.request_rebuild_of_staging('0018: memberships of the 1-minute users and page views (and 0015''s)')
WHERE NOT EXISTS (SELECT FROM etl.rebuild_requests AS q WHERE q.reason LIKE '0018:%');

-- 0017's deduplication trigger again, with the same verdicts, at a cost that
-- follows the diverted records instead of the history: 0017 found them with
-- joins the planner, blind on a freshly loaded partition without statistics,
-- ran as scans of all of etl.event_ids and of the day's partition for every
-- batch holding one copy (a 1 000 000-event load with 5% copies took twice as
-- long as without). Now the claim statement also returns the records that
-- claimed nothing, whole; each of those is one primary-key probe of
-- etl.event_ids and one (event_time, kafka_offset) probe for the claimer's
-- row, and leaves staging by the address of one more (LATERAL ... LIMIT 1:
-- always a probe, whatever the estimates). jit = off: with such estimates
-- PostgreSQL would compile these small statements first.
CREATE OR REPLACE FUNCTION etl.divert_duplicate_events()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
SET jit = off
AS $$
DECLARE
    v_topics     text[];
    v_partitions integer[];
    v_offsets    bigint[];
    v_timestamps timestamptz[];
    v_ids        uuid[];
    v_times      timestamptz[];
    v_payloads   jsonb[];
    v_batches    bigint[];
BEGIN
    -- Within the statement the lowest (event_id, partition, offset) wins: ON
    -- CONFLICT DO NOTHING skips a later row of the same statement too. Across
    -- transactions the first to commit wins: ON CONFLICT waits for a concurrent
    -- claimer of the same event_id, then does nothing. Inserting in event_id
    -- order touches each leaf page of the (random-keyed) primary key once per
    -- batch, not once per event.
    WITH claimed AS (
        INSERT INTO etl.event_ids (event_id, event_time, kafka_topic, kafka_partition, kafka_offset)
        SELECT n.event_id, n.event_time, n.kafka_topic, n.kafka_partition, n.kafka_offset
        FROM new_events AS n
        ORDER BY n.event_id, n.kafka_partition, n.kafka_offset
        ON CONFLICT ON CONSTRAINT event_ids_pkey DO NOTHING
        RETURNING kafka_topic, kafka_partition, kafka_offset
    )
    SELECT array_agg(n.kafka_topic), array_agg(n.kafka_partition), array_agg(n.kafka_offset),
           array_agg(n.kafka_timestamp), array_agg(n.event_id), array_agg(n.event_time), array_agg(n.payload),
           array_agg(n.batch_id)
    INTO v_topics, v_partitions, v_offsets, v_timestamps, v_ids, v_times, v_payloads, v_batches
    FROM new_events AS n
    WHERE NOT EXISTS (SELECT FROM claimed AS c
                      WHERE c.kafka_partition = n.kafka_partition AND c.kafka_offset = n.kafka_offset
                        AND c.kafka_topic = n.kafka_topic);

    -- The common case: every record claimed its own event_id.
    IF v_offsets IS NULL THEN
        RETURN NULL;
    END IF;

    -- A new statement, a new snapshot: it sees the claims just made and those
    -- committed meanwhile by another worker. Each diverted record leaves
    -- staging in the same statement.
    WITH diverted AS (
        INSERT INTO etl.duplicate_events (
            kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, event_id, event_time, payload, reason,
            first_topic, first_partition, first_offset, first_event_time, batch_id)
        SELECT n.kafka_topic, n.kafka_partition, n.kafka_offset, n.kafka_timestamp, n.event_id, n.event_time,
               n.payload, CASE WHEN f.payload = n.payload THEN 'duplicate' ELSE 'event_id_conflict' END,
               i.kafka_topic, i.kafka_partition, i.kafka_offset, i.event_time, n.batch_id
        FROM unnest(v_topics, v_partitions, v_offsets, v_timestamps, v_ids, v_times, v_payloads, v_batches)
            AS n(kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, event_id, event_time, payload, batch_id)
        -- the claimer (a record whose claimer was pruned meanwhile stays a new event)
        CROSS JOIN LATERAL (SELECT c.* FROM etl.event_ids AS c WHERE c.event_id = n.event_id LIMIT 1) AS i
        -- The claimer's row; missing only if its partition was dropped meanwhile
        -- (then the content cannot be compared, and a conflict is the safe verdict).
        LEFT JOIN LATERAL (
            SELECT e.payload FROM staging.events AS e
            WHERE e.event_time = i.event_time AND e.kafka_offset = i.kafka_offset
              AND e.kafka_partition = i.kafka_partition AND e.kafka_topic = i.kafka_topic
            LIMIT 1) AS f ON true
        RETURNING kafka_topic, kafka_partition, kafka_offset, event_time
    ),
    gone AS (
        SELECT x.tableoid AS rel, x.ctid AS tid
        FROM diverted AS d
        CROSS JOIN LATERAL (
            SELECT s.tableoid, s.ctid FROM staging.events AS s
            WHERE s.event_time = d.event_time AND s.kafka_offset = d.kafka_offset
              AND s.kafka_partition = d.kafka_partition AND s.kafka_topic = d.kafka_topic
            LIMIT 1) AS x
    )
    DELETE FROM staging.events AS e
    USING gone AS g
    WHERE e.tableoid = g.rel AND e.ctid = g.tid;
    RETURN NULL;
END;
$$;

-- 0017's trigger function again, with three changes: a minute is marked once
-- per batch with rows in it (a refresh adds each marked batch's rows, so every
-- batch of a statement must be marked, not only the lowest); users are no
-- longer marked (the refresh finds them in the batch's rows; only a rebuild
-- marks users, with the range to redo); and the records
-- a deduplication moved out are left out of the late counts and the
-- watermark in one statement (both judged against the watermark before it).
CREATE OR REPLACE FUNCTION etl.record_touched_buckets()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
SET jit = off
AS $$
DECLARE
    v_lateness interval;
    v_diverted boolean;
BEGIN
    INSERT INTO etl.dirty_minutes (bucket, batch_id)
    SELECT DISTINCT date_trunc('minute', n.event_time, 'UTC'), n.batch_id
    FROM new_events AS n;

    SELECT s.setting_value::interval INTO v_lateness
    FROM etl.settings AS s WHERE s.setting_name = 'allowed_lateness';
    v_lateness := coalesce(v_lateness, interval '5 minutes');

    v_diverted := EXISTS (SELECT 1 FROM etl.duplicate_events AS d
                          WHERE d.batch_id = ANY (ARRAY(SELECT DISTINCT n.batch_id FROM new_events AS n)));

    -- Late: judged against the watermark of batches committed before this one
    -- (as Spark judges a micro-batch against the previous batch's watermark);
    -- every part of one statement sees the watermark as it was before it.
    WITH kept AS MATERIALIZED (
        SELECT n.kafka_topic, n.event_time, n.batch_id
        FROM new_events AS n
        WHERE NOT (v_diverted AND EXISTS (
            SELECT 1 FROM etl.duplicate_events AS d
            WHERE d.kafka_topic = n.kafka_topic AND d.kafka_partition = n.kafka_partition
              AND d.kafka_offset = n.kafka_offset))
    ),
    late AS (
        INSERT INTO etl.late_events (topic, bucket, batch_id, events, watermark)
        SELECT k.kafka_topic, date_trunc('minute', k.event_time, 'UTC'), min(k.batch_id), count(*),
               w.max_event_time - v_lateness
        FROM kept AS k
        JOIN etl.watermarks AS w ON w.topic = k.kafka_topic
        WHERE date_trunc('minute', k.event_time, 'UTC') + interval '1 minute' <= w.max_event_time - v_lateness
        GROUP BY k.kafka_topic, 2, w.max_event_time
    )
    INSERT INTO etl.watermarks AS w (topic, max_event_time)
    SELECT k.kafka_topic, max(k.event_time)
    FROM kept AS k
    GROUP BY k.kafka_topic
    HAVING max(k.event_time) > coalesce(
        (SELECT c.max_event_time FROM etl.watermarks AS c WHERE c.topic = k.kafka_topic), '-infinity')
    ON CONFLICT ON CONSTRAINT watermarks_pkey DO UPDATE
    SET max_event_time = excluded.max_event_time, updated_at = now()
    WHERE w.max_event_time < excluded.max_event_time;
    RETURN NULL;
END;
$$;

GRANT EXECUTE ON FUNCTION etl.prepare_refresh_rows(), etl.add_refresh_rows(),
    etl.merge_user_sessions(text[], timestamptz[], timestamptz[]),
    etl.add_refresh_rows_to_rollup(regclass, regclass, interval), etl.request_rebuild_of_staging(text)
    TO pipeline_writer;

-- 0012's retention again (still SECURITY DEFINER, as 0013 made it), now also
-- forgetting the distinct-user and funnel memberships of the days it drops:
-- they grow with history, and without the day's events no rebuild can use
-- them. The aggregates themselves are kept. (A late event into a dropped day
-- counts its users as new there, as it did before this state existed.)
CREATE OR REPLACE FUNCTION etl.drop_partitions_older_than(p_age interval)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_name    text;
    v_dropped integer := 0;
    v_cutoff  timestamptz;
BEGIN
    -- Purpose: retention; skipped (0) when another run holds the lock.
    IF p_age < interval '0' THEN
        RAISE EXCEPTION 'drop_partitions_older_than: p_age must not be negative (got %)', p_age
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_try_advisory_xact_lock(hashtext('etl.drop_partitions_older_than')) THEN
        RETURN 0;
    END IF;
    -- Every day that ended by now() - p_age goes: the days before this one.
    v_cutoff := ((now() - p_age) AT TIME ZONE 'UTC')::date::timestamp AT TIME ZONE 'UTC';
    FOR v_name IN
        SELECT c.relname
        FROM pg_catalog.pg_inherits AS i
        JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'staging.events'::regclass
          AND c.relname ~ '^events_p[0-9]{8}$'
          AND to_date(substr(c.relname, 9), 'YYYYMMDD')::timestamp AT TIME ZONE 'UTC' < v_cutoff
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE staging.%I', v_name);
        v_dropped := v_dropped + 1;
    END LOOP;
    DELETE FROM etl.agg_users_1m WHERE bucket < v_cutoff;
    DELETE FROM etl.agg_page_users_1m WHERE bucket < v_cutoff;
    DELETE FROM etl.agg_users_5m WHERE bucket < v_cutoff;
    DELETE FROM etl.agg_users_1h WHERE bucket < v_cutoff;
    DELETE FROM etl.agg_funnel_sessions_1h WHERE bucket < v_cutoff;
    RETURN v_dropped;
END;
$$;
