"""open_stream() and ChangeStream: the iterator over a replication slot."""

from __future__ import annotations

import atexit
import datetime
import itertools
import logging
import textwrap
import threading
import weakref
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from . import _core
from ._types import Checkpoint, Lsn, TableSnapshotProgress
from .errors import ConfigurationError

__all__ = ["ChangeStream", "open_stream"]

logger = logging.getLogger("pgcdc")

LsnLike = Union[Lsn, int, str]

# Changes handed over per GIL release, at most. Each batch is only what is ready (it
# never waits for more changes once it has one).
_BATCH_SIZE = 512

_UTC = datetime.timezone.utc


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError("%s takes a number of seconds (or a timedelta), not %r"
                                 % (name, value))
    return float(value)


def _lsn(name: str, value: Optional[LsnLike]) -> Optional[int]:
    if value is None:
        return None
    try:
        return int(Lsn(value))
    except (TypeError, ValueError) as e:
        raise ConfigurationError("%s: %s" % (name, e)) from None


def _names(name: str, value: Union[str, Iterable[str], None]) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        raise ConfigurationError("%s takes a list of names, e.g. %s=[%r]" % (name, name, value))
    names = list(value)
    for item in names:
        if not isinstance(item, str):
            raise ConfigurationError("%s must contain names (str), not %r" % (name, item))
    return names


def _checkpoint_adapter(callback: Callable[[Checkpoint], Any]) -> Callable[[str, int, int], None]:
    # The core passes plain values; the user gets a Checkpoint. An exception raised by
    # the callback passes through unchanged (the core re-raises this very object).
    def call(slot_name: str, flush_lsn: int, time_us: int) -> None:
        when = datetime.datetime(1970, 1, 1, tzinfo=_UTC) + datetime.timedelta(
            microseconds=time_us)
        callback(Checkpoint(slot_name, Lsn(flush_lsn), when))

    return call


class ChangeStream:
    """Changes from one logical replication slot, in commit order. Use open_stream().

    Iterate to receive pgcdc.Change records; ``ack(change)`` records progress, which is
    reported to the server (after on_checkpoint) every status_interval and by close().
    Leaving a ``with`` block closes the stream. Iteration ends when a stop condition is
    met (max_duration, idle_timeout, stop_at_lsn) or after cancel().

    Not thread-safe, except cancel(): use one stream from one thread at a time (calls
    from several threads are serialized, never interleaved).
    """

    def __init__(self, core: _core.Stream, slot: str) -> None:
        self._core = core
        self._slot = slot
        self._ended = False
        self._changes = self._iterator()
        _open_streams.add(self)

    # -------------------------------------------------------------- iteration

    def _iterator(self) -> Iterator[_core.Change]:
        # Batches from the core, flattened at C speed: per change, iterating costs a
        # C iterator step instead of a Python-level generator resumption. Each batch
        # creates its Change objects only as they are reached (bindings/python/src/
        # change_batch.h), so a loop that drops them keeps the cyclic GC idle.
        return itertools.chain.from_iterable(iter(self._next_batch, None))

    def _next_batch(self) -> Optional[Iterator[_core.Change]]:
        try:
            batch = self._core.next_batch(_BATCH_SIZE)
        except BaseException:
            # chain() is finished once its source raised (KeyboardInterrupt, an error
            # from on_checkpoint or the server): later iterations start a new one.
            self._changes = self._iterator()
            raise
        if batch is None:
            self._ended = True
        return batch

    def __iter__(self) -> Iterator[_core.Change]:
        if self._core.closed:
            raise ValueError("the pgcdc stream is closed")
        return self._changes

    def __next__(self) -> _core.Change:
        if self._core.closed:
            raise ValueError("the pgcdc stream is closed")
        return next(self._changes)

    # -------------------------------------------------------------- progress

    def ack(self, position: Union[_core.Change, LsnLike]) -> None:
        """Records that `position` and everything delivered before it is durably
        handled. Pass a Change (its transaction is confirmed once its last change is
        acknowledged), or an LSN: pgcdc.Lsn, int or 'X/Y' text, e.g. a change's end_lsn.
        Positions past the last delivered change are clamped to it. Cheap: nothing is
        sent until the next checkpoint."""
        if isinstance(position, _core.Change):
            self._core.ack_change(position)
        else:
            self._core.ack_lsn(int(Lsn(position)))

    def close(self) -> None:
        """Reports acknowledged progress (after on_checkpoint) and disconnects.
        Idempotent. Raises what on_checkpoint raises, or a pgcdc.errors exception."""
        try:
            self._core.close()
        finally:
            _open_streams.discard(self)

    def cancel(self) -> None:
        """Ends the iteration soon (also between the changes of a buffered
        transaction); callable from any thread or a signal handler."""
        self._core.cancel()

    def stats(self) -> Dict[str, int]:
        """Memory, spill and delivery counters, as a dict of ints:
        buffered_bytes / peak_buffered_bytes (transactions not yet delivered, in
        memory), spill_file_bytes (in spill files now) / spilled_bytes_total (ever
        written), transactions_spilled, changes_delivered, transactions_delivered,
        reconnects (sessions re-established after a fault) and redelivered_skipped
        (changes the server sent again after one, skipped as already returned).
        Cheap, callable from any thread (also while another iterates) and after
        close()."""
        return self._core.stats()

    @property
    def slot(self) -> str:
        return self._slot

    @property
    def done(self) -> bool:
        """Whether iteration has reached the end (a stop condition or cancel())."""
        return self._ended

    @property
    def closed(self) -> bool:
        return self._core.closed

    @property
    def acked_lsn(self) -> Lsn:
        """What the application acknowledged so far."""
        return Lsn(self._core.acked_lsn)

    @property
    def confirmed_flush_lsn(self) -> Lsn:
        """The last position reported to the server (the slot's confirmed_flush_lsn)."""
        return Lsn(self._core.confirmed_flush_lsn)

    # -------------------------------------------------------------- context manager

    def __enter__(self) -> ChangeStream:
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        if exc is None:
            self.close()
            return
        # The body's exception goes on; a failure to close must not replace it.
        try:
            self.close()
        except Exception as close_error:  # reported, not lost
            logger.warning("closing slot %s after an error: %s", self._slot, close_error)

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("done" if self.done else "open")
        return "<pgcdc.ChangeStream slot=%s %s acked=%s>" % (self._slot, state, self.acked_lsn)


# Streams still open when the interpreter exits are closed while Python is fully alive
# (on_checkpoint may run), then the core's threads stop calling into Python.
_open_streams: "weakref.WeakSet[ChangeStream]" = weakref.WeakSet()
_exit_lock = threading.Lock()


@atexit.register
def _close_open_streams() -> None:
    with _exit_lock:
        for stream in list(_open_streams):
            try:
                stream.close()
            except Exception as e:  # nothing to raise to at exit
                logger.warning("closing slot %s at exit: %s", stream.slot, e)
        _core._set_exiting()


def _progress_adapter(callback: Callable[[List[TableSnapshotProgress]], Any]
                      ) -> Callable[[List[Any]], None]:
    def call(tables: List[Any]) -> None:
        callback([TableSnapshotProgress(*t) for t in tables])

    return call


# The stream options (src/option_table.cc, doc/options.md): open_stream() has one
# keyword per option, checked here by the option's type; the core checks the ranges.
_OPTIONS: List[Dict[str, Any]] = _core.stream_option_table()
_UNSET_OK = ("optional_bool", "optional_duration", "lsn")


def _option(option: Dict[str, Any], value: Any) -> Any:
    name, kind = option["name"], option["type"]
    if value is None:
        if kind in _UNSET_OK:
            return None
        if kind in ("string", "string_list"):
            return option["default"]
    if kind in ("duration", "optional_duration"):
        return _seconds(name, value)
    if kind == "lsn":
        return _lsn(name, value)
    if kind == "string_list":
        return _names(name, value)
    if kind == "bool":
        return bool(value)
    if kind == "optional_bool" and not isinstance(value, bool):
        raise ConfigurationError("%s must be True, False or None, not %r" % (name, value))
    if kind in ("count", "bytes") and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigurationError("%s must be an int, not %r" % (name, value))
    if kind in ("string", "choice") and not isinstance(value, str):
        raise ConfigurationError("%s must be a str, not %r" % (name, value))
    return value


def _options_doc() -> str:
    units = {"duration": "seconds", "optional_duration": "seconds or None",
             "bytes": "bytes", "lsn": "LSN or None", "optional_bool": "bool or None",
             "bool": "bool", "count": "int", "string_list": "list of str", "string": "str"}
    text = []
    for o in _OPTIONS:
        kind = units.get(o["type"]) or " | ".join(repr(c) for c in o["choices"])
        default = "" if o["default"] in (None, "", []) else ", default %r" % (o["default"],)
        text.append(textwrap.fill("%s (%s%s): %s" % (o["name"], kind, default, o["help"]),
                                  width=88, initial_indent="    ",
                                  subsequent_indent="        "))
    return "\n".join(text)


def _callable(name: str, value: Any) -> None:
    if value is not None and not callable(value):
        raise ConfigurationError("%s must be callable, not %r" % (name, value))


def open_stream(
    dsn: str,
    *,
    slot: str,
    publications: Sequence[str],
    create_slot: bool = False,
    publication_tables: Optional[Sequence[str]] = None,
    start_lsn: Optional[LsnLike] = None,
    stop_at_lsn: Optional[LsnLike] = None,
    max_duration: Optional[float] = None,
    idle_timeout: Optional[float] = None,
    on_checkpoint: Optional[Callable[[Checkpoint], Any]] = None,
    snapshot: str = "never",
    snapshot_readers: int = 2,
    on_snapshot_progress: Optional[Callable[[List[TableSnapshotProgress]], Any]] = None,
    streaming: Optional[bool] = None,
    max_buffered_bytes: int = 64 << 20,
    spill_dir: Optional[str] = None,
    two_phase: bool = False,
    deliver_prepared: str = "commit",
    describe_columns: bool = False,
    proto_version: int = 0,
    read_linger: Optional[float] = None,
    status_interval: float = 10.0,
    connect_timeout: float = 30.0,
    create_slot_timeout: float = 120.0,
    receive_timeout: float = 30.0,
    reconnect: bool = True,
    reconnect_max_attempts: int = 30,
    reconnect_max_elapsed: float = 300.0,
    reconnect_initial_backoff: float = 0.1,
    reconnect_max_backoff: float = 10.0,
    application_name: str = "pgcdc",
) -> ChangeStream:
    given = dict(locals())
    if not isinstance(dsn, str):
        raise ConfigurationError("dsn must be a str, not %r" % (dsn,))
    if not isinstance(slot, str):
        raise ConfigurationError("slot must be a str, not %r" % (slot,))
    _callable("on_checkpoint", on_checkpoint)
    _callable("on_snapshot_progress", on_snapshot_progress)
    options = {o["name"]: _option(o, given[o["name"]]) for o in _OPTIONS}
    core = _core.Stream(
        options,
        None if on_checkpoint is None else _checkpoint_adapter(on_checkpoint),
        None if on_snapshot_progress is None else _progress_adapter(on_snapshot_progress),
        logger.log)
    return ChangeStream(core, slot)


open_stream.__doc__ = """Connects, checks the server, slot and publications, and starts streaming.

    Returns a pgcdc.ChangeStream: iterate over it for pgcdc.Change objects, ack() what
    you have processed, close() it (or use it as a context manager).

    on_checkpoint: called with a pgcdc.Checkpoint before the slot is moved on the
        server; if it raises, the slot does not move and the exception comes out of
        the loop (or close()) unchanged.
    on_snapshot_progress: with a snapshot, receives a list of
        pgcdc.TableSnapshotProgress about once a second (an exception it raises comes
        out of the loop).

    The options (doc/options.md; the same as pgcdc::StreamOptions in C++ and the flags
    of `pgcdc stream`). Seconds may also be given as datetime.timedelta, LSNs as int,
    'X/Y' text or pgcdc.Lsn:

""" + _options_doc() + """

    Raises a pgcdc.errors exception naming the problem and the fix. Connecting is not
    interrupted by Ctrl-C; it gives up after connect_timeout (and create_slot_timeout).
"""
