#!/usr/bin/env python3
"""The independent answer: every aggregate the pipeline maintains, computed in plain Python from
the produced events (one JSON object per line, as kcat printed them), compared row for row with
what a contender wrote to PostgreSQL.

    windows.py check --events FILE --database URL --kind ours|spark [--tolerance COLUMN=PCT ...]
    windows.py shape --events FILE     # one JSON line: events, users, session ids, (user, session)
                                       # pairs, the event-time span: what the data set looks like

ours: every analytics.* view over an aggregate (VIEWS below): events_per_minute,
      events_per_5_minutes, events_per_hour (with is_final), revenue_per_minute,
      revenue_per_hour, events_sliding_10_minutes, page_views_per_minute, logs_per_minute,
      session_funnel_per_hour (with is_final), user_sessions, daily_summary (a materialized view
      cron refreshes: refreshed here first) and watermarks.
spark: spark_events_per_minute and spark_revenue_per_minute (the two windows the Spark job keeps).
Not checked: late_events_per_minute (which events are late depends on the order they were
loaded in, not on the events alone), duplicates_per_minute and the pipeline_* views (the load's
bookkeeping, not aggregates of the events).

Counts and sums must be equal, exactly, by default. --tolerance relaxes one column, relative to
the expected value: `users=1.5%` (that column in every view), `events_per_hour.users=2.5%`
(in one view), repeatable; the largest error seen in each relaxed column is printed, so a
sketch's stated bound can be compared with what it gave. Keys (the rows that exist) are always
exact. Exit status 0 when every row matches, 1 otherwise (the first differences are printed).

The definitions, from the migrations (0008, 0010, 0018): buckets are UTC minutes, 5 minutes
(from 2000-01-01), hours and days of event_time; users = distinct user_id; page and country of a
page_view, currency of a transaction, service and level of a log, '(none)' when missing; revenue
= sum of amount, as numeric; a session of the funnel is (user_id, session_id) within the hour,
steps viewed (a page_view), clicked (a click), added to cart (a click on 'add_to_cart'), paid (a
transaction); user sessions are per user, a new one after 30 minutes without events, ending
30 minutes after the last, with its events, page views and revenue; a window is final when its
end is at or below the watermark, the largest event_time minus etl.settings' allowed_lateness.
Events sharing an event_id count once (the first in the file): the pipeline deduplicates.
Standard library; `check` also needs psycopg (scripts/bench's venv).
"""
import argparse
import datetime
import json
import re
import sys
from decimal import Decimal

UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
MINUTE, FIVE, HOUR, DAY = 60, 300, 3600, 86400
SESSION_GAP_US = 30 * 60 * 1_000_000
# date_bin's origin for the 5-minute buckets (0018): 2000-01-01 00:00 UTC.
FIVE_ORIGIN = 946_684_800

# view -> (key columns, value columns, SQL); keys and values as the expected answer holds them.
VIEWS = {
    "events_per_minute": (["bucket", "event_type"], ["events", "users"],
                          "SELECT bucket, event_type, events, users FROM analytics.events_per_minute"),
    "events_per_5_minutes": (["bucket", "event_type"], ["events", "users", "is_final"],
                             "SELECT bucket, event_type, events, users, is_final FROM analytics.events_per_5_minutes"),
    "events_per_hour": (["bucket", "event_type"], ["events", "users", "is_final"],
                        "SELECT bucket, event_type, events, users, is_final FROM analytics.events_per_hour"),
    "revenue_per_minute": (["bucket", "currency"], ["transactions", "revenue"],
                           "SELECT bucket, currency, transactions, revenue FROM analytics.revenue_per_minute"),
    "revenue_per_hour": (["bucket", "currency"], ["transactions", "revenue"],
                         "SELECT bucket, currency, transactions, revenue FROM analytics.revenue_per_hour"),
    "events_sliding_10_minutes": (["window_start", "window_end", "event_type"], ["events"],
                                  "SELECT window_start, window_end, event_type, events "
                                  "FROM analytics.events_sliding_10_minutes"),
    "page_views_per_minute": (["bucket", "page", "country"], ["views", "users"],
                              "SELECT bucket, page, country, views, users FROM analytics.page_views_per_minute"),
    "logs_per_minute": (["bucket", "service", "level"], ["events"],
                        "SELECT bucket, service, level, events FROM analytics.logs_per_minute"),
    "session_funnel_per_hour": (["bucket"], ["sessions", "sessions_viewed", "sessions_clicked",
                                             "sessions_added_to_cart", "sessions_paid", "is_final"],
                                "SELECT bucket, sessions, sessions_viewed, sessions_clicked, sessions_added_to_cart,"
                                " sessions_paid, is_final FROM analytics.session_funnel_per_hour"),
    "user_sessions": (["user_id", "session_start"], ["session_end", "events", "pages", "revenue"],
                      "SELECT user_id, session_start, session_end, events, pages, revenue FROM analytics.user_sessions"),
    "daily_summary": (["day", "event_type"], ["events"],
                      "SELECT day, event_type, events FROM analytics.daily_summary"),
    "watermarks": (["what"], ["max_event_time"],
                   "SELECT 'max', max(max_event_time) FROM analytics.watermarks"),
}
SPARK = {
    "events_per_minute": (["bucket", "event_type"], ["events", "users"],
                          "SELECT bucket, event_type, events, users FROM spark_events_per_minute"),
    "revenue_per_minute": (["bucket", "currency"], ["transactions", "revenue"],
                           "SELECT bucket, currency, transactions, revenue FROM spark_revenue_per_minute"),
}


def micros(value):
    """A timestamptz (datetime) or an RFC 3339 string as integer µs since the epoch."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    delta = value - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


class Answer:
    """Every aggregate, from the events alone. Users and sessions become small ints (memory)."""

    def __init__(self):
        self.user_ids, self.session_ids = {}, {}
        self.events = self.skipped = self.duplicates = 0
        self.max_time = None
        self.by_type_minute = {}      # (minute s, type) -> [events, set(user)]
        self.by_type_five = {}
        self.by_type_hour = {}
        self.by_type_day = {}         # (day s, type) -> events
        self.revenue_minute = {}      # (minute s, currency) -> [transactions, Decimal]
        self.pages = {}               # (minute s, page, country) -> [views, set(user)]
        self.logs = {}                # (minute s, service, level) -> events
        self.funnel = {}              # hour s -> {(user << 32) | session: steps}
        self.user_events = {}         # user -> [(µs, is_page_view, amount)]

    def add(self, e, seen_ids):
        event_id = e.get("event_id")
        if event_id in seen_ids:
            self.duplicates += 1
            return
        seen_ids.add(event_id)
        self.events += 1
        t = micros(e["event_time"])
        self.max_time = t if self.max_time is None else max(self.max_time, t)
        second = t // 1_000_000
        minute = second - second % MINUTE
        five = second - (second - FIVE_ORIGIN) % FIVE
        hour = second - second % HOUR
        day = second - second % DAY
        kind = e["event_type"]
        user = self.user_ids.setdefault(e["user_id"], len(self.user_ids))
        for table, bucket in ((self.by_type_minute, minute), (self.by_type_five, five), (self.by_type_hour, hour)):
            slot = table.get((bucket, kind))
            if slot is None:
                slot = table[(bucket, kind)] = [0, set()]
            slot[0] += 1
            slot[1].add(user)
        self.by_type_day[(day, kind)] = self.by_type_day.get((day, kind), 0) + 1
        amount = None
        steps = 0
        if kind == "page_view":
            steps = 1
            key = (minute, e.get("page", "(none)"), e.get("country", "(none)"))
            slot = self.pages.get(key)
            if slot is None:
                slot = self.pages[key] = [0, set()]
            slot[0] += 1
            slot[1].add(user)
        elif kind == "click":
            steps = 2 | (4 if e.get("element") == "add_to_cart" else 0)
        elif kind == "transaction":
            steps = 8
            amount = Decimal(e["amount"]) if not isinstance(e["amount"], Decimal) else e["amount"]
            key = (minute, e.get("currency", "(none)"))
            slot = self.revenue_minute.get(key)
            if slot is None:
                slot = self.revenue_minute[key] = [0, Decimal(0)]
            slot[0] += 1
            slot[1] += amount
        elif kind == "log":
            key = (minute, e.get("service", "(none)"), e.get("level", "(none)"))
            self.logs[key] = self.logs.get(key, 0) + 1
        session_id = e.get("session_id")
        if session_id is not None:
            session = self.session_ids.setdefault(session_id, len(self.session_ids))
            members = self.funnel.setdefault(hour, {})
            pair = (user << 32) | session
            members[pair] = members.get(pair, 0) | steps
        self.user_events.setdefault(user, []).append((t, kind == "page_view", amount))

    def tables(self, allowed_lateness_us):
        """view -> {key tuple: value tuple}, keys and values as VIEWS lists them."""
        watermark = None if self.max_time is None else self.max_time - allowed_lateness_us

        def final(bucket_s, width_s):
            return watermark is not None and (bucket_s + width_s) * 1_000_000 <= watermark

        out = {
            "events_per_minute": {k: (n, len(u)) for k, (n, u) in self.by_type_minute.items()},
            "events_per_5_minutes": {k: (n, len(u), final(k[0], FIVE)) for k, (n, u) in self.by_type_five.items()},
            "events_per_hour": {k: (n, len(u), final(k[0], HOUR)) for k, (n, u) in self.by_type_hour.items()},
            "revenue_per_minute": {k: (n, r) for k, (n, r) in self.revenue_minute.items()},
            "page_views_per_minute": {k: (n, len(u)) for k, (n, u) in self.pages.items()},
            "logs_per_minute": {k: (n,) for k, n in self.logs.items()},
            "daily_summary": {k: (n,) for k, n in self.by_type_day.items()},
            "watermarks": {("max",): (self.max_time,)} if self.max_time is not None else {},
        }
        per_hour = {}
        for (minute, currency), (n, r) in self.revenue_minute.items():
            slot = per_hour.setdefault((minute - minute % HOUR, currency), [0, Decimal(0)])
            slot[0] += n
            slot[1] += r
        out["revenue_per_hour"] = {k: tuple(v) for k, v in per_hour.items()}
        sliding = {}
        by_type = {}
        for (minute, kind), (n, _) in self.by_type_minute.items():
            by_type.setdefault(kind, {})[minute] = n
        for kind, counts in by_type.items():
            for minute in counts:
                total = sum(counts.get(minute - i * MINUTE, 0) for i in range(10))
                sliding[(minute - 9 * MINUTE, minute + MINUTE, kind)] = (total,)
        out["events_sliding_10_minutes"] = sliding
        funnel = {}
        for hour, members in self.funnel.items():
            steps = list(members.values())
            funnel[(hour,)] = (len(steps), sum(1 for s in steps if s & 1), sum(1 for s in steps if s & 2),
                               sum(1 for s in steps if s & 4), sum(1 for s in steps if s & 8), final(hour, HOUR))
        out["session_funnel_per_hour"] = funnel
        names = {i: name for name, i in self.user_ids.items()}
        sessions = {}
        for user, events in self.user_events.items():
            events.sort(key=lambda x: x[0])
            start = last = None
            count = pages = 0
            revenue = Decimal(0)
            for t, is_page, amount in events + [(None, False, None)]:
                if t is not None and last is not None and t - last < SESSION_GAP_US:
                    count += 1
                    pages += is_page
                    revenue += amount or 0
                    last = t
                    continue
                if start is not None:
                    sessions[(names[user], start)] = (last + SESSION_GAP_US, count, pages, revenue)
                if t is not None:
                    start = last = t
                    count, pages, revenue = 1, int(is_page), amount or Decimal(0)
        out["user_sessions"] = sessions
        return out


def expected(path):
    answer = Answer()
    seen_ids = set()
    with open(path, "rb") as f:
        for line in f:
            try:
                e = json.loads(line, parse_float=Decimal)
                e["event_time"], e["event_type"], e["user_id"]
            except (ValueError, KeyError, TypeError):
                answer.skipped += 1  # not an event the contract accepts: a reject, in no aggregate
                continue
            answer.add(e, seen_ids)
    return answer


def normalize(value):
    """Database values as the answer holds them: timestamps as µs."""
    return micros(value) if isinstance(value, datetime.datetime) else value


def actual(url, views):
    import psycopg  # only `check` needs it: `shape` runs under the system python3
    got = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        if "daily_summary" in views:
            # Cron refreshes it, not the worker: bring it up to date first.
            conn.execute("REFRESH MATERIALIZED VIEW analytics.daily_summary")
        for name, (keys, _, sql) in views.items():
            rows = {}
            for row in conn.execute(sql):
                row = [normalize(v) for v in row]
                key, value = tuple(row[:len(keys)]), tuple(row[len(keys):])
                if value and value[0] is None and name == "watermarks":
                    continue
                rows[key] = value
            got[name] = rows
    return got


def bucket_keys(keys, table):
    """The answer's bucket keys are seconds (user_sessions' session_start already µs); the database's, µs."""
    seconds = [k != "session_start" for k in keys]
    return {tuple(k * 1_000_000 if isinstance(k, int) and s else k for k, s in zip(key, seconds)): value
            for key, value in table.items()}


def readable(key):
    if key is None:
        return "None"
    out = []
    for k in key:
        if isinstance(k, int) and k > 10**14:
            out.append(datetime.datetime.fromtimestamp(k / 1e6, UTC).isoformat())
        else:
            out.append(str(k))
    return "(" + ", ".join(out) + ")"


def parse_tolerances(items):
    tolerances = {}
    for item in items:
        m = re.fullmatch(r"([a-z0-9_]+(?:\.[a-z0-9_]+)?)=([0-9.]+)%?", item)
        if not m:
            sys.exit(f"windows.py: --tolerance wants COLUMN=PCT or VIEW.COLUMN=PCT, got {item!r}")
        tolerances[m.group(1)] = float(m.group(2)) / 100
    return tolerances


def compare(name, columns, want, got, tolerances, worst):
    problems = []
    allowed = [tolerances.get(f"{name}.{c}", tolerances.get(c, 0.0)) for c in columns]
    for key in sorted(set(want) | set(got), key=repr):
        w, g = want.get(key), got.get(key)
        if w is None or g is None:
            problems.append(f"{name} {readable(key)}: expected {readable(w)}, got {readable(g)}")
            continue
        bad = False
        for column, tol, a, b in zip(columns, allowed, w, g):
            if tol and isinstance(a, (int, Decimal)) and not isinstance(a, bool) and b is not None:
                error = abs(b - a) / a if a else (0 if b == a else float("inf"))
                worst[f"{name}.{column}"] = max(worst.get(f"{name}.{column}", 0.0), float(error))
                bad |= error > tol
            else:
                bad |= a != b
        if bad:
            problems.append(f"{name} {readable(key)}: expected {readable(w)}, got {readable(g)}")
    return problems


def shape(path):
    users, sessions, pairs = set(), set(), set()
    events, first, last = 0, None, None
    with open(path, "rb") as f:
        for line in f:
            e = json.loads(line)
            events += 1
            users.add(e["user_id"])
            sessions.add(e.get("session_id"))
            pairs.add((e["user_id"], e.get("session_id")))
            t = e["event_time"]  # RFC 3339 UTC with milliseconds (the generator's): compares as text
            first = t if first is None or t < first else first
            last = t if last is None or t > last else last
    span = (micros(last) - micros(first)) / 60e6 if events else 0
    print(json.dumps({"events": events, "users": len(users), "session_ids": len(sessions), "pairs": len(pairs),
                      "first": first, "last": last, "span_minutes": round(span, 1)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["check", "shape"])
    parser.add_argument("--events", required=True)
    parser.add_argument("--database")
    parser.add_argument("--kind", choices=["ours", "spark"], default="ours")
    parser.add_argument("--tolerance", action="append", default=[], metavar="[VIEW.]COLUMN=PCT")
    parser.add_argument("--views", help="comma-separated subset of the views (default: all)")
    args = parser.parse_args()
    if args.command == "shape":
        shape(args.events)
        return
    if not args.database:
        sys.exit("windows.py check: --database is required")
    views = VIEWS if args.kind == "ours" else SPARK
    if args.views:
        unknown = set(args.views.split(",")) - set(views)
        if unknown:
            sys.exit(f"windows.py: unknown views {sorted(unknown)}; known: {sorted(views)}")
        views = {k: v for k, v in views.items() if k in args.views.split(",")}
    tolerances = parse_tolerances(args.tolerance)
    lateness_us = 0
    if args.kind == "ours":
        import psycopg
        with psycopg.connect(args.database) as conn:
            lateness = conn.execute(
                "SELECT setting_value::interval FROM etl.settings WHERE setting_name = 'allowed_lateness'").fetchone()
        lateness_us = int(lateness[0].total_seconds() * 1_000_000) if lateness else 0
    answer = expected(args.events)
    want_all = answer.tables(lateness_us)
    got_all = actual(args.database, views)
    problems, counts, worst = [], [], {}
    for name, (keys, columns, _) in views.items():
        want = bucket_keys(keys, want_all[name])
        got = got_all[name]
        found = compare(name, columns, want, got, tolerances, worst)
        problems += found
        counts.append(f"{name} {len(want)}" + (f" ({len(found)} differ)" if found else ""))
    for line in problems[:20]:
        print(line)
    relaxed = ""
    if worst:
        print("largest relative error per relaxed column: "
              + ", ".join(f"{k} {v:.2%} (allowed {tolerances.get(k, tolerances.get(k.split('.')[1], 0)):.2%})"
                          for k, v in sorted(worst.items())))
        name, error = max(worst.items(), key=lambda item: item[1])
        relaxed = f" (relaxed columns within their tolerance, the largest error {error:.2%} in {name})"
    print(f"events: {answer.events:,} ({len(answer.user_ids):,} users, {len(answer.session_ids):,} session ids"
          f"{f', {answer.duplicates:,} repeated event_ids' if answer.duplicates else ''}"
          f"{f', {answer.skipped:,} lines not events' if answer.skipped else ''})")
    rows = sum(len(want_all[n]) for n in views)
    summary = "; ".join(counts)
    if problems:
        print(f"MISMATCH: {len(problems)} of {rows} rows differ: {summary}")
        sys.exit(1)
    print(f"all {rows} rows of {len(views)} views equal the answer computed in Python{relaxed}: {summary}")


if __name__ == "__main__":
    main()
