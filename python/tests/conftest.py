"""Shared helpers for the evlog Python tests: real SQLite files in a temporary directory, the
accounting identity, a held write lock, subprocesses of this same interpreter, and a probe that
sees whether a call released the GIL."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import evlog

# Loop counts are scaled down in the sanitizer run (EVLOG_TEST_SCALE=0.2), as the C++ suites are.
SCALE = float(os.environ.get("EVLOG_TEST_SCALE", "1"))


def pytest_configure(config):
    config.addinivalue_line("markers", "cli: compares with the evlog command (EVLOG_CLI)")


def scale(n: int) -> int:
    return max(1, int(n * SCALE))


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "analytics.db")


def count_rows(path: str, where: str = "", params=()) -> int:
    con = sqlite3.connect(path)
    try:
        sql = "SELECT count(*) FROM analytics_events" + (f" WHERE {where}" if where else "")
        return con.execute(sql, params).fetchone()[0]
    finally:
        con.close()


def rows(path: str, sql: str, params=()) -> list:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def accounted(stats: evlog.Stats, calls: int) -> bool:
    """The accounting identity: every call counted in exactly one place."""
    total = stats.accounted()
    assert stats.dropped == stats.dropped_queue_full + stats.dropped_bytes_full, stats
    assert total == calls, f"{total} counted for {calls} calls: {stats}"
    return True


@contextlib.contextmanager
def write_lock(path: str):
    """Holds SQLite's write lock on `path` (BEGIN IMMEDIATE) until the block ends; the table must
    exist. Another connection's writes wait for it, as under a long transaction elsewhere."""
    con = sqlite3.connect(path, isolation_level=None, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    finally:
        con.execute("ROLLBACK")
        con.close()


def run_python(code: str, *args: str, timeout: float = 120, env=None, check=True):
    """Runs `code` in a new process of this interpreter (the same evlog on sys.path)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


class GilProbe:
    """Tells whether a call let another Python thread run, i.e. released the GIL.

    The interpreter's switch interval is raised to 100 s meanwhile, so a thread holding the GIL
    keeps it until it releases it itself. A second thread counts in a loop that releases the GIL
    at each turn (time.sleep(0)); while the main thread holds the GIL the count cannot move, and
    it moves as soon as the main thread releases it to wait."""

    def __enter__(self):
        self._old = sys.getswitchinterval()
        sys.setswitchinterval(100)
        self.count = 0
        self._stop = False
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()
        while self.count == 0:
            time.sleep(0.001)
        return self

    def _spin(self):
        while not self._stop:
            self.count += 1
            time.sleep(0)

    def ran_during(self, call):
        """Calls `call()`; returns (its result, whether the counting thread ran meanwhile)."""
        before = self.count
        result = call()
        return result, self.count != before

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()
        sys.setswitchinterval(self._old)
