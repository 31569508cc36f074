"""examples/trigger_replacement/handler.py end to end: a real PostgreSQL, the real
pgcdc package and boto3, and a local endpoint of Lambda's Invoke API that records what
it was asked to invoke (moto cannot run functions here: it needs Docker for that).

The table also has the row trigger being replaced, writing the payload it would have
sent into a log table instead of calling aws_lambda.invoke: the handler's records must
equal what the trigger built, for committed transactions only."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Dict, Iterator, List

import pytest
from aws_helpers import LambdaContext, LambdaEndpoint
from pgcdc_helpers import slot_confirmed_lsn

if TYPE_CHECKING:
    from conftest import PgEnv

HANDLER = (Path(__file__).resolve().parents[2] / "examples" / "trigger_replacement" /
           "handler.py")

TRIGGER = """
CREATE TABLE orders (id int PRIMARY KEY, status text, qty int, note text);
ALTER TABLE orders REPLICA IDENTITY FULL;  -- OLD had every column in the trigger
CREATE TABLE trigger_log (seq serial, payload jsonb);
CREATE FUNCTION notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- What PERFORM aws_lambda.invoke(..., 'Event') was given, kept instead of sent.
  INSERT INTO trigger_log (payload) VALUES (json_build_object(
      'operation', TG_OP, 'schema', TG_TABLE_SCHEMA, 'table', TG_TABLE_NAME,
      'old', CASE WHEN TG_OP <> 'INSERT' THEN row_to_json(OLD) END,
      'new', CASE WHEN TG_OP <> 'DELETE' THEN row_to_json(NEW) END));
  RETURN NULL;
END $$;
CREATE TRIGGER orders_notify AFTER INSERT OR UPDATE OR DELETE ON orders
  FOR EACH ROW EXECUTE FUNCTION notify();
CREATE PUBLICATION orders_pub FOR TABLE orders;
"""


@pytest.fixture
def lambda_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaEndpoint]:
    endpoint = LambdaEndpoint(["order-events"])
    for name, value in {"AWS_ENDPOINT_URL": endpoint.url, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    try:
        yield endpoint
    finally:
        endpoint.close()


@pytest.fixture
def handler(pg_env: PgEnv, lambda_api: LambdaEndpoint,
            monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    pg_env.sql(TRIGGER)
    for name, value in {"PGCDC_DSN": pg_env.dsn, "PGCDC_SLOT": pg_env.slot,
                        "PGCDC_PUBLICATION": "orders_pub", "TARGET_FUNCTION": "order-events",
                        "MAX_BATCH_RECORDS": "50", "IDLE_TIMEOUT_S": "0.5",
                        "SAFETY_MARGIN_S": "1"}.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("trigger_handler", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.handler({}, LambdaContext(10))["changes"] == 0  # creates the slot
    return module


def sent_records(endpoint: LambdaEndpoint) -> List[Dict[str, Any]]:
    return [r for i in endpoint.invocations for r in i["payload"]["records"]]


def test_invokes_with_what_the_trigger_built_committed_only(
        pg_env: PgEnv, handler: ModuleType, lambda_api: LambdaEndpoint) -> None:
    pg_env.sql("INSERT INTO orders SELECT g, 'new', g FROM generate_series(1, 100) g;"
               "UPDATE orders SET status = 'paid', qty = qty + 1 WHERE id <= 10;"
               "DELETE FROM orders WHERE id = 5;"
               "BEGIN; INSERT INTO orders VALUES (1000, 'ghost', 0); ROLLBACK;"
               "UPDATE orders SET status = 'it''s \"quoted\"' WHERE id = 7;"
               # A TOASTed value the next update leaves alone: still in NEW.
               "UPDATE orders SET note = (SELECT string_agg(md5(g::text), '') "
               "  FROM generate_series(1, 200) g) WHERE id = 8;"
               "UPDATE orders SET qty = 0 WHERE id = 8;"
               "TRUNCATE orders;")
    summary = handler.handler({}, LambdaContext(30))
    assert summary["changes"] == 114 and summary["invocations"] == 3  # 50 + 50 + 14
    assert summary["not_row_changes"] == 1  # the truncate: no row trigger fires for it
    assert summary["confirmed_flush_lsn"] == str(slot_confirmed_lsn(pg_env))
    assert {(i["function"], i["type"]) for i in lambda_api.invocations} == {
        ("order-events", "Event")}

    records = sent_records(lambda_api)
    built = [json.loads(row[0]) for row in pg_env.sql(
        "SELECT payload FROM trigger_log ORDER BY seq")]
    assert len(built) == 114 and 1000 not in [r["new"]["id"] for r in records if r["new"]]
    assert [{k: r[k] for k in ("operation", "schema", "table", "old", "new")}
            for r in records] == built
    assert len({r["id"] for r in records}) == 114
    assert len(records[-1]["new"]["note"]) == 6400 and "unchanged" not in records[-1]
    assert all(r["commit_time"].endswith("Z") or "+" in r["commit_time"] for r in records)
    assert handler.handler({}, LambdaContext(10))["changes"] == 0  # all acknowledged


def test_throttled_invocations_are_retried(pg_env: PgEnv, handler: ModuleType,
                                           lambda_api: LambdaEndpoint,
                                           caplog: pytest.LogCaptureFixture) -> None:
    lambda_api.throttle = 3
    pg_env.sql("INSERT INTO orders SELECT g, 'new', g FROM generate_series(1, 60) g")
    summary = handler.handler({}, LambdaContext(30))
    assert summary["changes"] == 60 and summary["retries"] == lambda_api.refused == 3
    assert sorted(r["new"]["id"] for r in sent_records(lambda_api)) == list(range(1, 61))
    assert "TooManyRequestsException; retrying" in caplog.text


def test_nothing_is_acknowledged_when_the_target_is_missing(
        pg_env: PgEnv, handler: ModuleType, lambda_api: LambdaEndpoint,
        monkeypatch: pytest.MonkeyPatch) -> None:
    before = slot_confirmed_lsn(pg_env)
    pg_env.sql("INSERT INTO orders SELECT g, 'new', g FROM generate_series(1, 10) g")
    monkeypatch.setenv("TARGET_FUNCTION", "no-such-function")
    with pytest.raises(handler.InvokeError, match="ResourceNotFoundException"):
        handler.handler({}, LambdaContext(30))
    assert slot_confirmed_lsn(pg_env) == before
    monkeypatch.setenv("TARGET_FUNCTION", "order-events")
    assert handler.handler({}, LambdaContext(30))["changes"] == 10  # delivered again
    assert len(sent_records(lambda_api)) == 10


def test_a_change_over_the_payload_limit_fails_loudly(pg_env: PgEnv, handler: ModuleType,
                                                      lambda_api: LambdaEndpoint) -> None:
    before = slot_confirmed_lsn(pg_env)
    pg_env.sql("INSERT INTO orders VALUES (1, 'small', 1);"
               "INSERT INTO orders VALUES (2, repeat('x', 300000), 2)")
    with pytest.raises(handler.InvokeError, match=r"over the 262144-byte payload limit"):
        handler.handler({}, LambdaContext(30))
    # The small change before it went out; the large one is still in the slot.
    assert [r["new"]["id"] for r in sent_records(lambda_api)] == [1]
    assert slot_confirmed_lsn(pg_env) > before
    with pytest.raises(handler.InvokeError, match="payload limit"):
        handler.handler({}, LambdaContext(30))


def test_an_unchanged_toast_value_it_cannot_fill_is_named(pg_env: PgEnv, handler: ModuleType,
                                                           lambda_api: LambdaEndpoint) -> None:
    pg_env.sql("ALTER TABLE orders REPLICA IDENTITY DEFAULT;"
               "INSERT INTO orders SELECT 1, 'new', 1, string_agg(md5(g::text), '') "
               "  FROM generate_series(1, 200) g;"
               "UPDATE orders SET qty = 2 WHERE id = 1;")
    assert handler.handler({}, LambdaContext(30))["changes"] == 2
    insert, update = sent_records(lambda_api)
    assert len(insert["new"]["note"]) == 6400
    # Not in the stream and no old row to take it from: named, never a made-up NULL.
    assert "note" not in update["new"] and update["unchanged"] == ["note"]
