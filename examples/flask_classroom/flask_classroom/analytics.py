"""log_analytics_event(event_type, user_id=None, user_type=None, metadata=None): the app's one
call for analytics, with five bodies chosen by the config key CLASSROOM_LOGGING:

  off        logs nothing;
  sync       one INSERT in its own transaction on the request thread (the app as it was);
  queue      a bounded queue and a background thread, as such a fix is usually written;
  selective  the critical types synchronous, the rest through `queue`;
  evlog      evlog.flask.Analytics: the critical types by group commit, the rest async.

`queue` and `selective` are written as that fix is commonly described, their defects kept and
named in the comments below, with two exceptions so that the load test can compare them: their
drops are counted, and their flush at exit is bounded (5 s) instead of hanging."""

from __future__ import annotations

import atexit
import json
import queue
import sys
import threading

from evlog.flask import Analytics

from .db import Database, connect

CRITICAL_TYPES = {"task_start", "subtask_complete", "task_complete", "quiz_attempt"}
MODES = ("off", "sync", "queue", "selective", "evlog")

INSERT = ("INSERT INTO analytics_events (event_type, user_id, user_type, metadata) "
          "VALUES (?, ?, ?, ?)")

analytics = Analytics()


class Counters:
    """What the baseline modes drop or fail to write, per process, for the load test's table."""

    def __init__(self):
        self.dropped = 0
        self.failed = 0


counters = Counters()


def make_logger(mode: str, db: Database):
    """The body of log_analytics_event for `mode`."""
    if mode == "off":
        return lambda event_type, user_id=None, user_type=None, metadata=None: None
    if mode == "sync":
        return lambda *args, **kwargs: _insert(db, *args, **kwargs)
    if mode == "queue":
        worker = _QueueWorker(db.path)
        return worker.enqueue
    if mode == "selective":
        worker = _QueueWorker(db.path)

        def selective(event_type, user_id=None, user_type=None, metadata=None):
            # Defect: the list of critical types is kept by hand here; an event type added to
            # the app later and forgotten here is silently async.
            if event_type in CRITICAL_TYPES:
                _insert(db, event_type, user_id, user_type, metadata)  # blocks the request
            else:
                worker.enqueue(event_type, user_id, user_type, metadata)

        return selective
    if mode == "evlog":
        return analytics.log
    raise ValueError(f"CLASSROOM_LOGGING: must be one of {', '.join(MODES)}, got {mode!r}")


def _insert(db: Database, event_type, user_id=None, user_type=None, metadata=None):
    """The original: a transaction per event on the request thread. An error is printed and
    the event lost (the function never raises into the request)."""
    try:
        metadata_json = json.dumps(metadata) if metadata else None
        db.run(INSERT, (event_type, user_id, user_type, metadata_json))
    except Exception as e:
        counters.failed += 1
        print(f"ERROR: Failed to log analytics event: {e}", file=sys.stderr)


class _QueueWorker:
    """A queue.Queue(maxsize=1000) and a daemon thread writing batches of up to 10."""

    def __init__(self, path: str):
        self.path = path
        self.queue: queue.Queue = queue.Queue(maxsize=1000)
        # Defect: the thread is started where the app is built. Under a pre-forking server
        # that builds the app in its master (gunicorn --preload) the thread lives in the
        # master only, and every worker's events wait in a queue nobody reads.
        self.thread = threading.Thread(target=self._work, daemon=True)
        self.thread.start()
        atexit.register(self.flush)

    def enqueue(self, event_type, user_id=None, user_type=None, metadata=None):
        metadata_json = json.dumps(metadata) if metadata else None
        try:
            self.queue.put_nowait({"event_type": event_type, "user_id": user_id,
                                   "user_type": user_type, "metadata": metadata_json})
        except queue.Full:
            # Defect: a full queue drops the event with no trace (counted here only so that
            # the load test can print it).
            counters.dropped += 1

    def _work(self):
        con = connect(self.path)
        while True:
            events = []
            # Collect up to 10 events or wait 0.1 seconds.
            try:
                events.append(self.queue.get(timeout=0.1))
                for _ in range(9):
                    events.append(self.queue.get_nowait())
            except queue.Empty:
                pass
            if events:
                try:
                    with con:
                        con.execute("BEGIN")
                        con.executemany(INSERT, [(e["event_type"], e["user_id"], e["user_type"],
                                                  e["metadata"]) for e in events])
                except Exception as e:
                    # Defect: a failed batch is lost (and the thread would die on an error
                    # outside this block, taking every later event with it).
                    counters.failed += len(events)
                    print(f"ERROR: Failed to write analytics events: {e}", file=sys.stderr)
                for _ in events:
                    self.queue.task_done()

    def flush(self, timeout: float = 5.0):
        """At exit: wait for the queue to empty. Bounded here; the usual `queue.join()` waits
        forever when the thread is gone or stuck. What is still queued then is lost."""
        done = threading.Event()

        def join():
            self.queue.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        done.wait(timeout)
