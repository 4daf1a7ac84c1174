-- views/analytics.session_funnel_per_hour.sql
-- Sessions are (user_id, session_id); "added to cart" = a click on element 'add_to_cart'.
CREATE OR REPLACE VIEW analytics.session_funnel_per_hour AS
SELECT a.bucket, a.sessions, a.sessions_viewed, a.sessions_clicked, a.sessions_added_to_cart, a.sessions_paid,
       coalesce(a.bucket + interval '1 hour' <= (SELECT min(w.watermark) FROM analytics.watermarks AS w), false)
           AS is_final
FROM etl.agg_funnel_1h AS a;
