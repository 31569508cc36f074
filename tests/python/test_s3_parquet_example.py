"""examples/s3/parquet_handler.py and parquet_loader.py end to end: a real PostgreSQL,
the real pgcdc package, boto3 and pyarrow, S3 and SQS served by moto in server mode.
The bucket sends its ObjectCreated events to an SQS queue; each event is handed to the
loader as Lambda would, and what the loader loads is compared with the source rows,
values and types."""

from __future__ import annotations

import datetime
import decimal
import importlib
import json
import sys
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aws_helpers import LambdaContext, moto_endpoint  # noqa: F401 (fixture)
from pgcdc_helpers import slot_confirmed_lsn
from s3_example_helpers import (
    BUCKET,
    CHANGES,
    WORKLOAD,
    first_run,
    load_example,
    objects,
    s3_env,  # noqa: F401 (fixture)
)

if TYPE_CHECKING:
    from conftest import PgEnv

ITEM_TYPES = {
    "Op": pa.string(), "commit_ts": pa.timestamp("us", tz="UTC"), "id": pa.int32(),
    "name": pa.string(), "qty": pa.int32(), "price": pa.decimal128(12, 3),
    "ratio": pa.string(), "tags": pa.list_(pa.string()), "doc": pa.string(),
    "raw": pa.binary(), "flag": pa.bool_(), "seen": pa.timestamp("us", tz="UTC"),
    "day": pa.date32(), "score": pa.float64(),
}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def events_queue(s3_env: Any) -> str:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="new-objects")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    s3_env.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": {
            "Key": {"FilterRules": [{"Name": "suffix", "Value": ".parquet"}]}}}]})
    return url


def s3_events(url: str) -> List[Dict[str, Any]]:
    sqs, out = boto3.client("sqs"), []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return out
        for m in messages:
            event = json.loads(m["Body"])
            if "Records" in event:  # not s3:TestEvent
                out.append(event)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def parquet_handler(s3_env: Any) -> Any:
    module = load_example("parquet_handler")
    first_run(module)
    return module


def loader(monkeypatch: pytest.MonkeyPatch) -> Tuple[Any, List[Tuple[str, str, str, pa.Table]]]:
    sys.modules.pop("parquet_loader", None)
    module = importlib.import_module("parquet_loader")
    loaded: List[Tuple[str, str, str, pa.Table]] = []
    monkeypatch.setattr(module, "load", lambda *args: loaded.append(args))
    return module, loaded


def latest(loaded: List[Tuple[str, str, str, pa.Table]], table: str) -> Dict[int, Dict[str, Any]]:
    """Each key's row after its last change, replaying the objects in key order."""
    state: Dict[int, Dict[str, Any]] = {}
    for _, _, _, rows in sorted((x for x in loaded if x[1] == table), key=lambda x: x[2]):
        for row in rows.to_pylist():
            if row["Op"] == "D":
                del state[row["id"]]
            else:
                state[row["id"]] = row
    return state


def source_items(pg_env: PgEnv) -> Dict[int, Tuple[Any, ...]]:
    rows = pg_env.sql(
        "SELECT id, name, qty, price::text, ratio::text, to_json(tags)::text, doc::text,"
        " encode(raw, 'hex'), flag::text, (extract(epoch FROM seen) * 1000000)::bigint,"
        " day::text, score::text FROM items")
    return {int(r[0]): (
        r[1], None if r[2] is None else int(r[2]), r[3], r[4],
        None if r[5] is None else json.loads(r[5]), None if r[6] is None else json.loads(r[6]),
        r[7], None if r[8] is None else r[8] == "true", None if r[9] is None else int(r[9]),
        r[10], None if r[11] is None else float(r[11])) for r in rows}


def as_source(row: Dict[str, Any]) -> Tuple[Any, ...]:
    """A loaded row in source_items()'s forms."""
    seen = row["seen"]
    return (row["name"], row["qty"], None if row["price"] is None else str(row["price"]),
            row["ratio"], row["tags"], None if row["doc"] is None else json.loads(row["doc"]),
            None if row["raw"] is None else row["raw"].hex(), row["flag"],
            None if seen is None else (seen - EPOCH) // datetime.timedelta(microseconds=1),
            None if row["day"] is None else row["day"].isoformat(), row["score"])


def test_loaded_objects_equal_the_source_in_values_and_types(
        pg_env: PgEnv, parquet_handler: Any, s3_env: Any, events_queue: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    pg_env.sql(WORKLOAD)
    summary = parquet_handler.handler({}, LambdaContext(60))
    assert summary["changes"] == CHANGES and summary["batches"] == 4
    assert summary["confirmed_flush_lsn"] == str(slot_confirmed_lsn(pg_env))
    assert sorted(summary["objects"]) == [o["Key"] for o in objects(s3_env, "cdc/public/")]

    module, loaded = loader(monkeypatch)
    events = s3_events(events_queue)
    assert sum(module.handler(e, None)["objects"] for e in events) == len(summary["objects"])
    items = [rows for _, table, _, rows in loaded if table == "items"]
    assert all(dict(zip(r.schema.names, r.schema.types)) == ITEM_TYPES for r in items)
    assert sum(r.num_rows for r in items) == CHANGES - 4
    state = latest(loaded, "items")
    assert {k: as_source(v) for k, v in state.items()} == source_items(pg_env)
    assert state[1003]["ratio"] == "NaN" and state[1002]["score"] == float("inf")
    assert state[1001]["doc"] == "null" and state[1001]["tags"] == []  # JSON null, not NULL
    assert state[1002]["price"] == decimal.Decimal("-123456789.001")
    notes = latest(loaded, "notes")
    assert sorted(notes) == [2, 3, 101]  # the key change: D of 1, I of 101
    assert all(len(n["body"]) == 180000 for n in notes.values())


def test_a_value_the_type_cannot_hold_fails_loudly(pg_env: PgEnv, parquet_handler: Any,
                                                   s3_env: Any) -> None:
    pg_env.sql("INSERT INTO items (id, price) VALUES (1, 'NaN')")
    before = slot_confirmed_lsn(pg_env)
    with pytest.raises(parquet_handler.UnwritableValue,
                       match=r"public\.items\.price .* decimal128\(12, 3\)"):
        parquet_handler.handler({}, LambdaContext(60))
    assert slot_confirmed_lsn(pg_env) == before
    assert objects(s3_env, "cdc/public/") == []


def test_the_loader_refuses_an_object_that_is_not_pgcdcs(
        s3_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"Op": ["I"], "id": [1]}), sink)
    s3_env.put_object(Bucket=BUCKET, Key="cdc/public/items/x.parquet",
                      Body=sink.getvalue().to_pybytes())
    module, loaded = loader(monkeypatch)
    event = {"Records": [{"s3": {"bucket": {"name": BUCKET},
                                 "object": {"key": "cdc/public/items/x.parquet"}}}]}
    with pytest.raises(module.SchemaMismatch, match="no pgcdc.columns metadata"):
        module.handler(event, None)
    assert loaded == []
