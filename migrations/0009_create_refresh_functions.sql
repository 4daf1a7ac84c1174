-- 0009_create_refresh_functions.sql
-- Incremental aggregates. A statement-level AFTER INSERT trigger on
-- staging.events (COPY fires it; the transition table holds every row the
-- statement routed into any daily partition) records, in the batch's own
-- transaction, the minutes and users the batch touched, advances the topic's
-- watermark and counts late events. etl.refresh_aggregates() recomputes only
-- the touched buckets from staging; a rolled-back batch leaves no marks.

-- Purpose: per COPY statement, mark touched minutes and users, count events
-- for windows already final, then advance the watermark. All inserts here go
-- to insert-only tables; only etl.watermarks is updated, and only when the
-- batch moves it forward (a replay of old data takes no row lock there).
CREATE OR REPLACE FUNCTION etl.record_touched_buckets()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
    v_lateness interval;
BEGIN
    INSERT INTO etl.dirty_minutes (bucket, batch_id)
    SELECT date_trunc('minute', n.event_time, 'UTC'), min(n.batch_id)
    FROM new_events AS n
    GROUP BY 1;

    INSERT INTO etl.dirty_users (user_id, first_time, last_time, batch_id)
    SELECT n.user_id, min(n.event_time), max(n.event_time), min(n.batch_id)
    FROM new_events AS n
    GROUP BY n.user_id;

    SELECT s.setting_value::interval INTO v_lateness
    FROM etl.settings AS s WHERE s.setting_name = 'allowed_lateness';
    v_lateness := coalesce(v_lateness, interval '5 minutes');

    -- Judged against the watermark of batches committed before this one (as
    -- Spark judges a micro-batch against the previous batch's watermark).
    INSERT INTO etl.late_events (topic, bucket, batch_id, events, watermark)
    SELECT n.kafka_topic, date_trunc('minute', n.event_time, 'UTC'), min(n.batch_id), count(*),
           w.max_event_time - v_lateness
    FROM new_events AS n
    JOIN etl.watermarks AS w ON w.topic = n.kafka_topic
    WHERE date_trunc('minute', n.event_time, 'UTC') + interval '1 minute' <= w.max_event_time - v_lateness
    GROUP BY n.kafka_topic, 2, w.max_event_time;

    INSERT INTO etl.watermarks AS w (topic, max_event_time)
    SELECT n.kafka_topic, max(n.event_time)
    FROM new_events AS n
    GROUP BY n.kafka_topic
    HAVING max(n.event_time) > coalesce(
        (SELECT c.max_event_time FROM etl.watermarks AS c WHERE c.topic = n.kafka_topic), '-infinity')
    ON CONFLICT ON CONSTRAINT watermarks_pkey DO UPDATE
    SET max_event_time = excluded.max_event_time, updated_at = now()
    WHERE w.max_event_time < excluded.max_event_time;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER events_record_touched_buckets
AFTER INSERT ON staging.events
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT
EXECUTE FUNCTION etl.record_touched_buckets();

-- Recomputes every aggregate for the dirty minutes (and the 5-minute and
-- 1-hour buckets and session windows containing them), clears those marks,
-- and returns the number of 1-minute buckets recomputed. Returns 0 at once
-- when another refresh holds the lock: marks stay for the next run, so two
-- concurrent refreshes never double-apply (and recomputing is idempotent anyway).
-- p_wait => true waits for that refresh instead (for a worker that must leave
-- every view current when it exits, e.g. --available-now).
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
    -- event_time index even when a fresh partition has no statistics yet (a
    -- join against an array of buckets could then pick a nested loop over
    -- every partition). A live stream gives one island, late events a few.
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

        -- The "added to cart" step is a click whose element is 'add_to_cart'
        -- (the contract has no cart event; the generator emits that element).
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
        -- Widen each user's range to the sessions it can merge with (those
        -- within 30 minutes), drop those sessions and rebuild the range from
        -- staging: sessions outside it are more than 30 minutes away.
        WITH u AS (SELECT * FROM unnest(v_users, v_from, v_to) AS u(user_id, t_from, t_to)),
        r AS (
            SELECT u.user_id, least(u.t_from, min(s.session_start)) AS lo,
                   greatest(u.t_to, max(s.last_event_at)) AS hi
            FROM u
            LEFT JOIN etl.agg_user_sessions AS s
                ON s.user_id = u.user_id
               AND s.session_end >= u.t_from
               -- IS TRUE keeps this a filter, not an index condition: the
               -- (user_id, session_end) index then finds the few sessions
               -- ending after t_from, where a range on the primary key's
               -- session_start would read the user's whole history.
               AND (s.session_start <= u.t_to + interval '30 minutes') IS TRUE
            GROUP BY u.user_id, u.t_from, u.t_to
        )
        SELECT array_agg(r.user_id), array_agg(r.lo), array_agg(r.hi), min(r.lo), max(r.hi)
        INTO v_users, v_from, v_to, v_lo, v_hi
        FROM r;

        DELETE FROM etl.agg_user_sessions AS s
        USING unnest(v_users, v_from, v_to) AS r(user_id, lo, hi)
        WHERE s.user_id = r.user_id AND s.session_start >= r.lo AND s.session_start <= r.hi
          -- plain-value bounds: an index range instead of a hash join over every session
          AND s.session_start >= v_lo AND s.session_start <= v_hi;

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
    END IF;

    RETURN coalesce(cardinality(v_minutes), 0);  -- an empty array_agg is NULL
END;
$$;

-- Marks every minute of [p_from, p_to) and every user with events in it as
-- dirty, then refreshes: the backfill after an aggregate's definition changes,
-- with no Kafka replay. Returns what etl.refresh_aggregates returned (0 when
-- another refresh held the lock: the marks then wait for the next refresh).
CREATE OR REPLACE FUNCTION etl.rebuild_aggregates(p_from timestamptz, p_to timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: recompute a time range from staging without replaying Kafka.
    IF p_from >= p_to THEN
        RAISE EXCEPTION 'rebuild_aggregates: p_from (%) must be before p_to (%)', p_from, p_to
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO etl.dirty_minutes (bucket)
    SELECT m FROM generate_series(date_trunc('minute', p_from, 'UTC'), p_to - interval '1 microsecond',
                                  interval '1 minute') AS m;
    INSERT INTO etl.dirty_users (user_id, first_time, last_time)
    SELECT e.user_id, min(e.event_time), max(e.event_time)
    FROM staging.events AS e
    WHERE e.event_time >= p_from AND e.event_time < p_to
    GROUP BY e.user_id;
    RETURN etl.refresh_aggregates();
END;
$$;
