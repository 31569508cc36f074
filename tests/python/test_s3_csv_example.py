"""examples/s3/csv_handler.py end to end: a real PostgreSQL, the real pgcdc package and
boto3, S3 served by moto in server mode. The objects are replayed into a second table
with COPY, as a warehouse loads DMS's files, and compared with the source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

import pytest
from aws_helpers import LambdaContext, moto_endpoint  # noqa: F401 (fixture)
from pgcdc_helpers import slot_confirmed_lsn
from s3_example_helpers import (
    CHANGES,
    WORKLOAD,
    body,
    first_run,
    load_example,
    objects,
    s3_env,  # noqa: F401 (fixture)
)

if TYPE_CHECKING:
    from conftest import PgEnv

ITEM_COLUMNS = "id, name, qty, price, ratio, tags, doc, raw, flag, seen, day, score"


def replay(pg_env: PgEnv, client: Any, table: str, columns: str) -> int:
    """COPYs every object of `table` into a staging table in key order, then builds
    `<table>_replica` from each key's last change (a warehouse's MERGE). Returns the
    number of change rows staged."""
    pg_env.sql("CREATE TABLE %s_changes (seq bigserial, op text, ts timestamptz, "
               "LIKE %s); ALTER TABLE %s_changes DROP CONSTRAINT IF EXISTS %s_changes_pkey;"
               % (table, table, table, table))
    for o in objects(client, "cdc/public/%s/" % table):
        pg_env.sql("COPY %s_changes (op, ts, %s) FROM STDIN WITH (FORMAT csv);\n%s\\.\n" % (
            table, columns, body(client, o["Key"]).decode()))
    pg_env.sql("CREATE TABLE %s_replica AS SELECT %s FROM (SELECT DISTINCT ON (id) * "
               "FROM %s_changes ORDER BY id, seq DESC) last WHERE op <> 'D'" % (
                   table, columns, table))
    return int(pg_env.scalar("SELECT count(*) FROM %s_changes" % table) or 0)


def differences(pg_env: PgEnv, table: str) -> int:
    return int(pg_env.scalar(
        "SELECT count(*) FROM ((TABLE {0} EXCEPT ALL TABLE {0}_replica) UNION ALL "
        "(TABLE {0}_replica EXCEPT ALL TABLE {0})) d".format(table)) or 0)


@pytest.fixture
def csv_handler(s3_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("COMMIT_TIMESTAMP_COLUMN", "true")
    module = load_example("csv_handler")
    first_run(module)
    return module


def test_replayed_with_copy_equals_the_source(pg_env: PgEnv, csv_handler: Any,
                                              s3_env: Any) -> None:
    pg_env.sql(WORKLOAD + "TRUNCATE notes;")
    summary = csv_handler.handler({}, LambdaContext(60))
    assert summary["changes"] == CHANGES
    assert summary["not_written"] == {"truncate notes": 1}
    # Cut after a transaction once 20000 bytes are reached: the 300 inserts; up to the
    # notes' large rows; their key change; the rest at the end of the run.
    assert summary["batches"] == 4
    assert summary["confirmed_flush_lsn"] == str(slot_confirmed_lsn(pg_env))
    keys = [o["Key"] for o in objects(s3_env, "cdc/public/")]
    assert sorted(summary["objects"]) == keys
    assert replay(pg_env, s3_env, "items", ITEM_COLUMNS) == CHANGES - 4
    assert differences(pg_env, "items") == 0
    ops = pg_env.sql("SELECT op, count(*) FROM items_changes GROUP BY op ORDER BY op")
    assert ops == [("D", "12"), ("I", "303"), ("U", "31")]
    # The commit timestamp column: one per transaction, in commit order.
    assert pg_env.scalar("SELECT bool_and(ts IS NOT NULL) AND count(DISTINCT ts) >= 5 "
                         "FROM items_changes") == "t"
    first = body(s3_env, keys[0]).decode().splitlines()[0]
    assert first.startswith("I,2") and '+00:00,"1","item 1","1","1.125","0.1428' in first
    assert csv_handler.handler({}, LambdaContext(10))["changes"] == 0  # acknowledged


def test_a_crash_between_objects_and_acknowledgement_leaves_no_duplicate(
        pg_env: PgEnv, csv_handler: Any, s3_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pg_env.sql(WORKLOAD)
    batches = csv_handler.s3_batches if hasattr(csv_handler, "s3_batches") else __import__(
        "s3_batches")
    real_upload = batches.s3.upload_file
    uploads: List[str] = []

    def crash_on_the_third(path: str, bucket: str, key: str, **kw: Dict[str, Any]) -> None:
        if len(uploads) == 2:  # the second batch's second object: the first is in S3
            raise ConnectionError("simulated crash after 2 objects")
        uploads.append(key)
        real_upload(path, bucket, key, **kw)

    monkeypatch.setattr(batches.s3, "upload_file", crash_on_the_third)
    with pytest.raises(ConnectionError):
        csv_handler.handler({}, LambdaContext(60))
    assert len(uploads) == 2
    before = slot_confirmed_lsn(pg_env)  # the first batch is acknowledged, not the second
    monkeypatch.setattr(batches.s3, "upload_file", real_upload)
    # Crash the next run after its first checkpoint, before it acknowledges the slot.
    real_save = batches.Checkpoint.save

    def save_then_crash(self: Any, change: Any) -> None:
        real_save(self, change)
        raise ConnectionError("simulated crash after the checkpoint")

    monkeypatch.setattr(batches.Checkpoint, "save", save_then_crash)
    monkeypatch.setenv("MAX_BATCH_BYTES", "2000")  # and cut earlier than the first run did
    with pytest.raises(ConnectionError):
        csv_handler.handler({}, LambdaContext(60))
    assert slot_confirmed_lsn(pg_env) == before
    monkeypatch.setattr(batches.Checkpoint, "save", real_save)
    summary = csv_handler.handler({}, LambdaContext(60))
    assert summary["already_written"] > 0  # passed over: the checkpoint had them
    assert replay(pg_env, s3_env, "items", ITEM_COLUMNS) == CHANGES - 4  # each change once
    assert differences(pg_env, "items") == 0
    assert replay(pg_env, s3_env, "notes", "id, body") == 5  # the key change: D + I
    assert differences(pg_env, "notes") == 0


def test_unchanged_toast_without_its_value_fails_loudly(pg_env: PgEnv, csv_handler: Any,
                                                        s3_env: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BATCH_BYTES", str(10 ** 7))  # the insert and update: one batch
    pg_env.sql("ALTER TABLE notes REPLICA IDENTITY DEFAULT;"
               "INSERT INTO notes VALUES (1, repeat('toast me ', 20000));"
               "UPDATE notes SET id = 2 WHERE id = 1;")
    before = slot_confirmed_lsn(pg_env)
    with pytest.raises(csv_handler.UnwritableValue, match=r"REPLICA IDENTITY FULL"):
        csv_handler.handler({}, LambdaContext(60))
    assert slot_confirmed_lsn(pg_env) == before
    assert objects(s3_env, "cdc/") == []  # nothing of the batch written


def test_missing_bucket_acknowledges_nothing(pg_env: PgEnv, csv_handler: Any, s3_env: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    pg_env.sql("INSERT INTO items (id) SELECT generate_series(1, 10)")
    before = slot_confirmed_lsn(pg_env)
    monkeypatch.setenv("S3_BUCKET", "no-such-bucket")
    with pytest.raises(Exception, match="NoSuchBucket"):
        csv_handler.handler({}, LambdaContext(30))
    assert slot_confirmed_lsn(pg_env) == before
    monkeypatch.setenv("S3_BUCKET", "lake")
    assert csv_handler.handler({}, LambdaContext(30))["changes"] == 10
