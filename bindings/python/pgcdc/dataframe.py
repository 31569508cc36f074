"""Changes as a pandas DataFrame, for notebooks. pandas is optional: it is imported
when to_dataframe() is called (pip install 'pgcdc[pandas]')."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Sequence

from ._types import UNCHANGED

if TYPE_CHECKING:
    import pandas

    from ._core import Change

__all__ = ["to_dataframe"]

_LSN_FIELDS = frozenset(("lsn", "commit_lsn", "end_lsn"))
DEFAULT_META = ("op", "schema", "table", "commit_time", "lsn")


def to_dataframe(
    changes: Iterable[Change],
    *,
    meta: Sequence[str] = DEFAULT_META,
    meta_prefix: str = "__",
    unchanged: Any = UNCHANGED,
) -> pandas.DataFrame:
    """One DataFrame row per change.

    Columns: the change attributes named in `meta` (any pgcdc.Change attribute, e.g.
    "xid", "id", "commit_lsn"), prefixed with `meta_prefix` so they cannot collide with
    table columns (Debezium's unwrap transform names its added fields "__op" and so on
    too), then the row's columns: the new row, or the old row of a delete. LSNs become
    their "X/Y" text, commit_time a UTC datetime64 column; values keep their Python
    types (Decimal columns have dtype object: ``.astype(float)`` if you want floats).
    Truncates and messages have no row columns. An unchanged TOAST value becomes
    `unchanged` (default pgcdc.UNCHANGED; pass pandas.NA to treat it as missing).

    `changes` may be a stream: it is read to its end, so give it a stop condition
    (idle_timeout, max_duration or stop_at_lsn). Nothing is acknowledged.
    """
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "pgcdc.to_dataframe needs pandas: pip install 'pgcdc[pandas]'") from None
    records: List[Dict[str, Any]] = []
    for change in changes:
        record: Dict[str, Any] = {}
        for name in meta:
            value = getattr(change, name)
            record[meta_prefix + name] = str(value) if name in _LSN_FIELDS else value
        row = change.new if change.new is not None else change.old
        if row:
            for column, value in row.items():
                record[column] = unchanged if value is UNCHANGED else value
        records.append(record)
    columns = [meta_prefix + name for name in meta]
    if not records:
        return pandas.DataFrame(columns=columns)
    frame = pandas.DataFrame.from_records(records)
    if meta_prefix + "commit_time" in frame.columns:
        frame[meta_prefix + "commit_time"] = pandas.to_datetime(
            frame[meta_prefix + "commit_time"], utc=True)
    return frame
