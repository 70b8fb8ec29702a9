"""evlog.inspect_spill() and evlog.replay() on the spill files a crashed process left: every
record, the corrupt spans with their offsets, an exact replay; the same answers as the `evlog
inspect` and `evlog replay` commands."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess

import pytest

import evlog
from conftest import rows, run_python

N = 300


@pytest.fixture
def left(tmp_path):
    """A spill directory left by a process that died (os._exit) while its database was locked:
    N events of type "left", user_id 0 ... N-1, all spilled, none written."""
    db = str(tmp_path / "app.db")
    spill = tmp_path / "spill"
    run_python(f"""
        import os, sqlite3, sys, time, evlog
        db, spill = sys.argv[1], sys.argv[2]
        with evlog.Logger(db) as lg:
            lg.log("prime")
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        logger = evlog.Logger(db, spill_dir=spill, spill_after=0, max_delay=0.02,
                              on_warning=lambda line: None)
        for i in range({N}):
            assert logger.log("left", i, "student", {{"py": True}}).ok
        deadline = time.monotonic() + 30
        while logger.stats().spilled < {N}:
            assert time.monotonic() < deadline, logger.stats()
            time.sleep(0.01)
        os._exit(0)  # as a crash: no shutdown, no replay
    """, db, str(spill))
    files = sorted(spill.glob("spill-*.evs"))
    assert files, "the process left no spill file"
    return db, spill, files


def test_inspect_lists_every_record(left):
    db, spill, files = left
    records = []
    for path in files:
        found = evlog.inspect_spill(path)
        assert isinstance(found, evlog.SpillInspection)
        assert found.clean and found.header_ok and not found.torn_tail and not found.corrupt
        assert found.path == str(path)
        assert found.target.endswith("#analytics_events") and "app.db" in found.target
        records.extend(found.records)
    assert sorted(r.user_id for r in records) == list(range(N))
    r = records[0]
    assert isinstance(r, evlog.SpillRecord)
    assert r.event_type == "left" and r.user_type == "student" and r.metadata == '{"py":true}'
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        r.event_id)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", r.created_at)


def test_inspect_reports_a_flipped_byte_with_its_offset(left, tmp_path):
    _, _, files = left
    bad = tmp_path / "bad.evs"
    shutil.copy(files[0], bad)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    found = evlog.inspect_spill(str(bad))
    assert not found.clean and found.corrupt
    span = found.corrupt[0]
    assert isinstance(span, evlog.SpillCorruption)
    assert span.offset <= len(data) // 2 < span.offset + span.length
    assert span.reason
    clean = evlog.inspect_spill(files[0])
    assert len(found.records) < len(clean.records)


def test_inspect_of_a_missing_file_raises_error(tmp_path):
    with pytest.raises(evlog.Error):
        evlog.inspect_spill(str(tmp_path / "missing.evs"))
    with pytest.raises(TypeError):
        evlog.inspect_spill(5)


def test_replay_writes_every_event_once_and_deletes_the_files(left):
    db, spill, _ = left
    lines = []
    report = evlog.replay(spill, db, timeout=60, on_warning=lines.append)
    assert isinstance(report, evlog.ReplayReport) and isinstance(report.stats, evlog.Stats)
    assert report.stats.replayed == N
    assert report.files_left == 0
    assert rows(db, "SELECT count(*), count(DISTINCT event_id), count(DISTINCT user_id) "
                    "FROM analytics_events WHERE event_type = 'left'") == [(N, N, N)]
    assert not list(spill.glob("spill-*.evs"))
    again = evlog.replay(spill, db)
    assert again.stats.replayed == 0 and again.files_left == 0
    assert rows(db, "SELECT count(*) FROM analytics_events WHERE event_type = 'left'") == [(N,)]


def test_replay_validates_its_arguments(left, tmp_path):
    db, spill, _ = left
    with pytest.raises(TypeError, match="unexpected keyword argument 'tabel'"):
        evlog.replay(spill, db, tabel="x")
    with pytest.raises(evlog.Error, match="Options::table"):
        evlog.replay(spill, db, table="bad name")
    with pytest.raises(evlog.Error, match="timeout: must not be negative"):
        evlog.replay(spill, db, timeout=-1)
    with pytest.raises(TypeError, match="multiple values for argument 'spill_dir'"):
        evlog.replay(spill, db, spill_dir=spill)


def cli():
    path = os.environ.get("EVLOG_CLI")
    assert path and os.access(path, os.X_OK), "EVLOG_CLI must name the evlog command"
    return path


@pytest.mark.cli
def test_inspect_agrees_with_the_evlog_command(left, tmp_path):
    _, _, files = left
    bad = tmp_path / "bad.evs"
    shutil.copy(files[0], bad)
    data = bytearray(bad.read_bytes())
    data[len(data) // 3] ^= 0x01
    bad.write_bytes(bytes(data))
    for path in [*files, bad]:
        found = evlog.inspect_spill(path)
        out = subprocess.run([cli(), "inspect", str(path)], capture_output=True, text=True)
        assert out.returncode == (0 if found.clean else 1)
        listed = re.findall(r"^\s*(\d+)\s+(\S+)\s+\S+\s+left\s", out.stdout, re.M)
        assert [(int(o), i) for o, i in listed] == [(r.offset, r.event_id) for r in found.records]
        spans = re.findall(r"^corrupt: offset (\d+), (\d+) bytes: (.*)$", out.stdout, re.M)
        assert [(int(o), int(n), why) for o, n, why in spans] == [
            (c.offset, c.length, c.reason) for c in found.corrupt]


@pytest.mark.cli
def test_replay_agrees_with_the_evlog_command(left, tmp_path):
    db, spill, _ = left
    # The spill files name the database they belong to, so both replays write to that path:
    # first evlog.replay() from the original state, then the command from the same state again.
    before = sqlite3.connect(str(tmp_path / "before.db"))
    sqlite3.connect(db).backup(before)
    copy = tmp_path / "spill_copy"
    shutil.copytree(spill, copy)
    query = ("SELECT event_id, event_type, user_id, user_type, metadata, created_at "
             "FROM analytics_events ORDER BY event_id")

    report = evlog.replay(spill, db)
    by_python = rows(db, query)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    before.backup(sqlite3.connect(db))
    out = subprocess.run([cli(), "replay", "--spill-dir", str(copy), "--database", db],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    by_command = rows(db, query)

    assert report.stats.replayed == N and report.files_left == 0
    assert re.search(rf"^replayed {N} events into .*; 0 spill files left$", out.stdout, re.M), (
        out.stdout)
    assert len(by_python) == N + 1  # and the prime row
    assert by_python == by_command
