#!/usr/bin/env python3
"""Checks that the development Kafka holds the whole data set before anything is timed:
every partition's low watermark is 0 and the high watermarks add up to --expect."""
import argparse
import sys

from confluent_kafka import Consumer, TopicPartition

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--brokers", required=True)
parser.add_argument("--topic", required=True)
parser.add_argument("--expect", type=int, required=True)
args = parser.parse_args()
consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": "bench-check"})
partitions = sorted(consumer.list_topics(args.topic, timeout=10).topics[args.topic].partitions)
lows, total = [], 0
for p in partitions:
    low, high = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=10, cached=False)
    if low != 0:
        lows.append((p, low))
    total += high - low
consumer.close()
if lows:
    sys.exit(f"kafka_check: {len(lows)} partition(s) lost their oldest messages, e.g. partition {lows[0][0]} "
             f"starts at {lows[0][1]}")
if total != args.expect:
    sys.exit(f"kafka_check: the topic holds {total} messages, expected {args.expect}")
print(f"kafka_check: {len(partitions)} partitions, every low watermark 0, {total} messages")
