-- Batch files for the COPY variants (server-side COPY TO, as the cluster's superuser), and
-- sketches built beforehand for the merge-only variant (what the worker would ship).
SELECT format('COPY (SELECT payload FROM src WHERE batch = %s ORDER BY i) TO %L', b, :'dir' || '/raw_' || b || '.txt') FROM generate_series(0, 19) b \gexec
SELECT format('COPY (SELECT event_id, event_type, event_time, user_id, payload::%s, ''events'', (i %% 128)::int, i::bigint, event_time, batch::bigint FROM src WHERE batch = %s ORDER BY i) TO %L (FORMAT binary)', t, b, :'dir' || '/st_' || t || '_' || b || '.bin') FROM generate_series(0, 19) b, unnest(ARRAY['jsonb','json','text']) t \gexec
SELECT format('COPY (SELECT event_id, event_time, ''events'', (i %% 128)::int, i::bigint FROM src WHERE batch = %s ORDER BY event_id) TO %L (FORMAT binary)', b, :'dir' || '/ids_' || b || '.bin') FROM generate_series(0, 19) b \gexec
CREATE EXTENSION IF NOT EXISTS hll;
DROP TABLE IF EXISTS pre_1, pre_p, pre_5, pre_h, pre_f;
CREATE TABLE pre_1 AS SELECT batch, date_trunc('minute', event_time) AS bucket, event_type, count(*) AS events, hll_add_agg(hll_hash_text(user_id), 14, 5, -1, 1) AS users FROM src GROUP BY 1, 2, 3;
CREATE TABLE pre_p AS SELECT batch, date_trunc('minute', event_time) AS bucket, page, country, count(*) AS views, hll_add_agg(hll_hash_text(user_id), 14, 5, -1, 1) AS users FROM src WHERE event_type = 'page_view' GROUP BY 1, 2, 3, 4;
CREATE TABLE pre_5 AS SELECT batch, date_bin('5 minutes', event_time, TIMESTAMPTZ '2000-01-01') AS bucket, event_type, count(*) AS events, hll_add_agg(hll_hash_text(user_id), 14, 5, -1, 1) AS users FROM src GROUP BY 1, 2, 3;
CREATE TABLE pre_h AS SELECT batch, date_trunc('hour', event_time) AS bucket, event_type, count(*) AS events, hll_add_agg(hll_hash_text(user_id), 14, 5, -1, 1) AS users FROM src GROUP BY 1, 2, 3;
CREATE TABLE pre_f AS SELECT batch, date_trunc('hour', event_time) AS bucket, hll_add_agg(hll_hash_text(user_id || '/' || session_id), 14, 5, -1, 1) AS sessions,
  coalesce(hll_add_agg(hll_hash_text(user_id || '/' || session_id), 14, 5, -1, 1) FILTER (WHERE event_type = 'page_view'), hll_empty(14,5,-1,1)) AS viewed,
  coalesce(hll_add_agg(hll_hash_text(user_id || '/' || session_id), 14, 5, -1, 1) FILTER (WHERE event_type = 'click'), hll_empty(14,5,-1,1)) AS clicked,
  coalesce(hll_add_agg(hll_hash_text(user_id || '/' || session_id), 14, 5, -1, 1) FILTER (WHERE event_type = 'transaction'), hll_empty(14,5,-1,1)) AS paid
  FROM src GROUP BY 1, 2;
CREATE INDEX ON src (batch);
ANALYZE;
