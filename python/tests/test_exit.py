"""Nothing is lost at exit: a logger still open when the interpreter exits, or garbage collected,
is shut down within its shutdown_timeout; several are shut down together; the last warnings
reach on_warning; and an exit never hangs past shutdown_timeout plus a second, nor crashes,
even while other threads are still logging."""

from __future__ import annotations

import time

import evlog
from conftest import count_rows, rows, run_python, scale, write_lock


def test_a_script_that_never_flushes_leaves_every_row(db):
    n = scale(100000)
    proc = run_python(f"""
        import sys, evlog
        logger = evlog.Logger(sys.argv[1], on_full="block", block_timeout=10)
        for i in range({n}):
            assert logger.log("page_view", i, "student", {{"i": i}}).ok
        print("logged")
    """, db)
    assert proc.stdout.strip() == "logged"
    assert count_rows(db) == n
    assert rows(db, "SELECT count(DISTINCT user_id) FROM analytics_events") == [(n,)]


def test_a_logger_dropped_by_the_program_is_shut_down_with_its_rows(db):
    lines = []
    logger = evlog.Logger(db, max_delay=10, on_warning=lines.append)  # nothing written by time
    for i in range(1000):
        assert logger.log("page_view", i).ok
    del logger  # the last reference: the destructor shuts it down
    assert count_rows(db) == 1000


def test_a_garbage_collected_cycle_is_shut_down(db):
    import gc

    class Holder:
        pass

    holder = Holder()
    holder.self = holder
    holder.logger = evlog.Logger(db, max_delay=10)
    for i in range(100):
        holder.logger.log("page_view", i)
    del holder
    gc.collect()
    assert count_rows(db) == 100


def test_pending_warnings_reach_on_warning_before_shutdown_returns(db):
    # The database is locked through the whole shutdown: its events are lost at the deadline,
    # and the warning saying so reaches on_warning before shutdown() returns.
    with evlog.Logger(db) as lg:
        lg.log("prime")
    lines = []
    logger = evlog.Logger(db, on_warning=lambda line: (time.sleep(0.05), lines.append(line)))
    with write_lock(db):
        for i in range(10):
            logger.log("page_view", i)
        started = time.monotonic()
        assert logger.shutdown(0.5) is False
        took = time.monotonic() - started
    assert any("lost" in line for line in lines), lines
    assert took < 0.5 + 0.5 + 0.3, took  # the deadline, the warnings' grace, scheduling


def test_warnings_pending_at_exit_reach_on_warning(db, tmp_path):
    with evlog.Logger(db) as lg:
        lg.log("prime")
    out = tmp_path / "warnings.txt"
    proc = run_python("""
        import sqlite3, sys, evlog
        db, out = sys.argv[1], sys.argv[2]
        def keep(line):
            with open(out, "a") as f:
                f.write(line + "\\n")
        logger = evlog.Logger(db, shutdown_timeout=0.5, on_warning=keep)
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")  # held until the process ends
        for i in range(10):
            logger.log("page_view", i)
    """, db, str(out))
    assert proc.returncode == 0
    assert "lost 10 events not written by the shutdown deadline" in out.read_text()


def test_open_loggers_are_shut_down_together_at_exit(tmp_path):
    # Three loggers whose databases are all locked: each loses its events at its own
    # shutdown_timeout (1 s). One after another would take 3 s; together, about 1 s.
    dbs = [str(tmp_path / f"db{i}.db") for i in range(3)]
    for path in dbs:
        with evlog.Logger(path) as lg:
            lg.log("prime")
    proc = run_python("""
        import sqlite3, sys, time, evlog
        locks = []
        loggers = []
        for path in sys.argv[1:]:
            loggers.append(evlog.Logger(path, shutdown_timeout=1.0, on_warning=lambda l: None))
            con = sqlite3.connect(path, isolation_level=None)
            con.execute("BEGIN IMMEDIATE")
            locks.append(con)
        for lg in loggers:
            for i in range(5):
                lg.log("page_view", i)
        print(time.monotonic(), flush=True)
    """, *dbs)
    ended = time.monotonic()
    began = float(proc.stdout.strip())
    took = ended - began
    assert 0.9 < took < 2.5, f"exit took {took:.2f} s for three 1 s shutdowns (3 s in turn)"


def test_exit_is_bounded_and_clean_while_daemon_threads_keep_logging(db):
    with evlog.Logger(db) as lg:
        lg.log("prime")
    proc = run_python("""
        import sqlite3, sys, threading, time, evlog
        logger = evlog.Logger(sys.argv[1], shutdown_timeout=1.0, commit_timeout=0.2,
                              critical_types={"task_complete"}, on_warning=lambda l: None)
        def spam(kind):
            i = 0
            while True:
                logger.log(kind, i, "student", {"i": i})
                i += 1
        for kind in ("page_view", "task_complete", "page_view", "task_complete"):
            threading.Thread(target=spam, args=(kind,), daemon=True).start()
        con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
        time.sleep(0.3)
        con.execute("BEGIN IMMEDIATE")  # the database stops answering: shutdown hits its deadline
        time.sleep(0.2)
        print(time.monotonic(), flush=True)
    """, db, timeout=30)
    took = time.monotonic() - float(proc.stdout.strip())
    assert proc.returncode == 0, proc.stderr
    assert "Fatal" not in proc.stderr and "terminate" not in proc.stderr, proc.stderr
    # From the end of the script to the end of the process: shutdown_timeout plus at most 1 s.
    assert took < 1.0 + 1.0, f"exit took {took:.2f} s"


def test_exit_with_daemon_threads_and_a_healthy_database_writes_what_they_logged(db):
    proc = run_python("""
        import sys, threading, time, evlog
        logger = evlog.Logger(sys.argv[1], critical_types={"task_complete"})
        counts = {}
        def spam(kind):
            i = 0
            while True:
                if logger.log(kind, i).ok:
                    counts[kind] = i + 1
                i += 1
        for kind in ("page_view", "task_complete"):
            threading.Thread(target=spam, args=(kind,), daemon=True).start()
        time.sleep(0.5)
        print("exiting", flush=True)
    """, db, timeout=30)
    assert proc.returncode == 0, proc.stderr
    # No duplicate: every row has its own event_id; and the threads did log.
    assert rows(db, "SELECT count(*) = count(DISTINCT event_id) FROM analytics_events") == [(1,)]
    assert count_rows(db, "event_type = 'task_complete'") > 0
    assert count_rows(db, "event_type = 'page_view'") > 0


def test_an_on_warning_that_never_returns_does_not_hold_up_the_exit(db):
    with evlog.Logger(db) as lg:
        lg.log("prime")
    proc = run_python("""
        import sqlite3, sys, time, evlog
        def stuck(line):
            time.sleep(60)
        logger = evlog.Logger(sys.argv[1], shutdown_timeout=0.5, db_timeout=0.05,
                              on_warning=stuck)
        con = sqlite3.connect(sys.argv[1], isolation_level=None)
        con.execute("BEGIN IMMEDIATE")  # the writer fails and warns; on_warning never returns
        for i in range(10):
            logger.log("page_view", i)
        time.sleep(0.3)
        print(time.monotonic(), flush=True)
    """, db, timeout=60)
    took = time.monotonic() - float(proc.stdout.strip())
    assert took < 0.5 + 1.0, f"exit took {took:.2f} s"
    # The warnings on_warning could not take went to stderr instead of being lost.
    assert "lost 10 events" in proc.stderr, proc.stderr
