"""The routes: pages (page_view, file_download) and actions that write the app's data first and
then log their event, as the C++ classroom app has them.

Bodies are forms or JSON objects. Not logged in: 401 JSON, or a 303 to /login for a browser
(Accept: text/html); unknown ids: 404; bad bodies: 400 naming the field; bodies over 64 KiB:
413."""

from __future__ import annotations

from flask import (Blueprint, Response, current_app, g, jsonify, make_response, redirect,
                   render_template, request)
from werkzeug.exceptions import HTTPException

from . import auth

bp = Blueprint("classroom", __name__)


class BadRequest(Exception):
    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")


def db():
    return current_app.extensions["classroom"]["db"]


def log_analytics_event(event_type, user_id=None, user_type=None, metadata=None):
    """The signature the app always had; the body is the configured mode's."""
    return current_app.extensions["classroom"]["log"](event_type, user_id, user_type, metadata)


def wants_html() -> bool:
    return "text/html" in request.headers.get("Accept", "")


def answer_error(status: int, message: str):
    if wants_html():
        return render_template("error.html", status=status, message=message, user=None), status
    return jsonify(error=message), status


def answer_done(location: str, body: dict):
    if wants_html():
        return redirect(location, code=303)
    return jsonify(body)


def fields() -> dict:
    """The body's fields, each a list of strings: a form, or a JSON object whose values are
    strings, integers, booleans or lists of them."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest("body", "must be a JSON object")
        out = {}
        for key, value in body.items():
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, bool):
                    item = "true" if item else "false"
                if not isinstance(item, (str, int)):
                    raise BadRequest(key, "must be a string or an integer")
                out.setdefault(key, []).append(str(item))
        return out
    return {key: request.form.getlist(key) for key in request.form}


def required(values: dict, name: str) -> str:
    given = values.get(name, [])
    if not given or not given[0]:
        raise BadRequest(name, "is required")
    if len(given) > 1:
        raise BadRequest(name, "must be given once")
    return given[0]


def int_in(text: str, low: int, high: int):
    try:
        value = int(text, 10)
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high and text.strip() == text else None


def safe_next(target: str) -> str:
    """Where to go after logging in: only a local path, never another site."""
    if (not target or target[0] != "/" or target[1:2] in ("/", "\\")
            or any(c < " " or c == "\x7f" for c in target)):
        return "/"
    return target


@bp.before_app_request
def load_user():
    g.user = auth.user_for_session(db(), request.cookies.get(auth.SESSION_COOKIE, ""))


def require_user():
    """The logged-in user, or a response to return instead."""
    if g.user is not None:
        return g.user, None
    if wants_html() and request.method == "GET":
        return None, redirect(f"/login?next={request.path}", code=303)
    return None, (jsonify(error="not logged in"), 401)


@bp.errorhandler(BadRequest)
def bad_request(error):
    return answer_error(400, str(error))


@bp.app_errorhandler(HTTPException)
def http_error(error):
    if error.code == 413:
        return answer_error(413, "body: larger than 64 KiB")
    return answer_error(error.code, error.description or error.name)


def log_page_view(response: Response) -> Response:
    """After a successful GET that returns HTML: a page_view (in every mode but evlog, where
    evlog.flask's EVLOG_PAGE_VIEWS does the same)."""
    if (request.method == "GET" and 200 <= response.status_code < 300
            and response.mimetype == "text/html"):
        user = g.get("user")
        log_analytics_event("page_view", user.id if user else None, user.role if user else None,
                            {"path": request.path, "status": response.status_code})
    return response


# --- pages ---

@bp.get("/login")
def login_page():
    return render_template("login.html", error="", next=request.args.get("next", "/"), user=None)


@bp.get("/")
def home():
    user, refusal = require_user()
    if refusal:
        return refusal
    tasks = db().tasks(user.id)
    return render_template("home.html", user=user, tasks=tasks, quizzes=db().quizzes(),
                           completed=sum(1 for t in tasks if t[4]))


@bp.get("/tasks")
def tasks():
    user, refusal = require_user()
    if refusal:
        return refusal
    return render_template("tasks.html", user=user, tasks=db().tasks(user.id))


@bp.get("/tasks/<int:task_id>")
def task(task_id):
    user, refusal = require_user()
    if refusal:
        return refusal
    detail = db().task(user.id, task_id)
    if detail is None:
        return answer_error(404, "no such task")
    return render_template("task.html", user=user, task=detail)


@bp.get("/files/<int:file_id>")
def file(file_id):
    user, refusal = require_user()
    if refusal:
        return refusal
    row = db().file(file_id)
    if row is None:
        return answer_error(404, "no such file")
    name = row[1].replace('"', "_").replace("\\", "_")
    response = make_response(row[2])
    response.mimetype = "text/plain"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    log_analytics_event("file_download", user.id, user.role, {"file_id": row[0], "name": row[1]})
    return response


@bp.get("/quizzes/<int:quiz_id>")
def quiz(quiz_id):
    user, refusal = require_user()
    if refusal:
        return refusal
    found = db().quiz(quiz_id)
    if found is None:
        return answer_error(404, "no such quiz")
    total = len(found["questions"])
    score = int_in(request.args.get("score", ""), 0, total)
    return render_template("quiz.html", user=user, quiz=found, score=score, total=total)


# --- actions ---

@bp.post("/login")
def login():
    values = fields()
    username = required(values, "username")
    password = required(values, "password")
    user = auth.authenticate(db(), username, password)
    if user is None:
        # A wrong password logs nothing.
        if wants_html():
            return render_template("login.html", error="Wrong user name or password.",
                                   next="/", user=None), 401
        return jsonify(error="wrong user name or password"), 401
    token = auth.create_session(db(), user.id)
    nexts = values.get("next", [])
    response = make_response(answer_done(safe_next(nexts[0] if nexts else "/"),
                                         {"ok": True, "user": user.username, "role": user.role}))
    response.set_cookie(auth.SESSION_COOKIE, token, max_age=auth.SESSION_HOURS * 3600,
                        httponly=True, samesite="Lax", secure=request.is_secure)
    log_analytics_event("login", user.id, user.role, {"method": "password"})
    return response


@bp.post("/logout")
def logout():
    auth.end_session(db(), request.cookies.get(auth.SESSION_COOKIE, ""))
    response = make_response(answer_done("/login", {"ok": True}))
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


@bp.post("/tasks/<int:task_id>/start")
def start_task(task_id):
    user, refusal = require_user()
    if refusal:
        return refusal
    if not db().start_task(user.id, task_id):
        return answer_error(404, "no such task")
    log_analytics_event("task_start", user.id, user.role, {"task_id": task_id})
    return answer_done(f"/tasks/{task_id}", {"ok": True, "task_id": task_id, "started": True})


@bp.post("/tasks/<int:task_id>/subtasks/<int:position>/complete")
def complete_subtask(task_id, position):
    user, refusal = require_user()
    if refusal:
        return refusal
    if not 1 <= position <= 1000 or not db().complete_subtask(user.id, task_id, position):
        return answer_error(404, "no such task or subtask")
    log_analytics_event("subtask_complete", user.id, user.role,
                        {"task_id": task_id, "subtask": position})
    return answer_done(f"/tasks/{task_id}",
                       {"ok": True, "task_id": task_id, "subtask": position})


@bp.post("/tasks/<int:task_id>/complete")
def complete_task(task_id):
    user, refusal = require_user()
    if refusal:
        return refusal
    # First the real data (synchronous), then the analytics event.
    if not db().complete_task(user.id, task_id):
        return answer_error(404, "no such task")
    log_analytics_event("task_complete", user.id, user.role, {"task_id": task_id})
    return answer_done(f"/tasks/{task_id}", {"ok": True, "task_id": task_id, "completed": True})


@bp.post("/tasks/<int:task_id>/self-eval")
def self_eval(task_id):
    user, refusal = require_user()
    if refusal:
        return refusal
    score = int_in(required(fields(), "score"), 1, 5)
    if score is None:
        raise BadRequest("score", "must be an integer from 1 to 5")
    if not db().self_eval(user.id, task_id, score):
        return answer_error(404, "no such task")
    log_analytics_event("self_eval", user.id, user.role, {"task_id": task_id, "score": score})
    return answer_done(f"/tasks/{task_id}", {"ok": True, "task_id": task_id, "score": score})


@bp.post("/quizzes/<int:quiz_id>/attempts")
def attempt(quiz_id):
    user, refusal = require_user()
    if refusal:
        return refusal
    found = db().quiz(quiz_id)
    if found is None:
        return answer_error(404, "no such quiz")
    # `answers`: one option index per question, repeated fields, a JSON array or one
    # comma-separated value.
    given = fields().get("answers", [])
    if len(given) == 1 and "," in given[0]:
        given = given[0].split(",")
    count = len(found["questions"])
    if len(given) != count:
        raise BadRequest("answers", f"expected {count} answers, got {len(given)}")
    answers = []
    for i, (text, (_, options, _)) in enumerate(zip(given, found["questions"]), 1):
        answer = int_in(text, 0, len(options) - 1)
        if answer is None:
            raise BadRequest("answers", f"answer {i} must be an option index from 0 to "
                                        f"{len(options) - 1}")
        answers.append(answer)
    score, total = db().record_attempt(user.id, found, answers)
    log_analytics_event("quiz_attempt", user.id, user.role,
                        {"quiz_id": quiz_id, "score": score, "total": total})
    return answer_done(f"/quizzes/{quiz_id}?score={score}",
                       {"ok": True, "quiz_id": quiz_id, "score": score, "total": total})
