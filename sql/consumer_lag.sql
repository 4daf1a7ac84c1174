-- consumer_lag.sql
-- How far has each partition been loaded, by whom, and how long ago?
-- Kafka's high watermark is not in the database, so the lag in messages is
-- high watermark - next_offset. The high watermarks come from Kafka itself,
-- e.g. the LOG-END-OFFSET column of
--   kafka-consumer-groups.sh --bootstrap-server BROKERS --describe --group pipeline
-- (the worker commits its offsets to Kafka after each batch, as a courtesy,
-- so that tool's LAG column is close too). Shown here: the database side.
SELECT o.topic,
       o.partition,
       o.next_offset,
       o.updated_by,
       o.updated_at,
       now() - o.updated_at AS since_last_advance,
       (SELECT max(b.committed_at) FROM etl.batches AS b WHERE b.topic = o.topic) AS topic_last_commit
FROM etl.offsets AS o
ORDER BY o.topic, o.partition;
