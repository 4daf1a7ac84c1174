-- functions/etl.add_refresh_rows.sql
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

GRANT EXECUTE ON FUNCTION etl.add_refresh_rows() TO pipeline_writer;
