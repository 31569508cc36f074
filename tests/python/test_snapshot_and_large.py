"""Initial snapshots, transactions larger than the memory budget, and two-phase commit,
through the Python API."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, List

import pytest
from pgcdc_helpers import open_stream, read, read_all

import pgcdc

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import PgEnv


def test_initial_snapshot_then_the_stream(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION pub FOR TABLE t;"
               "INSERT INTO t SELECT g, 'old ' || g FROM generate_series(1, 1000) g;")
    progress: List[List[pgcdc.TableSnapshotProgress]] = []
    with open_stream(pg_env, snapshot="initial", on_snapshot_progress=progress.append,
                     idle_timeout=1.0) as stream:
        snapshot = read(stream, 1000)
        pg_env.sql("INSERT INTO t VALUES (1001, 'new')")
        after = read(stream, 1)
        stream.ack(after[0])
    assert {c.op for c in snapshot} == {"read"}
    assert sorted(c.new["id"] for c in snapshot) == list(range(1, 1001))
    assert len({c.id for c in snapshot}) == 1000
    assert snapshot[0].new["v"].startswith("old ") and snapshot[0].table == "t"
    assert (after[0].op, after[0].new) == ("insert", {"id": 1001, "v": "new"})
    last = progress[-1]
    assert isinstance(last[0], pgcdc.TableSnapshotProgress)
    assert (last[0].schema, last[0].table, last[0].rows_done, last[0].done) == (
        "public", "t", 1000, True)
    # The snapshot is finished: reopening resumes the stream, without copying again.
    pg_env.sql("INSERT INTO t VALUES (1002, 'newer')")
    with open_stream(pg_env, snapshot="initial", idle_timeout=0.5) as stream:
        assert [(c.op, c.new["id"]) for c in read_all(stream)] == [("insert", 1002)]


def test_initial_only_copies_and_ends(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;"
               "INSERT INTO t SELECT generate_series(1, 10);")
    with open_stream(pg_env, snapshot="initial_only") as stream:  # no stop condition
        assert sorted(c.new["id"] for c in stream) == list(range(1, 11))
    assert pg_env.sql("SELECT 1 FROM pg_replication_slots") == []  # a temporary slot


def test_snapshot_progress_exception_comes_out_of_the_loop(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;"
               "INSERT INTO t SELECT generate_series(1, 10);")
    error = RuntimeError("progress display broke")

    def fail(tables: List[pgcdc.TableSnapshotProgress]) -> None:
        raise error

    with pytest.raises(RuntimeError) as info:
        with open_stream(pg_env, snapshot="initial_only", on_snapshot_progress=fail) as stream:
            list(stream)
    assert info.value is error


def test_bad_snapshot_mode(pg_env: PgEnv) -> None:
    with pytest.raises(pgcdc.ConfigurationError, match="snapshot"):
        open_stream(pg_env, snapshot="sometimes")


def test_transaction_larger_than_the_memory_budget(pg_env: PgEnv, tmp_path: Path) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, pad text); CREATE PUBLICATION pub FOR TABLE t;"
               "ALTER SYSTEM SET logical_decoding_work_mem = '64kB'; SELECT pg_reload_conf();")
    rows = 30000
    try:
        with open_stream(pg_env, streaming=True, max_buffered_bytes=256 << 10,
                         spill_dir=str(tmp_path), idle_timeout=2.0) as stream:
            # Another transaction commits while the large one is in progress: it comes first.
            big = threading.Thread(target=pg_env.sql, args=(
                "BEGIN; INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, %d) g;"
                "SELECT pg_sleep(0.5); COMMIT;" % rows,))
            big.start()
            time.sleep(0.2)
            pg_env.sql("INSERT INTO t VALUES (0, 'small')")
            big.join()
            changes = read(stream, rows + 1)
            stream.ack(changes[-1])
    finally:
        pg_env.sql("ALTER SYSTEM RESET logical_decoding_work_mem; SELECT pg_reload_conf();")
    assert changes[0].new == {"id": 0, "pad": "small"}
    large = changes[1:]
    assert [c.new["id"] for c in large] == list(range(1, rows + 1))
    assert [c.ordinal for c in large] == list(range(rows))
    assert len({c.commit_lsn for c in large}) == 1 and large[-1].last_in_transaction
    assert list(tmp_path.iterdir()) == []  # spill files are unlinked


def test_two_phase_transaction_arrives_at_commit_prepared(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;")
    with open_stream(pg_env, two_phase=True, idle_timeout=1.0) as stream:
        pg_env.sql("BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'p1';"
                   "BEGIN; INSERT INTO t VALUES (2); PREPARE TRANSACTION 'p2';"
                   "ROLLBACK PREPARED 'p2';")
        pg_env.sql("INSERT INTO t VALUES (3)")
        pg_env.sql("COMMIT PREPARED 'p1'")
        assert [c.new["id"] for c in read_all(stream)] == [3, 1]
