"""AWS Lambda handler: changes as CSV objects in S3, in AWS DMS's CDC layout.

It replaces AWS DMS (PostgreSQL source, S3 target, CSV) in front of a warehouse that
loads the files with COPY. Each object holds one table's changes of a batch, one line
per change, without a header, as DMS writes them:

  Op,[commit timestamp,]column1,column2,...      (Op: I insert, U update, D delete)

Values are PostgreSQL's own text forms, so `COPY ... (FORMAT csv)` loads them as they
were: NULL is an empty field, an empty string is "", arrays are '{...}' literals, json
is its text, bytea is \\x hex. A delete carries the key columns (every column with
REPLICA IDENTITY FULL), the others empty, as DMS's do; an update of the primary key is
a D of the old row and an I of the new.

Batching, object keys, the checkpoint and the delivery guarantee: see s3_batches.py and
README.md. Configuration (environment): PGCDC_DSN, PGCDC_SLOT, PGCDC_PUBLICATION,
S3_BUCKET, S3_PREFIX (cdc), MAX_BATCH_BYTES (64 MiB), MAX_BATCH_AGE_S (60),
COMMIT_TIMESTAMP_COLUMN (true: a commit timestamp after Op, like DMS's
TimestampColumnName), IDLE_TIMEOUT_S (5), SAFETY_MARGIN_S (10).
"""

from __future__ import annotations

import decimal
import json
import os
from typing import Any, Dict

from s3_batches import Row, Segment, run

import pgcdc

JSON_TYPES = {114, 3802}  # json, jsonb: pgcdc hands them over parsed


class UnwritableValue(RuntimeError):
    """A value CSV cannot carry; the run stops before acknowledging it."""


def quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def array_literal(values: list) -> str:
    items = []
    for v in values:
        if v is None:
            items.append("NULL")
        elif isinstance(v, list):
            items.append(array_literal(v))
        else:
            items.append('"' + text(v).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(items) + "}"


def text(value: Any) -> str:
    """PostgreSQL's text input form of a decoded value."""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, list):
        return array_literal(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")  # PostgreSQL's form: 0.000001, not 1E-6
    return str(value)  # int, Decimal, float, str, UUID, pgcdc.Interval, ...


def field(change: pgcdc.Change, column: pgcdc.ColumnInfo, row: Row) -> str:
    value = row.get(column.name)
    if value is pgcdc.UNCHANGED:
        # An unchanged TOASTed value is not in the stream: never write it as NULL.
        value = (change.old or {}).get(column.name, pgcdc.UNCHANGED)
        if value is pgcdc.UNCHANGED:
            raise UnwritableValue(
                "%s.%s.%s of change %s is an unchanged TOASTed value, which the server "
                "does not send: ALTER TABLE %s.%s REPLICA IDENTITY FULL to have it" % (
                    change.schema, change.table, column.name, change.id, change.schema,
                    change.table))
    if value is None:
        return ""
    if column.type_oid in JSON_TYPES:
        return quote("null" if value is pgcdc.JSON_NULL else
                     json.dumps(value, separators=(",", ":")))
    return quote(text(value))


class CsvSegment(Segment):
    def __init__(self, change: pgcdc.Change, path: str) -> None:
        super().__init__(change, path)
        self.file = open(path, "w", encoding="utf-8", newline="")
        self.timestamp = os.environ.get("COMMIT_TIMESTAMP_COLUMN", "false") == "true"

    def write(self, op: str, row: Row, change: pgcdc.Change) -> int:
        fields = [op]
        if self.timestamp:
            fields.append(change.commit_time.isoformat() if change.commit_time else "")
        fields += [field(change, c, row) for c in self.columns]
        line = ",".join(fields) + "\n"
        self.file.write(line)
        return len(line)

    def close(self) -> None:
        self.file.close()


def handler(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    return run(context, CsvSegment, ".csv")
