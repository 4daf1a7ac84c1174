#!/usr/bin/env python3
"""The seed's own stack: Spark Structured Streaming (PySpark 4, local[2]) computing the
pipeline's 1-minute windows and writing them to PostgreSQL exactly once.

    spark_job.py --source kafka|file --database URL --checkpoint DIR --result FILE
                 [--brokers BS --topic T] [--path DIR] [--max-rows-per-batch N]

--source kafka: Kafka read through PySpark 4's Python streaming data source API with
  confluent-kafka (`pykafka` below). The JVM Kafka connector (spark-sql-kafka-0-10) comes only
  from Maven, which this machine cannot reach; it is the connector a real deployment would use.
  Offsets are the source's own (Spark's checkpoint), one input partition per slice of Kafka
  partitions, at most --max-rows-per-batch rows per micro-batch, Trigger.AvailableNow.
--source file: Spark's built-in file source over the same events (JSON lines in --path, two
  files per micro-batch): the bound without Kafka.

The windows are those of analytics.events_per_minute and analytics.revenue_per_minute: per
1-minute event-time window, events and distinct users per event type, and transactions and
revenue per currency, with a watermark (20 minutes: the data set's late events lag up to 15,
so none is dropped, as ours drops none). Streaming forbids count(DISTINCT), so users are
size(collect_set(user_id)), exact. Both windows come from ONE stateful aggregation (each event
is exploded into a per-type row and, for transactions, a per-currency row), so the source is
read once. Output mode update; foreachBatch upserts the changed windows and inserts its batch
id into spark_batches in the same PostgreSQL transaction; a batch id already there is skipped
(the exactly-once idiom for foreachBatch).

Writes a JSON summary to --result: micro-batch count, durations and rows, JVM start time.
"""
import argparse
import json
import os
import sys
import time

T0 = time.monotonic()

import psycopg  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition  # noqa: E402
from pyspark.sql.streaming.datasource import (  # noqa: E402
    ReadAllAvailable, ReadMaxRows, SupportsTriggerAvailableNow)

TABLES = """
CREATE TABLE IF NOT EXISTS spark_events_per_minute (
    bucket timestamptz NOT NULL, event_type text NOT NULL, events bigint NOT NULL, users bigint NOT NULL,
    PRIMARY KEY (bucket, event_type));
CREATE TABLE IF NOT EXISTS spark_revenue_per_minute (
    bucket timestamptz NOT NULL, currency text NOT NULL, transactions bigint NOT NULL, revenue numeric NOT NULL,
    PRIMARY KEY (bucket, currency));
CREATE TABLE IF NOT EXISTS spark_batches (
    batch_id bigint PRIMARY KEY, rows integer NOT NULL, committed_at timestamptz NOT NULL DEFAULT clock_timestamp());
"""


# --- Kafka through the Python streaming data source API ----------------------------------

class KafkaSlice(InputPartition):
    def __init__(self, ranges):
        self.ranges = ranges  # [(partition, start, end)]


class PyKafkaSource(DataSource):
    @classmethod
    def name(cls):
        return "pykafka"

    def schema(self):
        # The JVM connector's columns (binary key and value), timestamp in milliseconds.
        return "key binary, value binary, partition int, offset long, timestamp_ms long"

    def streamReader(self, schema):
        return PyKafkaStreamReader(self.options)


class PyKafkaStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    def __init__(self, options):
        self.brokers = options["brokers"]
        self.topic = options["topic"]
        self.max_rows = int(options.get("maxRowsPerBatch", "200000"))
        self.slices = int(options.get("slices", "2"))
        self.target = None

    def _watermarks(self):
        from confluent_kafka import Consumer, TopicPartition
        consumer = Consumer({"bootstrap.servers": self.brokers, "group.id": "spark-bench"})
        try:
            parts = sorted(consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions)
            return {str(p): consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10, cached=False)
                    for p in parts}
        finally:
            consumer.close()

    def initialOffset(self):
        return {p: low for p, (low, _) in self._watermarks().items()}

    def prepareForTriggerAvailableNow(self):
        self.target = {p: high for p, (_, high) in self._watermarks().items()}

    def latestOffset(self, start, limit):
        latest = self.target or {p: high for p, (_, high) in self._watermarks().items()}
        if isinstance(limit, ReadAllAvailable):
            return dict(latest)
        budget = limit.max_rows if isinstance(limit, ReadMaxRows) else self.max_rows
        end = dict(start)
        pending = {p: latest[p] - start.get(p, 0) for p in latest if latest[p] > start.get(p, 0)}
        # Spread the budget over the partitions with data, evenly, as the JVM connector does.
        while budget > 0 and pending:
            share = max(1, budget // len(pending))
            for p in list(pending):
                take = min(share, pending[p], budget)
                end[p] = end.get(p, start.get(p, 0)) + take
                pending[p] -= take
                budget -= take
                if pending[p] == 0:
                    del pending[p]
                if budget == 0:
                    break
        return end

    def getDefaultReadLimit(self):
        return ReadMaxRows(self.max_rows)

    def reportLatestOffset(self):
        return None

    def partitions(self, start, end):
        ranges = [(int(p), start.get(p, 0), end[p]) for p in end if end[p] > start.get(p, 0)]
        return [KafkaSlice(ranges[i::self.slices]) for i in range(self.slices) if ranges[i::self.slices]]

    def read(self, partition):
        import pyarrow as pa
        from confluent_kafka import Consumer, TopicPartition
        consumer = Consumer({"bootstrap.servers": self.brokers, "group.id": "spark-bench",
                             "enable.auto.commit": False, "enable.partition.eof": False})
        ends = {p: e for p, _, e in partition.ranges}
        consumer.assign([TopicPartition(self.topic, p, s) for p, s, _ in partition.ranges])
        remaining = sum(e - s for _, s, e in partition.ranges)
        try:
            while remaining > 0:
                keys, values, parts, offsets, stamps = [], [], [], [], []
                for m in consumer.consume(min(10_000, remaining), timeout=1.0):
                    if m.error() is not None:
                        raise RuntimeError(str(m.error()))
                    p, o = m.partition(), m.offset()
                    if o >= ends[p]:
                        continue
                    keys.append(m.key())
                    values.append(m.value())
                    parts.append(p)
                    offsets.append(o)
                    stamps.append(m.timestamp()[1])
                if not values:
                    continue
                remaining -= len(values)
                # Arrow batches, not tuples: the fastest way out of a Python data source.
                yield pa.RecordBatch.from_arrays(
                    [pa.array(keys, pa.binary()), pa.array(values, pa.binary()), pa.array(parts, pa.int32()),
                     pa.array(offsets, pa.int64()), pa.array(stamps, pa.int64())],
                    names=["key", "value", "partition", "offset", "timestamp_ms"])
        finally:
            consumer.close()

    def commit(self, end):
        pass


# --- the windows and the exactly-once sink ---------------------------------------------

EVENT_SCHEMA = ("event_id string, event_type string, event_time timestamp, user_id string, "
                "amount decimal(20,4), currency string")


def windows(values):
    """values: a streaming DataFrame with a string column `json`."""
    events = (values.select(F.from_json("json", EVENT_SCHEMA).alias("e")).select("e.*")
              .where(F.col("event_id").isNotNull() & F.col("event_time").isNotNull())
              .withWatermark("event_time", "20 minutes"))
    # One row per event for its type, one more per transaction for its currency.
    rows = events.select(
        F.window("event_time", "1 minute").alias("w"), "user_id", "amount",
        F.explode(F.array(
            F.struct(F.lit("type").alias("kind"), F.col("event_type").alias("key")),
            F.when(F.col("event_type") == "transaction",
                   F.struct(F.lit("currency").alias("kind"), F.col("currency").alias("key"))))).alias("k"))
    rows = rows.where(F.col("k").isNotNull())
    return (rows.groupBy("w", "k.kind", "k.key")
            .agg(F.count(F.lit(1)).alias("events"), F.size(F.collect_set("user_id")).alias("users"),
                 F.sum("amount").alias("revenue")))


class PostgresSink:
    def __init__(self, url):
        self.url = url
        self.conn = None
        self.batches = []

    def __call__(self, frame, batch_id):
        started = time.monotonic()
        rows = frame.collect()
        if self.conn is None:
            self.conn = psycopg.connect(self.url)
        with self.conn.transaction():
            cursor = self.conn.cursor()
            cursor.execute("INSERT INTO spark_batches (batch_id, rows) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                           (batch_id, len(rows)))
            if cursor.rowcount == 0:
                return  # replayed after a failure: already committed
            types = [(r.w.start, r.key, r.events, r.users) for r in rows if r.kind == "type"]
            currencies = [(r.w.start, r.key, r.events, r.revenue) for r in rows if r.kind == "currency"]
            cursor.executemany(
                """INSERT INTO spark_events_per_minute (bucket, event_type, events, users) VALUES (%s, %s, %s, %s)
                   ON CONFLICT (bucket, event_type) DO UPDATE SET events = excluded.events, users = excluded.users""",
                types)
            cursor.executemany(
                """INSERT INTO spark_revenue_per_minute (bucket, currency, transactions, revenue)
                   VALUES (%s, %s, %s, %s) ON CONFLICT (bucket, currency)
                   DO UPDATE SET transactions = excluded.transactions, revenue = excluded.revenue""",
                currencies)
        self.batches.append({"batch_id": batch_id, "rows": len(rows), "sink_ms": round((time.monotonic() - started) * 1000)})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=["kafka", "file"], required=True)
    parser.add_argument("--brokers")
    parser.add_argument("--topic")
    parser.add_argument("--path")
    parser.add_argument("--database", required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--max-rows-per-batch", type=int, default=200_000)
    args = parser.parse_args()

    with psycopg.connect(args.database, autocommit=True) as conn:
        conn.execute(TABLES)
    # UTC sessions so window starts print as UTC; Spark's UI is off (a port and threads we don't need);
    # 4 shuffle partitions instead of 200: a tuned job on 2 cores, not the default.
    os.environ.setdefault("TZ", "UTC")
    # Python workers must run this venv's interpreter (pyarrow, confluent-kafka), not PATH's python3.
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    spark = (SparkSession.builder.master("local[2]").appName("bench-" + args.source)
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.driver.memory", "1g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("WARN")
    jvm_ready = time.monotonic() - T0

    if args.source == "kafka":
        spark.dataSource.register(PyKafkaSource)
        raw = (spark.readStream.format("pykafka").option("brokers", args.brokers).option("topic", args.topic)
               .option("maxRowsPerBatch", str(args.max_rows_per_batch)).option("slices", "2").load())
        values = raw.select(F.col("value").cast("string").alias("json"))
    else:
        raw = spark.readStream.option("maxFilesPerTrigger", 2).text(args.path)
        values = raw.select(F.col("value").alias("json"))

    sink = PostgresSink(args.database)
    query = (windows(values).writeStream.outputMode("update").foreachBatch(sink)
             .option("checkpointLocation", args.checkpoint).trigger(availableNow=True).start())
    query.awaitTermination()
    progress = [p for p in query.recentProgress if p.get("numInputRows", 0) > 0 or p.get("batchId") is not None]
    batches = [{"batch_id": p["batchId"], "input_rows": p["numInputRows"],
                "duration_ms": p["durationMs"].get("triggerExecution")} for p in progress]
    result = {"jvm_start_s": round(jvm_ready, 2), "total_s": round(time.monotonic() - T0, 2),
              "micro_batches": batches, "sink": sink.batches,
              "input_rows": sum(b["input_rows"] for b in batches)}
    with open(args.result, "w") as f:
        json.dump(result, f)
    spark.stop()
    print(f"spark ({args.source}): {len(batches)} micro-batches, {result['input_rows']} rows, "
          f"{result['total_s']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
