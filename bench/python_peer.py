#!/usr/bin/env python3
"""The peer a seed user would write: Kafka -> PostgreSQL in Python, exactly once.

confluent-kafka (librdkafka underneath, like ours) and psycopg 3. Micro-batches
closed by --interval or --max-batch-events; each message checked with
json.loads plus the contract's field rules; accepted rows COPYed (text format)
into peer_events (the columns of staging.events), rejected ones into
peer_rejects, and the partitions' next offsets advanced in peer_offsets with a
conditional UPDATE, all in ONE transaction, plus a peer_batches ledger row.
Offsets are read back from PostgreSQL at start; Kafka's group offsets are not
used (no subscribe: every partition is assigned directly, as `--no-group`).

Written for scripts/bench, kept honest: batching and COPY, not row inserts.

    python_peer.py --brokers BS --topic T --database URL [--available-now]
"""
import argparse
import datetime
import json
import math
import re
import sys
import time

import psycopg
from confluent_kafka import Consumer, KafkaError, TopicPartition

SCHEMA = """
CREATE TABLE IF NOT EXISTS peer_events (
    event_id uuid NOT NULL, event_type text NOT NULL, event_time timestamptz NOT NULL,
    user_id text NOT NULL, payload jsonb NOT NULL, kafka_topic text NOT NULL,
    kafka_partition integer NOT NULL, kafka_offset bigint NOT NULL, kafka_timestamp timestamptz,
    ingested_at timestamptz NOT NULL DEFAULT now(), batch_id bigint NOT NULL);
CREATE TABLE IF NOT EXISTS peer_rejects (
    raw bytea, reason text NOT NULL, kafka_topic text NOT NULL, kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL, batch_id bigint NOT NULL);
CREATE TABLE IF NOT EXISTS peer_offsets (
    topic text NOT NULL, partition integer NOT NULL, next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition));
CREATE TABLE IF NOT EXISTS peer_batches (
    batch_id bigserial PRIMARY KEY, events integer NOT NULL, rejected integer NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp());
"""

TYPES = {"page_view", "click", "log", "transaction"}
LEVELS = {"debug", "info", "warn", "error"}
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
CURRENCY_RE = re.compile(r"[A-Z]{3}\Z")
EARLIEST = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class Rejected(Exception):
    pass


def validate(value, now):
    """Returns (event_id, event_type, event_time text, user_id, payload text) or raises Rejected."""
    if not value:
        raise Rejected("empty")
    try:
        text = value.decode("utf-8")
        event = json.loads(text)
    except (UnicodeDecodeError, ValueError) as error:
        raise Rejected("invalid_json") from error
    if not isinstance(event, dict):
        raise Rejected("not_object")
    if "\\u0000" in text:
        raise Rejected("nul_escape")
    try:
        event_id, event_type = event["event_id"], event["event_type"]
        event_time, user_id = event["event_time"], event["user_id"]
    except KeyError as error:
        raise Rejected("missing_field") from error
    if not (isinstance(event_id, str) and isinstance(event_type, str)
            and isinstance(event_time, str) and isinstance(user_id, str)):
        raise Rejected("wrong_type")
    if not UUID_RE.match(event_id) or event_type not in TYPES or not 1 <= len(user_id) <= 128:
        raise Rejected("invalid_value")
    try:
        parsed = datetime.datetime.fromisoformat(event_time)
    except ValueError as error:
        raise Rejected("invalid_timestamp") from error
    if parsed.tzinfo is None:
        raise Rejected("invalid_timestamp")
    if parsed < EARLIEST or parsed > now + datetime.timedelta(days=1):
        raise Rejected("time_out_of_range")
    if event_type == "click":
        if not isinstance(event.get("element"), str):
            raise Rejected("missing_field")
    elif event_type == "log":
        if event.get("level") not in LEVELS or not isinstance(event.get("service"), str) \
                or not isinstance(event.get("message"), str):
            raise Rejected("invalid_value")
    elif event_type == "transaction":
        amount = event.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0 \
                or not math.isfinite(amount):
            raise Rejected("invalid_value")
        currency = event.get("currency")
        if not isinstance(currency, str) or not CURRENCY_RE.match(currency) \
                or not isinstance(event.get("order_id"), str):
            raise Rejected("invalid_value")
    return event_id, event_type, event_time, user_id, text


class Peer:
    def __init__(self, args):
        self.args = args
        self.conn = psycopg.connect(args.database, autocommit=True)
        self.conn.execute(SCHEMA)
        self.conn.autocommit = False
        self.consumer = Consumer({
            "bootstrap.servers": args.brokers,
            "group.id": "python-peer",  # required by the client; never joined (assign, not subscribe)
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "error",
        })
        self.topic = args.topic
        self.timestamps = {}

    def claim(self):
        metadata = self.consumer.list_topics(self.topic, timeout=10)
        partitions = sorted(metadata.topics[self.topic].partitions)
        self.targets, lows = {}, {}
        for p in partitions:
            low, high = self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10, cached=False)
            lows[p], self.targets[p] = low, high
        with self.conn.transaction():
            self.conn.cursor().executemany(
                "INSERT INTO peer_offsets (topic, partition, next_offset) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                [(self.topic, p, lows[p]) for p in partitions])
            rows = self.conn.execute("SELECT partition, next_offset FROM peer_offsets WHERE topic = %s",
                                     (self.topic,)).fetchall()
        self.committed = dict(rows)
        self.position = dict(rows)
        self.consumer.assign([TopicPartition(self.topic, p, self.committed[p]) for p in partitions])

    def kafka_time(self, ms):
        text = self.timestamps.get(ms)
        if text is None:
            if len(self.timestamps) > 100_000:
                self.timestamps.clear()
            text = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat()
            self.timestamps[ms] = text
        return text

    def caught_up(self):
        return all(self.position.get(p, 0) >= high for p, high in self.targets.items())

    def run(self):
        self.claim()
        totals = [0, 0, 0]
        while True:
            batch = []
            deadline = time.monotonic() + self.args.interval
            while len(batch) < self.args.max_batch_events:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.args.available_now and self.caught_up()):
                    break
                messages = self.consumer.consume(min(10_000, self.args.max_batch_events - len(batch)),
                                                 timeout=min(remaining, 0.1))
                for m in messages:
                    error = m.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            continue
                        raise RuntimeError(f"Kafka: {error}")
                    batch.append(m)
                    self.position[m.partition()] = m.offset() + 1
            if batch:
                events, rejected = self.commit(batch)
                totals[0] += 1
                totals[1] += events
                totals[2] += rejected
            if self.args.available_now and self.caught_up():
                break
        self.consumer.close()
        print(f"python peer: {totals[0]} batches, {totals[1]} events, {totals[2]} rejected", file=sys.stderr)

    def commit(self, batch):
        now = datetime.datetime.now(datetime.timezone.utc)
        batch_id = self.conn.execute("SELECT nextval('peer_batches_batch_id_seq')").fetchone()[0]
        self.conn.commit()
        rows, rejects, ranges = [], [], {}
        topic, suffix = self.topic, f"\t{batch_id}\n"
        for m in batch:
            partition, offset = m.partition(), m.offset()
            first = ranges.get(partition)
            ranges[partition] = (first[0] if first else offset, offset)
            value = m.value()
            try:
                event_id, event_type, event_time, user_id, text = validate(value, now)
            except Rejected as reason:
                rejects.append((value, str(reason), topic, partition, offset, batch_id))
                continue
            if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
                text = text.translate(COPY_ESCAPES)
            if "\\" in user_id or "\t" in user_id or "\n" in user_id or "\r" in user_id:
                user_id = user_id.translate(COPY_ESCAPES)
            kafka_ts = m.timestamp()[1]
            rows.append("\t".join((event_id, event_type, event_time, user_id, text, topic, str(partition),
                                   str(offset), self.kafka_time(kafka_ts) if kafka_ts >= 0 else "\\N")) + suffix)
        with self.conn.transaction():
            cursor = self.conn.cursor()
            parts = sorted(ranges)
            cursor.execute(
                """UPDATE peer_offsets AS o SET next_offset = v.next_offset
                   FROM unnest(%s::int[], %s::bigint[], %s::bigint[]) AS v(partition, first_offset, next_offset)
                   WHERE o.topic = %s AND o.partition = v.partition AND o.next_offset = v.first_offset""",
                (parts, [self.committed[p] for p in parts], [ranges[p][1] + 1 for p in parts], topic))
            if cursor.rowcount != len(parts):
                raise RuntimeError("fenced: another loader advanced peer_offsets; restart to re-read them")
            with cursor.copy("COPY peer_events (event_id, event_type, event_time, user_id, payload, kafka_topic,"
                             " kafka_partition, kafka_offset, kafka_timestamp, batch_id) FROM STDIN") as copy:
                chunk = []
                size = 0
                for row in rows:
                    chunk.append(row)
                    size += len(row)
                    if size >= 1 << 20:
                        copy.write("".join(chunk))
                        chunk, size = [], 0
                if chunk:
                    copy.write("".join(chunk))
            if rejects:
                with cursor.copy("COPY peer_rejects (raw, reason, kafka_topic, kafka_partition, kafka_offset,"
                                 " batch_id) FROM STDIN") as copy:
                    for reject in rejects:
                        copy.write_row(reject)
            cursor.execute("INSERT INTO peer_batches (batch_id, events, rejected) VALUES (%s, %s, %s)",
                           (batch_id, len(rows), len(rejects)))
        for p in parts:
            self.committed[p] = ranges[p][1] + 1
        return len(rows), len(rejects)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds (default 1)")
    parser.add_argument("--max-batch-events", type=int, default=50_000)
    parser.add_argument("--available-now", action="store_true")
    Peer(parser.parse_args()).run()


if __name__ == "__main__":
    main()
