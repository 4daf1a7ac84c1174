-- views/analytics.page_views_per_minute.sql
CREATE OR REPLACE VIEW analytics.page_views_per_minute AS
SELECT a.bucket, a.page, a.country, a.views, a.users FROM etl.agg_page_views_1m AS a;
