"""Many Python threads logging at once: the accounting identity holds exactly after flush(),
every written event is in the table once, and the binding's own refusals are counted with the
rest."""

from __future__ import annotations

import threading

import evlog
from conftest import accounted, count_rows, rows, scale


def test_eight_threads_accounting_is_exact_and_every_event_lands_once(db):
    threads = 8
    per_thread = scale(20000)
    # A queue smaller than the load, so that some calls are dropped and counted as such.
    logger = evlog.Logger(db, queue_capacity=4096, max_delay=0.01, on_warning=lambda l: None)
    start = threading.Barrier(threads)
    answers = [None] * threads

    def work(t):
        start.wait()
        mine = {"ok": 0, "rejected": 0, "dropped": 0}
        for i in range(per_thread):
            uid = t * 10_000_000 + i
            if i % 10 == 3:
                r = logger.log("page_view", uid, metadata={"bad": {1, 2}})  # binding refusal
            elif i % 10 == 7:
                r = logger.log("page_view", str(uid))  # wrong type: binding refusal
            elif i % 10 == 9:
                r = logger.log("bad type", uid)  # C++ refusal
            else:
                r = logger.log("page_view", uid, "student", {"t": t, "i": i})
            key = "ok" if r.ok else r.outcome.value
            mine[key] += 1
        answers[t] = mine

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert logger.flush(30.0)
    stats = logger.stats()
    logger.shutdown(5.0)

    calls = threads * per_thread
    assert accounted(stats, calls)
    assert stats.rejected == sum(a["rejected"] for a in answers) == calls * 3 // 10
    assert stats.dropped == sum(a["dropped"] for a in answers)
    assert stats.written == sum(a["ok"] for a in answers)
    assert count_rows(db) == stats.written
    # Each admitted event once: user ids are unique per call.
    assert rows(db, "SELECT count(DISTINCT user_id) FROM analytics_events") == [(stats.written,)]


def test_threads_mixing_async_and_committed_delivery(db):
    threads = 8
    per_thread = scale(2000)
    with evlog.Logger(db, critical_types={"quiz_attempt"}, on_full="block",
                      block_timeout=10) as logger:
        outcomes = []
        lock = threading.Lock()

        def work(t):
            mine = []
            for i in range(per_thread):
                kind = "quiz_attempt" if i % 20 == 0 else "page_view"
                mine.append(logger.log(kind, t * 100000 + i).outcome.value)
            with lock:
                outcomes.extend(mine)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert logger.flush(30.0)
        stats = logger.stats()
    calls = threads * per_thread
    assert outcomes.count("committed") == calls // 20
    assert outcomes.count("queued") == calls - calls // 20
    assert accounted(stats, calls)
    assert stats.written == calls == count_rows(db)
