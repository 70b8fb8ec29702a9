"""Hostile clients against the real evlog-classroom binary, over raw TCP where HTTP libraries
would tidy the attack away: broken body framing, compression bombs, range floods, metric label
injection, open redirects, password guessing, cross-site logins and hostile dashboard rows. Each
test asserts the app's refusal, and the framing attacks also that the app keeps serving."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import re
import secrets
import select
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import threading
import time
from collections import Counter, namedtuple
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import closing
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest

FORM = "application/x-www-form-urlencoded"
SEEDED_ITERATIONS = 600_000
OLD_ITERATIONS = 100_000
KIB_PER_MIB = 1024  # /proc/PID/status counts in KiB

Response = namedtuple("Response", "status headers body closed_by_server")


# --- Raw HTTP ------------------------------------------------------------------------------------


class _Reader:
    """Bytes from a socket, read until a deadline."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock = sock
        self.deadline = deadline
        self.buffer = bytearray()
        self.eof = False

    def fill(self) -> bool:
        """Reads more bytes; False at the end of the stream or when the time is up."""
        remaining = self.deadline - time.monotonic()
        if self.eof or remaining <= 0:
            return False
        readable, _, _ = select.select([self.sock], [], [], remaining)
        if not readable:
            return False
        try:
            chunk = self.sock.recv(256 * 1024)
        except OSError:  # reset: the server closed with our bytes unread
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def line(self) -> bytes | None:
        while b"\r\n" not in self.buffer:
            if not self.fill():
                return None
        line, _, rest = bytes(self.buffer).partition(b"\r\n")
        self.buffer = bytearray(rest)
        return line

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size and self.fill():
            pass
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


def _read_chunked(reader: _Reader) -> bytes:
    body = bytearray()
    while (line := reader.line()) is not None:
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while reader.line() not in (None, b""):  # trailer fields, unused
                pass
            break
        body += reader.exactly(size)
        reader.line()
    return bytes(body)


def _read_response(reader: _Reader):
    while b"\r\n\r\n" not in reader.buffer:
        if not reader.fill():
            return None, {}, bytes(reader.buffer)
    head, _, rest = bytes(reader.buffer).partition(b"\r\n\r\n")
    reader.buffer = bytearray(rest)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key, value = name.strip().lower(), value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _read_chunked(reader)
    elif "content-length" in headers:
        body = reader.exactly(int(headers["content-length"]))
    elif status is None or status < 200 or status in (204, 304):
        body = b""
    else:
        while reader.fill():
            pass
        body = bytes(reader.buffer)
    return status, headers, body


def _closes_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes the connection within `seconds` (0: already closed)."""
    deadline = time.monotonic() + seconds
    while True:
        readable, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            return False
        try:
            if not sock.recv(65536):
                return True
        except OSError:
            return True


def _send_quietly(sock: socket.socket, data: bytes):
    # A server that refuses a request may stop reading it and close: that is not an error here.
    try:
        sock.sendall(data)
    except OSError:
        pass


def raw_request(port: int, data: bytes, read_timeout: float = 5.0,
                close_wait: float = 0.0) -> Response:
    """Sends `data` exactly as given and parses the one response that comes back.

    The bytes are sent from a second thread while this one reads, so that a server answering
    before it has read the whole request (and then closing) is seen as it is. `status` is None
    when no response arrived within `read_timeout`; `closed_by_server` says whether the server
    closed the connection after its response, waiting up to `close_wait` seconds for it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=read_timeout)
    sender = threading.Thread(target=_send_quietly, args=(sock, data), daemon=True)
    sender.start()
    try:
        reader = _Reader(sock, time.monotonic() + read_timeout)
        status, headers, body = _read_response(reader)
        closed = reader.eof or (status is not None and _closes_within(sock, close_wait))
    finally:
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes the sender if it is blocked
        except OSError:
            pass
        sock.close()
        sender.join(timeout=5)
    return Response(status, headers, body, closed)


def request(port: int, method: str, path: str, body=None, headers=None,
            timeout: float = 10.0) -> Response:
    """An ordinary, well-formed request on its own connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        body = answer.read()
        headers = {name.lower(): value for name, value in answer.getheaders()}
        return Response(answer.status, headers, body, None)
    finally:
        connection.close()


def login(port: int, username: str, password: str = "classroom", *, html: bool = False,
          next_path: str | None = None, headers=None, timeout: float = 10.0) -> Response:
    fields = {"username": username, "password": password}
    if next_path is not None:
        fields["next"] = next_path
    all_headers = {"Content-Type": FORM}
    if html:
        all_headers["Accept"] = "text/html"
    all_headers.update(headers or {})
    return request(port, "POST", "/login", urlencode(fields), all_headers, timeout)


def cookie_attributes(set_cookie: str) -> dict:
    """The attributes after a Set-Cookie's name=value, by lower-case name."""
    attributes = {}
    for part in set_cookie.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.strip().lower()] = value.strip()
    return attributes


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


class PeakRss:
    """The highest resident size of a process while a block runs, polled every 5 ms: a buffer
    built and freed within the request still shows."""

    def __init__(self, pid: int):
        self.pid = pid
        self.before = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self._stop.wait(0.005):
            try:
                self.peak = max(self.peak, rss_kib(self.pid))
            except (OSError, RuntimeError):
                return

    def __enter__(self):
        self.before = self.peak = rss_kib(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        try:
            self.peak = max(self.peak, rss_kib(self.pid))
        except (OSError, RuntimeError):
            pass

    @property
    def growth_kib(self) -> int:
        return self.peak - self.before


def assert_still_serving(server):
    """After an attack, an ordinary visitor on a fresh connection still gets the login page."""
    start = time.monotonic()
    try:
        answer = request(server.port, "GET", "/login", timeout=5)
    except (OSError, http.client.HTTPException) as error:
        pytest.fail(f"GET /login after the attack: {error!r}; {server.describe()}")
    elapsed = time.monotonic() - start
    assert answer.status == 200, f"GET /login after the attack: {answer.status}"
    assert elapsed < 5, f"GET /login after the attack took {elapsed:.1f} s"


def users_row(database, username: str) -> dict:
    with closing(sqlite3.connect(database, timeout=10)) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
    return dict(row)


def utc_text(when: datetime) -> str:
    """A timestamp as evlog writes created_at."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- Servers -------------------------------------------------------------------------------------


def store_old_hash(database) -> str:
    """Gives student5 a correct hash from an older, cheaper setting, as if hashed years ago;
    returns that hash."""
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", b"classroom", salt.encode(), OLD_ITERATIONS).hex()
    with closing(sqlite3.connect(database)) as connection:
        connection.execute(
            "UPDATE users SET salt = ?, iterations = ?, password_hash = ? WHERE username = ?",
            (salt, OLD_ITERATIONS, digest, "student5"))
        connection.commit()
    return digest


# The table as schema.cpp creates it: the server keeps a table that already exists.
ANALYTICS_TABLE = (
    "CREATE TABLE IF NOT EXISTS analytics_events (id INTEGER PRIMARY KEY, "
    "event_id TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL, user_id INTEGER, "
    "user_type TEXT, metadata TEXT, created_at TEXT NOT NULL)")

SCRIPT_MARKER = "<script>hostile_marker()</script>"


def store_hostile_events(database):
    """Rows another writer of the table (or a broken one) could leave: timestamps that are not
    timestamps, a huge multi-byte metadata value (two, so that cutting it at any byte count splits
    a character in one of them) and markup."""
    now = utc_text(datetime.now(timezone.utc))
    rows = [
        ("hostile-time-x", "login", 1, "student", '{"method":"password"}', "x"),
        ("hostile-time-empty", "login", 1, "student", '{"method":"password"}', ""),
        ("hostile-utf8-even", "page_view", 2, "student", "é" * 100_000, now),
        ("hostile-utf8-odd", "page_view", 2, "student", "x" + "é" * 100_000, now),
        ("hostile-script", "page_view", 3, "student",
         json.dumps({"path": "</code>" + SCRIPT_MARKER}), now),
    ]
    with closing(sqlite3.connect(database)) as connection:
        connection.execute(ANALYTICS_TABLE)
        connection.executemany(
            "INSERT INTO analytics_events (event_id, event_type, user_id, user_type, metadata, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
        connection.commit()


@pytest.fixture(scope="module")
def app(servers):
    """The app with its default flags."""
    yield from servers.serving("default")


@pytest.fixture(scope="module")
def throttled_app(servers):
    # The window is long enough for five password hashings on a slow build (a sanitizer's, say):
    # the five failures must all fall inside it.
    yield from servers.serving("throttled", [
        "--login-failures-per-user", "5", "--login-failures-per-address", "20",
        "--login-window-seconds", "10"])


@pytest.fixture(scope="module")
def address_throttled_app(servers):
    # A longer window than throttled_app's: the 20 guesses cost 20 password hashings, which may
    # take longer than 10 s on a busy machine, and the first ones must still count at the 21st.
    yield from servers.serving("address-throttled", [
        "--login-failures-per-user", "5", "--login-failures-per-address", "20",
        "--login-window-seconds", "30"])


@pytest.fixture(scope="module")
def quick_app(servers):
    # Two event threads, two workers and a 2 s head deadline: what idle or slow connections
    # would hold is easy to exhaust, and the deadline quick to reach.
    yield from servers.serving("quick", ["--event-threads", "2", "--threads", "2",
                                         "--head-timeout-seconds", "2"])


@pytest.fixture(scope="module")
def secure_app(servers):
    # A server reached over HTTPS through a proxy.
    yield from servers.serving("served-over-tls", ["--served-over-tls"])


@pytest.fixture(scope="module")
def dashboard_app(servers):
    yield from servers.serving("dashboard", prepare=store_hostile_events)


# --- 1. Body framing -----------------------------------------------------------------------------


def post_login_head(*extra_headers: str) -> bytes:
    lines = ["POST /login HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {FORM}", *extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def requests_counted(server, route: str, method: str, status: int) -> int:
    """The app's own count of answered requests for one series of /metrics (0 when absent)."""
    answer = request(server.port, "GET", "/metrics",
                     headers={"Authorization": f"Bearer {server.token}"})
    assert answer.status == 200
    series = f'classroom_http_requests_total{{route="{route}",method="{method}",status="{status}"}} '
    for line in answer.body.decode().split("\n"):
        if line.startswith(series):
            return int(line[len(series):])
    return 0


def chunked(body: bytes, piece: int = 4096) -> bytes:
    pieces = [body[i:i + piece] for i in range(0, len(body), piece)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def test_chunked_login_body_within_the_limit_is_read(app):
    # A user relies on a client that streams its body in chunks being served like any other.
    form = urlencode({"username": "student1", "password": "classroom"}).encode()
    answer = raw_request(app.port, post_login_head("Transfer-Encoding: chunked") + chunked(form, 7))
    assert answer.status == 200, answer
    assert "classroom_session=" in answer.headers.get("set-cookie", "")


def test_chunked_body_over_64_kib_is_cut_off(app):
    # A user relies on the server not buffering a body past 64 KiB, whatever its framing: a
    # client streaming a megabyte in chunks is refused once 64 KiB have arrived, and cut off.
    request(app.port, "GET", "/login")  # the workers and caches warmed before measuring
    refused_before = requests_counted(app, "other", "POST", 413)
    body = chunked(b"a" * (1024 * 1024), 65536)
    with PeakRss(app.pid) as rss:
        answer = raw_request(app.port, post_login_head("Transfer-Encoding: chunked") + body,
                             close_wait=3)
    # The 413 is written before the connection closes; a client still sending may see the reset
    # of a close with its bytes unread instead of the answer.
    assert answer.status in (413, None), answer
    assert answer.closed_by_server, "the connection stayed open after the refusal"
    assert requests_counted(app, "other", "POST", 413) == refused_before + 1
    assert rss.growth_kib <= 8 * KIB_PER_MIB, f"RSS grew by {rss.growth_kib} KiB"
    assert_still_serving(app)


def test_gzip_bomb_is_refused_uninflated(app):
    # A user relies on a small compressed body not inflating into a huge one inside the server.
    bomb = gzip.compress(b"\0" * 20_000_000, compresslevel=9)
    assert len(bomb) < 64 * 1024
    request(app.port, "GET", "/login")
    with PeakRss(app.pid) as rss:
        answer = raw_request(app.port, post_login_head(
            "Content-Encoding: gzip", f"Content-Length: {len(bomb)}") + bomb)
    assert answer.status == 415
    assert rss.growth_kib <= 8 * KIB_PER_MIB, f"RSS grew by {rss.growth_kib} KiB"
    assert_still_serving(app)


def test_brotli_body_is_refused(app):
    # A user relies on bodies in an encoding the app does not decode being refused, not misread.
    body = b"\x1b\x03\x00\xf8\xa5\x02\x00not really brotli"
    answer = raw_request(app.port, post_login_head(
        "Content-Encoding: br", f"Content-Length: {len(body)}") + body)
    assert answer.status == 415
    assert_still_serving(app)


def test_body_over_64_kib_is_refused(app):
    # A user relies on no request body over 64 KiB being accepted.
    body = b"a" * 65537
    answer = raw_request(app.port, post_login_head(f"Content-Length: {len(body)}") + body)
    assert answer.status == 413
    assert_still_serving(app)


def test_form_body_of_9_kb_is_read(app):
    # A user relies on forms getting the same 64 KiB as any other body.
    body = b"username=nobody&password=" + b"a" * (9000 - 25)
    answer = raw_request(app.port, post_login_head(f"Content-Length: {len(body)}") + body)
    assert answer.status == 401, answer


def test_form_body_over_64_kib_is_refused_with_a_reason(app):
    # A user relies on a clear message when a form post is too large.
    body = b"username=nobody&password=" + b"a" * (65537 - 25)
    answer = raw_request(app.port, post_login_head(f"Content-Length: {len(body)}") + body)
    assert answer.status == 413
    message = json.loads(answer.body).get("error", "")
    assert "64 KiB" in message and "form" in message, f"error message: {message!r}"
    assert_still_serving(app)


# --- 1b. Request head ----------------------------------------------------------------------------


def test_endless_header_line_is_cut_off_with_flat_memory(app):
    # A user relies on a client that never ends a header line not growing the server's memory.
    request(app.port, "GET", "/login")
    piece = b"a" * 65536
    sent = 0
    with PeakRss(app.pid) as rss:
        with socket.create_connection(("127.0.0.1", app.port), timeout=5) as sock:
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
            try:
                while sent < 32 * 1024 * 1024:
                    sock.sendall(piece)
                    sent += len(piece)
            except OSError:
                pass
            reader = _Reader(sock, time.monotonic() + 5)
            status, _, _ = _read_response(reader)
    assert sent < 32 * 1024 * 1024, "32 MiB of one header line were accepted"
    assert status in (431, None)
    assert rss.growth_kib <= 8 * KIB_PER_MIB, f"RSS grew by {rss.growth_kib} KiB"
    assert_still_serving(app)


@pytest.mark.parametrize("head, statuses", [
    # one header of 20 KB (the head limit is 16 KiB)
    ("GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a" * 20_000 + "\r\n\r\n", {431}),
    # 150 small headers (the limit is 100)
    ("GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
     + "".join(f"X-{i}: a\r\n" for i in range(150)) + "\r\n", {431}),
    # a request line of 40 KB
    ("GET /login?" + "a" * 40_000 + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", {414, 431}),
], ids=["one-20kb-header", "150-headers", "40kb-request-line"])
def test_oversized_heads_are_refused(app, head, statuses):
    # A user relies on a bound on the request line, each header, the whole head and the number of
    # headers, answered with a status that says which.
    answer = raw_request(app.port, head.encode(), close_wait=3)
    assert answer.status in statuses, answer
    assert answer.closed_by_server
    assert_still_serving(app)


@pytest.mark.parametrize("head", [
    "Host : 127.0.0.1\r\nContent-Length: 3",
    "Host: 127.0.0.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked",
    "Host: 127.0.0.1\r\nContent-Length: 3\r\nContent-Length: 4",
], ids=["space-before-colon", "length-and-chunked", "two-lengths"])
def test_ambiguous_body_framing_is_refused(app, head):
    # A user relies on no two readings of where a request ends (the root of request smuggling
    # through a proxy): such a request is refused, not guessed at.
    data = f"POST /logout HTTP/1.1\r\n{head}\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n"
    answer = raw_request(app.port, data.encode(), close_wait=3)
    assert answer.status == 400, answer
    assert answer.closed_by_server
    assert_still_serving(app)


def test_head_just_under_the_limits_is_served(app):
    # A user relies on ordinary large heads (many cookies, long referrers) still being served.
    head = ("GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a" * 12_000 + "\r\n"
            + "".join(f"X-{i}: a\r\n" for i in range(90)) + "\r\n")
    assert raw_request(app.port, head.encode()).status == 200


# --- 1c. Slow and idle clients ------------------------------------------------------------------


def timed_get(port: int, source: str = "127.0.0.2") -> float:
    """Seconds for GET /login on a new connection from `source` (another client address: the
    whole 127.0.0.0/8 block is this machine's)."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10,
                                  source_address=(source, 0)) as sock:
        sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        status, _, _ = _read_response(_Reader(sock, time.monotonic() + 10))
    assert status == 200, f"GET /login from {source}: {status}"
    return time.monotonic() - start


def test_slow_clients_from_one_address_leave_others_served(app):
    # A user relies on 200 connections that trickle their heads from one address not slowing
    # anyone else down: past its cap (128) the address's connections are closed at once, and the
    # others hold neither a thread nor the event loop.
    before = sorted(timed_get(app.port) for _ in range(10))
    slow = [socket.create_connection(("127.0.0.1", app.port), timeout=5) for _ in range(200)]
    try:
        for sock in slow:
            _send_quietly(sock, b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        during = []
        for _ in range(4):  # 4 s: well inside the default 10 s head deadline
            for sock in slow:
                try:
                    sock.send(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            during += [timed_get(app.port) for _ in range(5)]
            time.sleep(1)
        closed = sum(_closes_within(sock, 0.01) for sock in slow)
    finally:
        for sock in slow:
            sock.close()
    assert closed >= 200 - 128, f"only {closed} of 200 connections from one address were closed"
    during.sort()
    baseline = statistics.median(before)
    assert statistics.median(during) <= 5 * baseline + 0.05, (before, during)
    assert during[-1] <= 1.0, during


def test_a_head_trickled_past_its_deadline_is_closed(quick_app):
    # A user relies on a client that sends one byte at a time not keeping its connection: the
    # deadline is for the whole head, not for each byte.
    with socket.create_connection(("127.0.0.1", quick_app.port), timeout=5) as sock:
        start = time.monotonic()
        closed_at = None
        for byte in b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 100:
            try:
                sock.send(bytes([byte]))
            except OSError:
                closed_at = time.monotonic()
                break
            if _closes_within(sock, 0.2):
                closed_at = time.monotonic()
                break
        assert closed_at is not None, "the trickled head was never cut off"
    elapsed = closed_at - start
    assert 1.5 <= elapsed <= 6, f"closed after {elapsed:.1f} s (deadline 2 s)"
    assert_still_serving(quick_app)


def test_idle_keep_alive_connections_hold_no_thread(quick_app):
    # A user relies on browsers' idle keep-alive connections not using up the server: 50 idle
    # connections on an app with four threads in all, and a new visitor is still answered.
    idle = []
    try:
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", quick_app.port), timeout=5)
            sock.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status, headers, _ = _read_response(_Reader(sock, time.monotonic() + 5))
            assert status == 200 and headers.get("connection", "") != "close"
            idle.append(sock)
        elapsed = timed_get(quick_app.port)
        assert elapsed <= 1.0, f"GET /login beside 50 idle connections took {elapsed:.2f} s"
        # ...and the idle ones are closed once they have idled past the 2 s deadline.
        assert all(_closes_within(sock, 5) for sock in idle), "an idle connection was kept"
    finally:
        for sock in idle:
            sock.close()


def test_a_request_arriving_while_the_server_drains_is_answered_503(servers):
    # A user relies on a stopping server answering a request that arrives on an open connection
    # while the requests in flight finish, rather than dropping it.
    server = servers.start("draining", ["--threads", "1"])
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as idle:
        idle.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _read_response(_Reader(idle, time.monotonic() + 10))[0] == 200
        # Six logins queue behind one worker: once the first is answered, the others are
        # waiting for their password hashings, and the drain lasts as long as they do.
        with ThreadPoolExecutor(6) as pool:
            logins = [pool.submit(login, server.port, f"student{i}", timeout=120)
                      for i in range(1, 7)]
            next(as_completed(logins))
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.05)
            idle.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status, headers, _ = _read_response(_Reader(idle, time.monotonic() + 10))
            answers = [done.result().status for done in logins]
    assert status == 503, server.describe()
    assert headers.get("connection") == "close"
    # Every login was answered: those read before the signal in full, any later one with 503.
    assert set(answers) <= {200, 503} and answers.count(200) >= 2, answers
    assert server.stop() == 0, server.describe()


# --- 2. Ranges -----------------------------------------------------------------------------------


def test_range_flood_gets_the_page_once(app):
    # A user relies on one small request not making the server send a page thousands of times.
    plain = request(app.port, "GET", "/login")
    assert plain.status == 200
    ranges = "bytes=" + "0-," * 2000 + "0-"
    answer = raw_request(app.port, (
        f"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: {ranges}\r\n\r\n").encode(),
        read_timeout=10)
    assert answer.status == 200
    assert "multipart/byteranges" not in answer.headers.get("content-type", "")
    assert len(answer.body) == len(plain.body)
    assert_still_serving(app)


# --- 3. Metrics ----------------------------------------------------------------------------------

REQUESTS_LINE = re.compile(
    r'^classroom_http_requests_total\{route="[^"\\\n]*",'
    r'method="(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS|CONNECT|TRACE|other)",'
    r'status="\d{3}"\} \d+$')

JUNK_METHODS = ['X"}evil', "M" * 4000, "get", "PROPFIND", "MKCOL", "BREW"] + [
    f"JUNK{i:02d}" for i in range(46)]


def test_junk_methods_do_not_poison_metrics(app):
    # A user relies on /metrics staying valid Prometheus text with a bounded set of series,
    # whatever methods strangers send.
    assert len(set(JUNK_METHODS)) == 52
    for method in JUNK_METHODS:
        raw_request(app.port, f"{method} /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    answer = request(app.port, "GET", "/metrics",
                     headers={"Authorization": f"Bearer {app.token}"})
    assert answer.status == 200
    text = answer.body.decode("utf-8", "replace")
    lines = [line for line in text.split("\n")
             if line.startswith("classroom_http_requests_total")]
    assert lines, "no classroom_http_requests_total series"
    problems = []
    if "evil" in text:
        problems.append("'evil' appears in /metrics")
    problems += [f"malformed: {line[:120]!r}" for line in lines if not REQUESTS_LINE.match(line)]
    methods = {match.group(1) for line in lines
               if (match := re.search(r'method="([^"]*)"', line))}
    if len(methods) > 10:
        problems.append(f"{len(methods)} distinct method labels")
    assert not problems, "\n".join(problems[:8])
    assert_still_serving(app)


# --- 4. Redirects after login --------------------------------------------------------------------


@pytest.mark.parametrize("next_path, location", [
    ("/\t/evil.example", "/"),  # sent as %2F%09%2Fevil.example; browsers drop the tab
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("https://evil.example/", "/"),
    ("/%2F/evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("/tasks/1", "/tasks/1"),
    ("/quizzes/2?score=1", "/quizzes/2?score=1"),
], ids=["tab", "double-slash", "backslash", "absolute", "encoded-slash", "javascript",
        "task", "quiz-with-query"])
def test_login_redirects_only_within_the_site(app, next_path, location):
    # A user relies on a login link never sending them to another site after they log in.
    answer = login(app.port, "student1", html=True, next_path=next_path)
    assert answer.status == 303
    assert answer.headers.get("location") == location


# --- 5. Login throttling -------------------------------------------------------------------------


def assert_retry_after(answer: Response, longest: int):
    value = answer.headers.get("retry-after", "")
    assert re.fullmatch(r"\d+", value), f"Retry-After: {value!r}"
    assert 1 <= int(value) <= longest, f"Retry-After: {value!r}"


def test_password_guessing_locks_one_user_briefly(throttled_app):
    # A user relies on nobody guessing their password quickly, and on the lock not spreading to
    # their classmates or outlasting its window.
    port = throttled_app.port
    # Sent together: the five must all fall inside the window.
    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = list(pool.map(lambda _: login(port, "student1", "wrong").status, range(5)))
    assert statuses == [401] * 5
    locked = login(port, "student1")
    assert locked.status == 429
    assert_retry_after(locked, 10)
    assert login(port, "student2").status == 200
    time.sleep(int(locked.headers["retry-after"]) + 0.5)
    assert login(port, "student1").status == 200


def login_cookie(port: int, username: str) -> str:
    """The session cookie of a login, waiting out a lock left by an earlier test."""
    for _ in range(3):
        answer = login(port, username)
        if answer.status == 429:
            time.sleep(int(answer.headers.get("retry-after", "1")) + 0.2)
            continue
        assert answer.status == 200
        return answer.headers["set-cookie"].split(";", 1)[0]
    pytest.fail(f"{username} could not log in")


def test_login_flood_does_not_starve_pages(throttled_app):
    # A user browsing the app relies on a stranger's password flood not making pages wait.
    port = throttled_app.port
    cookie = login_cookie(port, "student2")
    stop_at = time.monotonic() + 3.0
    flood = Counter()

    def guess():
        while time.monotonic() < stop_at:
            try:
                status = login(port, "student6", "wrong", timeout=5).status
            except (OSError, http.client.HTTPException) as error:
                status = type(error).__name__
            flood[status] += 1

    guesser = threading.Thread(target=guess, daemon=True)
    guesser.start()
    latencies = []
    try:
        for _ in range(20):
            start = time.monotonic()
            answer = request(port, "GET", "/", headers={"Cookie": cookie}, timeout=5)
            latencies.append(time.monotonic() - start)
            assert answer.status == 200
            time.sleep(0.1)
    finally:
        guesser.join(timeout=10)
    print(f"\nGET / during a login flood: p50 {statistics.median(latencies) * 1e3:.1f} ms, "
          f"max {max(latencies) * 1e3:.1f} ms; flood answers: {dict(flood)}")
    assert sum(flood.values()) > 0


def test_password_guessing_across_users_locks_the_address(address_throttled_app):
    # A user relies on nobody guessing many accounts' passwords from one address.
    port = address_throttled_app.port
    names = [f"student{i}" for i in range(3, 21)] + ["nobody-a", "nobody-b"]
    assert len(names) == 20
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda name: login(port, name, "wrong").status, names))
    assert statuses == [401] * 20
    locked = login(port, "teacher1")
    assert locked.status == 429
    assert_retry_after(locked, 30)


# --- 6. Password hashes --------------------------------------------------------------------------


def test_seeded_passwords_use_600000_iterations(master_db):
    # A user relies on a stolen copy of the database being slow to crack.
    with closing(sqlite3.connect(master_db)) as connection:
        rows = connection.execute("SELECT username, iterations FROM users").fetchall()
    assert len(rows) == 21
    assert {iterations for _, iterations in rows} == {SEEDED_ITERATIONS}, rows[:3]


def test_old_password_hash_is_upgraded_at_login(servers):
    # A user with a hash from an older setting relies on it being strengthened when they next
    # log in, without noticing anything.
    old = {}
    server = servers.start("hash-upgrade",
                           prepare=lambda database: old.update(hash=store_old_hash(database)))
    try:
        assert login(server.port, "student5").status == 200
        assert login(server.port, "student5").status == 200
    finally:
        code = server.stop()
    # Read once the server has stopped: see the test after this one.
    assert code == 0, server.describe()
    row = users_row(server.database, "student5")
    assert row["iterations"] == SEEDED_ITERATIONS
    assert row["password_hash"] != old["hash"]
    expected = hashlib.pbkdf2_hmac("sha256", b"classroom", row["salt"].encode(),
                                   SEEDED_ITERATIONS).hex()
    assert row["password_hash"] == expected


def count_rows(database, table: str) -> int:
    with closing(sqlite3.connect(database, timeout=10)) as connection:
        return connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_reading_the_database_while_serving_loses_nothing(servers):
    # A teacher relies on being able to query the database (sqlite3, a backup script) while the
    # app serves, without the query hiding or discarding what the app writes. SQLite keeps the
    # write-ahead log only while some connection holds a lock on the database file: a process
    # closing its last connection while no other holds one checkpoints the log and deletes it.
    server = servers.start("concurrent-reader")
    try:
        assert count_rows(server.database, "users") == 21  # a query just after the start
        answer = login(server.port, "student1")
        assert answer.status == 200
        assert count_rows(server.database, "sessions") == 1, (
            "a reader does not see the session the app committed")
        cookie = answer.headers["set-cookie"].split(";", 1)[0]
        assert request(server.port, "GET", "/", headers={"Cookie": cookie}).status == 200
    finally:
        code = server.stop()
    assert code == 0, server.describe()
    assert count_rows(server.database, "sessions") == 1


# --- 7. Cross-site -------------------------------------------------------------------------------

CREDENTIALS = json.dumps({"username": "student1", "password": "classroom"})


def test_json_login_disguised_as_text_plain_is_refused(app):
    # A user relies on another site's page, which may post text/plain without asking, not being
    # able to log them in as someone else.
    answer = request(app.port, "POST", "/login", CREDENTIALS,
                     {"Content-Type": "text/plain;application/json"})
    assert answer.status == 415
    assert "set-cookie" not in answer.headers


def test_json_login_with_charset_is_accepted(app):
    # A user of the JSON API relies on a charset parameter being fine.
    answer = request(app.port, "POST", "/login", CREDENTIALS,
                     {"Content-Type": "application/json; charset=utf-8"})
    assert answer.status == 200


def test_login_from_another_origin_is_refused(app):
    # A user relies on another site not being able to log them in to an account of its choosing.
    answer = login(app.port, "student1", headers={"Origin": "http://evil.example"})
    assert answer.status == 403
    assert "set-cookie" not in answer.headers


def test_login_from_own_origin_is_accepted(app):
    # A user of the login form relies on it working: the browser sends the app's own origin.
    answer = login(app.port, "student1", headers={"Origin": f"http://127.0.0.1:{app.port}"})
    assert answer.status == 200


def test_login_without_origin_is_accepted(app):
    # A user of scripts and command-line clients, which send no Origin, relies on them working.
    assert login(app.port, "student1").status == 200


# --- 8. Cookies ----------------------------------------------------------------------------------


def test_served_over_tls_makes_a_host_only_secure_cookie(secure_app):
    # A user behind HTTPS relies on the session cookie never travelling in clear text, nor being
    # set or read by a sibling domain.
    answer = login(secure_app.port, "student3")
    assert answer.status == 200
    set_cookie = answer.headers.get("set-cookie", "")
    assert set_cookie.startswith("__Host-classroom_session="), set_cookie
    attributes = cookie_attributes(set_cookie)
    assert "secure" in attributes, set_cookie
    assert "httponly" in attributes, set_cookie
    assert attributes.get("samesite", "").lower() == "lax", set_cookie
    assert attributes.get("path") == "/", set_cookie
    assert "domain" not in attributes, set_cookie
    cookie = set_cookie.split(";", 1)[0]
    assert request(secure_app.port, "GET", "/", headers={"Cookie": cookie}).status == 200


def test_served_over_tls_compares_origin_with_https(secure_app):
    # Behind HTTPS the page's own origin is https://; a plain-HTTP page of the same host is
    # another site.
    host = f"127.0.0.1:{secure_app.port}"
    assert login(secure_app.port, "student3", headers={"Origin": f"https://{host}"}).status == 200
    refused = login(secure_app.port, "student3", headers={"Origin": f"http://{host}"})
    assert refused.status == 403
    assert "set-cookie" not in refused.headers


def test_plain_http_cookie_is_not_secure(app):
    # A user of the app over plain HTTP (a classroom's own machine) relies on the cookie being
    # sent back at all.
    answer = login(app.port, "student4")
    assert answer.status == 200
    set_cookie = answer.headers.get("set-cookie", "")
    assert set_cookie.startswith("classroom_session="), set_cookie
    assert "secure" not in cookie_attributes(set_cookie), set_cookie


# --- 9. Token ------------------------------------------------------------------------------------


def test_short_token_is_refused_at_start(binary, master_db, tmp_path):
    # A user relies on the admin pages never being guarded by a guessable token.
    database = tmp_path / "classroom.db"
    shutil.copy(master_db, database)
    proc = subprocess.Popen(
        [binary, "serve", "--database", str(database), "--host", "127.0.0.1", "--port", "0",
         "--token", "short"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _, stderr = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        pytest.fail("serve --token short was still running after 10 s")
    message = stderr.decode("utf-8", "replace")
    assert proc.returncode != 0
    assert "token" in message.lower() and "32" in message, message


# --- 10. Dashboard -------------------------------------------------------------------------------


def test_dashboard_survives_hostile_rows(dashboard_app):
    # A teacher relies on the dashboard showing, safely, whatever the events table holds.
    answer = request(dashboard_app.port, "GET", f"/analytics?token={dashboard_app.token}")
    assert answer.status == 200, answer.body[:200]
    assert len(answer.body) < 2_000_000
    text = answer.body.decode("utf-8")  # strict: a cut multi-byte character raises here
    assert "<script>hostile_marker" not in text
