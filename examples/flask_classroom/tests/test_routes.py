"""Every route of the Flask classroom app through Flask's test client, in evlog mode: the status
codes, the app's own rows, and the analytics row each action logs (type, user, metadata) once
the logger has flushed."""

from __future__ import annotations

import json

import pytest

from conftest import login, make_app, rows
from flask_classroom.analytics import analytics


@pytest.fixture
def app(database):
    return make_app(database)


@pytest.fixture
def client(app):
    return app.test_client()


def events(app, database):
    with app.app_context():
        assert analytics.flush(5.0)
    return [(t, u, ut, json.loads(m) if m else None) for t, u, ut, m in rows(
        database, "SELECT event_type, user_id, user_type, metadata FROM analytics_events "
                  "ORDER BY id")]


def student1(database):
    return rows(database, "SELECT id FROM users WHERE username = 'student1'")[0][0]


def test_login_logs_in_and_logs_the_event(app, client, database):
    r = client.post("/login", data={"username": "student1", "password": "classroom"})
    assert r.status_code == 200
    assert r.json == {"ok": True, "user": "student1", "role": "student"}
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    uid = student1(database)
    assert events(app, database) == [("login", uid, "student", {"method": "password"})]
    assert rows(database, "SELECT count(*) FROM sessions") == [(1,)]


def test_a_wrong_password_is_401_and_logs_nothing(app, client, database):
    r = client.post("/login", data={"username": "student1", "password": "nope"})
    assert r.status_code == 401 and r.json == {"error": "wrong user name or password"}
    r = client.post("/login", data={"username": "nobody", "password": "nope"},
                    headers={"Accept": "text/html"})
    assert r.status_code == 401 and b"Wrong user name or password." in r.data
    assert client.post("/login", data={"username": "student1"}).json == {
        "error": "password: is required"}
    assert events(app, database) == []


def test_login_redirects_a_browser_to_a_local_next_only(client):
    for given, expected in [("/tasks", "/tasks"), ("//evil.example", "/"),
                            ("/\t/evil.example", "/"), ("https://evil.example", "/")]:
        r = client.post("/login", data={"username": "student1", "password": "classroom",
                                        "next": given}, headers={"Accept": "text/html"})
        assert r.status_code == 303 and r.headers["Location"] == expected, given


def test_pages_need_a_login(client):
    assert client.get("/tasks").status_code == 401
    r = client.get("/tasks/2", headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["Location"] == "/login?next=/tasks/2"
    assert client.post("/tasks/1/start").status_code == 401
    assert client.get("/login").status_code == 200


def test_page_views(app, client, database):
    login(client)
    uid = student1(database)
    for path in ("/", "/tasks", "/tasks/1", "/quizzes/2", "/quizzes/2?score=2"):
        r = client.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 200 and r.mimetype == "text/html", path
    assert client.get("/tasks/99").status_code == 404
    assert client.get("/quizzes/99").status_code == 404
    views = [e for e in events(app, database) if e[0] == "page_view"]
    assert views == [("page_view", uid, "student", {"path": p, "status": 200})
                     for p in ("/", "/tasks", "/tasks/1", "/quizzes/2", "/quizzes/2")]


def test_a_file_download(app, client, database):
    login(client)
    r = client.get("/files/1")
    assert r.status_code == 200 and r.data.startswith(b"Fractions")
    assert r.headers["Content-Disposition"] == 'attachment; filename="Fractions worksheet.txt"'
    assert client.get("/files/77").status_code == 404
    assert events(app, database)[-1] == ("file_download", student1(database), "student",
                                         {"file_id": 1, "name": "Fractions worksheet.txt"})


def test_task_actions_write_the_data_then_the_event(app, client, database):
    login(client)
    uid = student1(database)
    assert client.post("/tasks/2/start").json == {"ok": True, "task_id": 2, "started": True}
    assert client.post("/tasks/2/subtasks/3/complete").json == {
        "ok": True, "task_id": 2, "subtask": 3}
    assert client.post("/tasks/2/complete").json == {"ok": True, "task_id": 2,
                                                     "completed": True}
    assert client.post("/tasks/2/self-eval", data={"score": "4"}).json == {
        "ok": True, "task_id": 2, "score": 4}
    r = client.post("/tasks/2/complete", headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["Location"] == "/tasks/2"
    assert rows(database, "SELECT started_at IS NOT NULL, completed_at IS NOT NULL, self_eval "
                          "FROM progress WHERE user_id = ? AND task_id = 2", (uid,)) == [
        (1, 1, 4)]
    assert rows(database, "SELECT count(*) FROM subtask_progress WHERE user_id = ?",
                (uid,)) == [(1,)]
    assert [e for e in events(app, database) if e[0] != "login"] == [
        ("task_start", uid, "student", {"task_id": 2}),
        ("subtask_complete", uid, "student", {"task_id": 2, "subtask": 3}),
        ("task_complete", uid, "student", {"task_id": 2}),
        ("self_eval", uid, "student", {"task_id": 2, "score": 4}),
        ("task_complete", uid, "student", {"task_id": 2}),
    ]


def test_actions_answer_404_and_400_naming_the_field(app, client, database):
    login(client)
    assert client.post("/tasks/9/start").status_code == 404
    assert client.post("/tasks/9/complete").status_code == 404
    assert client.post("/tasks/1/subtasks/7/complete").status_code == 404
    r = client.post("/tasks/1/self-eval", data={"score": "6"})
    assert r.status_code == 400 and r.json == {"error": "score: must be an integer from 1 to 5"}
    r = client.post("/tasks/1/self-eval", data="[1]", content_type="application/json")
    assert r.status_code == 400 and r.json == {"error": "body: must be a JSON object"}
    r = client.post("/quizzes/1/attempts", json={"answers": [1, 0]})
    assert r.status_code == 400 and r.json == {"error": "answers: expected 3 answers, got 2"}
    r = client.post("/quizzes/1/attempts", data={"answers": "1,0,9"})
    assert r.status_code == 400 and r.json == {
        "error": "answers: answer 3 must be an option index from 0 to 2"}
    assert [e[0] for e in events(app, database)] == ["login"]


def test_a_quiz_attempt_in_every_body_form(app, client, database):
    login(client)
    uid = student1(database)
    assert client.post("/quizzes/1/attempts", data={"answers": ["1", "0", "0"]}).json == {
        "ok": True, "quiz_id": 1, "score": 3, "total": 3}
    assert client.post("/quizzes/1/attempts", json={"answers": [0, 0, 0]}).json["score"] == 2
    r = client.post("/quizzes/2/attempts", data={"answers": "2,1,0"},
                    headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["Location"] == "/quizzes/2?score=3"
    assert rows(database, "SELECT quiz_id, answers, score, total FROM quiz_results "
                          "WHERE user_id = ? ORDER BY id", (uid,)) == [
        (1, "[1, 0, 0]", 3, 3), (1, "[0, 0, 0]", 2, 3), (2, "[2, 1, 0]", 3, 3)]
    attempts = [e for e in events(app, database) if e[0] == "quiz_attempt"]
    assert attempts == [("quiz_attempt", uid, "student", {"quiz_id": 1, "score": 3, "total": 3}),
                        ("quiz_attempt", uid, "student", {"quiz_id": 1, "score": 2, "total": 3}),
                        ("quiz_attempt", uid, "student", {"quiz_id": 2, "score": 3, "total": 3})]


def test_a_body_over_64_kib_is_413(client):
    login(client)
    r = client.post("/tasks/1/self-eval", data={"score": "1" * (65 * 1024)})
    assert r.status_code == 413 and r.json == {"error": "body: larger than 64 KiB"}


def test_logout_ends_the_session(client):
    login(client)
    assert client.get("/tasks").status_code == 200
    assert client.post("/logout").json == {"ok": True}
    assert client.get("/tasks").status_code == 401


def test_critical_events_are_committed_when_the_response_is_sent(app, client, database):
    login(client)
    client.post("/tasks/3/complete")
    # No flush: committed delivery means the row is there when the request returns.
    assert rows(database, "SELECT count(*) FROM analytics_events "
                          "WHERE event_type = 'task_complete'") == [(1,)]


@pytest.mark.parametrize("mode", ["sync", "evlog"])
def test_the_analytics_table_can_live_in_a_file_of_its_own(database, tmp_path, mode):
    events_path = str(tmp_path / "events.db")
    app = make_app(database, mode, CLASSROOM_ANALYTICS_DATABASE=events_path)
    client = app.test_client()
    login(client)
    client.post("/tasks/1/complete")
    if mode == "evlog":
        with app.app_context():
            assert analytics.flush(5.0)
    assert [r[0] for r in rows(events_path, "SELECT event_type FROM analytics_events "
                                            "ORDER BY id")] == ["login", "task_complete"]
    assert rows(database, "SELECT count(*) FROM analytics_events") == [(0,)]
