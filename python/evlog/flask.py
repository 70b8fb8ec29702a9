"""evlog.flask: analytics events from a Flask app through evlog, in one line.

::

    from flask import Flask
    from evlog.flask import Analytics

    app = Flask(__name__)
    app.config["EVLOG_DATABASE"] = "classroom.db"
    app.config["EVLOG_CRITICAL_TYPES"] = {"task_start", "task_complete", "quiz_attempt"}
    analytics = Analytics(app)          # or: analytics = Analytics(); analytics.init_app(app)

    analytics.log("task_complete", user_id=7, user_type="student", metadata={"task_id": 3})

Configuration (read and checked in ``init_app``, so a bad value fails at start-up, naming the
key, not at the first request):

==========================  ========================================================  =========
key                         what                                                      default
==========================  ========================================================  =========
``EVLOG_DATABASE``          the SQLite file or PostgreSQL URI                         ``analytics.db`` in the app's instance folder
``EVLOG_CRITICAL_TYPES``    event types that wait for a group commit                  none
``EVLOG_OPTIONS``           a dict of any other ``evlog.Logger`` keyword              ``{}``
``EVLOG_PAGE_VIEWS``        log a ``page_view`` for each successful HTML ``GET``      ``False``
==========================  ========================================================  =========

The ``evlog.Logger`` of each app is created on first use, in the process that uses it: a
pre-forking server that imports the app in its master (``gunicorn --preload``) creates none
there, and each worker creates its own on its first event (a logger the master did use works in
the workers too: evlog's loggers survive ``fork()``). Each process drains its logger when it exits
(evlog shuts every open logger down at interpreter exit), so a worker that gunicorn stops
writes what it had queued before it ends, without waiting for ``max_delay``.

Per-app state lives in ``app.extensions["evlog"]``, never on the ``Analytics`` object, so one
``Analytics`` can serve several apps (tests, the factory pattern); inside a request it uses
``flask.current_app``.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Optional, Tuple

import flask

from . import Error, Logger, Outcome, Result, Stats, validate_options

__all__ = ["Analytics"]

_EXTENSION = "evlog"
_RESERVED = {"database": "EVLOG_DATABASE", "critical_types": "EVLOG_CRITICAL_TYPES"}

UserLoader = Callable[[], Optional[Tuple[Optional[int], Optional[str]]]]


class _Limiter:
    """At most one line a second through app.logger, with a count of what it held back."""

    def __init__(self, interval: float = 1.0):
        self._interval = interval
        self._lock = threading.Lock()
        self._last = -interval
        self._held = 0

    def report(self, logger, message: str) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self._interval:
                self._held += 1
                return
            held, self._held, self._last = self._held, 0, now
        if held:
            message += f" ({held} more not logged in the last second)"
        logger.warning(message)


class _State:
    """One app's analytics: its checked configuration, and its logger once created."""

    def __init__(self, extension: "Analytics", app: flask.Flask, database: str, options: dict):
        self.extension = extension
        self.app = app
        self.database = database
        self.options = options
        self.limiter = _Limiter()
        self._lock = threading.Lock()
        self._logger: Optional[Logger] = None

    def logger(self) -> Logger:
        logger = self._logger
        if logger is None:
            with self._lock:
                if self._logger is None:
                    folder = os.path.dirname(self.database)
                    if folder and "://" not in self.database and "=" not in self.database:
                        os.makedirs(folder, exist_ok=True)
                    self._logger = Logger(self.database, **self.options)
                logger = self._logger
        return logger

    def peek(self) -> Optional[Logger]:
        return self._logger


class Analytics:
    """The Flask extension: ``Analytics(app)``, or ``Analytics()`` and ``init_app(app)``."""

    def __init__(self, app: Optional[flask.Flask] = None):
        self._app = app
        self._user_loader: Optional[UserLoader] = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: flask.Flask) -> None:
        """Reads and checks the app's ``EVLOG_*`` configuration (raising ``evlog.Error`` or
        ``TypeError`` that names the key), and registers the page-view hook if asked. Opens
        nothing: the logger is created on first use."""
        config = app.config
        config.setdefault("EVLOG_DATABASE", None)
        config.setdefault("EVLOG_CRITICAL_TYPES", ())
        config.setdefault("EVLOG_OPTIONS", {})
        config.setdefault("EVLOG_PAGE_VIEWS", False)

        database = config["EVLOG_DATABASE"]
        if database is None:
            database = os.path.join(app.instance_path, "analytics.db")
        elif isinstance(database, os.PathLike):
            database = os.fspath(database)
        if not isinstance(database, str) or not database:
            raise Error(f"EVLOG_DATABASE: must be a non-empty str or os.PathLike, got "
                        f"{type(database).__name__}")
        extra = config["EVLOG_OPTIONS"]
        if not isinstance(extra, dict):
            raise Error(f"EVLOG_OPTIONS: must be a dict of evlog.Logger keywords, got "
                        f"{type(extra).__name__}")
        for key in extra:
            if key in _RESERVED:
                raise Error(f"EVLOG_OPTIONS['{key}']: set {_RESERVED[key]} instead")
        page_views = config["EVLOG_PAGE_VIEWS"]
        if not isinstance(page_views, bool):
            raise Error(f"EVLOG_PAGE_VIEWS: must be True or False, got {type(page_views).__name__}")
        options = dict(extra, critical_types=config["EVLOG_CRITICAL_TYPES"])
        critical = options["critical_types"]
        if isinstance(critical, (str, bytes)):
            raise Error("EVLOG_CRITICAL_TYPES: must be an iterable of str (a set, a list, ...), "
                        "not a single str")
        if critical is not None and not isinstance(critical, (set, frozenset, list, tuple)):
            critical = list(critical)  # a generator is read once, here
        options["critical_types"] = critical if critical is not None else ()
        try:
            validate_options(database, **options)
        except TypeError as e:
            raise TypeError(f"EVLOG_OPTIONS: {e}") from None
        except Error as e:
            raise Error(f"{_config_key(str(e))}: {e}") from None

        app.extensions[_EXTENSION] = _State(self, app, database, options)
        if page_views:
            app.after_request(_log_page_view)

    def user_loader(self, loader: UserLoader) -> UserLoader:
        """Registers the function that names the user of the current request for page views:
        it returns ``(user_id, user_type)``, or ``None`` for an anonymous request. Usable as a
        decorator. Applies to every app this extension serves."""
        self._user_loader = loader
        return loader

    def log(
        self,
        event_type: str,
        user_id: Optional[int] = None,
        user_type: Optional[str] = None,
        metadata: Any = None,
    ) -> Result:
        """Records one event through the current app's logger: the usual
        ``log_analytics_event`` signature, so that an app migrates by making that function call
        this one. Returns the ``evlog.Result`` and never raises into a request; an event that is
        not admitted is reported through ``app.logger``, at most one line a second."""
        state = self._state()
        try:
            result = state.logger().log(event_type, user_id, user_type, metadata)
        except Exception as e:  # the logger could not be created (a database it cannot open)
            result = Result(Outcome.CLOSED, f"no logger: {e}", False)
        if not result.ok:
            state.limiter.report(state.app.logger,
                                 f"evlog: {event_type} not logged: {result.outcome.value}: "
                                 f"{result.message}")
        return result

    def stats(self) -> Stats:
        """This process's ``evlog.Stats`` for the current app (its logger is created if it was
        not yet)."""
        return self._state().logger().stats()

    def flush(self, timeout: float = 5.0) -> bool:
        """``evlog.Logger.flush`` of the current app's logger in this process; True at once
        when no event was logged yet."""
        logger = self._state().peek()
        return True if logger is None else logger.flush(timeout)

    def _state(self) -> _State:
        app = flask.current_app if flask.has_app_context() else self._app
        if app is None:
            raise RuntimeError("evlog.flask.Analytics: no app (call inside an app context, or "
                               "pass the app to Analytics())")
        try:
            state = app.extensions[_EXTENSION]
        except KeyError:
            raise RuntimeError("evlog.flask.Analytics: init_app() was not called for this "
                               "app") from None
        return state


def _config_key(message: str) -> str:
    """The configuration key an evlog.Error message is about."""
    if message.startswith("Options::"):
        field = message[len("Options::"):].split(":", 1)[0]
        if field in _RESERVED:
            return _RESERVED[field]
        return f"EVLOG_OPTIONS['{field}']"
    return "EVLOG_OPTIONS"


def _log_page_view(response: flask.Response) -> flask.Response:
    """After each request: a successful GET that returns HTML logs a page_view."""
    request = flask.request
    if (request.method == "GET" and 200 <= response.status_code < 300
            and response.mimetype == "text/html"):
        state = flask.current_app.extensions[_EXTENSION]
        loader = state.extension._user_loader
        metadata = {"path": request.path, "status": response.status_code}
        try:
            user = loader() if loader is not None else None
            user_id, user_type = user if user is not None else (None, None)
            result = state.logger().log("page_view", user_id, user_type, metadata)
        except Exception as e:  # the app's user loader failed, or no logger could be created
            result = Result(Outcome.CLOSED, f"{type(e).__name__}: {e}", False)
        if not result.ok:
            state.limiter.report(state.app.logger,
                                 f"evlog: page_view not logged: {result.outcome.value}: "
                                 f"{result.message}")
    return response
