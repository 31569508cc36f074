"""AWS Lambda handler: drains a PostgreSQL replication slot into a Kinesis data stream.

Each invocation (e.g. every minute from an EventBridge schedule) consumes the slot for
the time Lambda gives it, publishes the changes with PutRecords in batches, and
acknowledges a batch only after Kinesis accepted every record of it, so the slot never
moves past a change that is not in the stream. A crash or timeout at any point means
the unacknowledged changes come again on the next invocation, with the same ids:
delivery is at-least-once, and consumers deduplicate on the record's "id".

Configuration (environment):
  PGCDC_DSN            libpq URI of the database (a role with REPLICATION)
  PGCDC_SLOT           replication slot (created on first run)
  PGCDC_PUBLICATION    publication to stream
  KINESIS_STREAM       target stream name
  IDLE_TIMEOUT_S       stop after this long without a change (default 5)
  SAFETY_MARGIN_S      time kept back from Lambda's deadline to finish (default 10)
  AWS_ENDPOINT_URL     optional, boto3's own setting (a local endpoint in tests)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from typing import Any, Dict, List

import boto3

import pgcdc

logger = logging.getLogger(__name__)

# Kinesis PutRecords limits: 500 records and 5 MiB per call; 1 MiB per record
# (data plus partition key); partition keys up to 256 characters.
MAX_RECORDS = 500
MAX_CALL_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
MAX_KEY_CHARS = 256
MAX_ATTEMPTS = 8

# Created once per container and reused by later invocations.
kinesis = boto3.client("kinesis")


class PublishError(RuntimeError):
    """Kinesis kept refusing records; nothing of the batch was acknowledged."""


def partition_key(change: pgcdc.Change) -> str:
    """table + primary key: every change of a row goes to the same shard, in order."""
    if change.key:
        key = json.dumps(list(change.key.values()), default=str, separators=(",", ":"))
        text = "%s.%s:%s" % (change.schema, change.table, key)
    elif change.table:
        text = "%s.%s" % (change.schema, change.table)  # truncate
    else:
        text = "message:%s" % change.prefix
    if len(text) > MAX_KEY_CHARS:  # long keys: a digest keeps them stable and short
        text = text[:190] + ":" + hashlib.sha256(text.encode()).hexdigest()[:64]
    return text


def to_record(change: pgcdc.Change) -> Dict[str, Any]:
    data = json.dumps(change.to_dict(), separators=(",", ":")).encode()
    key = partition_key(change)
    if len(data) + len(key.encode()) > MAX_RECORD_BYTES:
        # Never skip a change silently: fail, leave the slot where it is, and say why.
        raise PublishError(
            "change %s on %s.%s is %d bytes, over Kinesis' 1 MiB record limit; store large "
            "rows elsewhere (e.g. S3) and publish a reference" %
            (change.id, change.schema, change.table, len(data)))
    return {"Data": data, "PartitionKey": key}


def put_all(stream_name: str, records: List[Dict[str, Any]]) -> int:
    """Puts `records`, retrying the ones Kinesis reports as failed (throttling,
    internal errors) with exponential backoff. Returns how many were retried."""
    retried = 0
    pending = records
    for attempt in range(MAX_ATTEMPTS):
        response = kinesis.put_records(StreamName=stream_name, Records=pending)
        if response.get("FailedRecordCount", 0) == 0:
            return retried
        # Results are positional: keep the records whose result has an ErrorCode.
        failed = [r for r, result in zip(pending, response["Records"]) if "ErrorCode" in result]
        errors = {result["ErrorCode"] for result in response["Records"] if "ErrorCode" in result}
        logger.warning("Kinesis refused %d of %d records (%s); retrying", len(failed),
                       len(pending), ", ".join(sorted(errors)))
        retried += len(failed)
        pending = failed
        time.sleep(min(0.05 * 2 ** attempt, 2.0))
    raise PublishError("Kinesis refused %d records after %d attempts" % (len(pending),
                                                                         MAX_ATTEMPTS))


def handler(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    stream_name = os.environ["KINESIS_STREAM"]
    margin = float(os.environ.get("SAFETY_MARGIN_S", "10"))
    budget = context.get_remaining_time_in_millis() / 1000.0 - margin
    summary: Dict[str, Any] = {"changes": 0, "batches": 0, "retried_records": 0}
    if budget <= 0:
        summary["skipped"] = "less than SAFETY_MARGIN_S left"
        return summary

    with pgcdc.open_stream(
        os.environ["PGCDC_DSN"],
        slot=os.environ["PGCDC_SLOT"],
        publications=[os.environ["PGCDC_PUBLICATION"]],
        create_slot=True,
        max_duration=budget,
        idle_timeout=float(os.environ.get("IDLE_TIMEOUT_S", "5")),
    ) as stream:
        batch: List[pgcdc.Change] = []
        records: List[Dict[str, Any]] = []
        size = 0

        def publish() -> None:
            nonlocal size
            summary["retried_records"] += put_all(stream_name, records)
            stream.ack(batch[-1])  # only now: everything up to it is in Kinesis
            summary["changes"] += len(batch)
            summary["batches"] += 1
            batch.clear()
            records.clear()
            size = 0

        for change in stream:
            record = to_record(change)
            record_size = len(record["Data"]) + len(record["PartitionKey"])
            if records and (len(records) == MAX_RECORDS or size + record_size > MAX_CALL_BYTES):
                publish()
            batch.append(change)
            records.append(record)
            size += record_size
        if records:
            publish()
    # Leaving the block reported the acknowledged position to the server.
    summary["confirmed_flush_lsn"] = str(stream.confirmed_flush_lsn)
    return summary
