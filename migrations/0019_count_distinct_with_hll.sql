-- 0019_count_distinct_with_hll.sql
-- Distinct users and funnel sessions become HyperLogLog sketches (issue 13).
--
-- Before: every distinct count had a membership table, one row per (bucket, key, user) or
-- (hour, user, session), so on data with many users nearly every event cost several B-tree
-- inserts (BENCHMARKS.md, "write-path study": exact memberships 57.6 µs of PostgreSQL CPU per
-- event, sketches built in SQL 7.6). Now each aggregate row keeps a sketch (postgresql-hll's
-- type `hll`) that the refresh merges with hll_union, and the views read hll_cardinality.
--
-- The sketches all use log2m 14, regwidth 5, expthresh -1 (automatic), sparse on: a standard
-- error of 1.04 / sqrt(16384) = 0.81 %, and a set of up to 1 280 distinct values is kept as
-- the list of its hashes, so its count is exact. hll_union is idempotent: adding the same user
-- twice (a minute recomputed from staging, a rebuild) never counts them twice.
--
-- Counts and sums (events, views, transactions, revenue) stay exact.

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'hll') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'hll') THEN
        RAISE EXCEPTION 'the PostgreSQL extension hll (HyperLogLog, for the distinct counts) is not installed on this server: install the package postgresql-%-hll (Debian and apt.postgresql.org) on the database host, then run pipeline migrate again',
            current_setting('server_version_num')::integer / 10000;
    END IF;
    BEGIN
        CREATE EXTENSION hll WITH SCHEMA public;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'creating the PostgreSQL extension hll needs a superuser: run CREATE EXTENSION hll WITH SCHEMA public; in this database as a superuser once, then pipeline migrate again';
    END;
END;
$$;

DO $$
BEGIN
    IF (SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n ON n.oid = e.extnamespace
        WHERE e.extname = 'hll') <> 'public' THEN
        RAISE EXCEPTION 'the PostgreSQL extension hll is installed in another schema than public: ALTER EXTENSION hll SET SCHEMA public; then pipeline migrate again';
    END IF;
END;
$$;

-- The views over the columns that change come back from views/ after this file.
DROP VIEW IF EXISTS analytics.events_per_minute, analytics.events_per_5_minutes, analytics.events_per_hour,
    analytics.page_views_per_minute, analytics.session_funnel_per_hour CASCADE;

-- A sketch of the users (or sessions) each row counted, from the membership tables: the same
-- sets, so the counts stay what they were (exact up to 1 280, within the bound above).
ALTER TABLE etl.agg_events_1m ADD COLUMN IF NOT EXISTS users_sketch public.hll NOT NULL DEFAULT public.hll_empty(14, 5, -1, 1);
ALTER TABLE etl.agg_events_5m ADD COLUMN IF NOT EXISTS users_sketch public.hll NOT NULL DEFAULT public.hll_empty(14, 5, -1, 1);
ALTER TABLE etl.agg_events_1h ADD COLUMN IF NOT EXISTS users_sketch public.hll NOT NULL DEFAULT public.hll_empty(14, 5, -1, 1);
ALTER TABLE etl.agg_page_views_1m ADD COLUMN IF NOT EXISTS users_sketch public.hll NOT NULL DEFAULT public.hll_empty(14, 5, -1, 1);

-- (Only while the membership tables exist: every file applies twice without harm.)
DO $$
BEGIN
    IF to_regclass('etl.agg_users_1m') IS NOT NULL THEN
        UPDATE etl.agg_events_1m AS a SET users_sketch = m.sketch
        FROM (SELECT bucket, event_type, public.hll_add_agg(public.hll_hash_text(user_id), 14, 5, -1, 1) AS sketch
              FROM etl.agg_users_1m GROUP BY 1, 2) AS m
        WHERE m.bucket = a.bucket AND m.event_type = a.event_type;
        UPDATE etl.agg_events_5m AS a SET users_sketch = m.sketch
        FROM (SELECT bucket, event_type, public.hll_add_agg(public.hll_hash_text(user_id), 14, 5, -1, 1) AS sketch
              FROM etl.agg_users_5m GROUP BY 1, 2) AS m
        WHERE m.bucket = a.bucket AND m.event_type = a.event_type;
        UPDATE etl.agg_events_1h AS a SET users_sketch = m.sketch
        FROM (SELECT bucket, event_type, public.hll_add_agg(public.hll_hash_text(user_id), 14, 5, -1, 1) AS sketch
              FROM etl.agg_users_1h GROUP BY 1, 2) AS m
        WHERE m.bucket = a.bucket AND m.event_type = a.event_type;
        UPDATE etl.agg_page_views_1m AS a SET users_sketch = m.sketch
        FROM (SELECT bucket, page, country, public.hll_add_agg(public.hll_hash_text(user_id), 14, 5, -1, 1) AS sketch
              FROM etl.agg_page_users_1m GROUP BY 1, 2, 3) AS m
        WHERE m.bucket = a.bucket AND m.page = a.page AND m.country = a.country;
    END IF;
END;
$$;

ALTER TABLE etl.agg_events_1m DROP COLUMN IF EXISTS users, ALTER COLUMN users_sketch DROP DEFAULT;
ALTER TABLE etl.agg_events_5m DROP COLUMN IF EXISTS users, ALTER COLUMN users_sketch DROP DEFAULT;
ALTER TABLE etl.agg_events_1h DROP COLUMN IF EXISTS users, ALTER COLUMN users_sketch DROP DEFAULT;
ALTER TABLE etl.agg_page_views_1m DROP COLUMN IF EXISTS users, ALTER COLUMN users_sketch DROP DEFAULT;

COMMENT ON COLUMN etl.agg_events_1m.users_sketch IS
    'Distinct user_id: hll (log2m 14, standard error 0.81 %, exact up to 1 280 users); read with hll_cardinality.';
COMMENT ON COLUMN etl.agg_events_5m.users_sketch IS
    'Distinct user_id: hll (log2m 14, standard error 0.81 %, exact up to 1 280 users); read with hll_cardinality.';
COMMENT ON COLUMN etl.agg_events_1h.users_sketch IS
    'Distinct user_id: hll (log2m 14, standard error 0.81 %, exact up to 1 280 users); read with hll_cardinality.';
COMMENT ON COLUMN etl.agg_page_views_1m.users_sketch IS
    'Distinct user_id: hll (log2m 14, standard error 0.81 %, exact up to 1 280 users); read with hll_cardinality.';

-- The funnel: one sketch per step of the sessions, (user_id, session_id), that reached it in the
-- hour. A session is hashed as octet_length(user_id) || ':' || user_id || session_id, which
-- no other pair gives.
ALTER TABLE etl.agg_funnel_1h
    ADD COLUMN IF NOT EXISTS sessions_sketch public.hll NOT NULL DEFAULT public.hll_empty(14, 5, -1, 1),
    ADD COLUMN IF NOT EXISTS viewed_sketch public.hll NOT NULL DEFAULT public.hll_empty(14, 5, -1, 1),
    ADD COLUMN IF NOT EXISTS clicked_sketch public.hll NOT NULL DEFAULT public.hll_empty(14, 5, -1, 1),
    ADD COLUMN IF NOT EXISTS added_to_cart_sketch public.hll NOT NULL DEFAULT public.hll_empty(14, 5, -1, 1),
    ADD COLUMN IF NOT EXISTS paid_sketch public.hll NOT NULL DEFAULT public.hll_empty(14, 5, -1, 1);

DO $$
BEGIN
    IF to_regclass('etl.agg_funnel_sessions_1h') IS NOT NULL THEN
        UPDATE etl.agg_funnel_1h AS a
        SET sessions_sketch = coalesce(m.sessions, a.sessions_sketch),
            viewed_sketch = coalesce(m.viewed, a.viewed_sketch),
            clicked_sketch = coalesce(m.clicked, a.clicked_sketch),
            added_to_cart_sketch = coalesce(m.added_to_cart, a.added_to_cart_sketch),
            paid_sketch = coalesce(m.paid, a.paid_sketch)
        FROM (SELECT s.bucket,
                     public.hll_add_agg(s.h, 14, 5, -1, 1) AS sessions,
                     public.hll_add_agg(s.h, 14, 5, -1, 1) FILTER (WHERE s.steps & 1 <> 0) AS viewed,
                     public.hll_add_agg(s.h, 14, 5, -1, 1) FILTER (WHERE s.steps & 2 <> 0) AS clicked,
                     public.hll_add_agg(s.h, 14, 5, -1, 1) FILTER (WHERE s.steps & 4 <> 0) AS added_to_cart,
                     public.hll_add_agg(s.h, 14, 5, -1, 1) FILTER (WHERE s.steps & 8 <> 0) AS paid
              FROM (SELECT f.bucket, f.steps,
                           public.hll_hash_text(octet_length(f.user_id) || ':' || f.user_id || f.session_id) AS h
                    FROM etl.agg_funnel_sessions_1h AS f) AS s
              GROUP BY s.bucket) AS m
        WHERE m.bucket = a.bucket;
    END IF;
END;
$$;

ALTER TABLE etl.agg_funnel_1h
    DROP COLUMN IF EXISTS sessions, DROP COLUMN IF EXISTS sessions_viewed, DROP COLUMN IF EXISTS sessions_clicked,
    DROP COLUMN IF EXISTS sessions_added_to_cart, DROP COLUMN IF EXISTS sessions_paid,
    ALTER COLUMN sessions_sketch DROP DEFAULT, ALTER COLUMN viewed_sketch DROP DEFAULT,
    ALTER COLUMN clicked_sketch DROP DEFAULT, ALTER COLUMN added_to_cart_sketch DROP DEFAULT,
    ALTER COLUMN paid_sketch DROP DEFAULT;

COMMENT ON TABLE etl.agg_funnel_1h IS
    'Per hour, the sessions (user_id, session_id) that had any event, viewed a page, clicked, added to cart and paid: hll sketches (log2m 14, standard error 0.81 %, exact up to 1 280 sessions).';

DROP TABLE IF EXISTS etl.agg_users_1m, etl.agg_users_5m, etl.agg_users_1h, etl.agg_page_users_1m, etl.agg_funnel_sessions_1h;

-- Its file now takes the rollup alone: no membership table.
DROP FUNCTION IF EXISTS etl.add_refresh_rows_to_rollup(regclass, regclass, interval);
