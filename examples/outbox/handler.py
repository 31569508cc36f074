"""AWS Lambda handler: a transactional outbox table published as events, in the shape
of Debezium's outbox event router, to Amazon EventBridge (or an SNS FIFO topic).

It replaces Debezium (outbox event router) -> MSK -> EventBridge Pipes for services
that write their events into an outbox table in the same transaction as their state:

  CREATE TABLE outbox (id uuid PRIMARY KEY, aggregatetype text NOT NULL,
                       aggregateid text NOT NULL, type text NOT NULL, payload jsonb);

Each inserted outbox row becomes one event, routed by aggregate type the way the router
names topics ("outbox.event.<aggregatetype>"), with the row's id as the dedupe key:

  EventBridge: Source=EVENT_SOURCE, DetailType="outbox.event.<aggregatetype>",
               Detail={"id", "aggregatetype", "aggregateid", "type", "payload"},
               Time=the commit time
  SNS FIFO:    Message=Detail, MessageGroupId=aggregateid, MessageDeduplicationId=id,
               attributes id / aggregatetype / type

Only committed rows are published, in commit order per aggregate; a row the same
transaction deletes again (the usual way to keep the outbox empty) is still published,
as it was inserted. A batch is acknowledged on the slot only after every event of it
was accepted: at least once, consumers deduplicate on the event id.

Configuration (environment):
  PGCDC_DSN, PGCDC_SLOT, PGCDC_PUBLICATION   the database, slot, publication of the outbox
  OUTBOX_TABLE         schema.table of the outbox (default public.outbox)
  EVENT_BUS            EventBridge bus (default "default")
  EVENT_SOURCE         the events' Source (default "pgcdc.outbox")
  SNS_TOPIC_ARN        publish to this SNS FIFO topic instead of EventBridge
  MAX_BATCH_EVENTS     events acknowledged together (default 100)
  IDLE_TIMEOUT_S, SAFETY_MARGIN_S   as in examples/lambda (5 and 10 seconds)
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from typing import Any, Callable, Dict, List, Set

import boto3
import botocore.config

import pgcdc

logger = logging.getLogger(__name__)

# PutEvents and SNS PublishBatch both take at most 10 entries and 256 KiB per call.
MAX_ENTRIES = 10
MAX_CALL_BYTES = 256 * 1024
MAX_ATTEMPTS = 8
# Retries are this module's (per entry, keeping the order per aggregate), not botocore's.
_config = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 3})
events = boto3.client("events", config=_config)
sns = boto3.client("sns", config=_config)


class PublishError(RuntimeError):
    """Events could not be published; nothing of the batch was acknowledged."""


class Event:
    def __init__(self, change: pgcdc.Change) -> None:
        row = change.new
        self.id = str(row["id"])
        self.aggregate = str(row["aggregateid"])
        payload = None if row["payload"] is pgcdc.JSON_NULL else row["payload"]
        self.detail = json.dumps(
            {"id": self.id, "aggregatetype": row["aggregatetype"],
             "aggregateid": self.aggregate, "type": row["type"], "payload": payload},
            separators=(",", ":"), default=str)
        self.aggregate_type = str(row["aggregatetype"])
        self.route = "outbox.event.%s" % self.aggregate_type
        self.type = str(row["type"])
        self.time = change.commit_time
        self.source_change = change.id

    def eventbridge_entry(self, bus: str, source: str) -> Dict[str, Any]:
        entry = {"EventBusName": bus, "Source": source, "DetailType": self.route,
                 "Detail": self.detail}
        if self.time is not None:  # snapshot rows have no commit time
            entry["Time"] = self.time
        return entry

    def sns_entry(self) -> Dict[str, Any]:
        return {"Id": self.id, "Message": self.detail,
                "MessageGroupId": self.aggregate, "MessageDeduplicationId": self.id,
                "MessageAttributes": {
                    "id": {"DataType": "String", "StringValue": self.id},
                    "aggregatetype": {"DataType": "String", "StringValue": self.aggregate_type},
                    "type": {"DataType": "String", "StringValue": self.type}}}

    def size(self) -> int:
        # EventBridge's entry size: Detail, DetailType, Source, 14 bytes for Time.
        return len(self.detail.encode()) + len(self.route.encode()) + 64


def put_eventbridge(batch: List[Event]) -> List[str]:
    """Puts `batch` in one PutEvents call; returns the error code per event ("" = ok)."""
    bus = os.environ.get("EVENT_BUS", "default")
    source = os.environ.get("EVENT_SOURCE", "pgcdc.outbox")
    response = events.put_events(Entries=[e.eventbridge_entry(bus, source) for e in batch])
    return [r.get("ErrorCode", "") for r in response["Entries"]]  # positional


def publish_sns(batch: List[Event]) -> List[str]:
    response = sns.publish_batch(TopicArn=os.environ["SNS_TOPIC_ARN"],
                                 PublishBatchRequestEntries=[e.sns_entry() for e in batch])
    failed = {f["Id"]: f["Code"] for f in response.get("Failed", [])}
    return [failed.get(e.id, "") for e in batch]


def next_call(pending: List[Event]) -> List[Event]:
    """The events of the next call: in order, at most one per aggregate, and none after
    an earlier event of its aggregate that is not in the call, so that an event that
    fails and is retried can never be overtaken by a later one of its aggregate."""
    call: List[Event] = []
    held: Set[str] = set()
    size = 0
    for e in pending:
        if len(call) == MAX_ENTRIES:
            break
        if e.aggregate in held or (call and size + e.size() > MAX_CALL_BYTES):
            held.add(e.aggregate)
            continue
        call.append(e)
        held.add(e.aggregate)
        size += e.size()
    return call


def publish(pending: List[Event], put: Callable[[List[Event]], List[str]]) -> int:
    """Publishes every event of `pending`, retrying failed ones with backoff. Returns
    how many entries were retried."""
    retried = 0
    failures = 0
    while pending:
        call = next_call(pending)
        codes = put(call)
        failed = {id(e) for e, code in zip(call, codes) if code}
        pending[:] = [e for e in pending if id(e) in failed or e not in call]
        if failed:
            failures += 1
            retried += len(failed)
            if failures == MAX_ATTEMPTS:
                raise PublishError("%d events refused %d times (%s)" % (
                    len(failed), MAX_ATTEMPTS, ", ".join(sorted(set(filter(None, codes))))))
            logger.warning("%d of %d events refused (%s); retrying", len(failed), len(call),
                           ", ".join(sorted(set(filter(None, codes)))))
            time.sleep(random.uniform(0, min(0.1 * 2 ** failures, 5.0)))
    return retried


def handler(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    outbox = os.environ.get("OUTBOX_TABLE", "public.outbox")
    put = publish_sns if os.environ.get("SNS_TOPIC_ARN") else put_eventbridge
    max_events = int(os.environ.get("MAX_BATCH_EVENTS", "100"))
    budget = (context.get_remaining_time_in_millis() / 1000.0 -
              float(os.environ.get("SAFETY_MARGIN_S", "10")))
    summary: Dict[str, Any] = {"events": 0, "batches": 0, "retried": 0, "not_published": {}}
    if budget <= 0:
        summary["skipped"] = "less than SAFETY_MARGIN_S left"
        return summary

    with pgcdc.open_stream(
        os.environ["PGCDC_DSN"], slot=os.environ["PGCDC_SLOT"],
        publications=[os.environ["PGCDC_PUBLICATION"]], create_slot=True,
        max_duration=budget, idle_timeout=float(os.environ.get("IDLE_TIMEOUT_S", "5")),
    ) as stream:
        batch: List[Event] = []
        last = None  # the newest change read; acknowledged once `batch` is published

        def flush() -> None:
            if batch:
                summary["retried"] += publish(list(batch), put)
                summary["events"] += len(batch)
                summary["batches"] += 1
                batch.clear()
            if last is not None:
                stream.ack(last)  # only now: every event up to it was accepted

        for change in stream:
            if change.op == "insert" and "%s.%s" % (change.schema, change.table) == outbox:
                e = Event(change)
                if e.size() > MAX_CALL_BYTES:
                    flush()  # what came before goes out; this one stops the run
                    raise PublishError(
                        "outbox row %s (change %s) is %d bytes, over the 256 KiB event "
                        "limit; put large payloads in S3 and publish a reference" %
                        (e.id, change.id, e.size()))
                batch.append(e)
            else:
                # The router publishes inserts only: an outbox is append-only, and its
                # rows are usually deleted in the same transaction. Counted, not hidden.
                what = "%s %s.%s" % (change.op, change.schema, change.table)
                summary["not_published"][what] = summary["not_published"].get(what, 0) + 1
            last = change
            if len(batch) >= max_events and change.last_in_transaction:
                flush()
        flush()
    summary["confirmed_flush_lsn"] = str(stream.confirmed_flush_lsn)
    return summary
