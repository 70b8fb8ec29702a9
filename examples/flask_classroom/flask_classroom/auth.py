"""Passwords (PBKDF2-HMAC-SHA256, salted) and sessions (a random token in an HttpOnly cookie; the
table keeps only its SHA-256, so a copy of the database holds no usable token)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import NamedTuple, Optional

from .db import Database, utc_now

ITERATIONS = 100_000
SESSION_COOKIE = "session"
SESSION_HOURS = 12


class User(NamedTuple):
    id: int
    username: str
    role: str


def hash_password(password: str, iterations: int = ITERATIONS) -> tuple:
    salt = secrets.token_hex(16)
    return salt, iterations, _derive(password, salt, iterations)


def _derive(password: str, salt: str, iterations: int) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()


_DUMMY = hash_password("not a password")


def authenticate(db: Database, username: str, password: str) -> Optional[User]:
    row = db.one("SELECT id, username, role, salt, iterations, password_hash FROM users "
                 "WHERE username = ?1", (username,))
    if row is None:
        # As long as for a real user: the answer's time does not tell which names exist.
        _derive(password, _DUMMY[0], _DUMMY[1])
        return None
    if not hmac.compare_digest(_derive(password, row[3], row[4]), row[5]):
        return None
    return User(row[0], row[1], row[2])


def create_session(db: Database, user_id: int) -> str:
    token = secrets.token_hex(32)
    db.run("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) "
           "VALUES (?1, ?2, ?3, ?4)",
           (_token_hash(token), user_id, utc_now(), utc_now(timedelta(hours=SESSION_HOURS))))
    return token


def user_for_session(db: Database, token: str) -> Optional[User]:
    if not token:
        return None
    row = db.one("SELECT u.id, u.username, u.role FROM sessions s JOIN users u ON u.id = s.user_id "
                 "WHERE s.token_hash = ?1 AND s.expires_at > ?2", (_token_hash(token), utc_now()))
    return User(*row) if row else None


def end_session(db: Database, token: str) -> None:
    if token:
        db.run("DELETE FROM sessions WHERE token_hash = ?1", (_token_hash(token),))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
