#!/usr/bin/env python3
"""Latency of the running pipeline, from its own database.

    latency.py poll --database URL --out FILE     # until SIGINT: every 100 ms, how many events
                                                  # analytics.events_per_minute shows per minute
    latency.py report --database URL --polls FILE # one JSON line of percentiles

Ingest latency, per event: the commit time of its batch (etl.batches.committed_at, taken just
before COMMIT) minus its Kafka timestamp (set by the producer). Also the batches' own p95
(etl.batches.latency_p95_ms). Visibility latency, per event: the first poll at which its minute
in analytics.events_per_minute counted at least as many events as had, by Kafka timestamp,
reached that minute up to and including this event, minus its Kafka timestamp (events of a
minute become visible in commit order, which follows Kafka timestamp order within a partition;
the 100 ms poll adds up to 100 ms). Events not yet visible at the last poll count with the last
poll's time: a lower bound, reported as `visible_unseen`.
"""
import argparse
import bisect
import json
import signal
import time

import psycopg


def poll(url, out):
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    samples = []
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop:
            now = time.time()
            rows = conn.execute("SELECT extract(epoch FROM bucket)::bigint, sum(events)::bigint "
                                "FROM analytics.events_per_minute GROUP BY 1").fetchall()
            samples.append([now, {str(b): int(n) for b, n in rows}])
            time.sleep(max(0.0, 0.1 - (time.time() - now)))
    with open(out, "w") as f:
        json.dump(samples, f)


def percentiles(values, ps=(0.5, 0.95, 0.99)):
    values = sorted(values)
    if not values:
        return {f"p{round(p * 100)}": None for p in ps}
    return {f"p{round(p * 100)}": round(values[min(len(values) - 1, int(p * len(values)))], 1) for p in ps}


def report(url, polls_path):
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT extract(epoch FROM date_trunc('minute', e.event_time, 'UTC'))::bigint,
                      extract(epoch FROM e.kafka_timestamp)::float8,
                      extract(epoch FROM b.committed_at)::float8
               FROM staging.events AS e JOIN etl.batches AS b USING (batch_id)""").fetchall()
        batch_p95 = conn.execute(
            "SELECT percentile_disc(array[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_p95_ms), count(*),"
            " max(latency_max_ms) FROM etl.batches").fetchone()
    ingest = [(c - k) * 1000 for _, k, c in rows]
    with open(polls_path) as f:
        samples = json.load(f)
    by_minute = {}
    for minute, kafka_ts, _ in rows:
        by_minute.setdefault(minute, []).append(kafka_ts)
    visible, unseen = [], 0
    last_poll = samples[-1][0] if samples else 0.0
    for minute, stamps in by_minute.items():
        stamps.sort()
        series = [(t, counts.get(str(minute), 0)) for t, counts in samples]
        counts = [n for _, n in series]
        # counts never decrease while the worker runs; the first sample with count >= k.
        for k, stamp in enumerate(stamps, start=1):
            i = bisect.bisect_left(counts, k)
            if i == len(series):
                # Not visible by the last poll: counted with the last poll's time, a lower bound.
                unseen += 1
                visible.append(max(0.0, (last_poll - stamp) * 1000))
                continue
            visible.append(max(0.0, (series[i][0] - stamp) * 1000))
    result = {"kind": "latency", "events": len(rows), "ingest_ms": percentiles(ingest),
              "batch_p95_ms": {"p50": batch_p95[0][0], "p95": batch_p95[0][1], "p99": batch_p95[0][2]}
              if batch_p95[0] else None,
              "batches": batch_p95[1], "batch_max_ms": batch_p95[2],
              "visible_ms": percentiles(visible), "visible_unseen": unseen, "polls": len(samples)}
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["poll", "report"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--out")
    parser.add_argument("--polls")
    args = parser.parse_args()
    if args.command == "poll":
        poll(args.database, args.out)
    else:
        report(args.database, args.polls)


if __name__ == "__main__":
    main()
