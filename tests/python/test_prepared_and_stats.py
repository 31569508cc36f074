"""open_stream(deliver_prepared="prepare") and `pgcdc stream --deliver-prepared prepare`:
a prepared transaction's changes at PREPARE with their gid, then its outcome as a record
of its own; and ChangeStream.stats() (the CLI's exit summary)."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import pytest
from pgcdc_helpers import open_stream, read

import pgcdc
from pgcdc.v1 import change_pb2

if TYPE_CHECKING:
    from conftest import PgEnv

STATS_KEYS = {"buffered_bytes", "peak_buffered_bytes", "spill_file_bytes",
              "spilled_bytes_total", "transactions_spilled", "changes_delivered",
              "transactions_delivered", "reconnects", "redelivered_skipped"}


def test_prepared_transaction_is_delivered_at_prepare_then_its_outcome(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;")
    with open_stream(pg_env, two_phase=True, deliver_prepared="prepare") as stream:
        pg_env.sql("BEGIN; INSERT INTO t VALUES (1), (2); PREPARE TRANSACTION 'g1';")
        prepared = read(stream, 2)  # COMMIT PREPARED has not been issued yet
        pg_env.sql("INSERT INTO t VALUES (3)")
        (plain,) = read(stream, 1)
        pg_env.sql("COMMIT PREPARED 'g1'")
        (commit,) = read(stream, 1)
        pg_env.sql("BEGIN; INSERT INTO t VALUES (4); PREPARE TRANSACTION 'g2';"
                   "ROLLBACK PREPARED 'g2';")
        undone, rollback = read(stream, 2)
        stream.ack(rollback)

    assert [(c.op, c.new, c.gid) for c in prepared] == [
        ("insert", {"id": 1}, "g1"), ("insert", {"id": 2}, "g1")]
    assert prepared[1].last_in_transaction
    assert prepared[1].to_dict()["gid"] == "g1"
    assert prepared[1].to_proto().gid == "g1"
    assert plain.gid is None and "gid" not in plain.to_dict()

    assert commit.op == "commit_prepared"
    assert (commit.gid, commit.xid) == ("g1", prepared[0].xid)
    assert commit.new is None and commit.old is None and commit.table is None
    assert commit.commit_lsn > prepared[1].end_lsn and commit.end_lsn > commit.commit_lsn
    assert commit.last_in_transaction
    assert commit.id.endswith("-CP") and commit.id not in {c.id for c in prepared}
    assert commit.to_dict()["op"] == "commit_prepared"
    assert commit.to_dict()["gid"] == "g1"
    assert commit.to_proto().op == change_pb2.OPERATION_COMMIT_PREPARED
    assert "gid=g1" in repr(commit)

    assert (undone.op, undone.new, undone.gid) == ("insert", {"id": 4}, "g2")
    assert (rollback.op, rollback.gid, rollback.xid) == ("rollback_prepared", "g2", undone.xid)
    assert rollback.id.endswith("-RP")
    assert rollback.to_proto().op == change_pb2.OPERATION_ROLLBACK_PREPARED


def test_deliver_prepared_is_checked(pg_env: PgEnv) -> None:
    with pytest.raises(pgcdc.ConfigurationError,
                       match='deliver_prepared takes one of commit, prepare, not "later"'):
        open_stream(pg_env, two_phase=True, deliver_prepared="later")
    with pytest.raises(pgcdc.ConfigurationError, match="two_phase"):
        open_stream(pg_env, deliver_prepared="prepare")


def test_stats_count_spilled_and_delivered(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, pad text); CREATE PUBLICATION pub FOR TABLE t;")
    limit = 128 << 10
    rows = 5000
    # A 64 kB logical_decoding_work_mem for this connection: the server streams it.
    dsn = pg_env.dsn + "?options=-c%20logical_decoding_work_mem%3D64kB"
    with pgcdc.open_stream(dsn, slot=pg_env.slot, publications=["pub"], create_slot=True,
                           streaming=True, max_buffered_bytes=limit) as stream:
        assert stream.stats() == dict.fromkeys(STATS_KEYS, 0)
        pg_env.sql("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, %d) g"
                   % rows)
        read(stream, rows)
        stats = stream.stats()
    assert set(stats) == STATS_KEYS
    assert all(isinstance(v, int) for v in stats.values())
    assert stats["changes_delivered"] == rows
    assert stats["transactions_delivered"] == 1
    assert stats["transactions_spilled"] >= 1
    assert stats["spilled_bytes_total"] > 0
    assert stats["spill_file_bytes"] == 0  # the transaction was delivered: its file is gone
    assert stats["buffered_bytes"] == 0
    assert 0 < stats["peak_buffered_bytes"] <= limit + (1 << 20)
    assert stream.stats() == stats  # still readable after close


def test_cli_delivers_prepared_at_prepare_and_prints_stats(pg_env: PgEnv, pgcdc_cli: str) -> None:
    cli = pgcdc_cli
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;")
    args = ["stream", "--dsn", pg_env.dsn, "--slot", pg_env.slot, "--publication", "pub",
            "--create-slot", "--two-phase", "--deliver-prepared", "prepare"]
    # The slot must exist before the PREPARE (creating it waits for prepared
    # transactions to end).
    created = subprocess.run([cli, *args, "--max-duration", "0.5"], capture_output=True,
                             text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    pg_env.sql("BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'g1';")
    pg_env.sql("COMMIT PREPARED 'g1'")
    r = subprocess.run([cli, *args, "--stop-at-lsn", pg_env.current_lsn()],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(c["op"], c.get("gid")) for c in lines] == [
        ("insert", "g1"), ("commit_prepared", "g1")]
    assert lines[1]["new"] is None and lines[1]["xid"] == lines[0]["xid"]
    assert lines[1]["id"].endswith("-CP")
    assert "pgcdc stream: 1 transactions, 2 records delivered; memory peak " in r.stderr, r.stderr

    bad = subprocess.run([cli, *args, "--deliver-prepared", "later"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2
    assert '--deliver-prepared takes one of commit, prepare, not "later"' in bad.stderr
