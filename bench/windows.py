#!/usr/bin/env python3
"""The independent answer: 1-minute windows computed in plain Python from the produced events
(one JSON object per line, as kcat printed them), compared row for row with what a contender
wrote to PostgreSQL.

    windows.py check --events FILE --database URL --kind ours|spark

ours:  analytics.events_per_minute (bucket, event_type, events, users) and
       analytics.revenue_per_minute (bucket, currency, transactions, revenue)
spark: spark_events_per_minute and spark_revenue_per_minute, same columns
Exit status 0 when every row matches, 1 otherwise (the first differences are printed).
"""
import argparse
import datetime
import json
import sys
from decimal import Decimal

import psycopg


def expected(path):
    per_type, per_currency = {}, {}
    with open(path, "rb") as f:
        for line in f:
            e = json.loads(line, parse_float=Decimal)
            t = datetime.datetime.fromisoformat(e["event_time"]).astimezone(datetime.timezone.utc)
            minute = t.replace(second=0, microsecond=0)
            key = (minute, e["event_type"])
            slot = per_type.setdefault(key, [0, set()])
            slot[0] += 1
            slot[1].add(e["user_id"])
            if e["event_type"] == "transaction":
                slot = per_currency.setdefault((minute, e["currency"]), [0, Decimal(0)])
                slot[0] += 1
                slot[1] += Decimal(e["amount"])
    types = {k: (n, len(users)) for k, (n, users) in per_type.items()}
    currencies = {k: (n, total) for k, (n, total) in per_currency.items()}
    return types, currencies


def actual(url, kind):
    names = {"ours": ("analytics.events_per_minute", "analytics.revenue_per_minute"),
             "spark": ("spark_events_per_minute", "spark_revenue_per_minute")}[kind]
    with psycopg.connect(url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        types = {(b, t): (int(n), int(u)) for b, t, n, u in
                 conn.execute(f"SELECT bucket, event_type, events, users FROM {names[0]}")}
        currencies = {(b, c): (int(n), Decimal(r)) for b, c, n, r in
                      conn.execute(f"SELECT bucket, currency, transactions, revenue FROM {names[1]}")}
    return types, currencies


def compare(name, want, got):
    problems = []
    for key in sorted(set(want) | set(got)):
        if want.get(key) != got.get(key):
            problems.append(f"{name} {key[0].isoformat()} {key[1]}: expected {want.get(key)}, got {got.get(key)}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["check"])
    parser.add_argument("--events", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--kind", choices=["ours", "spark"], required=True)
    args = parser.parse_args()
    want_types, want_currencies = expected(args.events)
    got_types, got_currencies = actual(args.database, args.kind)
    problems = compare("events_per_minute", want_types, got_types) \
        + compare("revenue_per_minute", want_currencies, got_currencies)
    for line in problems[:20]:
        print(line)
    rows = f"{len(want_types)} (minute, type) and {len(want_currencies)} (minute, currency) windows"
    if problems:
        print(f"MISMATCH: {len(problems)} of {rows} differ")
        sys.exit(1)
    print(f"all {rows} equal the answer computed in Python")


if __name__ == "__main__":
    main()
