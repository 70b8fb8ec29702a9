"""The educational web app of the classroom example, in Flask, logging its analytics events
through one function whose body the config key CLASSROOM_LOGGING chooses (see analytics.py).

Run it under gunicorn, after seeding its database::

    python3 -m flask_classroom seed --database classroom.db
    CLASSROOM_DATABASE=classroom.db gunicorn -w 4 -b 127.0.0.1:8000 'flask_classroom:create_app()'

Configuration (create_app(config) or the environment):

  CLASSROOM_DATABASE  the SQLite file of the app's data and its analytics_events table
                      (default classroom.db; $CLASSROOM_DATABASE)
  CLASSROOM_LOGGING   off | sync | queue | selective | evlog (default evlog; $CLASSROOM_LOGGING)
  CLASSROOM_ANALYTICS_DATABASE
                      the SQLite file of the analytics_events table, in every mode (default: the
                      app's own file, as the app had it; $CLASSROOM_ANALYTICS_DATABASE)
  EVLOG_OPTIONS       more evlog.Logger keywords for the evlog mode (default: durability "full",
                      as the app's own writes; $CLASSROOM_EVLOG_OPTIONS, a JSON object)
  CLASSROOM_LOG_STATS with evlog: each process writes one line of its evlog.Stats to stderr (the
                      gunicorn log) as it exits ($CLASSROOM_LOG_STATS=1)
"""

from __future__ import annotations

import atexit
import json
import os
import sys

from flask import Flask, g

from . import views
from .analytics import CRITICAL_TYPES, MODES, analytics, make_logger
from .db import Database, ensure_analytics_table

MAX_BODY_BYTES = 64 * 1024


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        CLASSROOM_DATABASE=os.environ.get("CLASSROOM_DATABASE", "classroom.db"),
        CLASSROOM_LOGGING=os.environ.get("CLASSROOM_LOGGING", "evlog"),
        CLASSROOM_ANALYTICS_DATABASE=os.environ.get("CLASSROOM_ANALYTICS_DATABASE"),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,  # larger bodies: 413, chunked ones too
        EVLOG_OPTIONS=json.loads(os.environ.get("CLASSROOM_EVLOG_OPTIONS",
                                                '{"durability": "full"}')),
    )
    app.config.update(config or {})
    mode = app.config["CLASSROOM_LOGGING"]
    if mode not in MODES:
        raise ValueError(f"CLASSROOM_LOGGING: must be one of {', '.join(MODES)}, got {mode!r}")
    db = Database(os.path.abspath(app.config["CLASSROOM_DATABASE"]))
    analytics_path = app.config["CLASSROOM_ANALYTICS_DATABASE"]
    events_db = Database(os.path.abspath(analytics_path)) if analytics_path else db
    if events_db is not db:
        ensure_analytics_table(events_db.path)
    app.extensions["classroom"] = {"db": db, "mode": mode}

    if mode == "evlog":
        # The whole migration: the same table, the critical types, and page views from the
        # extension's own hook.
        app.config.setdefault("EVLOG_DATABASE", events_db.path)
        app.config.setdefault("EVLOG_CRITICAL_TYPES", CRITICAL_TYPES)
        app.config.setdefault("EVLOG_PAGE_VIEWS", True)
        analytics.init_app(app)
        if app.config.get("CLASSROOM_LOG_STATS", os.environ.get("CLASSROOM_LOG_STATS") == "1"):
            atexit.register(_print_stats, app)
    app.extensions["classroom"]["log"] = make_logger(mode, events_db)
    if mode != "evlog":
        app.after_request(views.log_page_view)

    app.register_blueprint(views.bp)
    return app


def _print_stats(app: Flask) -> None:
    """At exit (before evlog's own drain, atexit runs the later registration first): this
    process's counters, after a flush, for the load script."""
    state = app.extensions.get("evlog")
    logger = state.peek() if state is not None else None
    if logger is not None:
        logger.flush(5.0)
        s = logger.stats()
        print(f"evlog stats: pid {os.getpid()}, written {s.written}, batches {s.batches}, "
              f"dropped {s.dropped}, lost {s.lost}", file=sys.stderr, flush=True)


@analytics.user_loader
def _current_user():
    user = g.get("user")
    return (user.id, user.role) if user is not None else None
