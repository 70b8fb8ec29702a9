"""Helpers for the Flask classroom tests: a seeded database per test (seeding hashes 21 passwords,
so one seeded file is copied), the app in a chosen logging mode, and a logged-in client."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from flask_classroom import create_app  # noqa: E402
from flask_classroom.seed import seed  # noqa: E402


@pytest.fixture(scope="session")
def seeded(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("seed") / "seed.db")
    seed(path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


@pytest.fixture
def database(seeded, tmp_path) -> str:
    path = str(tmp_path / "classroom.db")
    shutil.copy(seeded, path)
    return path


def make_app(database: str, mode: str = "evlog", **config):
    return create_app({"CLASSROOM_DATABASE": database, "CLASSROOM_LOGGING": mode,
                       "TESTING": True, **config})


def login(client, username="student1", password="classroom"):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 200, response.data
    return response.json


def rows(path: str, sql: str, params=()):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()
