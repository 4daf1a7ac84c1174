-- 0016_extend_user_sessions.sql
-- Session windows: a batch that only continues a user's latest session adds
-- to it instead of re-reading it. Until now a dirty user's range was widened
-- to every session it could merge with and all of it was read again from
-- staging: with a live stream, where an active user's session stays open, each
-- refresh re-read every active session from its start (measured by hand: a
-- 10 000-event batch continuing sessions holding 1 000 000 events took 4.8 s
-- in this statement alone; BENCHMARKS.md).
--
-- Per dirty user, with its new events' range [t_from, t_to]:
-- - no session within 30 minutes: the new events form new sessions (as before);
-- - one session ending within 30 minutes before t_from, none reaching t_from
--   (the append of a live stream): every event at or after t_from is new
--   (a counted event there would have moved that session's last event), so
--   only [t_from, t_to] is read; the first session found there is merged with
--   the old one additively (start kept; events, pages, revenue added);
-- - anything else (a late event inside or before a session): as before,
--   recompute the widened range from staging.
-- Events are always read from staging.events (never the trigger's transition
-- table), so records a deduplication step moves out stay uncounted.

CREATE OR REPLACE FUNCTION etl.refresh_user_sessions(p_users text[], p_from timestamptz[], p_to timestamptz[])
RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_users   text[];
    v_lo      timestamptz[];   -- staging is read over [lo, hi] per user
    v_hi      timestamptz[];
    v_del_lo  timestamptz[];   -- sessions starting in [del_lo, del_hi] are replaced (NULL: none)
    v_del_hi  timestamptz[];
    v_base    timestamptz[];   -- session_start of the session being extended (NULL: none)
    v_events  bigint[];
    v_pages   bigint[];
    v_revenue numeric[];
    v_first   timestamptz;
    v_min     timestamptz;
    v_max     timestamptz;
BEGIN
    -- Purpose: read staging for the new events, or the sessions they disturb; never more.
    SELECT min(f) INTO v_first FROM unnest(p_from) AS f;

    WITH u AS (SELECT * FROM unnest(p_users, p_from, p_to) AS u(user_id, t_from, t_to)),
    r AS (
        SELECT u.user_id, u.t_from, u.t_to,
               count(s.session_start) AS found,
               min(s.session_start) AS first_start,
               max(s.last_event_at) AS last_event,
               -- the one session found, when there is exactly one
               min(s.events) AS events, min(s.pages) AS pages, min(s.revenue) AS revenue
        FROM u
        LEFT JOIN etl.agg_user_sessions AS s
            ON s.user_id = u.user_id
           AND s.session_end >= u.t_from
           -- a plain value: partitions ending before every dirty range are pruned
           AND s.session_end >= v_first
           AND (s.session_start <= u.t_to + interval '30 minutes') IS TRUE
        GROUP BY u.user_id, u.t_from, u.t_to
    ),
    plan AS (
        SELECT CASE WHEN r.found = 0 THEN 'new'
                    WHEN r.found = 1 AND r.last_event < r.t_from
                         AND r.t_from - r.last_event < interval '30 minutes' THEN 'extend'
                    ELSE 'recompute' END AS how,
               r.*
        FROM r
    )
    SELECT array_agg(p.user_id),
           array_agg(CASE p.how WHEN 'recompute' THEN least(p.t_from, p.first_start) ELSE p.t_from END),
           array_agg(CASE p.how WHEN 'recompute' THEN greatest(p.t_to, p.last_event) ELSE p.t_to END),
           array_agg(CASE p.how WHEN 'recompute' THEN least(p.t_from, p.first_start)
                                WHEN 'extend' THEN p.first_start END),
           array_agg(CASE p.how WHEN 'recompute' THEN greatest(p.t_to, p.last_event)
                                WHEN 'extend' THEN p.first_start END),
           array_agg(CASE WHEN p.how = 'extend' THEN p.first_start END),
           array_agg(CASE WHEN p.how = 'extend' THEN p.events END),
           array_agg(CASE WHEN p.how = 'extend' THEN p.pages END),
           array_agg(CASE WHEN p.how = 'extend' THEN p.revenue END)
    INTO v_users, v_lo, v_hi, v_del_lo, v_del_hi, v_base, v_events, v_pages, v_revenue
    FROM plan AS p;

    SELECT min(lo), max(hi) INTO v_min, v_max FROM unnest(v_lo, v_hi) AS r(lo, hi);

    -- The sessions replaced all end at or after their user's t_from (>= v_first):
    -- a bound for pruning; s.session_end >= r.del_lo is the key's range per user.
    DELETE FROM etl.agg_user_sessions AS s
    USING unnest(v_users, v_del_lo, v_del_hi) AS r(user_id, del_lo, del_hi)
    WHERE s.user_id = r.user_id AND s.session_end >= r.del_lo
      AND s.session_start >= r.del_lo AND s.session_start <= r.del_hi
      AND s.session_end >= v_first;

    -- New sessions end at last event + 30 minutes, within [lo, hi] + 30 minutes
    -- of their user (per user: a replay of 2024 beside today's batch needs
    -- the days of each, not every day between).
    PERFORM etl.ensure_session_partitions(ARRAY(
        SELECT DISTINCT d::date
        FROM (SELECT DISTINCT ((r.lo + interval '30 minutes') AT TIME ZONE 'UTC')::date AS first_day,
                              ((r.hi + interval '30 minutes') AT TIME ZONE 'UTC')::date AS last_day
              FROM unnest(v_lo, v_hi) AS r(lo, hi)) AS r,
             generate_series(r.first_day, r.last_day, interval '1 day') AS d));

    INSERT INTO etl.agg_user_sessions (user_id, session_start, session_end, last_event_at, events, pages, revenue)
    WITH r AS (
        SELECT * FROM unnest(v_users, v_lo, v_hi, v_base, v_events, v_pages, v_revenue)
            AS r(user_id, lo, hi, base_start, base_events, base_pages, base_revenue)
    ),
    ev AS (
        SELECT e.user_id, e.event_time, e.event_type, e.payload
        FROM r
        JOIN staging.events AS e ON e.user_id = r.user_id AND e.event_time >= r.lo AND e.event_time <= r.hi
        -- The overall range as plain values: partitions outside it are pruned at plan time.
        WHERE e.event_time >= v_min AND e.event_time <= v_max
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
    ),
    sessions AS (
        SELECT n.user_id, n.session_no, min(n.event_time) AS session_start, max(n.event_time) AS last_event_at,
               count(*) AS events, count(*) FILTER (WHERE n.event_type = 'page_view') AS pages,
               coalesce(sum((n.payload ->> 'amount')::numeric) FILTER (WHERE n.event_type = 'transaction'), 0)
                   AS revenue
        FROM numbered AS n
        GROUP BY n.user_id, n.session_no
    )
    -- The first new session of an extended user continues the old one
    -- (its first event is within 30 minutes of the old last event).
    SELECT s.user_id,
           CASE WHEN x.is_base THEN r.base_start ELSE s.session_start END,
           s.last_event_at + interval '30 minutes', s.last_event_at,
           s.events + CASE WHEN x.is_base THEN r.base_events ELSE 0 END,
           s.pages + CASE WHEN x.is_base THEN r.base_pages ELSE 0 END,
           s.revenue + CASE WHEN x.is_base THEN r.base_revenue ELSE 0 END
    FROM sessions AS s
    JOIN r ON r.user_id = s.user_id
    CROSS JOIN LATERAL (SELECT r.base_start IS NOT NULL AND s.session_no = 1 AS is_base) AS x;
END;
$$;
