D = os.environ['PIPELINE_DESIGN_DIR']
STAGING_COLS = "event_id uuid NOT NULL, event_type text NOT NULL, event_time timestamptz NOT NULL, user_id text NOT NULL, payload {ptype} NOT NULL, kafka_topic text NOT NULL, kafka_partition int NOT NULL, kafka_offset bigint NOT NULL, kafka_timestamp timestamptz, ingested_at timestamptz NOT NULL DEFAULT now(), batch_id bigint NOT NULL"
def staging(ptype, indexes):
    setup = f"DROP TABLE IF EXISTS st CASCADE; CREATE TABLE st ({STAGING_COLS.format(ptype=ptype)}) PARTITION BY RANGE (event_time); CREATE TABLE st_p PARTITION OF st FOR VALUES FROM ('2026-01-01') TO ('2026-01-02');" + indexes
    per = f"COPY st (event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, batch_id) FROM '{D}/st_{ptype}_{{b}}.bin' (FORMAT binary);"
    return setup, per
@variant('raw_text_jsonb')
def _(): return "DROP TABLE IF EXISTS raw; CREATE TABLE raw (payload jsonb);", f"COPY raw FROM '{D}/raw_{{b}}.txt';"
@variant('st_jsonb_2btree')
def _(): return staging('jsonb', "CREATE INDEX ON st (batch_id); CREATE INDEX ON st (event_time, kafka_offset);")
@variant('st_jsonb_brin')
def _(): return staging('jsonb', "CREATE INDEX ON st USING brin (event_time);")
@variant('st_json_brin')
def _(): return staging('json', "CREATE INDEX ON st USING brin (event_time);")
@variant('st_text_brin')
def _(): return staging('text', "CREATE INDEX ON st USING brin (event_time);")
@variant('dedup_sorted_copy')
def _(): return "DROP TABLE IF EXISTS ids; CREATE TABLE ids (event_id uuid PRIMARY KEY, event_time timestamptz NOT NULL, kafka_topic text NOT NULL, kafka_partition int NOT NULL, kafka_offset bigint NOT NULL); CREATE INDEX ON ids USING brin (event_time);", f"COPY ids FROM '{D}/ids_{{b}}.bin' (FORMAT binary);"
MEMBERSHIP_SETUP = """DROP TABLE IF EXISTS m1, mp, m5, mh, mf;
CREATE TABLE m1 (bucket timestamptz, event_type text, user_id text, PRIMARY KEY (bucket, event_type, user_id));
CREATE TABLE mp (bucket timestamptz, page text, country text, user_id text, PRIMARY KEY (bucket, page, country, user_id));
CREATE TABLE m5 (bucket timestamptz, event_type text, user_id text, PRIMARY KEY (bucket, event_type, user_id));
CREATE TABLE mh (bucket timestamptz, event_type text, user_id text, PRIMARY KEY (bucket, event_type, user_id));
CREATE TABLE mf (bucket timestamptz, user_id text, session_id text, steps smallint, PRIMARY KEY (bucket, user_id, session_id));"""
@variant('exact_membership')
def _():
    per = """INSERT INTO m1 SELECT DISTINCT date_trunc('minute', event_time), event_type, user_id FROM src WHERE batch = {b} ON CONFLICT DO NOTHING;
INSERT INTO mp SELECT DISTINCT date_trunc('minute', event_time), page, country, user_id FROM src WHERE batch = {b} AND event_type = 'page_view' ON CONFLICT DO NOTHING;
INSERT INTO m5 SELECT DISTINCT date_bin('5 minutes', event_time, TIMESTAMPTZ '2000-01-01'), event_type, user_id FROM src WHERE batch = {b} ON CONFLICT DO NOTHING;
INSERT INTO mh SELECT DISTINCT date_trunc('hour', event_time), event_type, user_id FROM src WHERE batch = {b} ON CONFLICT DO NOTHING;
INSERT INTO mf SELECT date_trunc('hour', event_time), user_id, session_id, bit_or(CASE event_type WHEN 'page_view' THEN 1 WHEN 'click' THEN 2 WHEN 'transaction' THEN 8 ELSE 0 END) FROM src WHERE batch = {b} GROUP BY 1,2,3 ON CONFLICT (bucket, user_id, session_id) DO UPDATE SET steps = mf.steps | excluded.steps WHERE mf.steps | excluded.steps <> mf.steps;"""
    return MEMBERSHIP_SETUP, per
@variant('read_batch_only')
def _(): return "", "SELECT count(*) FROM (SELECT DISTINCT date_trunc('minute', event_time), event_type, user_id FROM src WHERE batch = {b}) x;"
HLL_SETUP = """CREATE EXTENSION IF NOT EXISTS hll; DROP TABLE IF EXISTS h1, hp, h5, hh, hf;
CREATE TABLE h1 (bucket timestamptz, event_type text, events bigint, users hll, PRIMARY KEY (bucket, event_type));
CREATE TABLE hp (bucket timestamptz, page text, country text, views bigint, users hll, PRIMARY KEY (bucket, page, country));
CREATE TABLE h5 (bucket timestamptz, event_type text, events bigint, users hll, PRIMARY KEY (bucket, event_type));
CREATE TABLE hh (bucket timestamptz, event_type text, events bigint, users hll, PRIMARY KEY (bucket, event_type));
CREATE TABLE hf (bucket timestamptz, sessions hll, viewed hll, clicked hll, paid hll, PRIMARY KEY (bucket));"""
def hll_merge(source):
    return f"""INSERT INTO h1 SELECT bucket, event_type, events, users FROM {source}_1 ON CONFLICT (bucket, event_type) DO UPDATE SET events = h1.events + excluded.events, users = hll_union(h1.users, excluded.users);
INSERT INTO hp SELECT bucket, page, country, views, users FROM {source}_p ON CONFLICT (bucket, page, country) DO UPDATE SET views = hp.views + excluded.views, users = hll_union(hp.users, excluded.users);
INSERT INTO h5 SELECT bucket, event_type, events, users FROM {source}_5 ON CONFLICT (bucket, event_type) DO UPDATE SET events = h5.events + excluded.events, users = hll_union(h5.users, excluded.users);
INSERT INTO hh SELECT bucket, event_type, events, users FROM {source}_h ON CONFLICT (bucket, event_type) DO UPDATE SET events = hh.events + excluded.events, users = hll_union(hh.users, excluded.users);
INSERT INTO hf SELECT bucket, sessions, viewed, clicked, paid FROM {source}_f ON CONFLICT (bucket) DO UPDATE SET sessions = hll_union(hf.sessions, excluded.sessions), viewed = hll_union(hf.viewed, excluded.viewed), clicked = hll_union(hf.clicked, excluded.clicked), paid = hll_union(hf.paid, excluded.paid);"""
@variant('hll_built_in_sql')
def _():
    per = """SET hll.force_groupagg = off;
CREATE TEMP TABLE x_1 AS SELECT date_trunc('minute', event_time) AS bucket, event_type, count(*) AS events, hll_add_agg(hll_hash_text(user_id), 14, 5, -1, 1) AS users FROM src WHERE batch = {b} GROUP BY 1, 2;
CREATE TEMP TABLE x_p AS SELECT date_trunc('minute', event_time) AS bucket, page, country, count(*) AS views, hll_add_agg(hll_hash_text(user_id), 14, 5, -1, 1) AS users FROM src WHERE batch = {b} AND event_type = 'page_view' GROUP BY 1, 2, 3;
CREATE TEMP TABLE x_5 AS SELECT date_bin('5 minutes', event_time, TIMESTAMPTZ '2000-01-01') AS bucket, event_type, count(*) AS events, hll_add_agg(hll_hash_text(user_id), 14, 5, -1, 1) AS users FROM src WHERE batch = {b} GROUP BY 1, 2;
CREATE TEMP TABLE x_h AS SELECT date_trunc('hour', event_time) AS bucket, event_type, count(*) AS events, hll_add_agg(hll_hash_text(user_id), 14, 5, -1, 1) AS users FROM src WHERE batch = {b} GROUP BY 1, 2;
CREATE TEMP TABLE x_f AS SELECT date_trunc('hour', event_time) AS bucket, hll_add_agg(hll_hash_text(user_id || '/' || session_id), 14, 5, -1, 1) AS sessions,
  coalesce(hll_add_agg(hll_hash_text(user_id || '/' || session_id), 14, 5, -1, 1) FILTER (WHERE event_type = 'page_view'), hll_empty(14,5,-1,1)) AS viewed,
  coalesce(hll_add_agg(hll_hash_text(user_id || '/' || session_id), 14, 5, -1, 1) FILTER (WHERE event_type = 'click'), hll_empty(14,5,-1,1)) AS clicked,
  coalesce(hll_add_agg(hll_hash_text(user_id || '/' || session_id), 14, 5, -1, 1) FILTER (WHERE event_type = 'transaction'), hll_empty(14,5,-1,1)) AS paid
  FROM src WHERE batch = {b} GROUP BY 1;
""" + hll_merge('x') + "\nDROP TABLE x_1, x_p, x_5, x_h, x_f;"
    return HLL_SETUP, per
@variant('hll_merge_prebuilt')
def _():
    # Sketch rows as the worker would ship them (built beforehand, not timed): only the COPY-like
    # insert of the partial rows and the merge are timed.
    return HLL_SETUP, "CREATE TEMP TABLE y_1 AS SELECT * FROM pre_1 WHERE batch = {b}; CREATE TEMP TABLE y_p AS SELECT * FROM pre_p WHERE batch = {b}; CREATE TEMP TABLE y_5 AS SELECT * FROM pre_5 WHERE batch = {b}; CREATE TEMP TABLE y_h AS SELECT * FROM pre_h WHERE batch = {b}; CREATE TEMP TABLE y_f AS SELECT * FROM pre_f WHERE batch = {b};\n" + hll_merge('y') + "\nDROP TABLE y_1, y_p, y_5, y_h, y_f;"
