"""Fixtures of the hostile-client tests: the real evlog-classroom executable, one seeded database
(seeding hashes 21 passwords, so it is made once and copied for each server), and servers run as
child processes, stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
from contextlib import closing
from pathlib import Path

import pytest

# The admin token of every server started here (the app wants at least 32 characters).
TOKEN = "hostile-suite-admin-token-0123456789abcdef"

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


def pytest_addoption(parser):
    parser.addoption("--binary", default=os.environ.get("CLASSROOM_BINARY"),
                     help="the evlog-classroom executable (default: $CLASSROOM_BINARY)")


@pytest.fixture(scope="session")
def binary(pytestconfig) -> str:
    path = pytestconfig.getoption("--binary")
    if not path or not os.access(path, os.X_OK):
        raise pytest.UsageError(f"pass --binary with the evlog-classroom executable (got {path!r})")
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def master_db(binary, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("master") / "master.db"
    subprocess.run([binary, "seed", "--database", str(path)], check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    # Everything into the main file, so that copying that file alone copies the database.
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


class AppServer:
    """One running `evlog-classroom serve`: its port, pid, database file and stderr."""

    def __init__(self, binary: str, database: Path, workdir: Path, args=()):
        self.database = database
        self.token = TOKEN
        self.returncode = None
        self._stderr_path = workdir / "stderr.txt"
        self._stderr = open(self._stderr_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "serve", "--database", str(database), "--host", "127.0.0.1", "--port", "0",
             "--token", TOKEN, *args],
            stdout=subprocess.PIPE, stderr=self._stderr)
        self.pid = self.proc.pid
        self.port = self._wait_for_port(timeout=30)

    def _wait_for_port(self, timeout: float) -> int:
        found = {}
        ready = threading.Event()

        # Reads stdout to its end, so that the app never blocks on a full pipe.
        def drain():
            for line in self.proc.stdout:
                match = LISTENING.search(line.decode("utf-8", "replace"))
                if match and "port" not in found:
                    found["port"] = int(match.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        ready.wait(timeout)
        if "port" not in found:
            self.stop()
            raise RuntimeError(f"the server did not start: {self.describe()}")
        return found["port"]

    def stderr_tail(self, limit: int = 600) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        text = self._stderr_path.read_text("utf-8", "replace").strip()
        return text[-limit:]

    def describe(self) -> str:
        """The process's state and the end of its stderr, for failure messages."""
        code = self.proc.poll()
        state = "running" if code is None else f"exited with {code}"
        return f"server pid {self.pid} {state}; stderr: {self.stderr_tail()!r}"

    def stop(self) -> int:
        if self.returncode is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.returncode = self.proc.returncode
            self._stderr.close()
        return self.returncode


class ServerFactory:
    """Starts servers, each on a fresh copy of the seeded database, and stops them."""

    def __init__(self, binary: str, master: Path, tmp_path_factory):
        self._binary = binary
        self._master = master
        self._tmp = tmp_path_factory
        self.started = []

    def start(self, name: str, args=(), prepare=None) -> AppServer:
        """`prepare(path)`, when given, changes the copy before the server opens it."""
        workdir = self._tmp.mktemp(name)
        database = workdir / "classroom.db"
        shutil.copy(self._master, database)
        if prepare is not None:
            prepare(database)
        server = AppServer(self._binary, database, workdir, args)
        self.started.append(server)
        return server

    def serving(self, name: str, args=(), prepare=None):
        """The body of a module fixture: the server while the module runs, then a clean stop."""
        server = self.start(name, args, prepare)
        yield server
        stderr = server.stderr_tail()
        code = server.stop()
        assert code == 0, f"{name} server: SIGTERM ended it with exit code {code}; {stderr!r}"


@pytest.fixture(scope="session")
def servers(binary, master_db, tmp_path_factory):
    factory = ServerFactory(binary, master_db, tmp_path_factory)
    yield factory
    for server in factory.started:
        server.stop()
