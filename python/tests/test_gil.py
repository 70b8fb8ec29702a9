"""Where evlog holds Python's GIL and where it lets go.

An async log() that does not wait keeps it (releasing it costs a wait of up to the switch
interval whenever another thread is busy); every call that can wait releases it, so that other
Python threads run meanwhile: a committed-delivery wait, on_full="block" on a full queue,
flush(), shutdown(), the constructor and the destructor. And the C++ writer never waits for the
GIL: it keeps writing while a Python thread holds it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import evlog
from conftest import GilProbe, count_rows, scale, write_lock


def make_table(db):
    with evlog.Logger(db) as logger:
        assert logger.log("prime").ok


def test_async_log_keeps_the_gil(db):
    with evlog.Logger(db, critical_types={"task_complete"}) as logger, GilProbe() as probe:
        results, ran = probe.ran_during(
            lambda: [logger.log("page_view", i, "student", {"i": i}) for i in range(10000)])
        assert all(r.outcome == "queued" for r in results)
        assert not ran, "an async log() that did not wait let another thread run"
        # The refusal path keeps it too.
        _, ran = probe.ran_during(lambda: [logger.log("bad type") for _ in range(1000)])
        assert not ran


def test_committed_wait_releases_the_gil(db):
    make_table(db)
    with evlog.Logger(db, critical_types={"task_complete"}, commit_timeout=0.3) as logger:
        with write_lock(db), GilProbe() as probe:
            # The commit cannot happen while the lock is held: the call waits its whole
            # commit_timeout, and other threads run meanwhile.
            r, ran = probe.ran_during(lambda: logger.log("task_complete", 1))
            assert r.outcome == "timed_out"
            assert ran, "a committed-delivery wait held the GIL"
        assert logger.flush(5.0)
    assert count_rows(db, "event_type = 'task_complete'") == 1


def test_block_on_a_full_queue_releases_the_gil_only_when_it_waits(db):
    make_table(db)
    logger = evlog.Logger(db, queue_capacity=16, max_batch=16, on_full="block", block_timeout=0.3,
                          max_delay=0.02, on_warning=lambda line: None)
    logger.log("prime")
    assert logger.flush(5.0)
    with write_lock(db), GilProbe() as probe:
        # Room in the queue: no wait, GIL kept (the writer may take a batch out meanwhile, so
        # stop before the slots run out).
        results, ran = probe.ran_during(lambda: [logger.log("page_view", i) for i in range(8)])
        assert all(r.ok for r in results) and not ran
        # Fill the queue (the writer holds one batch of 16 it cannot commit, and takes no more); then
        # a call waits for room up to block_timeout.
        assert any(logger.log("page_view", i).outcome == "dropped" for i in range(200))
        r, ran = probe.ran_during(lambda: logger.log("page_view", 999))
        assert r.outcome == "dropped" and "queue full" in r.message
        assert ran, "on_full='block' waited with the GIL held"
    logger.shutdown(5.0)


def test_flush_and_shutdown_release_the_gil(db):
    make_table(db)
    logger = evlog.Logger(db, max_delay=0.02, on_warning=lambda line: None)
    with write_lock(db), GilProbe() as probe:
        logger.log("page_view")
        ok, ran = probe.ran_during(lambda: logger.flush(0.3))
        assert ok is False and ran, "flush() waited with the GIL held"
        ok, ran = probe.ran_during(lambda: logger.shutdown(0.3))
        assert ok is False and ran, "shutdown() waited with the GIL held"


def test_constructor_and_destructor_release_the_gil(db):
    # A database whose write lock another connection holds: creating the table waits up to
    # db_timeout in the constructor.
    import sqlite3

    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("BEGIN IMMEDIATE")
    con.execute("CREATE TABLE other (x)")
    with GilProbe() as probe:
        holder = []
        _, ran = probe.ran_during(lambda: holder.append(
            evlog.Logger(db, db_timeout=0.3, shutdown_timeout=0.3, on_warning=lambda l: None)))
        assert ran, "the constructor waited for the database with the GIL held"
        holder[0].log("page_view")
        # The destructor shuts down within shutdown_timeout, the lock still held.
        _, ran = probe.ran_during(holder.clear)
        assert ran, "the destructor waited with the GIL held"
    con.execute("ROLLBACK")
    con.close()


def test_sixteen_threads_logging_committed_events_share_commits(db):
    per_thread = scale(200)
    threads = 16
    with evlog.Logger(db, critical_types={"task_complete"}) as logger:
        start = threading.Barrier(threads)
        outcomes = []

        def work(t):
            start.wait()
            mine = [logger.log("task_complete", t, "student", {"n": n}).outcome
                    for n in range(per_thread)]
            outcomes.extend(mine)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        stats = logger.stats()
    assert outcomes.count("committed") == threads * per_thread
    assert stats.committed_waits == threads * per_thread
    # Group commit: the threads' waits overlapped, so commits carried several events each.
    assert stats.written / stats.batches > 1.5, stats
    assert count_rows(db) == threads * per_thread


def gil_hold(seconds: float):
    """Holds the GIL for `seconds`: C calls that run no bytecode (sum over a range), back to
    back, with the switch interval raised so that no other thread is handed the GIL between
    them. Returns (start, end) on the monotonic clock."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1000)
    try:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            sum(range(1_000_000))
        return start, time.monotonic()
    finally:
        sys.setswitchinterval(old)


def test_the_writer_keeps_writing_while_a_python_thread_holds_the_gil(db, tmp_path):
    make_table(db)
    # Another process holds the write lock until told, then for 1.5 s more, so that the writer
    # fails and warns while the GIL is held; then it releases the lock and reports when the
    # rows have reached the table (time.monotonic() is the system-wide CLOCK_MONOTONIC).
    observer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import sqlite3, sys, time
            con = sqlite3.connect(sys.argv[1], isolation_level=None)
            con.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            target = int(sys.stdin.readline())
            time.sleep(1.5)  # the writer retries, and warns again after its 1 s rate limit
            con.execute("ROLLBACK")
            released = time.monotonic()
            while con.execute("SELECT count(*) FROM analytics_events").fetchone()[0] < target:
                time.sleep(0.005)
            print(released, time.monotonic(), flush=True)
        """), db],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert observer.stdout.readline().strip() == "locked"

    lines = []
    threads = []

    def on_warning(line):
        lines.append(line)
        threads.append(threading.get_native_id())

    logger = evlog.Logger(db, queue_capacity=1024, max_batch=1024, max_delay=0.02, db_timeout=0.05,
                          on_warning=on_warning)
    admitted = sum(logger.log("page_view", i, metadata={"i": i}).ok for i in range(3000))
    assert 1000 <= admitted < 3000  # the rest dropped: the writer will warn about it
    observer.stdin.write(f"{admitted + 1}\n")  # + the prime row
    observer.stdin.flush()
    held_from, held_to = gil_hold(3.5)
    released, reached = (float(x) for x in observer.stdout.readline().split())
    observer.wait(timeout=30)

    assert held_to - held_from > 2.0
    assert held_from < released < reached < held_to, (
        f"rows reached the table at {reached - held_from:.3f} s into a GIL hold of "
        f"{held_to - held_from:.3f} s (lock released at {released - held_from:.3f} s)")
    assert logger.flush(5.0)
    logger.shutdown(5.0)
    assert count_rows(db) == admitted + 1
    # The drops and the lock were reported, from the relay's own thread, never the writer's.
    assert any("drop" in line for line in lines), lines
    for tid in threads:
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                assert f.read().strip() == "evlog-warnings"
        except FileNotFoundError:
            pass  # the relay's thread has ended since (shutdown)
    assert threads and all(t != threading.get_native_id() for t in threads)


def test_on_warning_that_raises_is_reported_and_stops_nothing(db):
    make_table(db)
    seen = []
    hook_calls = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = hook_calls.append

    def bad(line):
        seen.append(line)
        raise RuntimeError("on_warning failed")

    try:
        logger = evlog.Logger(db, queue_capacity=16, max_delay=0.02, on_warning=bad)
        logger.log("prime")
        assert logger.flush(5.0)
        with write_lock(db):
            for i in range(100):
                logger.log("page_view", i)
        assert logger.flush(5.0)
        for i in range(5):
            assert logger.log("after", i).ok
        assert logger.shutdown(5.0)
    finally:
        sys.unraisablehook = old_hook
    assert seen, "no warning reached on_warning"
    assert hook_calls and isinstance(hook_calls[0].exc_value, RuntimeError)
    assert count_rows(db, "event_type = 'after'") == 5


def test_on_warning_that_raises_prints_the_traceback_on_stderr(db):
    code = """
        import sqlite3, sys, evlog
        db = sys.argv[1]
        def bad(line):
            raise RuntimeError("on_warning failed: " + line[:20])
        logger = evlog.Logger(db, queue_capacity=16, max_delay=0.02, on_warning=bad)
        logger.log("prime"); assert logger.flush(5.0)
        con = sqlite3.connect(db, isolation_level=None); con.execute("BEGIN IMMEDIATE")
        for i in range(100): logger.log("page_view", i)
        con.execute("ROLLBACK")
        assert logger.shutdown(5.0)
        print("done")
    """
    from conftest import run_python

    proc = run_python(code, db)
    assert proc.stdout.strip() == "done"
    assert "RuntimeError: on_warning failed" in proc.stderr
    assert os.path.exists(db)
