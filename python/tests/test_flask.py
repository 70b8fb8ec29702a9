"""evlog.flask.Analytics: configuration read and checked in init_app (naming the key), the
logger created on first use in each process, log() with the usual log_analytics_event signature that
never raises into a request, refusals reported through app.logger at most once a second, page
views from EVLOG_PAGE_VIEWS, per-app state for the factory pattern."""

from __future__ import annotations

import logging
import os
import time

import flask
import pytest

import evlog
from evlog.flask import Analytics
from conftest import accounted, count_rows, rows, run_python


def make_app(tmp_path, **config):
    app = flask.Flask("analytics_test", instance_path=str(tmp_path / "instance"))
    app.config.update(config)
    return app


def test_log_has_the_problem_statements_signature_and_writes_rows(tmp_path):
    db = str(tmp_path / "events.db")
    app = make_app(tmp_path, EVLOG_DATABASE=db, EVLOG_CRITICAL_TYPES={"task_complete"})
    analytics = Analytics(app)
    with app.app_context():
        r = analytics.log("page_view", 7, "student", {"path": "/tasks"})
        assert isinstance(r, evlog.Result) and r.outcome == "queued"
        assert analytics.log("task_complete", user_id=7, user_type="student",
                             metadata={"task_id": 3}).outcome == "committed"
        assert analytics.log("login").ok
        assert analytics.flush(5.0)
        stats = analytics.stats()
        assert isinstance(stats, evlog.Stats) and accounted(stats, 3)
    assert rows(db, "SELECT event_type, user_id, user_type, metadata FROM analytics_events "
                    "ORDER BY id") == [
        ("page_view", 7, "student", '{"path":"/tasks"}'),
        ("task_complete", 7, "student", '{"task_id":3}'),
        ("login", None, None, None)]


def test_init_app_and_the_instance_folder_default(tmp_path):
    app = make_app(tmp_path)
    analytics = Analytics()
    analytics.init_app(app)
    path = os.path.join(app.instance_path, "analytics.db")
    assert not os.path.exists(path), "init_app opened the database"
    with app.app_context():
        assert analytics.log("page_view").ok
        assert analytics.flush(5.0)
    assert count_rows(path) == 1
    assert app.config["EVLOG_PAGE_VIEWS"] is False and app.config["EVLOG_OPTIONS"] == {}


@pytest.mark.parametrize(
    "config, error, key",
    [
        ({"EVLOG_OPTIONS": {"queue_capacity": "big"}}, evlog.Error,
         "EVLOG_OPTIONS['queue_capacity']: Options::queue_capacity: must be an int"),
        ({"EVLOG_OPTIONS": {"max_delay": 0}}, evlog.Error, "EVLOG_OPTIONS['max_delay']"),
        ({"EVLOG_OPTIONS": {"queue_size": 5}}, TypeError,
         "EVLOG_OPTIONS: validate_options() got an unexpected keyword argument 'queue_size'"),
        ({"EVLOG_OPTIONS": {"database": "x.db"}}, evlog.Error,
         "EVLOG_OPTIONS['database']: set EVLOG_DATABASE instead"),
        ({"EVLOG_OPTIONS": "durability=full"}, evlog.Error, "EVLOG_OPTIONS: must be a dict"),
        ({"EVLOG_CRITICAL_TYPES": "task_complete"}, evlog.Error, "EVLOG_CRITICAL_TYPES:"),
        ({"EVLOG_CRITICAL_TYPES": {"bad type"}}, evlog.Error, "EVLOG_CRITICAL_TYPES: Options::"),
        ({"EVLOG_DATABASE": 5}, evlog.Error, "EVLOG_DATABASE: must be"),
        ({"EVLOG_PAGE_VIEWS": "yes"}, evlog.Error, "EVLOG_PAGE_VIEWS: must be True or False"),
    ],
)
def test_a_bad_configuration_fails_at_init_app_naming_the_key(tmp_path, config, error, key):
    config.setdefault("EVLOG_DATABASE", str(tmp_path / "never.db"))
    app = make_app(tmp_path, **config)
    with pytest.raises(error) as caught:
        Analytics(app)
    assert str(caught.value).startswith(key), str(caught.value)
    assert not (tmp_path / "never.db").exists()
    assert "evlog" not in app.extensions


def test_log_never_raises_into_a_request_and_reports_refusals_at_most_once_a_second(tmp_path):
    app = make_app(tmp_path, EVLOG_DATABASE=str(tmp_path / "events.db"))
    analytics = Analytics(app)
    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    app.logger.addHandler(Keep())

    @app.get("/bad")
    def bad():
        results = [analytics.log("page view", "seven", metadata={"x": {1}}) for _ in range(50)]
        return {"outcomes": sorted({r.outcome.value for r in results})}

    client = app.test_client()
    response = client.get("/bad")
    assert response.status_code == 200 and response.json == {"outcomes": ["rejected"]}
    assert len(lines) == 1
    assert lines[0] == "evlog: page view not logged: rejected: user_id: must be an int or None, got str"
    time.sleep(1.1)
    client.get("/bad")
    assert len(lines) == 2
    assert lines[1].endswith("(49 more not logged in the last second)")
    with app.app_context():
        assert analytics.stats().rejected == 100


def test_a_database_that_cannot_be_opened_is_reported_not_raised(tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where a folder should be")
    app = make_app(tmp_path, EVLOG_DATABASE=str(blocker / "events.db"))
    analytics = Analytics(app)
    with app.app_context():
        r = analytics.log("page_view")
    assert not r.ok and r.outcome == "closed" and "no logger" in r.message


def test_page_views_from_evlog_page_views(tmp_path):
    db = str(tmp_path / "events.db")
    app = make_app(tmp_path, EVLOG_DATABASE=db, EVLOG_PAGE_VIEWS=True)
    analytics = Analytics(app)

    @analytics.user_loader
    def current_user():
        name = flask.request.args.get("user")
        return (int(name), "student") if name else None

    app.add_url_rule("/page", "page", lambda: "<p>hello</p>", methods=["GET", "POST"])
    app.add_url_rule("/data", "data", lambda: {"json": True})
    app.add_url_rule("/missing", "missing", lambda: ("<p>no</p>", 404))
    client = app.test_client()
    client.get("/page?user=7")
    client.get("/page")
    client.get("/data?user=7")
    client.post("/page?user=7")
    client.get("/missing?user=7")
    with app.app_context():
        assert analytics.flush(5.0)
    assert rows(db, "SELECT event_type, user_id, user_type, metadata FROM analytics_events "
                    "ORDER BY id") == [
        ("page_view", 7, "student", '{"path":"/page","status":200}'),
        ("page_view", None, None, '{"path":"/page","status":200}')]


def test_one_extension_serves_several_apps(tmp_path):
    analytics = Analytics()
    apps = []
    for name in ("a", "b"):
        app = make_app(tmp_path / name, EVLOG_DATABASE=str(tmp_path / f"{name}.db"))
        analytics.init_app(app)
        apps.append(app)
    for app, n in zip(apps, (3, 5)):
        with app.app_context():
            for i in range(n):
                analytics.log("page_view", i)
            assert analytics.flush(5.0)
    assert count_rows(str(tmp_path / "a.db")) == 3
    assert count_rows(str(tmp_path / "b.db")) == 5
    with pytest.raises(RuntimeError, match="init_app"):
        with make_app(tmp_path / "c").app_context():
            analytics.log("page_view")


def test_the_logger_is_made_on_first_use_in_each_process_and_drained_at_exit(tmp_path):
    # As under a pre-forking server: the app is configured in the parent, which logs nothing;
    # each child makes its own logger on its first event and exits without flushing, its events
    # still queued (max_delay 10 s).
    db = str(tmp_path / "events.db")
    run_python("""
        import os, sys, flask
        from evlog.flask import Analytics
        app = flask.Flask("forked")
        app.config.update(EVLOG_DATABASE=sys.argv[1], EVLOG_OPTIONS={"max_delay": 10})
        analytics = Analytics(app)
        assert not os.path.exists(sys.argv[1])
        children = []
        for worker in range(3):
            pid = os.fork()
            if pid == 0:
                with app.app_context():
                    for i in range(500):
                        assert analytics.log("page_view", worker * 1000 + i).ok
                sys.exit(0)
            children.append(pid)
        for pid in children:
            assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    """, db)
    assert count_rows(db) == 1500
