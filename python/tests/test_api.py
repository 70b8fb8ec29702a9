"""The contract of evlog.Logger's constructor and methods, and of the value classes it returns:
every option by its C++ name, clear errors naming the field, the shapes of Result, Outcome and
Stats, the context manager, flush and shutdown."""

from __future__ import annotations

import dataclasses
import datetime
import inspect
import pathlib
import re

import pytest

import evlog
from conftest import accounted, count_rows, rows, write_lock

# Every field of the C++ evlog::Options but make_sink, with a valid value each.
ALL_OPTIONS = {
    "table": "events_py",
    "queue_capacity": 1024,
    "max_queue_bytes": 1 << 20,
    "max_batch": 128,
    "max_delay": 0.02,
    "on_full": "drop_oldest",
    "block_timeout": 0.005,
    "max_metadata_bytes": 4096,
    "shutdown_timeout": 2.0,
    "db_timeout": 0.1,
    "retry_initial": 0.01,
    "retry_max": 0.5,
    "critical_types": ["task_complete", "quiz_attempt"],
    "commit_timeout": 3,
    "durability": "full",
    "spill_dir": None,
    "spill_after": 1.0,
    "max_spill_bytes": 1 << 24,
    "spill_segment_bytes": 1 << 20,
    "max_dead_letter_bytes": 1 << 20,
    "on_warning": lambda line: None,
}

STATS_FIELDS = [
    "rejected", "dropped", "dropped_queue_full", "dropped_bytes_full", "written",
    "dead_lettered", "lost", "batches", "retries", "replayed", "spill_failures", "spill_corrupt",
    "committed_waits", "commit_timeouts", "queued", "spilled", "queued_bytes", "spill_bytes",
    "oldest_queued_age", "last_error", "database_failing",
]


def test_every_option_is_a_keyword_and_takes_effect(db, tmp_path):
    options = dict(ALL_OPTIONS, spill_dir=tmp_path / "spill")
    with evlog.Logger(db, **options) as logger:
        assert logger.log("page_view", 1, "student", {"path": "/"}).outcome == "queued"
        # critical_types from a list: committed delivery for these types.
        assert logger.log("task_complete", 1, "student").outcome == "committed"
        # max_metadata_bytes = 4096.
        r = logger.log("page_view", metadata={"x": "a" * 5000})
        assert r.outcome == "rejected" and "4096" in r.message
    # table: the events went to events_py; spill_dir: created.
    assert rows(db, "SELECT count(*) FROM events_py") == [(2,)]
    assert (tmp_path / "spill").is_dir()


def test_database_takes_a_path_object(tmp_path):
    path = tmp_path / "path.db"
    with evlog.Logger(path) as logger:
        assert logger.log("page_view").ok
    assert count_rows(str(path)) == 1


def test_database_defaults_to_analytics_db_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with evlog.Logger() as logger:
        assert logger.log("page_view").ok
    assert count_rows(str(tmp_path / "analytics.db")) == 1


def test_signature_names_database_first():
    assert evlog.Logger.__init__.__doc__ is not None
    assert "database" in evlog.Logger.__init__.__doc__


def test_an_unknown_keyword_raises_type_error(db):
    with pytest.raises(TypeError, match="unexpected keyword argument 'queue_size'"):
        evlog.Logger(db, queue_size=10)
    with pytest.raises(TypeError, match="unexpected keyword argument 'make_sink'"):
        evlog.Logger(db, make_sink=lambda: None)


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("queue_capacity", "1024", "must be an int, got str"),
        ("queue_capacity", True, "must be an int, got bool"),
        ("queue_capacity", 1.5, "must be an int, got float"),
        ("queue_capacity", -1, "must not be negative"),
        ("queue_capacity", 8, "must be between 16 and 4194304, got 8"),  # the C++ check
        ("queue_capacity", 2**70, "too large"),
        ("max_batch", 0, "must be between 1 and 1000000"),
        ("max_delay", "0.1", "must be a number of seconds"),
        ("max_delay", float("nan"), "finite"),
        ("max_delay", float("inf"), "finite"),
        ("max_delay", -0.5, "must not be negative"),
        ("max_delay", 0, "must be at least 1 ms, got 0 ms"),  # the C++ check
        ("max_delay", 1e300, "too large"),
        ("shutdown_timeout", None, "got NoneType"),
        ("table", 5, "must be a str, got int"),
        ("table", "bad name", "must be 1-63 bytes"),  # the C++ check
        ("on_full", "drop", "must be one of 'drop_newest', 'drop_oldest', 'block', got 'drop'"),
        ("on_full", 1, "got int"),
        ("durability", "FULL", "must be one of 'normal', 'full'"),
        ("critical_types", "task_complete", "not a single str"),
        ("critical_types", b"task_complete", "not a single bytes"),
        ("critical_types", 5, "must be an iterable of str, got int"),
        ("critical_types", ["ok", 3], "each must be a str, got int"),
        ("critical_types", {"bad type"}, "each must be a valid event type"),  # the C++ check
        ("on_warning", "print", "must be a callable"),
        ("spill_dir", 5, "must be a str or an os.PathLike"),
        ("spill_segment_bytes", 1024, "must be at least 65536"),  # the C++ check
        ("retry_max", 0.001, "must be at least retry_initial"),  # the C++ check
    ],
)
def test_an_invalid_value_raises_error_naming_the_field(db, field, value, words):
    with pytest.raises(evlog.Error) as caught:
        evlog.Logger(db, **{field: value})
    message = str(caught.value)
    assert f"Options::{field}:" in message
    assert words in message


def test_error_is_a_value_error_of_the_package():
    assert issubclass(evlog.Error, ValueError)
    assert evlog.Error.__module__ == "evlog"


def test_database_must_be_a_path(tmp_path):
    with pytest.raises(evlog.Error, match="Options::database: must be a str or an os.PathLike"):
        evlog.Logger(5)
    with pytest.raises(evlog.Error, match="Options::database"):
        evlog.Logger(b"x.db")
    with pytest.raises(evlog.Error, match="Options::database"):
        evlog.Logger("")


def test_a_database_in_a_missing_directory_raises_error(tmp_path):
    with pytest.raises(evlog.Error, match="cannot open database file"):
        evlog.Logger(tmp_path / "missing" / "x.db")


def test_durations_are_seconds_rounded_up_to_whole_milliseconds(db):
    # 0.0001 s becomes 1 ms, not 0 (which max_delay refuses): a positive duration never becomes
    # zero. A timedelta is accepted too.
    with evlog.Logger(db, max_delay=0.0001, commit_timeout=datetime.timedelta(seconds=2)) as lg:
        assert lg.log("page_view").ok
    with evlog.Logger(db, max_delay=datetime.timedelta(microseconds=1)) as lg:
        assert lg.log("page_view").ok
    assert count_rows(db) == 2


def test_sets_take_any_iterable_of_str(db):
    for types in (
        {"task_complete"},
        frozenset({"task_complete"}),
        ("task_complete",),
        (t for t in ["task_complete"]),
        {"task_complete": 1},
    ):
        with evlog.Logger(db, critical_types=types) as logger:
            assert logger.log("task_complete").outcome == "committed"
            assert logger.log("page_view").outcome == "queued"


def test_result_outcome_message_ok_and_truth(db):
    with evlog.Logger(db) as logger:
        r = logger.log("page_view", 1, "student")
        assert isinstance(r, evlog.Result)
        assert r.outcome is evlog.Outcome.QUEUED
        assert r.outcome == "queued" and str(r.outcome) == "queued"
        assert r.message == "" and r.ok is True and bool(r) is True
        bad = logger.log("page view")
        assert bad.outcome == evlog.Outcome.rejected == "rejected"
        assert bad.ok is False and not bad
        assert bad.message.startswith("event_type: ")
        assert "rejected" in repr(bad)
        # Results are immutable: a shared answer cannot be changed under another caller.
        with pytest.raises(AttributeError):
            r.message = "changed"


def test_outcome_is_a_str_enum_with_the_six_cpp_outcomes():
    assert [o.value for o in evlog.Outcome] == [
        "queued", "committed", "dropped", "rejected", "timed_out", "closed",
    ]
    assert all(isinstance(o, str) for o in evlog.Outcome)
    assert evlog.Outcome("timed_out") is evlog.Outcome.timed_out is evlog.Outcome.TIMED_OUT


def test_stats_has_every_cpp_field_and_as_dict(db):
    with evlog.Logger(db) as logger:
        logger.log("page_view")
        logger.log("bad type")
        assert logger.flush(5.0)
        stats = logger.stats()
    assert isinstance(stats, evlog.Stats)
    assert [f.name for f in dataclasses.fields(stats)] == STATS_FIELDS
    assert stats.as_dict() == {name: getattr(stats, name) for name in STATS_FIELDS}
    assert stats.written == 1 and stats.rejected == 1 and stats.batches >= 1
    assert isinstance(stats.oldest_queued_age, float)
    assert accounted(stats, 2)


def test_oldest_queued_age_is_seconds(db):
    logger = evlog.Logger(db, max_delay=0.02)
    logger.log("prime")
    assert logger.flush(5.0)
    with write_lock(db):
        logger.log("page_view")
        deadline = 50
        while logger.stats().oldest_queued_age < 0.2 and deadline:
            deadline -= 1
            __import__("time").sleep(0.02)
        age = logger.stats().oldest_queued_age
        assert 0.2 <= age < 10.0, age
    assert logger.flush(5.0)
    assert logger.stats().oldest_queued_age == 0.0
    logger.shutdown()


def test_flush_is_true_once_earlier_events_are_final_and_false_at_its_deadline(db):
    logger = evlog.Logger(db, max_delay=0.02)
    logger.log("prime")
    assert logger.flush(5.0) is True
    with write_lock(db):
        for i in range(10):
            logger.log("page_view", i)
        assert logger.flush(0.2) is False
        assert count_rows(db) == 1
    assert logger.flush(5.0) is True
    assert count_rows(db) == 11
    assert logger.shutdown() is True


def test_flush_and_shutdown_validate_their_timeout(db):
    with evlog.Logger(db) as logger:
        with pytest.raises(evlog.Error, match="timeout: must be a number of seconds"):
            logger.flush("1")
        with pytest.raises(evlog.Error, match="timeout: must not be negative"):
            logger.shutdown(-1)


def test_shutdown_closes_and_answers_the_same_again(db):
    logger = evlog.Logger(db)
    for i in range(50):
        assert logger.log("page_view", i).ok
    assert logger.shutdown(5.0) is True
    assert logger.shutdown(0) is True
    assert logger.close() is True
    after = logger.log("page_view", 99)
    assert after.outcome == "closed" and not after.ok
    assert logger.flush(0.1) is True
    stats = logger.stats()
    assert stats.written == 50 and stats.rejected == 1
    assert accounted(stats, 51)
    assert count_rows(db) == 50


def test_shutdown_counts_what_misses_its_deadline_as_lost(db):
    logger = evlog.Logger(db, max_delay=0.02, on_warning=lambda line: None)
    logger.log("prime")
    assert logger.flush(5.0)
    with write_lock(db):
        for i in range(20):
            logger.log("page_view", i)
        assert logger.shutdown(0.3) is False
    stats = logger.stats()
    assert stats.lost == 20
    assert accounted(stats, 21)


def test_context_manager_shuts_down_and_never_swallows_an_exception(db):
    with pytest.raises(KeyError):
        with evlog.Logger(db) as logger:
            logger.log("page_view")
            raise KeyError("boom")
    assert logger.log("page_view").outcome == "closed"
    assert count_rows(db) == 1


def test_on_warning_receives_warnings_as_str(db):
    lines = []
    logger = evlog.Logger(db, queue_capacity=16, max_delay=0.02, on_warning=lines.append)
    logger.log("prime")
    assert logger.flush(5.0)
    with write_lock(db):
        for i in range(100):
            logger.log("page_view", i)
        stats = logger.stats()
        assert stats.dropped > 0
    logger.shutdown(5.0)
    # The drops were reported, and every line arrived before shutdown() returned.
    assert any("drop" in line for line in lines), lines
    assert all(isinstance(line, str) and line.startswith("evlog: ") for line in lines)


def test_module_exposes_the_documented_names():
    for name in evlog.__all__:
        assert getattr(evlog, name).__doc__, name
    for method in ("log", "flush", "shutdown", "close", "stats"):
        assert getattr(evlog.Logger, method).__doc__, method
    assert re.fullmatch(r"\d+\.\d+\.\d+", evlog.__version__)
    package = pathlib.Path(evlog.__file__).parent
    assert (package / "py.typed").exists() and (package / "_evlog.pyi").exists()
    assert "delivery" in inspect.getdoc(evlog.Logger.log)


def test_a_logger_whose_init_never_ran_raises_instead_of_crashing():
    bare = evlog.Logger.__new__(evlog.Logger)
    for call in (lambda: bare.log("page_view"), bare.flush, bare.shutdown, bare.close,
                 bare.stats, bare.__enter__, lambda: bare.__exit__(None, None, None)):
        with pytest.raises(TypeError, match="__init__"):
            call()
    with pytest.raises(TypeError):
        evlog.Logger.flush(5)
    with pytest.raises(TypeError):
        evlog.Logger.log(5, "page_view")


def test_a_subclass_works_and_must_call_init(db):
    class AppLogger(evlog.Logger):
        def page(self, path):
            return self.log("page_view", metadata={"path": path})

    with AppLogger(db) as logger:
        assert logger.page("/tasks").ok
    assert count_rows(db) == 1

    class Forgetful(evlog.Logger):
        def __init__(self):
            pass

    with pytest.raises(TypeError, match="__init__"):
        Forgetful()


def test_validate_options_checks_as_the_constructor_does_without_opening(tmp_path):
    db = tmp_path / "unopened.db"
    evlog.validate_options(db, critical_types={"task_complete"}, max_delay=0.05,
                           spill_dir=tmp_path / "spill", on_warning=print)
    assert not db.exists() and not (tmp_path / "spill").exists()
    for field, value in [("queue_capacity", 8), ("queue_capacity", "8"), ("table", "a b"),
                         ("critical_types", "task_complete"), ("on_full", "never")]:
        with pytest.raises(evlog.Error) as by_validate:
            evlog.validate_options(db, **{field: value})
        with pytest.raises(evlog.Error) as by_constructor:
            evlog.Logger(db, **{field: value})
        assert str(by_validate.value) == str(by_constructor.value)
        assert f"Options::{field}:" in str(by_validate.value)
    with pytest.raises(TypeError, match="unexpected keyword argument 'size'"):
        evlog.validate_options(db, size=1)
    assert not db.exists()
