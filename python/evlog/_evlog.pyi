# Types of the extension module evlog._evlog, for editors and type checkers. Import evlog.
import datetime
import os
from types import TracebackType
from typing import Any, Callable, Iterable, Literal, Optional, Type, Union

from . import ReplayReport, Result, SpillInspection, Stats

__version__: str

_Seconds = Union[int, float, datetime.timedelta]
_Path = Union[str, "os.PathLike[str]"]

class Error(ValueError):
    """An option or argument evlog cannot use, or a database it cannot open; the message names
    the field and the rule."""

class Logger:
    """Records analytics events without making the caller wait; see the package docstring."""

    def __init__(
        self,
        database: _Path = "analytics.db",
        *,
        table: str = ...,
        queue_capacity: int = ...,
        max_queue_bytes: int = ...,
        max_batch: int = ...,
        max_delay: _Seconds = ...,
        on_full: Literal["drop_newest", "drop_oldest", "block"] = ...,
        block_timeout: _Seconds = ...,
        max_metadata_bytes: int = ...,
        shutdown_timeout: _Seconds = ...,
        db_timeout: _Seconds = ...,
        retry_initial: _Seconds = ...,
        retry_max: _Seconds = ...,
        critical_types: Iterable[str] = ...,
        commit_timeout: _Seconds = ...,
        durability: Literal["normal", "full"] = ...,
        spill_dir: Optional[_Path] = ...,
        spill_after: _Seconds = ...,
        max_spill_bytes: int = ...,
        spill_segment_bytes: int = ...,
        max_dead_letter_bytes: int = ...,
        on_warning: Optional[Callable[[str], Any]] = ...,
    ) -> None: ...
    def log(
        self,
        event_type: str,
        user_id: Optional[int] = None,
        user_type: Optional[str] = None,
        metadata: Union[dict, str, None] = None,
        *,
        delivery: Optional[Literal["async", "committed"]] = None,
    ) -> Result:
        """Records one event; never raises for what the event holds or the database's state."""
    def flush(self, timeout: _Seconds = 5.0) -> bool:
        """True once every earlier event is final; False at the deadline."""
    def shutdown(self, timeout: Optional[_Seconds] = None) -> bool:
        """Stops admitting, commits what is queued; True when nothing was lost."""
    def close(self) -> bool:
        """shutdown() with the logger's shutdown_timeout."""
    def stats(self) -> Stats:
        """A snapshot of this logger's counters in this process."""
    def __enter__(self) -> "Logger": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

def validate_options(database: _Path = "analytics.db", **options: Any) -> None:
    """Checks Logger's arguments as its constructor does, without opening anything."""

def inspect_spill(path: str) -> SpillInspection: ...
def replay(
    spill_dir: _Path, database: _Path, *, timeout: _Seconds = 300.0, **options: Any
) -> ReplayReport: ...
def _register_types(classes: dict) -> None: ...
def _shutdown_all() -> None: ...
