"""AWS Lambda handler: changes as typed Parquet objects in S3.

It replaces AWS DMS (S3 target, Parquet) in front of a warehouse loader (a Lambda that
loads each new object into BigQuery, Snowflake, Athena/Iceberg ...). Each object holds
one table's changes of a batch, in DMS's layout: a column `Op` (I/U/D), `commit_ts`
(the commit time), then the table's columns, typed from the table's definition
(`change.columns`) rather than guessed from values:

  smallint/int/bigint  int16/int32/int64     real/double     float32/float64
  numeric(p, s)        decimal128(p, s)      numeric         string (exact text)
  timestamptz          timestamp[us, UTC]    timestamp       timestamp[us]
  date, time           date32, time64[us]    boolean         bool
  bytea                binary                json, jsonb     string (the JSON text)
  arrays of these      list<element>         anything else   string (its text form)

The file's metadata keeps pgcdc's column
descriptions ("pgcdc.columns"), from which the loader checks the schema. A value the
type cannot hold (NaN in a numeric(p, s), infinity in a timestamp, an unchanged TOASTed
value the server did not send) stops the run before it is acknowledged, naming the
column: nothing is written as NULL instead.

Batching, object keys, the checkpoint and the delivery guarantee: see s3_batches.py.
Configuration (environment): PGCDC_DSN, PGCDC_SLOT, PGCDC_PUBLICATION, S3_BUCKET,
S3_PREFIX (cdc), MAX_BATCH_BYTES (64 MiB), MAX_BATCH_AGE_S (60), IDLE_TIMEOUT_S (5),
SAFETY_MARGIN_S (10).
"""

from __future__ import annotations

import decimal
import json
from typing import Any, Dict, List, Optional

import pyarrow as pa
import pyarrow.parquet as pq
from s3_batches import Row, Segment, run

import pgcdc

SCALARS = {
    16: pa.bool_(), 21: pa.int16(), 23: pa.int32(), 20: pa.int64(), 26: pa.int64(),
    700: pa.float32(), 701: pa.float64(), 1082: pa.date32(), 1083: pa.time64("us"),
    1114: pa.timestamp("us"), 1184: pa.timestamp("us", tz="UTC"), 17: pa.binary(),
}
JSON_TYPES = {114, 3802}
# Array type OID -> element type OID (pg_type.typelem) for the element types above.
ARRAYS = {1000: 16, 1005: 21, 1007: 23, 1016: 20, 1021: 700, 1022: 701, 1182: 1082,
          1183: 1083, 1115: 1114, 1185: 1184, 1001: 17, 1231: 1700, 1009: 25, 1015: 1043,
          1014: 1042, 2951: 2950, 199: 114, 3807: 3802}
ROWS_PER_GROUP = 10_000


class UnwritableValue(RuntimeError):
    """A value the column's Parquet type cannot hold; the run stops unacknowledged."""


def scalar_type(type_oid: int, type_modifier: int) -> pa.DataType:
    if type_oid == 1700:
        info = pgcdc.ColumnInfo("", type_oid, type_modifier, False)
        ps = info.numeric_precision_scale
        if ps is not None and ps[0] <= 38 and 0 <= ps[1] <= ps[0]:
            return pa.decimal128(*ps)
        return pa.string()  # unconstrained (or negative scale): exact as text
    return SCALARS.get(type_oid, pa.string())


def arrow_type(column: pgcdc.ColumnInfo) -> pa.DataType:
    if column.type_oid in ARRAYS:
        return pa.list_(scalar_type(ARRAYS[column.type_oid], column.type_modifier))
    return scalar_type(column.type_oid, column.type_modifier)


def arrow_schema(columns: List[Dict[str, Any]]) -> pa.Schema:
    """The objects' schema, from pgcdc's column descriptions (as kept in the file)."""
    fields = [pa.field("Op", pa.string(), nullable=False),
              pa.field("commit_ts", pa.timestamp("us", tz="UTC"))]
    for c in columns:
        info = pgcdc.ColumnInfo(c["name"], c["type_oid"], c["type_modifier"], c["key"])
        # Nullable even for NOT NULL columns: a D row has the key columns only (the
        # metadata keeps NOT NULL for a warehouse schema).
        fields.append(pa.field(c["name"], arrow_type(info)))
    return pa.schema(fields, metadata={"pgcdc.columns": json.dumps(columns)})


def plain(value: Any, type_: pa.DataType, json_text: bool) -> Any:
    """`value` as pyarrow takes it for `type_` (None stays None)."""
    if value is None:
        return None
    if isinstance(value, list) and pa.types.is_list(type_):
        return [plain(v, type_.value_type, json_text) for v in value]
    if json_text:
        return "null" if value is pgcdc.JSON_NULL else json.dumps(value, separators=(",", ":"))
    if pa.types.is_string(type_) and not isinstance(value, str):
        if isinstance(value, decimal.Decimal):
            return format(value, "f")  # PostgreSQL's form: 0.000001, not 1E-6
        return str(value)  # uuid, interval, inet, ... in their text form
    return value


class ParquetSegment(Segment):
    def __init__(self, change: pgcdc.Change, path: str) -> None:
        super().__init__(change, path)
        described = [{"name": c.name, "type_oid": c.type_oid, "type_modifier": c.type_modifier,
                      "key": c.key, "primary_key": c.primary_key, "nullable": c.nullable}
                     for c in self.columns]
        self.arrow = arrow_schema(described)
        self.json = [c.type_oid in JSON_TYPES or ARRAYS.get(c.type_oid) in JSON_TYPES
                     for c in self.columns]
        self.writer: Optional[pq.ParquetWriter] = pq.ParquetWriter(path, self.arrow)
        self.pending: List[List[Any]] = [[] for _ in self.arrow]  # per field

    def write(self, op: str, row: Row, change: pgcdc.Change) -> int:
        self.pending[0].append(op)
        self.pending[1].append(change.commit_time)
        size = 0
        for i, (c, json_text) in enumerate(zip(self.columns, self.json), start=2):
            value = row.get(c.name)
            if value is pgcdc.UNCHANGED:
                value = (change.old or {}).get(c.name, pgcdc.UNCHANGED)
            if value is pgcdc.UNCHANGED:
                raise UnwritableValue(
                    "%s.%s.%s of change %s is an unchanged TOASTed value, which the server "
                    "does not send: ALTER TABLE %s.%s REPLICA IDENTITY FULL to have it" % (
                        self.schema, self.table, c.name, change.id, self.schema, self.table))
            value = plain(value, self.arrow.field(i).type, json_text)
            self.pending[i].append(value)
            size += len(value) if isinstance(value, (str, bytes)) else 8
        if len(self.pending[0]) >= ROWS_PER_GROUP:
            self.write_pending()
        return size

    def write_pending(self) -> None:
        """One row group; a value its column's type cannot hold stops the run here,
        before the batch is uploaded or acknowledged."""
        arrays = []
        for field, values in zip(self.arrow, self.pending):
            try:
                arrays.append(pa.array(values, type=field.type))
            except (pa.ArrowException, ValueError, TypeError, OverflowError) as e:
                raise UnwritableValue(
                    "%s.%s.%s (changes %s to %s) has a value its Parquet type %s cannot hold "
                    "(%s)" % (self.schema, self.table, field.name, self.first_id,
                              self.last_id, field.type, e)) from e
        assert self.writer is not None
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.arrow))
        self.pending = [[] for _ in self.arrow]

    def close(self) -> None:
        if self.writer is None:
            return
        try:
            if self.pending[0]:
                self.write_pending()
        finally:
            self.abandon()

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def handler(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    return run(context, ParquetSegment, ".parquet")
