"""Value types that Python's standard library lacks for PostgreSQL data.

The compiled module constructs these (pgcdc._core imports this module), so it must not
import pgcdc._core itself.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Iterable, NamedTuple, Optional, Tuple

__all__ = [
    "INFINITY",
    "NEG_INFINITY",
    "UNCHANGED",
    "BoundedArray",
    "Checkpoint",
    "Infinity",
    "Interval",
    "Lsn",
    "OutOfRange",
    "TableSnapshotProgress",
]


class _Unchanged:
    """The type of pgcdc.UNCHANGED (one instance)."""

    __slots__ = ()
    _instance: Optional[_Unchanged] = None

    def __new__(cls) -> _Unchanged:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "pgcdc.UNCHANGED"

    def __reduce__(self) -> str:
        return "UNCHANGED"  # pickles as the module attribute: stays a singleton


#: The value of a column stored out of line (TOAST) that an update did not change: the
#: server did not send it, so it is unknown here. It is not NULL (None). Test with `is`.
UNCHANGED = _Unchanged()


class _JsonNull:
    """The type of pgcdc.JSON_NULL (one instance)."""

    __slots__ = ()
    _instance: Optional[_JsonNull] = None

    def __new__(cls) -> _JsonNull:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "pgcdc.JSON_NULL"

    def __reduce__(self) -> str:
        return "JSON_NULL"


#: A json or jsonb value that is the JSON document `null`: not SQL NULL (None), which a
#: replica must keep apart from it. Only a whole value is JSON_NULL; a null inside an
#: object or array is None, as json.loads gives it. Falsy; test with `is`.
JSON_NULL = _JsonNull()


class Infinity:
    """PostgreSQL's 'infinity' / '-infinity' for dates, timestamps and intervals.

    Only two instances exist, pgcdc.INFINITY and pgcdc.NEG_INFINITY. They compare
    above (below) every date, datetime and pgcdc.OutOfRange, so sorting works, and
    are never equal to a finite value.
    """

    __slots__ = ("_sign",)

    def __init__(self, sign: int) -> None:
        self._sign = sign

    def __repr__(self) -> str:
        return "pgcdc.INFINITY" if self._sign > 0 else "pgcdc.NEG_INFINITY"

    def __str__(self) -> str:
        return "infinity" if self._sign > 0 else "-infinity"

    def __reduce__(self) -> str:
        return "INFINITY" if self._sign > 0 else "NEG_INFINITY"

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return hash(("pgcdc.Infinity", self._sign))

    def _compare(self, other: object, below: bool) -> Any:
        if isinstance(other, Infinity):
            return (self._sign < other._sign) if below else (self._sign > other._sign)
        if isinstance(other, (datetime.date, datetime.time, OutOfRange, Interval)):
            return (self._sign < 0) if below else (self._sign > 0)
        return NotImplemented

    def __lt__(self, other: object) -> Any:
        return self._compare(other, below=True)

    def __gt__(self, other: object) -> Any:
        return self._compare(other, below=False)

    def __le__(self, other: object) -> Any:
        return self is other or self._compare(other, below=True)

    def __ge__(self, other: object) -> Any:
        return self is other or self._compare(other, below=False)


INFINITY = Infinity(1)
NEG_INFINITY = Infinity(-1)


class ColumnInfo(NamedTuple):
    """A column of a change's table (`Change.columns`), as PostgreSQL describes it.

    `type_modifier` is the column's atttypmod, -1 when the type has none: numeric(p, s)
    is ((p << 16) | s) + 4, varchar(n) and char(n) are n + 4, timestamp(p), time(p) and
    interval(p) are p. `key`: part of the replica identity (the primary key by default).
    `nullable`: False for a NOT NULL column, `primary_key`: part of the primary key
    (both read from the catalog when the stream was opened with describe_columns=True;
    True and False otherwise). With REPLICA IDENTITY FULL every column is `key`.
    """

    name: str
    type_oid: int
    type_modifier: int
    key: bool
    nullable: bool = True
    primary_key: bool = False

    @property
    def numeric_precision_scale(self) -> Optional[Tuple[int, int]]:
        """(precision, scale) of a numeric(p, s) column, else None."""
        if self.type_oid != 1700 or self.type_modifier < 4:
            return None
        value = self.type_modifier - 4
        scale = value & 0x7FF
        if value & 0x400:  # PostgreSQL 15+ allows negative scales (11-bit signed)
            scale -= 0x800
        return (value >> 16) & 0xFFFF, scale


class Interval(NamedTuple):
    """A PostgreSQL interval: months, days and microseconds kept apart.

    A month has no fixed number of days and a day need not have 24 hours (across a
    daylight-saving change), so PostgreSQL stores the three separately and so does this
    type; a plain timedelta would lose what "1 mon" means.
    """

    months: int
    days: int
    microseconds: int

    def to_timedelta(self, days_per_month: Optional[float] = None) -> datetime.timedelta:
        """The interval as a timedelta. An interval with months needs an explicit
        approximation, e.g. days_per_month=30 (PostgreSQL's own for EXTRACT(epoch))."""
        if self.months and days_per_month is None:
            raise ValueError(
                "%r has %d month(s), which have no fixed length; pass days_per_month "
                "(e.g. 30) to approximate" % (self, self.months))
        days = self.days + self.months * (days_per_month or 0)
        return datetime.timedelta(days=days, microseconds=self.microseconds)

    def __str__(self) -> str:
        """ISO 8601 duration, as PostgreSQL prints with IntervalStyle iso_8601."""
        years, months = divmod(abs(self.months), 12)
        sign_m = "-" if self.months < 0 else ""
        seconds, micros = divmod(abs(self.microseconds), 1_000_000)
        sign_t = "-" if self.microseconds < 0 else ""
        hours, rest = divmod(seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        out = "P"
        if years:
            out += "%s%dY" % (sign_m, years)
        if months:
            out += "%s%dM" % (sign_m, months)
        if self.days:
            out += "%dD" % self.days
        time = ""
        if hours:
            time += "%s%dH" % (sign_t, hours)
        if minutes:
            time += "%s%dM" % (sign_t, minutes)
        if seconds or micros:
            fraction = (".%06d" % micros).rstrip("0") if micros else ""
            time += "%s%d%sS" % (sign_t, seconds, fraction)
        if time:
            out += "T" + time
        return out if out != "P" else "PT0S"


class OutOfRange(NamedTuple):
    """A finite date, time or timestamp that Python's datetime cannot hold.

    PostgreSQL dates reach from 4713 BC to 5874897 AD and timestamps to 294276 AD, and
    time allows 24:00:00; datetime stops at years 1..9999 and 23:59:59.999999. Such
    values arrive as OutOfRange, never clamped or mixed up with a finite in-range value:

    * type: "date", "timestamp", "timestamptz", "time" or "timetz" (the column's type);
    * value: days since 1970-01-01 (date), microseconds since 1970-01-01 00:00 (UTC for
      timestamptz), or microseconds since midnight (time, timetz; the local time for
      timetz); None when even that does not fit (timestamps past 294247 AD);
    * text: ISO 8601 with astronomical years as `pgcdc stream` prints it ("-0043-03-15"
      is 44 BC, "+10000-01-01T00:00:00Z", "24:00:00+05:30"), or the server's own text
      when value is None.

    Values of one type order by value, between pgcdc.NEG_INFINITY and pgcdc.INFINITY.
    """

    type: str
    value: Optional[int]
    text: str

    def __str__(self) -> str:
        return self.text


_LSN_TEXT = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")


class Lsn(int):
    """A WAL position (log sequence number): an int that prints as PostgreSQL does.

    Lsn("16/B374D848") parses PostgreSQL's text form; Lsn(0x16B374D848) takes the
    number. str() gives "16/B374D848"; arithmetic and ordering are those of int.
    """

    __slots__ = ()

    def __new__(cls, value: Any = 0) -> Lsn:
        if isinstance(value, str):
            m = _LSN_TEXT.match(value.strip())
            if m is None:
                raise ValueError(
                    "invalid LSN %r: expected PostgreSQL's form X/Y with hexadecimal "
                    "halves, e.g. '16/B374D848'" % (value,))
            value = (int(m.group(1), 16) << 32) | int(m.group(2), 16)
        if isinstance(value, float) or not isinstance(value, int):
            raise TypeError("an LSN is an int or 'X/Y' text, not %s" % type(value).__name__)
        if not 0 <= value < 1 << 64:
            raise ValueError("an LSN is between 0 and 2**64 - 1, not %d" % value)
        return super().__new__(cls, value)

    def __str__(self) -> str:
        return "%X/%X" % (self >> 32, self & 0xFFFFFFFF)

    def __repr__(self) -> str:
        return "Lsn('%s')" % self

    def __reduce__(self) -> Any:
        return (Lsn, (int(self),))


class Checkpoint(NamedTuple):
    """What on_checkpoint receives: the slot, the position about to be confirmed to the
    server (everything at or before it was acknowledged) and when (aware, UTC)."""

    slot_name: str
    flush_lsn: Lsn
    time: datetime.datetime


class TableSnapshotProgress(NamedTuple):
    """One published table's progress in an initial snapshot (on_snapshot_progress).
    rows_done and bytes_done (COPY text bytes) count what was handed to the
    application; the estimates come from pg_class when the snapshot started (-1 when
    unknown, e.g. a table never analyzed)."""

    schema: str
    table: str
    rows_done: int
    bytes_done: int
    rows_estimate: int
    bytes_estimate: int
    done: bool


class BoundedArray(list):  # type: ignore[type-arg]
    """A PostgreSQL array whose lower bounds are not all 1, as '[0:2]={a,b,c}' prints:
    the elements as a list (nested per dimension, like every array) and lower_bounds,
    one per dimension. Arrays that start at 1, nearly all of them, are plain lists.

    As in PostgreSQL, the bounds are part of the value: BoundedArray([1, 2], (0,))
    differs from [1, 2] (which starts at 1) and from BoundedArray([1, 2], (5,)).
    """

    __slots__ = ("lower_bounds",)

    def __init__(self, elements: Iterable[Any] = (), lower_bounds: Iterable[int] = ()) -> None:
        super().__init__(elements)
        self.lower_bounds: Tuple[int, ...] = tuple(lower_bounds)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BoundedArray):
            return self.lower_bounds == other.lower_bounds and list.__eq__(self, other)
        if isinstance(other, list):  # a plain list starts at 1 in every dimension
            return all(b == 1 for b in self.lower_bounds) and list.__eq__(self, other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # mutable, like list

    def __repr__(self) -> str:
        return "BoundedArray(%s, lower_bounds=%r)" % (list.__repr__(self), self.lower_bounds)

    def __reduce__(self) -> Any:
        return (BoundedArray, (list(self), self.lower_bounds))

