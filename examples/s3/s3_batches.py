"""Changes from a replication slot into S3 objects, batch by batch: what the CSV and
Parquet handlers share (everything but the file format).

Each run (a Lambda invocation) reads the slot and cuts the changes into batches, by
size and age, at the end of a transaction (and where the run ends). A batch becomes one
object per table, written to a local file as the changes arrive (memory stays small
however large a transaction is), uploaded, and only then acknowledged on the slot:

  s3://BUCKET/PREFIX/<schema>/<table>/<id of the batch's first change of the table><suffix>

Change ids are "<commit LSN>-<ordinal>" in hexadecimal, so keys sort in commit order.
After the objects of a batch are in S3, its last change is written to a checkpoint
object (PREFIX/_pgcdc/<slot>.json) before the slot is acknowledged. A run starts by
reading it and passes over the changes it already covers (the slot can lag behind it:
the server confirms whole transactions only, and a crash can come between the two).
The first batch of a run therefore starts right after the checkpoint, at the same
change as the batch a crashed run did not finish, and its objects get the same keys and
overwrite that run's: whatever the crash, every change is in exactly one object.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import boto3
import botocore.config
import botocore.exceptions

import pgcdc

Row = Dict[str, Any]

logger = logging.getLogger(__name__)

WRITTEN_OPS = {"insert", "update", "delete"}

# botocore retries throttling (503 SlowDown) and server errors with jittered
# exponential backoff; upload_file sends large files in parts, each retried alone.
s3 = boto3.client("s3", config=botocore.config.Config(
    retries={"mode": "standard", "max_attempts": 8}))


def rows_of(change: pgcdc.Change) -> List[Tuple[str, Row]]:
    """The (Op, row) lines of a change. An update of the primary key is a D of the old
    row and an I of the new one (Debezium splits it the same way): a U would leave the
    old key behind in a replica that merges by key."""
    if change.op == "insert":
        return [("I", change.new)]
    if change.op == "delete":
        return [("D", change.old)]
    keys = [c.name for c in change.columns if c.primary_key] or (
        [c.name for c in change.columns if c.key] if change.old_kind == "key" else [])
    old = change.old
    if old is not None and any(old.get(k) != change.new.get(k) for k in keys):
        return [("D", old), ("I", change.new)]
    return [("U", change.new)]


class Segment:
    """The changes of one table (with one set of columns) in a batch, in a local file.
    Subclasses write the format: `write(op, row, change)` returns the bytes it added."""

    def __init__(self, change: pgcdc.Change, path: str) -> None:
        self.first_id = change.id
        self.last_id = change.id
        self.schema, self.table = change.schema, change.table
        self.columns = change.columns
        self.path = path
        self.rows = 0

    def add(self, change: pgcdc.Change) -> int:
        self.last_id = change.id
        added = 0
        for op, row in rows_of(change):
            self.rows += 1
            added += self.write(op, row, change)
        return added

    def write(self, op: str, row: Row, change: pgcdc.Change) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def abandon(self) -> None:
        """Releases the file after a failure (nothing more is written to it)."""
        self.close()


def position(change: pgcdc.Change) -> Tuple[int, int]:
    return int(change.commit_lsn), change.ordinal  # the order the slot delivers in


class Checkpoint:
    """The last change whose batch is entirely in S3."""

    def __init__(self, bucket: str, prefix: str, slot: str) -> None:
        self.bucket, self.key = bucket, "%s/_pgcdc/%s.json" % (prefix, slot)

    def load(self) -> Optional[Tuple[int, int]]:
        try:
            body = s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        saved = json.loads(body)
        return int(pgcdc.Lsn(saved["commit_lsn"])), int(saved["ordinal"])

    def save(self, change: pgcdc.Change) -> None:
        s3.put_object(Bucket=self.bucket, Key=self.key, Body=json.dumps(
            {"commit_lsn": str(change.commit_lsn), "ordinal": change.ordinal,
             "id": change.id}).encode())


class Batch:
    def __init__(self, make_segment: Callable[[pgcdc.Change, str], Segment]) -> None:
        self.make_segment = make_segment
        self.dir = tempfile.mkdtemp(prefix="pgcdc-batch-")
        self.segments: Dict[Any, Segment] = {}
        self.bytes = 0
        self.started = time.monotonic()

    def add(self, change: pgcdc.Change) -> None:
        key = (change.schema, change.table, change.columns)
        segment = self.segments.get(key)
        if segment is None:
            path = os.path.join(self.dir, "%d" % len(self.segments))
            segment = self.segments[key] = self.make_segment(change, path)
        self.bytes += segment.add(change)

    def discard(self) -> None:
        for segment in self.segments.values():
            segment.abandon()
        shutil.rmtree(self.dir, ignore_errors=True)

    def upload(self, bucket: str, prefix: str, suffix: str) -> List[str]:
        keys = []
        try:
            for segment in self.segments.values():
                segment.close()
                key = "%s/%s/%s/%s%s" % (prefix, segment.schema, segment.table,
                                         segment.first_id, suffix)
                s3.upload_file(segment.path, bucket, key, ExtraArgs={"Metadata": {
                    "pgcdc-first-change": segment.first_id,
                    "pgcdc-last-change": segment.last_id, "pgcdc-rows": str(segment.rows)}})
                keys.append(key)
        finally:
            self.discard()
        return keys


class Drain:
    """One run's state: the batch being written and what the summary reports."""

    def __init__(self, stream: pgcdc.ChangeStream, make_segment: Callable[..., Segment],
                 suffix: str, checkpoint: Checkpoint) -> None:
        self.stream, self.make_segment, self.suffix = stream, make_segment, suffix
        self.checkpoint = checkpoint
        self.written_up_to = checkpoint.load()
        self.bucket = os.environ["S3_BUCKET"]
        self.prefix = os.environ.get("S3_PREFIX", "cdc").strip("/")
        self.max_bytes = int(os.environ.get("MAX_BATCH_BYTES", str(64 * 1024 * 1024)))
        self.max_age = float(os.environ.get("MAX_BATCH_AGE_S", "60"))
        self.batch: Optional[Batch] = None
        self.last: Optional[pgcdc.Change] = None  # the newest change read
        self.summary: Dict[str, Any] = {"changes": 0, "batches": 0, "objects": [],
                                        "already_written": 0, "not_written": {}}

    def run(self) -> None:
        try:
            for change in self.stream:
                self.take(change)
            if self.last is not None and not self.written(self.last):
                self.finish()
        finally:
            if self.batch is not None:  # a failed run: the slot keeps what it held
                self.batch.discard()

    def written(self, change: pgcdc.Change) -> bool:
        return self.written_up_to is not None and position(change) <= self.written_up_to

    def take(self, change: pgcdc.Change) -> None:
        self.last = change
        if self.written(change):
            self.summary["already_written"] += 1  # a crashed run wrote it; the slot lags
            self.stream.ack(change)
            return
        if change.op in WRITTEN_OPS:
            if self.batch is None:
                self.batch = Batch(self.make_segment)
            self.batch.add(change)
            self.summary["changes"] += 1
        else:  # truncate, message: no DMS row for them; counted, never hidden
            what = "%s %s" % (change.op, change.table or change.prefix)
            self.summary["not_written"][what] = self.summary["not_written"].get(what, 0) + 1
            logger.warning("not written to S3: %s (change %s)", what, change.id)
        batch = self.batch
        if batch is not None and change.last_in_transaction and (
                batch.bytes >= self.max_bytes or
                time.monotonic() - batch.started >= self.max_age):
            self.finish()

    def finish(self) -> None:
        if self.batch is not None:
            self.summary["objects"] += self.batch.upload(self.bucket, self.prefix, self.suffix)
            self.summary["batches"] += 1
            self.batch = None
        assert self.last is not None
        self.checkpoint.save(self.last)
        self.stream.ack(self.last)  # only now: everything up to it is in S3


def run(context: Any, make_segment: Callable[[pgcdc.Change, str], Segment],
        suffix: str) -> Dict[str, Any]:
    """One invocation: drain the slot into S3 for the time Lambda gives."""
    budget = (context.get_remaining_time_in_millis() / 1000.0 -
              float(os.environ.get("SAFETY_MARGIN_S", "10")))
    if budget <= 0:
        return {"changes": 0, "skipped": "less than SAFETY_MARGIN_S left"}
    checkpoint = Checkpoint(os.environ["S3_BUCKET"], os.environ.get("S3_PREFIX", "cdc").strip("/"),
                            os.environ["PGCDC_SLOT"])
    with pgcdc.open_stream(
        os.environ["PGCDC_DSN"], slot=os.environ["PGCDC_SLOT"],
        publications=[os.environ["PGCDC_PUBLICATION"]], create_slot=True,
        describe_columns=True,  # primary keys and NOT NULL, for rows_of() and schemas
        max_duration=budget, idle_timeout=float(os.environ.get("IDLE_TIMEOUT_S", "5")),
    ) as stream:
        drain = Drain(stream, make_segment, suffix, checkpoint)
        drain.run()
    drain.summary["confirmed_flush_lsn"] = str(stream.confirmed_flush_lsn)
    return drain.summary
