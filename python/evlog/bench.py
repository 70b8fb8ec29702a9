"""python -m evlog.bench: what one log() call costs a Python caller, beside the two ways a Flask
app writes analytics rows without evlog, measured in one process and one run.

  1. evlog:   evlog.Logger.log(event_type, user_id=..., user_type=..., metadata={...})
  2. queue:   a queue.Queue(maxsize=1000) and a daemon thread, the usual hand-written fix:
              put_nowait() of a dict after json.dumps() of the metadata, a full queue drops the
              event, the thread writes batches of up to 10 with executemany()
  3. sqlite3: one INSERT in its own transaction per event (WAL, synchronous=NORMAL)

Each is called by one thread, back to back ("tight", 1,000,000 calls; 20,000 for sqlite3) and
paced at 10,000 calls a second by busy-waiting on the clock ("paced", 40,000 calls), with a
three-key dict as metadata. Each call is timed with time.perf_counter_ns() on both sides; the
timer's own cost, measured the same way around no call, is printed and included in every figure.
Then the end-to-end rate: one Python thread logging 1,000,000 events through evlog (on_full=
"block", so none is dropped) until flush() has seen them committed, beside `evlog bench
throughput --producers 1` of the C++ command in the same run (--cli, or `evlog` on PATH).

Every database is a scratch file in a temporary directory (or --dir)."""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from array import array

import evlog

METADATA = {"path": "/tasks/3", "course": "python-101", "attempt": 2}
SCHEMA = ("CREATE TABLE IF NOT EXISTS analytics_events (id INTEGER PRIMARY KEY, "
          "event_type TEXT NOT NULL, user_id INTEGER, user_type TEXT, metadata TEXT, "
          "created_at TEXT DEFAULT CURRENT_TIMESTAMP)")
INSERT = ("INSERT INTO analytics_events (event_type, user_id, user_type, metadata) "
          "VALUES (?, ?, ?, ?)")


def connect(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(SCHEMA)
    return con


class QueueStrategy:
    """The queue-and-thread fix as it is usually written, with its drops counted."""

    def __init__(self, path: str):
        self.queue: queue.Queue = queue.Queue(maxsize=1000)
        self.dropped = 0
        self.con = connect(path)
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()

    def log(self, event_type, user_id=None, user_type=None, metadata=None):
        text = json.dumps(metadata) if metadata else None
        try:
            self.queue.put_nowait({"event_type": event_type, "user_id": user_id,
                                   "user_type": user_type, "metadata": text})
        except queue.Full:
            self.dropped += 1

    def _work(self):
        while True:
            events = []
            try:
                events.append(self.queue.get(timeout=0.1))
                for _ in range(9):
                    events.append(self.queue.get_nowait())
            except queue.Empty:
                pass
            if events:
                with self.con:
                    self.con.execute("BEGIN")
                    self.con.executemany(INSERT, [(e["event_type"], e["user_id"],
                                                   e["user_type"], e["metadata"])
                                                  for e in events])
                for _ in events:
                    self.queue.task_done()

    def drain(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.queue.unfinished_tasks


class SyncStrategy:
    """One INSERT in its own transaction per event, on the calling thread."""

    def __init__(self, path: str):
        self.con = connect(path)
        self.dropped = 0

    def log(self, event_type, user_id=None, user_type=None, metadata=None):
        text = json.dumps(metadata) if metadata else None
        self.con.execute(INSERT, (event_type, user_id, user_type, text))


def time_tight(log, calls: int) -> array:
    out = array("q", bytes(8 * calls))
    clock = time.perf_counter_ns
    md = METADATA
    for i in range(calls):
        t0 = clock()
        log("page_view", user_id=i, user_type="student", metadata=md)
        out[i] = clock() - t0
    return out


def time_paced(log, calls: int, rate: float) -> array:
    out = array("q", bytes(8 * calls))
    clock = time.perf_counter_ns
    md = METADATA
    step = int(1e9 / rate)
    due = clock()
    for i in range(calls):
        due += step
        while clock() < due:
            pass
        t0 = clock()
        log("page_view", user_id=i, user_type="student", metadata=md)
        out[i] = clock() - t0
    return out


def time_nothing(calls: int) -> array:
    out = array("q", bytes(8 * calls))
    clock = time.perf_counter_ns
    for i in range(calls):
        t0 = clock()
        out[i] = clock() - t0
    return out


def percentiles(samples: array) -> dict:
    s = sorted(samples)
    n = len(s)
    return {p: s[min(n - 1, int(p / 100 * n))] for p in (50, 90, 99, 99.9)}


def ns(v: float) -> str:
    if v < 1_000:
        return f"{v:.0f} ns"
    if v < 1_000_000:
        return f"{v / 1e3:.2f} µs"
    return f"{v / 1e6:.2f} ms"


def throughput_python(path: str, events: int) -> float:
    logger = evlog.Logger(path, table="bench_throughput_python", on_full="block",
                          block_timeout=10)
    md = {"path": "/tasks/3", "course": "python-101"}  # the C++ bench's metadata
    log = logger.log
    start = time.perf_counter()
    for _ in range(events):
        log("page_view", 42, "student", md)
    assert logger.flush(300), "flush did not finish"
    seconds = time.perf_counter() - start
    stats = logger.stats()
    logger.shutdown()
    assert stats.written == events and stats.dropped == 0, stats
    return events / seconds


def throughput_cpp(cli: str, path: str, events: int, work: str) -> float:
    report = os.path.join(work, "throughput.json")
    subprocess.run([cli, "bench", "throughput", "--database", path, "--events", str(events),
                    "--producers", "1", "--json", report], check=True,
                   stdout=subprocess.DEVNULL)
    with open(report) as f:
        data = json.load(f)
    return next(r["events_per_s"] for r in data["evlog"] if r["producers"] == 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evlog.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1_000_000, help="tight calls (evlog, queue)")
    parser.add_argument("--sync-calls", type=int, default=20_000, help="tight calls (sqlite3)")
    parser.add_argument("--paced-calls", type=int, default=40_000)
    parser.add_argument("--rate", type=float, default=10_000, help="paced calls a second")
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="events of the end-to-end rate (Python and C++)")
    parser.add_argument("--cli", default=shutil.which("evlog"),
                        help="the evlog command, for the C++ rate (default: evlog on PATH)")
    parser.add_argument("--dir", help="where the scratch databases go (default: a temporary one)")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args(argv)

    work = args.dir or tempfile.mkdtemp(prefix="evlog-pybench-")
    os.makedirs(work, exist_ok=True)
    print(f"python {sys.version.split()[0]} ({sys.executable}), evlog {evlog.__version__}, "
          f"{os.cpu_count()} cores; databases in {work}")
    timer = percentiles(time_nothing(args.calls))
    print(f"timer alone (perf_counter_ns twice): p50 {ns(timer[50])}, included below\n")

    figures = {"timer_p50_ns": timer[50], "cells": []}
    evlog_logger = evlog.Logger(os.path.join(work, "evlog.db"), queue_capacity=1 << 21,
                                on_warning=lambda line: None)
    strategies = [
        ("evlog", evlog_logger.log, lambda: evlog_logger.stats().dropped, args.calls),
    ]
    queued = QueueStrategy(os.path.join(work, "queue.db"))
    strategies.append(("queue", queued.log, lambda: queued.dropped, args.calls))
    synced = SyncStrategy(os.path.join(work, "sqlite3.db"))
    strategies.append(("sqlite3", synced.log, lambda: 0, args.sync_calls))

    header = (f"{'mode':6} {'strategy':8} {'calls':>9} {'p50':>9} {'p90':>9} {'p99':>9} "
              f"{'p99.9':>9} {'dropped':>9}")
    print(header)
    print("-" * len(header))
    p50 = {}
    dropped = {}
    for mode in ("tight", "paced"):
        for name, log, drops, tight_calls in strategies:
            before = drops()
            if mode == "tight":
                samples = time_tight(log, tight_calls)
            else:
                samples = time_paced(log, args.paced_calls, args.rate)
            lost = drops() - before
            pc = percentiles(samples)
            p50[(mode, name)] = pc[50]
            dropped[(mode, name)] = lost
            print(f"{mode:6} {name:8} {len(samples):>9,} {ns(pc[50]):>9} {ns(pc[90]):>9} "
                  f"{ns(pc[99]):>9} {ns(pc[99.9]):>9} {lost:>9,}")
            figures["cells"].append({"mode": mode, "strategy": name, "calls": len(samples),
                                     "p50_ns": pc[50], "p90_ns": pc[90], "p99_ns": pc[99],
                                     "p99_9_ns": pc[99.9], "dropped": lost})
            if name == "evlog":
                assert evlog_logger.flush(60)
            if name == "queue":
                queued.drain(60)
    evlog_logger.shutdown()

    print()
    verdicts = []

    def verdict(text, met):
        verdicts.append({"target": text, "met": met})
        print(f"  {text}: {'met' if met else 'MISSED'}")

    print("ratios and targets:")
    for mode in ("tight", "paced"):
        e, q, s = p50[(mode, "evlog")], p50[(mode, "queue")], p50[(mode, "sqlite3")]
        print(f"  {mode}: queue/evlog p50 {q / e:.1f}x, sqlite3/evlog p50 {s / e:.1f}x")
        verdict(f"{mode}: evlog p50 {ns(e)} <= 500 ns", e <= 500)
        verdict(f"{mode}: evlog p50 >= 4x lower than queue's ({q / e:.1f}x)", q >= 4 * e)
        verdict(f"{mode}: evlog dropped {dropped[(mode, 'evlog')]} where queue dropped "
                f"{dropped[(mode, 'queue')]}", dropped[(mode, "evlog")] == 0)

    python_rate = throughput_python(os.path.join(work, "throughput.db"), args.events)
    print(f"\nend to end, one Python thread, {args.events:,} events: {python_rate:,.0f} rows/s")
    figures["python_rows_per_s"] = python_rate
    if args.cli:  # an empty --cli leaves the C++ rate out
        cpp_rate = throughput_cpp(args.cli, os.path.join(work, "throughput.db"), args.events,
                                  work)
        figures["cpp_rows_per_s"] = cpp_rate
        print(f"`evlog bench throughput --producers 1` (C++), same run: {cpp_rate:,.0f} rows/s")
        verdict(f"Python rows/s >= 70% of C++'s ({100 * python_rate / cpp_rate:.0f}%)",
                python_rate >= 0.7 * cpp_rate)
    else:
        print("the C++ rate needs the evlog command: --cli PATH (not found on PATH)")
    figures["verdicts"] = verdicts
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
