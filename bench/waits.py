#!/usr/bin/env python3
"""What PostgreSQL's backends are doing while the worker loads: pg_stat_activity sampled about
every 10 ms, then counted by wait event and statement (scripts/bench-profile --waits).

A backend on CPU shows no wait event; one waiting shows what for: the worker's next bytes
(Client ClientRead), a table's extension lock (Lock extend), WAL (LWLock WALWrite), and so on.
Counting samples is counting time: a row with twice the samples is twice the time. This is how
issue 13's thirteenth session found the lanes queueing on one day partition's extension lock
(BENCHMARKS.md).

    waits.py sample URL DATABASE FILE   # until SIGTERM or SIGINT; needs psql
    waits.py report FILE
"""
import re
import signal
import subprocess
import sys
import time
from collections import Counter

INTERVAL_S = 0.01
QUERY = (
    "SELECT pid, coalesce(wait_event_type, 'CPU'), coalesce(wait_event, ''), "
    "left(regexp_replace(query, '\\s+', ' ', 'g'), 80) FROM pg_stat_activity "
    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = '{database}' "
    "AND state <> 'idle';\n"
)


def sample(url, database, path):
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(path, "w") as out:
        psql = subprocess.Popen(
            ["psql", "-X", "-q", "-At", "-F", "|", "-d", url], stdin=subprocess.PIPE, stdout=out, text=True
        )
        query = QUERY.format(database=database.replace("'", "''"))
        while not stopping:
            # A marker line per sample, so that a sample with no busy backend still counts.
            psql.stdin.write(f"SELECT 'sample';\n{query}")
            psql.stdin.flush()
            time.sleep(INTERVAL_S)
        psql.stdin.close()
        psql.wait()


def statement(query):
    """The statement's first words, a day partition's name made general."""
    query = re.sub(r"_p\d{8}(_\d+)?", "_pYYYYMMDD", query)
    return " ".join(query.split()[:3])


def report(path):
    samples = 0
    busy = Counter()
    for line in open(path):
        line = line.rstrip("\n")
        if line == "sample":
            samples += 1
            continue
        parts = line.split("|", 3)
        if len(parts) != 4:
            continue
        _, kind, event, query = parts
        wait = "CPU" if kind == "CPU" else f"{kind} {event}"
        busy[(wait, statement(query))] += 1
    total = sum(busy.values())
    print(f"{samples} samples about {INTERVAL_S * 1000:.0f} ms apart; {total} busy backend samples")
    print(f"{'samples':>8} {'share':>6}  {'on CPU or waiting for':<28} statement")
    for (wait, query), count in busy.most_common(20):
        print(f"{count:>8} {count / total:>6.1%}  {wait:<28} {query}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "sample":
        sample(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)
