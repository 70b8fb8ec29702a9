"""The app's own data in SQLite through Python's sqlite3: users, sessions, tasks, progress, quiz
results, in the same file as the analytics table, written synchronously (WAL,
synchronous=FULL, every value bound) before any event is logged.

Each thread keeps one connection for the life of its process (sqlite3 caches its prepared
statements), opened lazily, so that a worker forked from a master that imported the app opens
its own."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import datetime, timedelta, timezone

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('student', 'teacher')),
  salt TEXT NOT NULL, iterations INTEGER NOT NULL, password_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
  id INTEGER PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subtasks (
  id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL REFERENCES tasks(id),
  position INTEGER NOT NULL, title TEXT NOT NULL, UNIQUE (task_id, position));
CREATE TABLE IF NOT EXISTS files (
  id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL REFERENCES tasks(id),
  name TEXT NOT NULL, content TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS progress (
  user_id INTEGER NOT NULL REFERENCES users(id), task_id INTEGER NOT NULL REFERENCES tasks(id),
  started_at TEXT, completed_at TEXT, self_eval INTEGER CHECK (self_eval BETWEEN 1 AND 5),
  PRIMARY KEY (user_id, task_id));
CREATE TABLE IF NOT EXISTS subtask_progress (
  user_id INTEGER NOT NULL REFERENCES users(id),
  subtask_id INTEGER NOT NULL REFERENCES subtasks(id),
  completed_at TEXT NOT NULL, PRIMARY KEY (user_id, subtask_id));
CREATE TABLE IF NOT EXISTS quizzes (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS quiz_questions (
  id INTEGER PRIMARY KEY, quiz_id INTEGER NOT NULL REFERENCES quizzes(id),
  position INTEGER NOT NULL, prompt TEXT NOT NULL, options TEXT NOT NULL,
  answer INTEGER NOT NULL, UNIQUE (quiz_id, position));
CREATE TABLE IF NOT EXISTS quiz_results (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
  quiz_id INTEGER NOT NULL REFERENCES quizzes(id), answers TEXT NOT NULL,
  score INTEGER NOT NULL, total INTEGER NOT NULL, created_at TEXT NOT NULL);
"""

# The analytics table as the app had it before evlog: the four columns it inserts, and a time the
# database fills in. evlog adopts it (adds event_id and its unique index).
ANALYTICS_SCHEMA = """
CREATE TABLE IF NOT EXISTS analytics_events (
  id INTEGER PRIMARY KEY, event_type TEXT NOT NULL, user_id INTEGER, user_type TEXT,
  metadata TEXT, created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
"""


def ensure_analytics_table(path: str) -> None:
    con = connect(path)
    try:
        con.executescript(ANALYTICS_SCHEMA)
    finally:
        con.close()


def utc_now(delta: timedelta = timedelta()) -> str:
    return (datetime.now(timezone.utc) + delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def connect(path: str) -> sqlite3.Connection:
    """A connection as the app uses them: autocommit (each statement its own transaction unless
    a `with transaction(...)` block says otherwise), WAL, FULL, a 5 s wait for another writer."""
    con = sqlite3.connect(path, isolation_level=None, timeout=5.0, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA foreign_keys=ON")
    return con


class Database:
    """One connection per thread and process, for the file at `path`."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        pid = getattr(self._local, "pid", None)
        if con is None or pid != os.getpid():
            con = connect(self.path)
            self._local.con, self._local.pid = con, os.getpid()
        return con

    def one(self, sql: str, params=()):
        return self.connection().execute(sql, params).fetchone()

    def all(self, sql: str, params=()):
        return self.connection().execute(sql, params).fetchall()

    def run(self, sql: str, params=()) -> sqlite3.Cursor:
        return self.connection().execute(sql, params)

    # --- the app's queries ---

    def tasks(self, user_id: int):
        return self.all(_TASK_SUMMARY + "ORDER BY t.id", (user_id,))

    def task(self, user_id: int, task_id: int):
        row = self.one(_TASK_SUMMARY + "WHERE t.id = ?2", (user_id, task_id))
        if row is None:
            return None
        subtasks = self.all(
            "SELECT s.position, s.title, EXISTS (SELECT 1 FROM subtask_progress sp "
            "WHERE sp.subtask_id = s.id AND sp.user_id = ?1) "
            "FROM subtasks s WHERE s.task_id = ?2 ORDER BY s.position", (user_id, task_id))
        files = self.all("SELECT id, name FROM files WHERE task_id = ?1 ORDER BY id", (task_id,))
        return {"summary": row, "subtasks": subtasks, "files": files}

    def file(self, file_id: int):
        return self.one("SELECT id, name, content FROM files WHERE id = ?1", (file_id,))

    def quizzes(self):
        return self.all("SELECT id, title FROM quizzes ORDER BY id")

    def quiz(self, quiz_id: int):
        title = self.one("SELECT title FROM quizzes WHERE id = ?1", (quiz_id,))
        if title is None:
            return None
        questions = [(prompt, json.loads(options), answer) for prompt, options, answer in self.all(
            "SELECT prompt, options, answer FROM quiz_questions WHERE quiz_id = ?1 "
            "ORDER BY position", (quiz_id,))]
        return {"id": quiz_id, "title": title[0], "questions": questions}

    def task_exists(self, task_id: int) -> bool:
        return self.one("SELECT 1 FROM tasks WHERE id = ?1", (task_id,)) is not None

    def start_task(self, user_id: int, task_id: int) -> bool:
        if not self.task_exists(task_id):
            return False
        self.run("INSERT INTO progress (user_id, task_id, started_at) VALUES (?1, ?2, ?3) "
                 "ON CONFLICT (user_id, task_id) DO UPDATE SET "
                 "started_at = COALESCE(started_at, excluded.started_at)",
                 (user_id, task_id, utc_now()))
        return True

    def complete_subtask(self, user_id: int, task_id: int, position: int) -> bool:
        row = self.one("SELECT id FROM subtasks WHERE task_id = ?1 AND position = ?2",
                       (task_id, position))
        if row is None:
            return False
        self.run("INSERT INTO subtask_progress (user_id, subtask_id, completed_at) "
                 "VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET "
                 "completed_at = excluded.completed_at", (user_id, row[0], utc_now()))
        return True

    def complete_task(self, user_id: int, task_id: int) -> bool:
        if not self.task_exists(task_id):
            return False
        self.run("INSERT INTO progress (user_id, task_id, started_at, completed_at) "
                 "VALUES (?1, ?2, ?3, ?3) ON CONFLICT (user_id, task_id) DO UPDATE SET "
                 "started_at = COALESCE(started_at, excluded.started_at), "
                 "completed_at = excluded.completed_at", (user_id, task_id, utc_now()))
        return True

    def self_eval(self, user_id: int, task_id: int, score: int) -> bool:
        if not self.task_exists(task_id):
            return False
        self.run("INSERT INTO progress (user_id, task_id, self_eval) VALUES (?1, ?2, ?3) "
                 "ON CONFLICT (user_id, task_id) DO UPDATE SET self_eval = excluded.self_eval",
                 (user_id, task_id, score))
        return True

    def record_attempt(self, user_id: int, quiz: dict, answers: list) -> tuple:
        score = sum(1 for given, (_, _, right) in zip(answers, quiz["questions"])
                    if given == right)
        total = len(quiz["questions"])
        self.run("INSERT INTO quiz_results (user_id, quiz_id, answers, score, total, created_at) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                 (user_id, quiz["id"], json.dumps(answers), score, total, utc_now()))
        return score, total


_TASK_SUMMARY = (
    "SELECT t.id, t.title, t.description, p.started_at IS NOT NULL, "
    "p.completed_at IS NOT NULL, "
    "(SELECT COUNT(*) FROM subtasks s JOIN subtask_progress sp ON sp.subtask_id = s.id "
    "  WHERE s.task_id = t.id AND sp.user_id = ?1), "
    "(SELECT COUNT(*) FROM subtasks s WHERE s.task_id = t.id), p.self_eval "
    "FROM tasks t LEFT JOIN progress p ON p.task_id = t.id AND p.user_id = ?1 ")
