"""examples/lambda/handler.py end to end: a real PostgreSQL (the session's private
cluster), the real pgcdc package, boto3, and Kinesis served by moto in server mode on a
local port. Only the Lambda runtime is stood in for (a context object with a deadline)."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Dict, List

import botocore.exceptions
import pytest
from aws_helpers import STREAM, LambdaContext, kinesis, moto_endpoint, published  # noqa: F401
from pgcdc_helpers import slot_confirmed_lsn

if TYPE_CHECKING:
    from conftest import PgEnv

HANDLER = Path(__file__).resolve().parents[2] / "examples" / "lambda" / "handler.py"


@pytest.fixture
def handler(pg_env: PgEnv, kinesis: Any, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The example module, imported with its configuration in the environment."""
    pg_env.sql("CREATE TABLE orders (id int PRIMARY KEY, status text);"
               "CREATE PUBLICATION orders_pub FOR TABLE orders;")
    for name, value in {"PGCDC_DSN": pg_env.dsn, "PGCDC_SLOT": pg_env.slot,
                        "PGCDC_PUBLICATION": "orders_pub", "KINESIS_STREAM": STREAM,
                        "IDLE_TIMEOUT_S": "0.5", "SAFETY_MARGIN_S": "1"}.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("lambda_handler", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The first invocation creates the slot; changes from then on are captured.
    assert module.handler({}, LambdaContext(10))["changes"] == 0
    return module


def test_publishes_every_change_then_acknowledges(pg_env: PgEnv, handler: ModuleType,
                                                  kinesis: Any) -> None:
    pg_env.sql("INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 1200) g;"
               "UPDATE orders SET status = 'paid' WHERE id <= 10; DELETE FROM orders WHERE id = 5;")
    summary = handler.handler({}, LambdaContext(30))
    assert summary["changes"] == 1211 and summary["batches"] >= 3
    assert summary["retried_records"] == 0
    assert summary["confirmed_flush_lsn"] == str(slot_confirmed_lsn(pg_env))

    records = published(kinesis)
    assert len(records) == 1211 and len({r["id"] for r in records}) == 1211
    delete = [r for r in records if r["op"] == "delete"]
    assert len(delete) == 1 and delete[0]["key"] == "public.orders:[5]"
    assert delete[0]["old"] == {"id": 5}
    # Per row, the changes are in one shard and in order.
    row_5 = [r["op"] for r in records if r["key"] == "public.orders:[5]"]
    assert row_5 == ["insert", "update", "delete"]
    # Acknowledged: the next invocation has nothing to do.
    assert handler.handler({}, LambdaContext(10))["changes"] == 0


class ThrottledOnce:
    """The real client, except that the first PutRecords call is half refused, as when
    shards are throttled: Kinesis accepts some records and reports the others failed."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.refused = 0

    def put_records(self, StreamName: str, Records: List[Dict[str, Any]]) -> Dict[str, Any]:
        if self.refused:
            return self.client.put_records(StreamName=StreamName, Records=Records)
        accepted = self.client.put_records(StreamName=StreamName, Records=Records[::2])
        results = iter(accepted["Records"])
        self.refused = len(Records[1::2])
        return {"FailedRecordCount": self.refused, "Records": [
            next(results) if i % 2 == 0 else {"ErrorCode": "ProvisionedThroughputExceededException",
                                               "ErrorMessage": "Rate exceeded for shard"}
            for i in range(len(Records))]}


def test_failed_records_are_retried(pg_env: PgEnv, handler: ModuleType, kinesis: Any,
                                    caplog: pytest.LogCaptureFixture) -> None:
    throttled = ThrottledOnce(handler.kinesis)
    handler.kinesis = throttled
    pg_env.sql("INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 100) g")
    summary = handler.handler({}, LambdaContext(30))
    assert summary["changes"] == 100 and summary["retried_records"] == throttled.refused == 50
    records = published(kinesis)
    assert sorted(r["new"]["id"] for r in records) == list(range(1, 101))  # each exactly once
    assert "Kinesis refused 50 of 100 records (ProvisionedThroughputExceededException)" in (
        caplog.text)


def test_nothing_is_acknowledged_when_publishing_fails(pg_env: PgEnv, handler: ModuleType,
                                                       kinesis: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    before = slot_confirmed_lsn(pg_env)
    pg_env.sql("INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 10) g")
    monkeypatch.setenv("KINESIS_STREAM", "no-such-stream")
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFoundException"):
        handler.handler({}, LambdaContext(30))
    assert slot_confirmed_lsn(pg_env) == before
    monkeypatch.setenv("KINESIS_STREAM", STREAM)
    assert handler.handler({}, LambdaContext(30))["changes"] == 10  # delivered again
    assert len(published(kinesis)) == 10


def test_time_budget_comes_from_the_context(pg_env: PgEnv, handler: ModuleType,
                                            kinesis: Any) -> None:
    stop = threading.Event()

    def keep_writing() -> None:  # never idle: only the time budget ends the invocation
        i = 0
        while not stop.is_set():
            i += 1
            pg_env.sql("INSERT INTO orders VALUES (%d, 'new')" % i)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        start = time.monotonic()
        summary = handler.handler({}, LambdaContext(3.0))  # 3 s left, 1 s safety margin
        elapsed = time.monotonic() - start
    finally:
        stop.set()
        writer.join()
    assert 2.0 <= elapsed < 3.0, elapsed
    assert summary["changes"] > 0
    assert handler.handler({}, LambdaContext(0.5)) == {
        "changes": 0, "batches": 0, "retried_records": 0,
        "skipped": "less than SAFETY_MARGIN_S left"}
