"""evlog: record analytics events from a web back end without making anyone wait.

``Logger.log()`` validates an event, stamps it (a UUIDv7 ``event_id`` and the UTC time of the
call) and queues it in well under a microsecond; one background writer per logger commits events
in batches into the ``analytics_events`` table of a SQLite file, or of a PostgreSQL database.
Event types that must be in the table before a response (``critical_types``) wait for a group
commit instead of a transaction each. Every call is counted in exactly one place (see
``Stats``), and nothing is lost silently: not when the queue is full, not when the database is
down (with a ``spill_dir``), not at exit, not after ``os.fork()``.

This is the C++ logger itself, as a native extension: no second queue, no Python thread for
events::

    import evlog

    with evlog.Logger("analytics.db", critical_types={"task_complete"}) as logger:
        r = logger.log("page_view", user_id=42, user_type="student",
                       metadata={"path": "/tasks/3"})
        if not r.ok:
            print(r.outcome, r.message)
"""

from __future__ import annotations

import atexit as _atexit
import dataclasses as _dataclasses
import enum as _enum
import os as _os
import sys as _sys
from typing import NamedTuple as _NamedTuple
from typing import Optional as _Optional
from typing import Tuple as _Tuple

from . import _evlog
from ._evlog import Error, Logger, __version__, validate_options

__all__ = [
    "Error",
    "Logger",
    "Outcome",
    "ReplayReport",
    "Result",
    "SpillCorruption",
    "SpillInspection",
    "SpillRecord",
    "Stats",
    "inspect_spill",
    "replay",
    "validate_options",
]


class Outcome(str, _enum.Enum):
    """What ``Logger.log()`` answered; a ``str``, so ``r.outcome == "queued"`` reads naturally."""

    QUEUED = "queued"
    """Admitted; the writer commits it within ``max_delay`` (async delivery)."""
    COMMITTED = "committed"
    """Admitted and committed to the database (committed delivery)."""
    DROPPED = "dropped"
    """Not admitted: the queue was full (``message`` says which limit). Committed delivery
    also: evicted by ``on_full="drop_oldest"``, or not written by a shutdown deadline."""
    REJECTED = "rejected"
    """Not admitted: the event is invalid; ``message`` names the field and the rule. Committed
    delivery also: refused by the database for its data (dead-lettered)."""
    TIMED_OUT = "timed_out"
    """Admitted, but not committed within ``commit_timeout``; still written exactly once."""
    CLOSED = "closed"
    """Not admitted: the logger is shutting down."""

    def __str__(self) -> str:
        return self.value

    # The C++ names, lower case, as the extension looks them up.
    queued = QUEUED
    committed = COMMITTED
    dropped = DROPPED
    rejected = REJECTED
    timed_out = TIMED_OUT
    closed = CLOSED


class Result(_NamedTuple):
    """The answer of one ``Logger.log()`` call; immutable. ``bool(result)`` is ``result.ok``."""

    outcome: Outcome
    """One of the six outcomes."""
    message: str
    """For ``rejected``: which field broke which rule, e.g. ``metadata.answers[2]: cannot
    serialize a value of type set``. For other outcomes a short explanation, or empty."""
    ok: bool
    """True when the event was admitted and is (or will be) written: ``queued``,
    ``committed`` or ``timed_out``."""

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        if self.message:
            return f"Result(outcome={self.outcome.value!r}, message={self.message!r})"
        return f"Result(outcome={self.outcome.value!r})"


@_dataclasses.dataclass(frozen=True)
class Stats:
    """A snapshot of one logger's counters, from ``Logger.stats()``.

    Accounting: every ``log()`` call is counted in exactly one of ``rejected + dropped +
    written + queued + spilled + dead_lettered + lost``. Once ``flush()`` or ``shutdown()``
    has returned True and no ``log()`` runs concurrently, that sum equals the number of calls.
    While events move, a snapshot is not atomic across fields (it may miss, or count twice, the
    events of the one batch the writer is moving).
    """

    rejected: int
    """Invalid events (the binding's own refusals too) and calls after shutdown began."""
    dropped: int
    """Not admitted because the queue was full (the sum of the two below)."""
    dropped_queue_full: int
    """... no free slot (or evicted by ``on_full="drop_oldest"``)."""
    dropped_bytes_full: int
    """... ``max_queue_bytes`` reached."""
    written: int
    """This logger's events known to be in the table."""
    dead_lettered: int
    """Refused by the database for their data, kept with the reason."""
    lost: int
    """Not written by a shutdown deadline (always warned about)."""
    batches: int
    """Transactions committed."""
    retries: int
    """Failed attempts to write a batch (each retried later)."""
    replayed: int
    """Events from other processes' spill files written by this logger (not in the sum)."""
    spill_failures: int
    """Appends to a spill file that failed (disk full, I/O error)."""
    spill_corrupt: int
    """Corrupt spans skipped in spill files this logger replayed."""
    committed_waits: int
    """Committed-delivery calls answered ``committed``."""
    commit_timeouts: int
    """Committed-delivery calls answered ``timed_out``."""
    queued: int
    """Admitted and in memory now (the queue and the writer's batch)."""
    spilled: int
    """Admitted and now only on disk, waiting for replay."""
    queued_bytes: int
    """Payload bytes held beyond the fixed slots (large metadata)."""
    spill_bytes: int
    """Bytes of this logger's spill files on disk."""
    oldest_queued_age: float
    """Age in seconds of the oldest event the writer holds and has not settled; 0.0 if none."""
    last_error: str
    """The last error the database reported (passwords masked); empty if none yet."""
    database_failing: bool
    """True while the writer is failing to write (cleared by the next committed batch)."""

    def as_dict(self) -> dict:
        """Every field, by name (for a metrics exporter or a JSON endpoint)."""
        return _dataclasses.asdict(self)

    def accounted(self) -> int:
        """The accounting sum above: the number of ``log()`` calls once the logger is quiet."""
        return (self.rejected + self.dropped + self.written + self.queued + self.spilled
                + self.dead_lettered + self.lost)


@_dataclasses.dataclass(frozen=True)
class SpillRecord:
    """One event read back from a spill file; ``None`` where the column would be NULL."""

    offset: int
    event_id: str
    event_type: str
    user_id: _Optional[int]
    user_type: _Optional[str]
    metadata: _Optional[str]
    created_at: str


@_dataclasses.dataclass(frozen=True)
class SpillCorruption:
    """A span of a spill file that did not decode (a torn tail, a checksum mismatch)."""

    offset: int
    length: int
    reason: str


@_dataclasses.dataclass(frozen=True)
class SpillInspection:
    """What ``inspect_spill()`` found in one spill file."""

    path: str
    header_ok: bool
    target: str
    """The database and table the events belong to."""
    records: _Tuple[SpillRecord, ...]
    corrupt: _Tuple[SpillCorruption, ...]
    """In file order; a torn tail is the last."""
    torn_tail: bool

    @property
    def clean(self) -> bool:
        """True when the header is readable and nothing is corrupt."""
        return self.header_ok and not self.corrupt


@_dataclasses.dataclass(frozen=True)
class ReplayReport:
    """What ``replay()`` did: the replaying logger's counters (``stats.replayed``: events
    written) and the spill files for this database still in the directory."""

    stats: Stats
    files_left: int


def inspect_spill(path: "str | _os.PathLike[str]") -> SpillInspection:
    """Reads every record of a spill file that decodes, and where and why the rest did not, as
    ``evlog inspect FILE`` prints it. Raises ``evlog.Error`` when the file cannot be read at
    all. Releases the GIL while it reads."""
    return _evlog.inspect_spill(_os.fspath(path))


def replay(
    spill_dir: "str | _os.PathLike[str]",
    database: "str | _os.PathLike[str]",
    *,
    timeout: float = 300.0,
    **options,
) -> ReplayReport:
    """Writes into ``database`` every spill file in ``spill_dir`` that belongs to that database
    and table and that no live process holds, then shuts down, as ``evlog replay --spill-dir
    DIR --database DB`` does. Waits at most ``timeout`` seconds. ``options`` are
    ``Logger``'s keywords (``table``, ``on_warning``, ...). Raises ``evlog.Error`` as
    ``Logger()`` does. Releases the GIL while it works."""
    return _evlog.replay(spill_dir, database, timeout=timeout, **options)


_evlog._register_types(
    {
        "Outcome": Outcome,
        "Result": Result,
        "Stats": Stats,
        "SpillRecord": SpillRecord,
        "SpillCorruption": SpillCorruption,
        "SpillInspection": SpillInspection,
        "ReplayReport": ReplayReport,
    }
)


def _shutdown_open_loggers() -> None:
    """At exit: every logger still open is shut down, all at once, each within its own
    shutdown_timeout (the exit waits for the longest, not the sum)."""
    _evlog._shutdown_all()


# Interpreter exit (also of a child made by os.fork() that returns normally).
_atexit.register(_shutdown_open_loggers)


def _after_fork_in_child() -> None:
    # A multiprocessing child made with the fork start method ends with os._exit(), which runs
    # no atexit handler, only multiprocessing's own finalizers; its bootstrap clears the
    # finalizers inherited from the parent, then runs the after-fork callbacks, where this one
    # registers the exit drain.
    util = _sys.modules.get("multiprocessing.util")
    if util is not None:
        util.register_after_fork(_after_fork_in_child, _register_multiprocessing_exit)


def _register_multiprocessing_exit(_obj: object) -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _shutdown_open_loggers, exitpriority=0)


_os.register_at_fork(after_in_child=_after_fork_in_child)
