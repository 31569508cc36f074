"""pgcdc: PostgreSQL change data capture (logical replication, pgoutput).

    import pgcdc

    with pgcdc.open_stream("postgresql://cdc@db/app", slot="orders",
                           publications=["orders_pub"], create_slot=True,
                           idle_timeout=5.0) as stream:
        for change in stream:                  # pgcdc.Change
            print(change.op, change.table, change.new)
            stream.ack(change)

Values are Python objects: int, float, decimal.Decimal (numeric, money), str, bytes,
bool, datetime (aware UTC for timestamptz, naive for timestamp), date, time (timetz
with a fixed-offset tzinfo), pgcdc.Interval, uuid.UUID, parsed json (pgcdc.JSON_NULL for
the document `null`), lists for arrays
(nested per dimension; pgcdc.BoundedArray, a list, for one whose lower bounds are not
all 1), None for NULL, pgcdc.UNCHANGED for an unchanged TOAST value,
pgcdc.INFINITY / pgcdc.NEG_INFINITY for infinite dates, timestamps and intervals, and
pgcdc.OutOfRange for dates and times beyond datetime's range. inet, cidr, macaddr and
types without a Python counterpart are str. LSNs are pgcdc.Lsn (an int printing as
"16/B374D848").
"""

from . import errors
from ._core import Change, __version__
from ._stream import ChangeStream, open_stream
from ._types import (
    INFINITY,
    JSON_NULL,
    NEG_INFINITY,
    UNCHANGED,
    BoundedArray,
    Checkpoint,
    ColumnInfo,
    Infinity,
    Interval,
    Lsn,
    OutOfRange,
    TableSnapshotProgress,
)
from .dataframe import to_dataframe
from .errors import (
    AuthorizationError,
    CheckpointError,
    ConfigurationError,
    ConnectionLostError,
    DeadlineExceededError,
    DecodeError,
    InternalError,
    PgcdcError,
    PublicationNotFoundError,
    ReplicationSetupError,
    ResourceError,
    ServerError,
    SlotInUseError,
    SlotNotFoundError,
    StreamCancelledError,
)

__all__ = [
    "INFINITY",
    "NEG_INFINITY",
    "UNCHANGED",
    "JSON_NULL",
    "AuthorizationError",
    "BoundedArray",
    "Change",
    "ChangeStream",
    "Checkpoint",
    "CheckpointError",
    "ColumnInfo",
    "ConfigurationError",
    "ConnectionLostError",
    "DeadlineExceededError",
    "DecodeError",
    "Infinity",
    "InternalError",
    "Interval",
    "Lsn",
    "OutOfRange",
    "PgcdcError",
    "PublicationNotFoundError",
    "ReplicationSetupError",
    "ResourceError",
    "ServerError",
    "SlotInUseError",
    "SlotNotFoundError",
    "StreamCancelledError",
    "TableSnapshotProgress",
    "__version__",
    "errors",
    "open_stream",
    "to_dataframe",
]
