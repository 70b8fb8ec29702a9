"""fork(): a logger created before os.fork() (or multiprocessing's fork start method) works in
parent and child; the child never writes the events its parent had queued, counts from zero,
and both sides' rows all land, including the child's when it ends without flushing. The
pre-forking server of a web app (a logger made in the master, used by every worker) is the
case that matters."""

from __future__ import annotations

import json

from conftest import count_rows, rows, run_python


def test_parent_and_child_both_land_and_the_child_never_writes_the_parents_events(db):
    proc = run_python("""
        import json, os, sys, evlog
        # max_delay of 10 s: the parent's events are still queued when it forks.
        logger = evlog.Logger(sys.argv[1], max_delay=10)
        for i in range(100):
            assert logger.log("parent", i).outcome == "queued"
        pid = os.fork()
        if pid == 0:
            fresh = logger.stats()
            for i in range(50):
                assert logger.log("child", i).ok
            assert logger.flush(10.0)
            print(json.dumps({"child_start": fresh.as_dict(), "child": logger.stats().as_dict()}),
                  flush=True)
            sys.exit(0)  # a normal exit: the atexit shutdown runs in the child too
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        for i in range(100, 120):
            assert logger.log("parent", i).ok
        assert logger.flush(10.0)
        print(json.dumps({"parent": logger.stats().as_dict()}), flush=True)
    """, db)
    reports = {}
    for line in proc.stdout.splitlines():
        reports.update(json.loads(line))
    # The child's counters start at zero and count its own 50 events only: had it written its
    # parent's 100 queued events, its `written` would say 150.
    assert all(v in (0, 0.0, "", False) for v in reports["child_start"].values())
    assert reports["child"]["written"] == 50
    assert reports["parent"]["written"] == 120
    assert count_rows(db, "event_type = 'parent'") == 120
    assert count_rows(db, "event_type = 'child'") == 50
    assert rows(db, "SELECT count(DISTINCT user_id) FROM analytics_events "
                    "WHERE event_type = 'parent'") == [(120,)]


def test_a_child_that_exits_without_flushing_still_lands(db):
    run_python("""
        import os, sys, evlog
        logger = evlog.Logger(sys.argv[1], max_delay=10)
        logger.log("parent", 0)
        pid = os.fork()
        if pid == 0:
            for i in range(1000):
                logger.log("child", i)
            sys.exit(0)  # no flush: the exit drains
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    """, db)
    assert count_rows(db, "event_type = 'child'") == 1000
    assert count_rows(db, "event_type = 'parent'") == 1


def test_multiprocessing_fork_children_land_without_flushing(db):
    run_python("""
        import multiprocessing, sys, evlog
        logger = evlog.Logger(sys.argv[1], max_delay=10, critical_types={"task_complete"})

        def work(n):
            # Committed, or timed out on a machine this busy: admitted either way.
            assert logger.log("task_complete", n).ok
            for i in range(1000):
                assert logger.log("page_view", n * 10000 + i).ok
            # Returns without flush, the page views still queued (max_delay is 10 s):
            # multiprocessing ends the child with os._exit(), and evlog's exit drain runs among
            # its finalizers.

        if __name__ == "__main__":
            ctx = multiprocessing.get_context("fork")
            for i in range(3):
                logger.log("parent", i)
            workers = [ctx.Process(target=work, args=(n,)) for n in range(4)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
                assert w.exitcode == 0
            # A pool's workers drain when they end normally (close, then join; terminate()
            # kills them with SIGTERM, as it would any program).
            pool = ctx.Pool(2)
            pool.map(work, range(4, 6))
            pool.close()
            pool.join()
    """, db)
    assert count_rows(db, "event_type = 'page_view'") == 6000
    assert count_rows(db, "event_type = 'task_complete'") == 6
    assert count_rows(db, "event_type = 'parent'") == 3


def test_a_preforking_server_with_the_logger_made_in_the_master(db):
    # As gunicorn --preload does: the master builds the logger, forks four workers, each serves
    # requests (async page views, committed critical events) and exits normally.
    run_python("""
        import os, sys, evlog
        logger = evlog.Logger(sys.argv[1], critical_types={"task_complete"},
                              on_warning=lambda line: print(line, file=sys.stderr))
        logger.log("master_start")
        children = []
        for w in range(4):
            pid = os.fork()
            if pid == 0:
                for i in range(2000):
                    assert logger.log("page_view", w * 100000 + i, "student").ok
                    if i % 100 == 0:
                        assert logger.log("task_complete", w).ok  # committed, or timed out
                sys.exit(0)
            children.append(pid)
        for pid in children:
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
        logger.log("master_stop")
    """, db)
    assert count_rows(db, "event_type = 'page_view'") == 8000
    assert count_rows(db, "event_type = 'task_complete'") == 80
    assert count_rows(db, "event_type LIKE 'master_%'") == 2
    assert rows(db, "SELECT count(DISTINCT event_id) FROM analytics_events") == [(8082,)]


def test_on_warning_works_in_a_child(db, tmp_path):
    # The relay's thread does not survive fork(): the child's warnings need one of its own.
    out = tmp_path / "child_warnings.txt"
    run_python("""
        import os, sqlite3, sys, evlog
        db, out = sys.argv[1], sys.argv[2]
        lines = []
        logger = evlog.Logger(db, queue_capacity=16, max_batch=16, max_delay=0.02,
                              on_warning=lines.append)
        logger.log("prime"); assert logger.flush(5.0)
        logger.log("parent")  # the parent's relay may be busy when the child is made
        pid = os.fork()
        if pid == 0:
            con = sqlite3.connect(db, isolation_level=None, timeout=30)
            con.execute("BEGIN IMMEDIATE")
            dropped = sum(logger.log("child", i).outcome == "dropped" for i in range(200))
            con.execute("ROLLBACK")
            assert dropped > 0
            assert logger.shutdown(5.0)
            with open(out, "w") as f:
                f.write("\\n".join(lines))
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert logger.shutdown(5.0)
    """, db, str(out))
    text = out.read_text()
    assert "dropped" in text, text


def test_forking_while_another_thread_logs(db):
    run_python("""
        import os, sys, threading, evlog
        logger = evlog.Logger(sys.argv[1], critical_types={"task_complete"},
                              on_full="block", block_timeout=10, on_warning=lambda line: None)
        stop = False
        logged = [0]
        def spam():
            while not stop:
                if logger.log("background", logged[0]).ok:
                    logged[0] += 1
        t = threading.Thread(target=spam)
        t.start()
        for n in range(10):
            pid = os.fork()
            if pid == 0:
                ok = sum(logger.log("child", n * 1000 + i).ok for i in range(100))
                committed = logger.log("task_complete", n).ok  # committed, or timed out
                done = logger.shutdown(10.0)
                os._exit(0 if ok == 100 and committed and done else 1)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, n
        stop = True
        t.join()
        assert logger.flush(10.0)
        s = logger.stats()
        assert s.written == logged[0] and s.dropped == 0, s
        print(logged[0])
    """, db, timeout=120)
    assert count_rows(db, "event_type = 'child'") == 1000
    assert count_rows(db, "event_type = 'task_complete'") == 10
