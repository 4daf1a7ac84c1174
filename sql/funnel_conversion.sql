-- funnel_conversion.sql
-- Of the sessions active in each of the last 24 hours, how many viewed a page,
-- clicked, added to cart (a click on element 'add_to_cart'), and paid, and
-- what share of viewing sessions reached payment? Steps are counted per hour
-- independently (a session need not do them in order within the hour).
SELECT bucket AS hour,
       sessions_viewed,
       sessions_clicked,
       sessions_added_to_cart,
       sessions_paid,
       round(sessions_paid::numeric / nullif(sessions_viewed, 0), 4) AS viewed_to_paid,
       is_final
FROM analytics.session_funnel_per_hour
WHERE bucket >= date_trunc('hour', now(), 'UTC') - interval '23 hours'
ORDER BY bucket;
