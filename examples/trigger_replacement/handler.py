"""AWS Lambda handler that replaces a row trigger calling `aws_lambda.invoke`.

The trigger ran inside every write: each INSERT/UPDATE/DELETE waited for an API call,
a slow or throttled target slowed the application, and a rolled-back transaction had
already invoked it. This handler reads the slot after commit instead (e.g. every minute
from an EventBridge schedule) and invokes the target function asynchronously
(InvocationType=Event) with the payload the trigger built, batched:

  {"records": [{"operation": "INSERT"|"UPDATE"|"DELETE", "schema": ..., "table": ...,
                "old": {...} | null, "new": {...} | null,
                "id": <pgcdc change id, the dedupe key>, "commit_time": ISO-8601}, ...]}

Only committed changes are sent, in commit order. A batch is acknowledged only after
Lambda accepted its invocation, so the slot never moves past an unsent change; after a
crash or timeout the unacknowledged changes come again with the same ids (at least
once: the target deduplicates on "id").

Configuration (environment):
  PGCDC_DSN            libpq URI of the database (a role with REPLICATION)
  PGCDC_SLOT           replication slot (created on first run)
  PGCDC_PUBLICATION    publication of the tables the trigger was on
  TARGET_FUNCTION      name or ARN of the function the trigger invoked
  MAX_BATCH_RECORDS    changes per invocation (default 100)
  MAX_PAYLOAD_BYTES    payload limit of an asynchronous invocation (default 262144)
  IDLE_TIMEOUT_S       stop after this long without a change (default 5)
  SAFETY_MARGIN_S      time kept back from Lambda's deadline to finish (default 10)
  AWS_ENDPOINT_URL     optional, boto3's own setting (a local endpoint in tests)
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from typing import Any, Dict, List

import boto3
import botocore.config
import botocore.exceptions

import pgcdc

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Errors after which the same request can succeed later (Lambda's Invoke API reference).
RETRYABLE = {"TooManyRequestsException", "ServiceException", "EC2ThrottledException",
             "ResourceNotReadyException", "ThrottlingException"}
OPERATIONS = {"insert": "INSERT", "update": "UPDATE", "delete": "DELETE"}
EMPTY_PAYLOAD_BYTES = len('{"records":[]}')

# Retries are this module's (below, with backoff), not botocore's as well.
lambda_client = boto3.client(
    "lambda", config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1}))


class InvokeError(RuntimeError):
    """The target could not be invoked; nothing of the batch was acknowledged."""


def trigger_record(change: pgcdc.Change) -> Dict[str, Any]:
    """What the trigger built from TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME, OLD and NEW."""
    doc = change.to_dict()  # typed values in pgcdc's JSON forms
    new, old = doc.get("new"), doc.get("old")
    record = {"operation": OPERATIONS[change.op], "schema": change.schema,
              "table": change.table, "old": old, "new": new, "id": change.id,
              "commit_time": doc.get("commit_time")}
    # An update leaves a TOASTed value it did not change out of the stream; the
    # trigger's NEW had it. With REPLICA IDENTITY FULL the old row has it; otherwise
    # the record names the columns it lacks instead of pretending they are NULL.
    missing = [c for c in doc.get("unchanged", []) if not (old and c in old)]
    for column in doc.get("unchanged", []):
        if column not in missing:
            new[column] = old[column]
    if missing:
        record["unchanged"] = missing
    return record


def invoke(function: str, records: List[Dict[str, Any]]) -> int:
    """Invokes `function` once, asynchronously, with `records`; retries throttling and
    service errors with jittered exponential backoff. Returns the retries it took."""
    payload = json.dumps({"records": records}, separators=(",", ":")).encode()
    for attempt in range(MAX_ATTEMPTS):
        try:
            response = lambda_client.invoke(FunctionName=function, InvocationType="Event",
                                            Payload=payload)
        except botocore.exceptions.ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code not in RETRYABLE or attempt + 1 == MAX_ATTEMPTS:
                raise InvokeError("invoking %s with %d changes failed: %s" %
                                  (function, len(records), e)) from e
            logger.warning("invoking %s: %s; retrying", function, code)
            time.sleep(random.uniform(0, min(0.1 * 2 ** attempt, 5.0)))
            continue
        if response["StatusCode"] != 202:  # 202 Accepted: queued for the function
            raise InvokeError("invoking %s: status %d, expected 202" %
                              (function, response["StatusCode"]))
        return attempt
    raise AssertionError("unreachable")


def handler(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    function = os.environ["TARGET_FUNCTION"]
    max_records = int(os.environ.get("MAX_BATCH_RECORDS", "100"))
    max_bytes = int(os.environ.get("MAX_PAYLOAD_BYTES", "262144"))
    margin = float(os.environ.get("SAFETY_MARGIN_S", "10"))
    budget = context.get_remaining_time_in_millis() / 1000.0 - margin
    summary: Dict[str, Any] = {"changes": 0, "invocations": 0, "retries": 0}
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
        records: List[Dict[str, Any]] = []
        size = EMPTY_PAYLOAD_BYTES
        last = None  # the newest change read; acknowledged once `records` are sent

        def send() -> None:
            nonlocal size
            summary["retries"] += invoke(function, records)
            stream.ack(last)  # only now: everything up to it reached Lambda
            summary["changes"] += len(records)
            summary["invocations"] += 1
            records.clear()
            size = EMPTY_PAYLOAD_BYTES

        for change in stream:
            if change.op in OPERATIONS:
                record = trigger_record(change)
                record_size = len(json.dumps(record, separators=(",", ":")).encode()) + 1
                if EMPTY_PAYLOAD_BYTES + record_size > max_bytes:
                    # Never drop a change: send what came before, stop at this one
                    # (unacknowledged) and say why.
                    if records:
                        send()
                    raise InvokeError(
                        "change %s on %s.%s is %d bytes, over the %d-byte payload limit of "
                        "an asynchronous invocation; send large rows by reference (e.g. an "
                        "S3 key) or raise MAX_PAYLOAD_BYTES to your account's limit" %
                        (change.id, change.schema, change.table, record_size, max_bytes))
                if records and (len(records) == max_records or size + record_size > max_bytes):
                    send()
                records.append(record)
                size += record_size
            else:  # truncate, message: no row trigger fired for them
                summary["not_row_changes"] = summary.get("not_row_changes", 0) + 1
            last = change
        if records:
            send()
        elif last is not None:
            stream.ack(last)
    summary["confirmed_flush_lsn"] = str(stream.confirmed_flush_lsn)
    return summary
