-- views/analytics.session_funnel_per_hour.sql
-- Sessions are (user_id, session_id); "added to cart" = a click on element 'add_to_cart'. Each
-- count is distinct sessions from an hll sketch (standard error 0.81 %; exact up to 1 280).
CREATE OR REPLACE VIEW analytics.session_funnel_per_hour AS
SELECT a.bucket,
       round(public.hll_cardinality(a.sessions_sketch))::bigint AS sessions,
       round(public.hll_cardinality(a.viewed_sketch))::bigint AS sessions_viewed,
       round(public.hll_cardinality(a.clicked_sketch))::bigint AS sessions_clicked,
       round(public.hll_cardinality(a.added_to_cart_sketch))::bigint AS sessions_added_to_cart,
       round(public.hll_cardinality(a.paid_sketch))::bigint AS sessions_paid,
       coalesce(a.bucket + interval '1 hour' <= (SELECT min(w.watermark) FROM analytics.watermarks AS w), false)
           AS is_final
FROM etl.agg_funnel_1h AS a;
