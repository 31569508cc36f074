"""examples/outbox/handler.py end to end: a real PostgreSQL, the real pgcdc package and
boto3, and EventBridge, SNS and SQS served by moto in server mode on a local port. An
EventBridge rule per aggregate type routes the events to an SQS queue, which the test
reads back: exactly the committed events, in commit order per aggregate."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Dict, List

import boto3
import pytest
from aws_helpers import LambdaContext, moto_endpoint  # noqa: F401 (fixture)
from pgcdc_helpers import slot_confirmed_lsn

if TYPE_CHECKING:
    from conftest import PgEnv

HANDLER = Path(__file__).resolve().parents[2] / "examples" / "outbox" / "handler.py"

SCHEMA = """
CREATE TABLE outbox (id uuid PRIMARY KEY, aggregatetype text NOT NULL,
                     aggregateid text NOT NULL, type text NOT NULL, payload jsonb);
CREATE TABLE orders (id int PRIMARY KEY, status text);
CREATE PUBLICATION outbox_pub FOR TABLE outbox;
"""


def place_order(n: int, customer: str, delete_row: bool = False) -> str:
    """One service transaction: its state and its events, the outbox row optionally
    deleted again at once (the event must still go out)."""
    return ("BEGIN; INSERT INTO orders VALUES (%d, 'placed');"
            "INSERT INTO outbox VALUES (gen_random_uuid(), 'order', 'order-%d', 'OrderPlaced',"
            " '{\"order\": %d, \"seq\": 1, \"total\": 12.50}');"
            "INSERT INTO outbox VALUES (gen_random_uuid(), 'customer', '%s', 'OrderAdded',"
            " '{\"order\": %d, \"seq\": %d}');%s COMMIT;" % (
                n, n, n, customer, n, n,
                " DELETE FROM outbox WHERE aggregateid = 'order-%d';" % n if delete_row else ""))


def pay_order(n: int) -> str:
    return ("BEGIN; UPDATE orders SET status = 'paid' WHERE id = %d;"
            "INSERT INTO outbox VALUES (gen_random_uuid(), 'order', 'order-%d', 'OrderPaid',"
            " '{\"order\": %d, \"seq\": 2}'); COMMIT;" % (n, n, n))


@pytest.fixture
def queues(moto_endpoint: str) -> Dict[str, str]:  # noqa: F811 (fixture)
    """An SQS queue per aggregate type, each the target of an EventBridge rule."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    urls = {}
    for aggregate_type in ("order", "customer"):
        url = sqs.create_queue(QueueName="%s-events" % aggregate_type)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        events.put_rule(Name="route-%s" % aggregate_type, EventPattern=json.dumps(
            {"source": ["pgcdc.outbox"], "detail-type": ["outbox.event.%s" % aggregate_type]}))
        events.put_targets(Rule="route-%s" % aggregate_type,
                           Targets=[{"Id": "queue", "Arn": arn}])
        urls[aggregate_type] = url
    return urls


def received(url: str) -> List[Dict[str, Any]]:
    sqs = boto3.client("sqs")
    out: List[Dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return out
        for m in messages:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def handler(pg_env: PgEnv, moto_endpoint: str,  # noqa: F811 (fixture)
            monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    pg_env.sql(SCHEMA)
    for name, value in {"PGCDC_DSN": pg_env.dsn, "PGCDC_SLOT": pg_env.slot,
                        "PGCDC_PUBLICATION": "outbox_pub", "MAX_BATCH_EVENTS": "8",
                        "IDLE_TIMEOUT_S": "0.5", "SAFETY_MARGIN_S": "1"}.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("outbox_handler", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.handler({}, LambdaContext(10))["events"] == 0  # creates the slot
    return module


def committed_events(pg_env: PgEnv) -> Dict[str, List[str]]:
    """The outbox rows each aggregate committed, in commit order (the log workload()
    keeps)."""
    rows = pg_env.sql("SELECT aggregateid, id FROM committed ORDER BY seq")
    out: Dict[str, List[str]] = {}
    for aggregate, event_id in rows:
        out.setdefault(aggregate, []).append(event_id)
    return out


def workload(pg_env: PgEnv) -> None:
    # A log of every committed outbox row, kept by a trigger in the same transactions:
    # what must come out, in commit order (rolled-back rows vanish from it too).
    pg_env.sql("CREATE TABLE committed (seq serial, aggregateid text, id uuid);"
               "CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               "INSERT INTO committed (aggregateid, id) VALUES (NEW.aggregateid, NEW.id); "
               "RETURN NULL; END $$;"
               "CREATE TRIGGER keep AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION keep();")
    statements = []
    for n in range(1, 13):
        statements.append(place_order(n, "customer-%d" % (n % 3), delete_row=n % 4 == 0))
        if n % 2 == 0:
            statements.append(pay_order(n - 1))
    statements.append("BEGIN; INSERT INTO outbox VALUES (gen_random_uuid(), 'order', "
                      "'order-99', 'OrderPlaced', '{}'); ROLLBACK;")
    statements.append("UPDATE outbox SET type = 'Changed' WHERE aggregateid = 'order-1';"
                      "DELETE FROM outbox WHERE aggregateid = 'order-2';")
    pg_env.sql("\n".join(statements))


def by_aggregate(messages: List[Dict[str, Any]]) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {}
    for m in messages:
        out.setdefault(m["detail"]["aggregateid"], []).append(m["detail"]["id"])
    return out


def test_committed_outbox_rows_become_routed_events_in_order(
        pg_env: PgEnv, handler: ModuleType, queues: Dict[str, str]) -> None:
    workload(pg_env)
    summary = handler.handler({}, LambdaContext(30))
    expected = committed_events(pg_env)
    assert summary["events"] == sum(map(len, expected.values())) == 30
    assert summary["batches"] >= 3 and summary["retried"] == 0
    assert summary["not_published"] == {"update public.outbox": 2, "delete public.outbox": 4}
    assert summary["confirmed_flush_lsn"] == str(slot_confirmed_lsn(pg_env))

    orders, customers = received(queues["order"]), received(queues["customer"])
    assert {m["detail-type"] for m in orders} == {"outbox.event.order"}
    assert {m["detail-type"] for m in customers} == {"outbox.event.customer"}
    assert by_aggregate(orders + customers) == expected  # each once, commit order per aggregate
    assert "order-99" not in by_aggregate(orders)  # rolled back
    placed = next(m for m in orders if m["detail"]["aggregateid"] == "order-4")
    assert placed["source"] == "pgcdc.outbox" and placed["detail"]["type"] == "OrderPlaced"
    assert placed["detail"]["payload"] == {"order": 4, "seq": 1, "total": 12.50}  # deleted row
    assert handler.handler({}, LambdaContext(10))["events"] == 0  # acknowledged


class Refusing:
    """The real client, except that PutEvents refuses every other entry of its first
    two calls, as EventBridge does when throttled (per-entry ErrorCode)."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls, self.refused = client, 0, 0

    def put_events(self, Entries: List[Dict[str, Any]]) -> Dict[str, Any]:
        self.calls += 1
        if self.calls > 2:
            return self.client.put_events(Entries=Entries)
        accepted = iter(self.client.put_events(Entries=Entries[::2])["Entries"])
        self.refused += len(Entries[1::2])
        return {"FailedEntryCount": len(Entries[1::2]), "Entries": [
            next(accepted) if i % 2 == 0 else {"ErrorCode": "ThrottlingException",
                                               "ErrorMessage": "Rate exceeded"}
            for i in range(len(Entries))]}


def test_refused_entries_are_retried_without_reordering_an_aggregate(
        pg_env: PgEnv, handler: ModuleType, queues: Dict[str, str],
        caplog: pytest.LogCaptureFixture) -> None:
    handler.events = Refusing(handler.events)
    workload(pg_env)
    summary = handler.handler({}, LambdaContext(30))
    assert summary["retried"] == handler.events.refused > 0
    expected = committed_events(pg_env)
    assert by_aggregate(received(queues["order"]) + received(queues["customer"])) == expected
    assert "refused (ThrottlingException); retrying" in caplog.text


def test_next_call_never_lets_an_event_overtake_its_aggregate(handler: ModuleType) -> None:
    class E:
        def __init__(self, aggregate: str, size: int = 100) -> None:
            self.aggregate, self._size = aggregate, size

        def size(self) -> int:
            return self._size

    a1, b1, a2, c1, big, c2 = E("a"), E("b"), E("a"), E("c"), E("d", 200_000), E("c")
    call = handler.next_call([a1, b1, a2, c1, big, c2])
    assert call == [a1, b1, c1, big]  # a2 waits for a1's outcome, c2 for c1's
    many = [E("x%d" % i) for i in range(25)]
    assert handler.next_call(many) == many[:10]
    y, z, w = E("y", 200_000), E("z", 100_000), E("w")
    assert handler.next_call([y, z, w]) == [y, w]  # z does not fit in 256 KiB beside y


def test_sns_fifo_topic_groups_by_aggregate(pg_env: PgEnv, handler: ModuleType,
                                            moto_endpoint: str,  # noqa: F811 (fixture)
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="outbox.fifo", Attributes={
        "FifoTopic": "true", "ContentBasedDeduplication": "false"})["TopicArn"]
    url = sqs.create_queue(QueueName="all.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})
    monkeypatch.setenv("SNS_TOPIC_ARN", topic)
    workload(pg_env)
    assert handler.handler({}, LambdaContext(30))["events"] == 30
    assert by_aggregate([{"detail": m} for m in received(url)]) == committed_events(pg_env)


def test_failures_acknowledge_nothing_and_oversized_rows_fail_loudly(
        pg_env: PgEnv, handler: ModuleType, queues: Dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = slot_confirmed_lsn(pg_env)
    pg_env.sql(place_order(1, "customer-1"))
    monkeypatch.setenv("EVENT_BUS", "no-such-bus")
    with pytest.raises(Exception, match="no-such-bus|ResourceNotFound"):
        handler.handler({}, LambdaContext(30))
    assert slot_confirmed_lsn(pg_env) == before
    monkeypatch.setenv("EVENT_BUS", "default")
    pg_env.sql("INSERT INTO outbox VALUES (gen_random_uuid(), 'order', 'order-2', 'Big',"
               " jsonb_build_object('blob', repeat('x', 300000)))")
    with pytest.raises(handler.PublishError, match="over the 256 KiB event limit"):
        handler.handler({}, LambdaContext(30))
    # The events before the oversized one went out and are acknowledged.
    assert len(received(queues["order"])) == 1 and len(received(queues["customer"])) == 1
    assert slot_confirmed_lsn(pg_env) > before
