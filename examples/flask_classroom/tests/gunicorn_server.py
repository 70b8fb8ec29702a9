"""The Flask classroom app under Debian's gunicorn, for the end-to-end tests: started on a free
port of 127.0.0.1, and a client that logs in and drives every kind of request, remembering each
answered request that logs an event."""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from collections import Counter

APP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GUNICORN = "/usr/bin/gunicorn"  # Debian's, on Debian's /usr/bin/python3
CRITICAL = {"task_start", "subtask_complete", "task_complete", "quiz_attempt"}


class Gunicorn:
    def __init__(self, database: str, mode: str, preload: bool, workers: int = 4,
                 extra_env: dict | None = None):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in [APP_DIR, *sys.path] if p)
        env.update(CLASSROOM_DATABASE=database, CLASSROOM_LOGGING=mode)
        env.update(extra_env or {})
        args = [GUNICORN, "-w", str(workers), "-b", "127.0.0.1:0", "--graceful-timeout", "30",
                "--chdir", APP_DIR]
        if preload:
            args.append("--preload")
        self.log_path = database + ".gunicorn.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([*args, "flask_classroom:create_app()"], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.port = self._wait_listening()
        self._wait_ready()

    def _wait_listening(self) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited {self.proc.returncode}:\n{self.text()}")
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.text())
            if found:
                return int(found.group(1))
            time.sleep(0.05)
        raise AssertionError(f"gunicorn did not listen:\n{self.text()}")

    def _wait_ready(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                con = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                con.request("GET", "/login")
                if con.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"gunicorn did not answer:\n{self.text()}")

    def workers(self) -> list:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a service manager stops it; returns gunicorn's exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def text(self) -> str:
        with open(self.log_path) as f:
            return f.read()


class Client:
    """One student on one connection: every kind of request, counting the answered ones that
    log an event by (event_type, username)."""

    def __init__(self, port: int, username: str, seed: int, login_attempts: int = 1,
                 login_timeout: float = 30):
        self.port = port
        self.username = username
        self.random = random.Random(seed)
        self.expected: Counter = Counter()
        self.answered = 0
        self.failed = 0
        self.con = http.client.HTTPConnection("127.0.0.1", port, timeout=login_timeout)
        body = urllib.parse.urlencode({"username": username, "password": "classroom"})
        # A worker can hang for good under the baselines with --preload: the master forks it while
        # the queue thread holds the queue's lock, and the worker's first put waits on that copy
        # forever (a defect of that fix, kept). A login that finds such a worker is counted as
        # failed and tried again on a new connection, which another worker takes.
        for _ in range(login_attempts):
            status, data, headers = self.request(
                "POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
            if status == 200:
                break
        assert status == 200, (status, data)
        self.con.timeout = 30  # for the connections made from now on, and for this one:
        if self.con.sock is not None:
            self.con.sock.settimeout(30)
        self.cookie = headers["Set-Cookie"].split(";")[0]
        self.expected[("login", username)] += 1

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if getattr(self, "cookie", None):
            headers["Cookie"] = self.cookie
        try:
            self.con.request(method, path, body=body, headers=headers)
            response = self.con.getresponse()
            data = response.read()
            return response.status, data, response.headers
        except (OSError, http.client.HTTPException):
            self.con.close()
            self.failed += 1
            return None, b"", {}

    def step(self):
        """One request of a random kind; remembers the event it logs if it is answered 2xx."""
        task = self.random.randint(1, 5)
        kind = self.random.choice(["page", "page", "page", "task_page", "quiz_page", "file",
                                   "task_start", "subtask_complete", "task_complete",
                                   "self_eval", "quiz_attempt"])
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        if kind == "page":
            request, event = ("GET", "/tasks", None, {}), "page_view"
        elif kind == "task_page":
            request, event = ("GET", f"/tasks/{task}", None, {}), "page_view"
        elif kind == "quiz_page":
            request, event = ("GET", f"/quizzes/{self.random.randint(1, 2)}", None, {}), \
                "page_view"
        elif kind == "file":
            request, event = ("GET", f"/files/{task}", None, {}), "file_download"
        elif kind == "task_start":
            request, event = ("POST", f"/tasks/{task}/start", "", form), "task_start"
        elif kind == "subtask_complete":
            n = self.random.randint(1, 3)
            request, event = ("POST", f"/tasks/{task}/subtasks/{n}/complete", "", form), \
                "subtask_complete"
        elif kind == "task_complete":
            request, event = ("POST", f"/tasks/{task}/complete", "", form), "task_complete"
        elif kind == "self_eval":
            body = urllib.parse.urlencode({"score": self.random.randint(1, 5)})
            request, event = ("POST", f"/tasks/{task}/self-eval", body, form), "self_eval"
        else:
            answers = [str(self.random.randint(0, 2)) for _ in range(3)]
            request, event = ("POST", f"/quizzes/{self.random.randint(1, 2)}/attempts",
                              json.dumps({"answers": answers}),
                              {"Content-Type": "application/json"}), "quiz_attempt"
        status, data, _ = self.request(*request)
        if status is not None and 200 <= status < 300:
            self.answered += 1
            self.expected[(event, self.username)] += 1
        elif status is not None:
            raise AssertionError(f"{request[0]} {request[1]}: {status} {data[:200]!r}")
