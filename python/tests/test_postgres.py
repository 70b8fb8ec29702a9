"""The same Logger writing to PostgreSQL, given a URI: the throwaway server that scripts/test.sh
starts (EVLOG_TEST_PG). These tests fail, never skip, without it."""

from __future__ import annotations

import os
import subprocess
import time

import evlog
from conftest import accounted


def server() -> str:
    uri = os.environ.get("EVLOG_TEST_PG")
    assert uri, "EVLOG_TEST_PG must name the test server (scripts/test.sh starts one)"
    return uri


def psql(sql: str) -> str:
    # psql runs without the sanitizer runtime the ASan run preloads into Python (it hangs there).
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    out = subprocess.run(["psql", server(), "-tAq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, check=True, env=env, timeout=60)
    return out.stdout.strip()


def test_events_land_in_postgresql_with_committed_delivery_and_jsonb(tmp_path):
    table = f"py_events_{os.getpid()}"
    try:
        with evlog.Logger(server(), table=table, critical_types={"task_complete"}) as logger:
            for i in range(1000):
                assert logger.log("page_view", i, "student", {"i": i, "s": "é"}).ok
            r = logger.log("task_complete", 7, "student", {"task_id": 3})
            assert r.outcome == "committed"
            # Committed means visible to every connection now.
            assert psql(f"SELECT count(*) FROM {table} WHERE event_type = 'task_complete'") == "1"
            assert logger.flush(10.0)
            stats = logger.stats()
            assert stats.written == 1001 and accounted(stats, 1001)
        assert psql(f"SELECT count(*), count(DISTINCT event_id) FROM {table}") == "1001|1001"
        assert psql(f"SELECT metadata->>'s' FROM {table} WHERE user_id = 5") == "é"
    finally:
        psql(f"DROP TABLE IF EXISTS {table}")


def test_an_unreachable_server_never_shows_its_password(tmp_path):
    lines = []
    uri = "postgresql://app:py-secret-marker@127.0.0.1:1/nodb?connect_timeout=1"
    logger = evlog.Logger(uri, db_timeout=0.2, retry_max=0.1, on_warning=lines.append)
    assert logger.log("page_view").ok
    deadline = time.monotonic() + 10
    while not logger.stats().database_failing and time.monotonic() < deadline:
        time.sleep(0.05)
    stats = logger.stats()
    assert stats.database_failing and stats.last_error
    logger.shutdown(0.5)
    text = "\n".join(lines) + stats.last_error + repr(logger.stats()) + repr(logger)
    assert lines
    assert "py-secret-marker" not in text
