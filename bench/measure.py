#!/usr/bin/env python3
"""Runs one command under `/usr/bin/time -v` and prints one JSON line of figures.

    measure.py [--kafka-pid PID] [--pg-pid PID] [--label L] -- COMMAND [ARG ...]

wall, user and sys CPU seconds and the peak RSS of the largest single process
come from /usr/bin/time -v (wait4's rusage, children included). Two things it
cannot see are sampled here from /proc:
  - cpu_s: user+sys, or the CPU seconds sampled over the tree when larger (a JVM that its
    Python parent never waits for is missing from wait4's figures);
  - tree_rss_kb: the peak of the SUM of RSS over the command's whole process
    tree (a JVM plus its Python workers, kcat plus psql), sampled every 50 ms;
  - kafka_cpu_s / db_cpu_s: CPU seconds the development Kafka process and the
    PostgreSQL server (postmaster, its live backends and the backends it reaped)
    spent while the command ran, so work moved into the server is not hidden.
Standard library only: runs under the system python3.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    # The command name may hold spaces and parentheses: split after the last ')'.
    return text[text.rindex(")") + 2:].split()


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(stat_fields(entry)[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def descendants(pid, kids):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB
    except (OSError, ValueError, IndexError):
        return 0


def cpu_s(pid, with_reaped=False):
    """utime+stime (and, for a parent, what it reaped) of one process, in seconds."""
    try:
        f = stat_fields(pid)
    except OSError:
        return 0.0
    ticks = int(f[11]) + int(f[12])  # utime, stime (fields 14, 15)
    if with_reaped:
        ticks += int(f[13]) + int(f[14])  # cutime, cstime
    return ticks / TICKS


def server_cpu_s(postmaster):
    """The whole PostgreSQL server: postmaster (+ reaped backends) + live backends."""
    total = cpu_s(postmaster, with_reaped=True)
    for child in children_map().get(postmaster, []):
        total += cpu_s(child)
    return total


def parse_time_v(path):
    figures = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.strip().rpartition(": ")
            figures[key] = value
    wall = figures.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", "0:0")
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    exit_status = int(figures.get("Exit status", "0") or 0)
    if "Command terminated by signal" in open(path).read():
        exit_status = 128
    return {
        "wall_s": seconds,
        "user_s": float(figures.get("User time (seconds)", 0)),
        "sys_s": float(figures.get("System time (seconds)", 0)),
        "max_rss_kb": int(figures.get("Maximum resident set size (kbytes)", 0)),
        "exit": exit_status,
    }


def main():
    args = sys.argv[1:]
    kafka_pid = pg_pid = None
    label = ""
    while args and args[0] != "--":
        flag, value, args = args[0], args[1], args[2:]
        if flag == "--kafka-pid":
            kafka_pid = int(value) if value else None
        elif flag == "--pg-pid":
            pg_pid = int(value) if value else None
        elif flag == "--label":
            label = value
        else:
            sys.exit(f"measure.py: unknown option {flag}")
    command = args[1:]
    if not command:
        sys.exit("measure.py: no command after --")

    with tempfile.NamedTemporaryFile(prefix="bench-time.", delete=False) as tmp:
        time_file = tmp.name
    kafka_before = cpu_s(kafka_pid) if kafka_pid else 0.0
    db_before = server_cpu_s(pg_pid) if pg_pid else 0.0
    # The command's own output goes to stderr: stdout carries only the JSON line.
    child = subprocess.Popen(["/usr/bin/time", "-v", "-o", time_file, "--", *command], stdout=sys.stderr)
    peak = [0]
    tree_cpu = {}  # pid -> the largest CPU seconds seen: catches a JVM nobody reaps with wait4
    done = threading.Event()

    def sample():
        while not done.is_set():
            tree = [p for p in descendants(child.pid, children_map()) if p != child.pid]
            peak[0] = max(peak[0], sum(rss_kb(p) for p in tree))
            for p in tree:
                tree_cpu[p] = max(tree_cpu.get(p, 0.0), cpu_s(p))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    child.wait()
    # When the command ended, on the clock PostgreSQL's timestamps use: scripts/bench measures a
    # worker's final refresh from its last commit to here (wall_s starts later than the bench's
    # own start, by this script's start-up).
    ended_at = time.time()
    done.set()
    sampler.join()
    # A backend's CPU reaches the postmaster's account when it is reaped, a moment after the
    # client has gone.
    if pg_pid:
        time.sleep(0.5)
    result = parse_time_v(time_file)
    os.unlink(time_file)
    result["tree_rss_kb"] = max(peak[0], result["max_rss_kb"])
    # CPU of the tree as sampled (misses at most the last 50 ms of each process) when that is
    # more than wait4 reported, i.e. when some process in the tree was never reaped by its parent.
    result["cpu_s"] = round(max(result["user_s"] + result["sys_s"], sum(tree_cpu.values())), 2)
    result["kafka_cpu_s"] = round(cpu_s(kafka_pid) - kafka_before, 2) if kafka_pid else None
    result["db_cpu_s"] = round(server_cpu_s(pg_pid) - db_before, 2) if pg_pid else None
    result["label"] = label
    result["ended_at"] = round(ended_at, 3)
    print(json.dumps(result), flush=True)
    sys.exit(0 if result["exit"] == 0 else 1)


if __name__ == "__main__":
    main()
