-- top_pages.sql
-- Which pages were viewed most in the last hour (event time), by how many users?
-- Users are summed over minutes, so a user active in two minutes counts twice;
-- exact distinct users per page are in staging.events (heavier).
SELECT page,
       sum(views) AS views,
       sum(users) AS user_minutes,
       string_agg(DISTINCT country, ', ' ORDER BY country) AS countries
FROM analytics.page_views_per_minute
WHERE bucket >= now() - interval '1 hour'
GROUP BY page
ORDER BY views DESC, page
LIMIT 20;
