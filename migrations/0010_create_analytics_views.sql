-- 0010_create_analytics_views.sql
-- What people and Grafana read: views over the etl.agg_* tables that
-- etl.refresh_aggregates maintains, the watermark, late events, a sliding
-- window, and a plain materialized daily summary (refreshed CONCURRENTLY by
-- etl.refresh_materialized_views, from cron).
-- is_final: the window ends at or below the watermark (the smallest watermark
-- over all topics, since these aggregates span topics).

CREATE OR REPLACE VIEW analytics.watermarks AS
SELECT w.topic,
       w.max_event_time,
       s.setting_value::interval AS allowed_lateness,
       w.max_event_time - s.setting_value::interval AS watermark,
       w.updated_at
FROM etl.watermarks AS w
CROSS JOIN etl.settings AS s
WHERE s.setting_name = 'allowed_lateness';

COMMENT ON VIEW analytics.watermarks IS 'Per topic: max event time loaded minus the allowed lateness.';

-- Tumbling 1-minute windows on event time; users = distinct user_id.
CREATE OR REPLACE VIEW analytics.events_per_minute AS
SELECT a.bucket, a.event_type, a.events, a.users FROM etl.agg_events_1m AS a;

CREATE OR REPLACE VIEW analytics.revenue_per_minute AS
SELECT a.bucket, a.currency, a.transactions, a.revenue FROM etl.agg_revenue_1m AS a;

CREATE OR REPLACE VIEW analytics.events_per_5_minutes AS
SELECT a.bucket, a.event_type, a.events, a.users,
       coalesce(a.bucket + interval '5 minutes' <= (SELECT min(w.watermark) FROM analytics.watermarks AS w), false)
           AS is_final
FROM etl.agg_events_5m AS a;

CREATE OR REPLACE VIEW analytics.events_per_hour AS
SELECT a.bucket, a.event_type, a.events, a.users,
       coalesce(a.bucket + interval '1 hour' <= (SELECT min(w.watermark) FROM analytics.watermarks AS w), false)
           AS is_final
FROM etl.agg_events_1h AS a;

-- Revenue is additive, so its rollups are sums of the 1-minute table.
CREATE OR REPLACE VIEW analytics.revenue_per_hour AS
SELECT date_trunc('hour', a.bucket, 'UTC') AS bucket, a.currency,
       sum(a.transactions)::bigint AS transactions, sum(a.revenue) AS revenue
FROM etl.agg_revenue_1m AS a
GROUP BY 1, a.currency;

-- Sliding window: 10 minutes, sliding by 1, ending at each minute that has
-- events of that type (window = [bucket - 9 min, bucket + 1 min)). Distinct
-- users do not add up across minutes, so only counts are given.
CREATE OR REPLACE VIEW analytics.events_sliding_10_minutes AS
SELECT a.bucket - interval '9 minutes' AS window_start,
       a.bucket + interval '1 minute' AS window_end,
       a.event_type,
       sum(a.events) OVER (PARTITION BY a.event_type ORDER BY a.bucket
                           RANGE BETWEEN interval '9 minutes' PRECEDING AND CURRENT ROW)::bigint AS events
FROM etl.agg_events_1m AS a;

CREATE OR REPLACE VIEW analytics.page_views_per_minute AS
SELECT a.bucket, a.page, a.country, a.views, a.users FROM etl.agg_page_views_1m AS a;

CREATE OR REPLACE VIEW analytics.logs_per_minute AS
SELECT a.bucket, a.service, a.level, a.events FROM etl.agg_logs_1m AS a;

-- Sessions are (user_id, session_id); "added to cart" = a click on element 'add_to_cart'.
CREATE OR REPLACE VIEW analytics.session_funnel_per_hour AS
SELECT a.bucket, a.sessions, a.sessions_viewed, a.sessions_clicked, a.sessions_added_to_cart, a.sessions_paid,
       coalesce(a.bucket + interval '1 hour' <= (SELECT min(w.watermark) FROM analytics.watermarks AS w), false)
           AS is_final
FROM etl.agg_funnel_1h AS a;

-- Session windows per user (30-minute gap); session_end = last event + 30 minutes.
CREATE OR REPLACE VIEW analytics.user_sessions AS
SELECT s.user_id, s.session_start, s.session_end, s.events, s.pages, s.revenue
FROM etl.agg_user_sessions AS s;

-- Events loaded after their 1-minute window was final; they are in every aggregate too.
CREATE OR REPLACE VIEW analytics.late_events_per_minute AS
SELECT l.bucket, l.topic, sum(l.events)::bigint AS late_events, min(l.watermark) AS first_judged_against
FROM etl.late_events AS l
GROUP BY l.bucket, l.topic;

-- A plain materialized view: one row per UTC day, small enough to refresh whole.
CREATE MATERIALIZED VIEW IF NOT EXISTS analytics.daily_summary AS
SELECT date_trunc('day', a.bucket, 'UTC') AS day, a.event_type, sum(a.events)::bigint AS events
FROM etl.agg_events_1h AS a
GROUP BY 1, a.event_type
WITH DATA;

-- REFRESH ... CONCURRENTLY needs a unique index.
CREATE UNIQUE INDEX IF NOT EXISTS daily_summary_day_event_type_idx ON analytics.daily_summary (day, event_type);

-- Refreshes the plain materialized views without blocking readers; skips
-- (returns false) when another run holds the lock.
CREATE OR REPLACE FUNCTION etl.refresh_materialized_views()
RETURNS boolean
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
    -- Purpose: cron entry point for the small full-refresh views.
    IF NOT pg_try_advisory_xact_lock(hashtext('etl.refresh_materialized_views')) THEN
        RETURN false;
    END IF;
    REFRESH MATERIALIZED VIEW CONCURRENTLY analytics.daily_summary;
    RETURN true;
END;
$$;
