-- High-cardinality events: 300 000 users, 2 000 000 session ids drawn independently,
-- 1 000 000 events over 67 minutes, in 20 batches of 50 000 (batch = i / 50000).
DROP TABLE IF EXISTS src;
CREATE TABLE src AS
SELECT i,
       (i / 50000) AS batch,
       gen_random_uuid() AS event_id,
       (ARRAY['page_view','page_view','page_view','click','click','log','transaction'])[1 + (hashint4(i) & 2147483647) % 7] AS event_type,
       TIMESTAMPTZ '2026-01-01 10:00:00+00' + (i::double precision / 1000000) * interval '67 minutes' AS event_time,
       'u' || ((hashint4(i * 3 + 1) & 2147483647) % 300000) AS user_id,
       's' || ((hashint4(i * 5 + 2) & 2147483647) % 2000000) AS session_id,
       '/p/' || ((hashint4(i * 7 + 3) & 2147483647) % 54) AS page,
       (ARRAY['ES','FR','DE','US','GB','IT','NL','PT'])[1 + (hashint4(i * 11) & 2147483647) % 8] AS country
FROM generate_series(0, 999999) AS i;
ALTER TABLE src ADD COLUMN payload text;
UPDATE src SET payload = json_build_object('event_id', event_id, 'event_type', event_type,
    'event_time', to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'user_id', user_id,
    'session_id', session_id, 'page', page, 'device', 'mobile', 'country', country,
    'element', 'button', 'level', 'info', 'service', 'api', 'message', 'hello world from the service',
    'amount', 42.5, 'currency', 'EUR', 'order_id', 'o-' || i)::text;
