"""Logger.log() with every kind of argument, good and bad: it never raises for what the event
holds, answers `rejected` naming the field (and, inside metadata, the path), counts the refusal,
and stores what it accepts byte for byte."""

from __future__ import annotations

import collections
import enum
import json
import sqlite3

import pytest

import evlog
from conftest import accounted, rows


@pytest.fixture
def logger(db):
    lg = evlog.Logger(db, max_delay=0.02)
    yield lg
    lg.shutdown(5.0)


def stored(db, logger):
    assert logger.flush(5.0)
    return rows(db, "SELECT event_type, user_id, user_type, metadata FROM analytics_events "
                    "ORDER BY id")


def test_positional_and_keyword_arguments(db, logger):
    assert logger.log("a", 1, "student", {"k": 1}).ok
    assert logger.log(event_type="b", user_id=2, user_type="teacher", metadata='{"k":2}').ok
    assert logger.log("c", metadata={"k": 3}, user_id=3).ok
    assert stored(db, logger) == [
        ("a", 1, "student", '{"k":1}'),
        ("b", 2, "teacher", '{"k":2}'),
        ("c", 3, None, '{"k":3}'),
    ]


def test_call_shape_errors_raise_type_error(logger):
    with pytest.raises(TypeError, match="missing required argument 'event_type'"):
        logger.log()
    with pytest.raises(TypeError, match="unexpected keyword argument 'meta'"):
        logger.log("a", meta={})
    with pytest.raises(TypeError, match="multiple values for argument 'user_id'"):
        logger.log("a", 1, user_id=2)
    with pytest.raises(TypeError, match="positional arguments"):
        logger.log("a", 1, "s", None, "committed")  # delivery is keyword-only
    assert logger.stats().rejected == 0  # not calls that reached the logger


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"event_type": 5}, "event_type: must be a str, got int"),
        ({"event_type": b"page_view"}, "event_type: must be a str, got bytes"),
        ({"event_type": None}, "event_type: must be a str, got NoneType"),
        ({"event_type": ""}, "event_type: must be 1-64 bytes"),
        ({"event_type": "x" * 65}, "event_type: must be 1-64 bytes"),
        ({"event_type": "page view"}, "event_type: must be 1-64 bytes of [A-Za-z0-9_.:-], found byte 0x20"),
        ({"event_type": "\udc80"}, "event_type: must be valid UTF-8"),
        ({"user_id": "7"}, "user_id: must be an int or None, got str"),
        ({"user_id": True}, "user_id: must be an int or None, got bool"),
        ({"user_id": 7.0}, "user_id: must be an int or None, got float"),
        ({"user_id": 2**63}, "user_id: must fit in 64 bits"),
        ({"user_id": -(2**63) - 1}, "user_id: must fit in 64 bits"),
        ({"user_type": 3}, "user_type: must be a str or None, got int"),
        ({"user_type": "x" * 65}, "user_type: must be at most 64 bytes, got 65"),
        ({"user_type": "a\x00b"}, "user_type: must not contain a NUL byte"),
        ({"user_type": "\ud800"}, "user_type: must be valid UTF-8"),
        ({"metadata": [1, 2]}, "metadata: must be a dict, a str of JSON text or None, got list"),
        ({"metadata": 5}, "metadata: must be a dict, a str of JSON text or None, got int"),
        ({"metadata": b"{}"}, "metadata: must be a dict, a str of JSON text or None, got bytes"),
        ({"metadata": "[1,2]"}, "metadata: must be a JSON object, got a JSON array"),
        ({"metadata": "{"}, "metadata: must be valid JSON"),
        ({"metadata": '{"a":"\\u0000"}'}, "metadata: strings must not contain U+0000"),
        ({"metadata": '{"a":"\udc80"}'}, "metadata: must be valid UTF-8"),
        ({"delivery": "sync"}, "delivery: must be None, 'async' or 'committed', got 'sync'"),
        ({"delivery": 1}, "delivery: must be None, 'async' or 'committed', got 1"),
    ],
)
def test_a_bad_field_is_rejected_naming_it(db, logger, kwargs, message):
    args = {"event_type": "page_view", **kwargs}
    r = logger.log(**args)
    assert r.outcome == "rejected", r
    assert not r.ok
    assert message in r.message, r.message
    assert logger.flush(5.0)
    stats = logger.stats()
    assert stats.rejected == 1
    assert accounted(stats, 1)
    assert stored(db, logger) == []


@pytest.mark.parametrize(
    "metadata, message",
    [
        ({"answers": [1, 2, {3}]}, "metadata.answers[2]: cannot serialize a value of type set"),
        ({"when": object()}, "metadata.when: cannot serialize a value of type object"),
        ({"b": b"x"}, "metadata.b: cannot serialize a value of type bytes"),
        ({1: "x"}, "metadata: keys must be str, got a key of type int"),
        ({"a": {None: 1}}, "metadata.a: keys must be str, got a key of type NoneType"),
        ({"f": float("nan")}, "metadata.f: float must be finite, got nan"),
        ({"f": [float("inf")]}, "metadata.f[0]: float must be finite, got inf"),
        ({"f": -float("inf")}, "metadata.f: float must be finite, got -inf"),
        ({"n": 2**64}, "metadata.n: int must fit in 64 bits"),
        ({"s": "a\x00b"}, "metadata.s: strings must not contain U+0000"),
        ({"a\x00": 1}, 'metadata["a?"]: strings must not contain U+0000'),
        ({"s": ["ok", "\udc80"]}, "metadata.s[1]: strings must be valid UTF-8"),
        ({"two words": {"x": {1}}}, 'metadata["two words"].x: cannot serialize a value of type set'),
    ],
)
def test_bad_metadata_is_rejected_naming_the_path_and_type(db, logger, metadata, message):
    r = logger.log("page_view", metadata=metadata)
    assert r.outcome == "rejected"
    assert r.message.startswith(message), r.message
    assert logger.stats().rejected == 1
    assert stored(db, logger) == []


def test_a_dict_that_contains_itself_is_rejected_not_followed(db, logger):
    d = {"a": 1}
    d["self"] = d
    assert logger.log("page_view", metadata=d).message == (
        "metadata.self: refers to a container that holds it (a cycle)")
    inner = []
    inner.append(inner)
    r = logger.log("page_view", metadata={"list": inner})
    assert r.message == "metadata.list[0]: refers to a container that holds it (a cycle)"
    # The same object twice, side by side, is not a cycle.
    shared = {"x": 1}
    assert logger.log("page_view", metadata={"a": shared, "b": [shared, shared]}).ok
    assert stored(db, logger)[-1][3] == '{"a":{"x":1},"b":[{"x":1},{"x":1}]}'


def nested(levels):
    """A dict nested `levels` deep counting itself: {"n": {"n": ... {}}}."""
    d = {}
    for _ in range(levels - 1):
        d = {"n": d}
    return d


def test_nesting_is_capped_at_64_levels_as_for_json_text(db, logger):
    assert logger.log("page_view", metadata=nested(64)).ok
    r = logger.log("page_view", metadata=nested(65))
    assert r.outcome == "rejected"
    assert r.message.endswith(": nesting must be at most 64 levels deep")
    assert r.message.startswith("metadata.n.n.n")
    # The same depths as JSON text, checked by the C++ validation: the same verdicts.
    assert logger.log("page_view", metadata=json.dumps(nested(64))).ok
    assert logger.log("page_view", metadata=json.dumps(nested(65))).outcome == "rejected"
    # Deep lists too, and far deeper input is refused without recursion trouble.
    deep = []
    for _ in range(10000):
        deep = [deep]
    assert "nesting must be at most 64" in logger.log("page_view", metadata={"d": deep}).message
    assert logger.log("page_view", metadata="[" * 100000).outcome == "rejected"


def test_metadata_over_max_metadata_bytes_is_rejected(db):
    with evlog.Logger(db, max_metadata_bytes=1000) as logger:
        fits = {"s": "x" * (1000 - len('{"s":""}'))}
        assert logger.log("page_view", metadata=fits).ok
        r = logger.log("page_view", metadata={"s": "x" * 1000})
        assert r.outcome == "rejected"
        assert r.message == ("metadata: must be at most 1000 bytes (Options::max_metadata_bytes)"
                             " as JSON text, got more")
        # A huge dict is refused once its text passes the cap, without building all of it.
        huge = {str(i): "y" * 100 for i in range(100000)}
        assert logger.log("page_view", metadata=huge).outcome == "rejected"
        text = r'{"s":"' + "x" * 2000 + '"}'
        assert "must be at most 1000 bytes" in logger.log("page_view", metadata=text).message
        assert logger.stats().rejected == 3


def test_dict_values_of_every_accepted_type_round_trip(db, logger):
    metadata = {
        "s": "héllo \"quoted\" \\ \n\t\r\b\f \x01 \x1f",
        "emoji": "😀",
        "i": -(2**63),
        "j": 2**63 - 1,
        "f": 0.1,
        "whole": 3.0,
        "big": 1e300,
        "tiny": 5e-324,
        "t": True,
        "no": False,
        "none": None,
        "list": [1, "two", [3.5]],
        "tuple": (1, 2),
        "empty": {},
        "empty_list": [],
    }
    assert logger.log("page_view", metadata=metadata).ok
    text = stored(db, logger)[0][3]
    back = json.loads(text)
    expected = dict(metadata, tuple=[1, 2])
    assert back == expected
    # Floats keep their type, as json.dumps writes them; the text is compact UTF-8.
    assert '"whole":3.0' in text and '"f":0.1' in text
    assert "😀" in text


def test_subclasses_of_dict_str_int_float_list_are_accepted(db, logger):
    class Color(str, enum.Enum):
        RED = "red"

    class Level(enum.IntEnum):
        HIGH = 3

    class Meta(dict):
        pass

    class Items(list):
        pass

    metadata = Meta(color=Color.RED, level=Level.HIGH, items=Items([1.5]))
    ordered = collections.OrderedDict([("z", 1), ("a", 2)])
    assert logger.log("page_view", metadata=metadata).ok
    assert logger.log("page_view", metadata=ordered).ok
    stored_rows = stored(db, logger)
    assert json.loads(stored_rows[0][3]) == {"color": "red", "level": 3, "items": [1.5]}
    assert stored_rows[1][3] == '{"z":1,"a":2}'


def test_empty_and_none_are_null(db, logger):
    assert logger.log("a", None, None, None).ok
    assert logger.log("b", user_type="", metadata="").ok
    assert logger.log("c", metadata={}).ok
    assert stored(db, logger) == [("a", None, None, None), ("b", None, None, None),
                                  ("c", None, None, "{}")]


def test_user_id_extremes_and_int_subclasses(db, logger):
    class Id(int):
        pass

    for value in (0, -1, 2**63 - 1, -(2**63), Id(12)):
        assert logger.log("page_view", user_id=value).ok
    assert [r[1] for r in stored(db, logger)] == [0, -1, 2**63 - 1, -(2**63), 12]


def test_str_metadata_is_stored_byte_for_byte(db, logger):
    text = '{"b": 1,  "a": [true, null], "s": "\\u00e9"}'
    assert logger.log("page_view", metadata=text).ok
    assert stored(db, logger)[0][3] == text


def test_explicit_delivery_overrides_critical_types(db):
    with evlog.Logger(db, critical_types={"task_complete"}) as logger:
        assert logger.log("task_complete").outcome == "committed"
        assert logger.log("task_complete", delivery="async").outcome == "queued"
        assert logger.log("page_view", delivery="committed").outcome == "committed"
        assert logger.log("page_view", delivery=None).outcome == "queued"
        stats = logger.stats()
        assert stats.committed_waits == 2


def test_no_input_crashes_the_interpreter_and_every_call_is_counted(db, logger):
    weird = [
        None, 0, -1, 2**200, 1.5, float("nan"), "", "x" * 100000, b"", bytearray(b"x"), [],
        (), {}, set(), frozenset(), object(), type, len, evlog, Exception("e"), 1j,
        memoryview(b"ab"), range(3), iter([1]), "\udc80", "\x00", {"k": object()},
        {"k": {"k": {"k": set()}}}, sqlite3,
    ]
    calls = 0
    for value in weird:
        for field in ("event_type", "user_id", "user_type", "metadata", "delivery"):
            args = {"event_type": "page_view", field: value}
            r = logger.log(**args)
            calls += 1
            assert isinstance(r, evlog.Result)
            assert r.outcome in ("queued", "rejected"), (field, value, r)
    assert logger.flush(10.0)
    assert accounted(logger.stats(), calls)
