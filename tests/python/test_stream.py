"""pgcdc.open_stream end to end against the session's private PostgreSQL: the record's
attributes, to_dict() (the CLI's JSON keys) and to_proto(), TOAST, schema changes,
truncates, messages and the stop conditions."""

from __future__ import annotations

import datetime
import gc
import json
import subprocess
import sysconfig
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pgcdc_helpers import open_stream, read, read_all, rows

import pgcdc
from pgcdc.v1 import change_pb2

if TYPE_CHECKING:
    from conftest import PgEnv

UTC = datetime.timezone.utc


def test_insert_update_delete_attributes(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id bigint PRIMARY KEY, name text, amount numeric(8,2));"
               "CREATE PUBLICATION pub FOR TABLE t;")
    with open_stream(pg_env, idle_timeout=1.0) as stream:
        before = time.time()
        pg_env.sql("INSERT INTO t VALUES (1, 'a', 9.50);"
                   "BEGIN; UPDATE t SET name = 'b' WHERE id = 1; DELETE FROM t WHERE id = 1; "
                   "COMMIT;")
        insert, update, delete = read(stream, 3)

    assert isinstance(insert, pgcdc.Change)
    assert [c.op for c in (insert, update, delete)] == ["insert", "update", "delete"]
    assert (insert.schema, insert.table) == ("public", "t")
    assert insert.new == {"id": 1, "name": "a", "amount": Decimal("9.50")}
    assert insert.old is None and insert.old_kind is None
    assert update.new == {"id": 1, "name": "b", "amount": Decimal("9.50")}
    assert (update.old, update.old_kind) == (None, None)  # key unchanged: not sent
    assert delete.new is None
    assert (delete.old, delete.old_kind) == ({"id": 1}, "key")
    assert insert.key == update.key == delete.key == {"id": 1}
    assert insert.new is insert.new  # converted once, then cached

    # Positions: LSNs are pgcdc.Lsn (int) printing as PostgreSQL does.
    for c in (insert, update, delete):
        assert type(c.lsn) is pgcdc.Lsn and c.lsn > 0
        assert c.commit_lsn < c.end_lsn
        assert str(c.end_lsn) == "%X/%X" % (c.end_lsn >> 32, c.end_lsn & 0xFFFFFFFF)
        assert c.commit_time.tzinfo is UTC
        assert abs(c.commit_time.timestamp() - before) < 60
    assert update.xid == delete.xid != insert.xid
    assert (update.ordinal, delete.ordinal) == (0, 1)
    assert (update.last_in_transaction, delete.last_in_transaction) == (False, True)
    assert update.commit_lsn == delete.commit_lsn
    assert len({insert.id, update.id, delete.id}) == 3
    assert insert.relation_oid == int(pg_env.scalar("SELECT 't'::regclass::oid"))
    assert repr(insert).startswith("<pgcdc.Change insert public.t id=")
    for absent in ("prefix", "content", "transactional", "cascade", "restart_identity"):
        assert getattr(insert, absent) is None


def installed_cli() -> str:
    """The pgcdc executable installed with the Python package."""
    path = Path(sysconfig.get_path("scripts")) / "pgcdc"
    assert path.is_file(), "the package did not install the pgcdc CLI at %s" % path
    return str(path)


def test_to_dict_matches_the_cli_and_to_proto_the_record(pg_env: PgEnv) -> None:
    pg_env.sql("""
        CREATE TABLE t (id int PRIMARY KEY, n numeric, at timestamptz, tags text[], doc jsonb,
                        blob bytea, span interval, d date);
        CREATE PUBLICATION pub FOR TABLE t;""")
    cli_slot = pg_env.new_slot_name()
    cli = installed_cli()
    pg_env.sql("SELECT pg_create_logical_replication_slot('%s', 'pgoutput')" % cli_slot)
    with open_stream(pg_env, idle_timeout=0.5) as stream:
        pg_env.sql(r"""
            INSERT INTO t VALUES (1, 'NaN', 'infinity', '{a,NULL}', '{"k": [1, 2.5]}',
                                  '\x00ff', '1 mon 2 days 00:00:03', '0044-03-15 BC');
            UPDATE t SET n = 1.50 WHERE id = 1;
            DELETE FROM t WHERE id = 1;
            TRUNCATE t;
            SELECT pg_logical_emit_message(true, 'app', 'hello');""")
        stop = pg_env.current_lsn()
        changes = read(stream, 5)
    r = subprocess.run([cli, "stream", "--dsn", pg_env.dsn, "--slot", cli_slot,
                        "--publication", "pub", "--stop-at-lsn", stop],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    from_cli = [json.loads(line) for line in r.stdout.splitlines()]
    assert [c.to_dict() for c in changes] == from_cli
    json.dumps([c.to_dict() for c in changes])  # JSON-ready
    assert list(from_cli[0])[:4] == ["id", "op", "schema", "table"]
    assert from_cli[0]["lsn"] == str(changes[0].lsn)

    for change in changes:
        message = change.to_proto()
        assert isinstance(message, change_pb2.Change)
        assert message.id == change.id and message.lsn == change.lsn
        assert message.end_lsn == change.end_lsn and message.xid == change.xid
        assert change_pb2.Operation.Name(message.op) == "OPERATION_" + change.op.upper()
    values = {c.name: c.value for c in changes[0].to_proto().new_row.columns}
    assert values["n"].numeric_value == "NaN"
    assert values["at"].timestamptz_value.infinity == change_pb2.INFINITY_POSITIVE
    assert values["span"].interval_value.months == 1
    assert values["blob"].bytes_value == b"\x00\xff"


def test_unchanged_toast_is_a_sentinel_and_full_identity_fills_it(pg_env: PgEnv) -> None:
    # ~200 kB of incompressible text, stored out of line (EXTERNAL: never compressed).
    pg_env.sql("""
        CREATE TABLE d (id int PRIMARY KEY, big text, n int);
        CREATE TABLE f (id int PRIMARY KEY, big text, n int);
        ALTER TABLE d ALTER COLUMN big SET STORAGE EXTERNAL;
        ALTER TABLE f ALTER COLUMN big SET STORAGE EXTERNAL;
        ALTER TABLE f REPLICA IDENTITY FULL;
        CREATE PUBLICATION pub FOR TABLE d, f;""")
    with open_stream(pg_env, idle_timeout=1.0) as stream:
        for table in ("d", "f"):
            pg_env.sql("INSERT INTO %s SELECT 1, string_agg(md5(random()::text), ''), 1 "
                       "FROM generate_series(1, 6400); UPDATE %s SET n = 2;" % (table, table))
        d_insert, d_update, f_insert, f_update = read(stream, 4)
    big = d_insert.new["big"]
    assert isinstance(big, str) and len(big) == 6400 * 32
    assert d_update.new["big"] is pgcdc.UNCHANGED
    assert d_update.new["n"] == 2
    assert "big" not in d_update.to_dict()["new"] and d_update.to_dict()["unchanged"] == ["big"]
    # REPLICA IDENTITY FULL: the old row carries the value, and the new row gets it.
    assert f_update.old_kind == "full"
    assert f_update.new["big"] == f_update.old["big"] == f_insert.new["big"]
    assert len(f_update.new["big"]) == 6400 * 32


def test_schema_change_mid_stream(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, a text); CREATE PUBLICATION pub FOR TABLE t;")
    with open_stream(pg_env, idle_timeout=1.0) as stream:
        pg_env.sql("INSERT INTO t VALUES (1, 'x')")
        first = read(stream, 1)
        pg_env.sql("""
            ALTER TABLE t ADD COLUMN b int DEFAULT 7;
            INSERT INTO t VALUES (2, 'y', 8);
            BEGIN; INSERT INTO t VALUES (3, 'z', 9); ALTER TABLE t DROP COLUMN a;
                   ALTER TABLE t ADD COLUMN c date; INSERT INTO t VALUES (4, 10, '2024-02-29');
            COMMIT;""")
        rest = read(stream, 3)
    assert rows(first + rest) == [
        ("insert", {"id": 1, "a": "x"}),
        ("insert", {"id": 2, "a": "y", "b": 8}),
        ("insert", {"id": 3, "a": "z", "b": 9}),
        ("insert", {"id": 4, "b": 10, "c": datetime.date(2024, 2, 29)}),
    ]


def test_truncate_and_messages(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);"
               "CREATE PUBLICATION pub FOR TABLE a, b;")
    with open_stream(pg_env, idle_timeout=1.0) as stream:
        pg_env.sql("""
            SELECT pg_logical_emit_message(false, 'audit', 'outside');
            TRUNCATE a, b RESTART IDENTITY;
            BEGIN; SELECT pg_logical_emit_message(true, 'audit', convert_to('in ✓', 'UTF8'));
            COMMIT;""")
        message, trunc_a, trunc_b, inside = read(stream, 4)
    assert (message.op, message.prefix, message.content, message.transactional) == (
        "message", "audit", b"outside", False)
    assert message.schema is None and message.table is None and message.new is None
    assert (trunc_a.op, trunc_a.table, trunc_b.table) == ("truncate", "a", "b")
    assert (trunc_a.restart_identity, trunc_a.cascade) == (True, False)
    assert trunc_a.new is None and trunc_a.old is None and trunc_a.key is None
    assert inside.content.decode() == "in ✓" and inside.transactional is True


def test_stop_at_lsn_ends_after_that_transaction(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;")
    with open_stream(pg_env, idle_timeout=0.2):
        pass  # creates the slot
    pg_env.sql("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);")
    stop = pg_env.current_lsn()
    pg_env.sql("INSERT INTO t VALUES (3);")
    with open_stream(pg_env, create_slot=False, stop_at_lsn=stop) as stream:
        assert [c.new["id"] for c in stream] == [1, 2]
        assert stream.done
        stream.ack(stream.acked_lsn)  # no-op
    with open_stream(pg_env, create_slot=False, stop_at_lsn=pgcdc.Lsn(stop) + 10**6,
                     idle_timeout=2.0) as stream:
        assert [c.new["id"] for c in stream] == [1, 2, 3]  # nothing was acknowledged


def test_idle_timeout_and_max_duration_end_the_iteration(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;")
    start = time.monotonic()
    with open_stream(pg_env, idle_timeout=0.3) as stream:
        assert read_all(stream) == []
    assert 0.3 <= time.monotonic() - start < 5

    stop_writing = threading.Event()

    def keep_writing() -> None:  # never idle: only max_duration can end the stream
        i = 0
        while not stop_writing.is_set():
            i += 1
            pg_env.sql("INSERT INTO t VALUES (%d)" % i)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        start = time.monotonic()
        with open_stream(pg_env, create_slot=False, max_duration=1.5,
                         idle_timeout=5.0) as stream:
            got = read_all(stream)
        elapsed = time.monotonic() - start
    finally:
        stop_writing.set()
        writer.join()
    assert 1.5 <= elapsed < 4, elapsed
    assert len(got) > 0


def test_cancel_from_another_thread_ends_a_blocked_iteration(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;")
    with open_stream(pg_env) as stream:
        timer = threading.Timer(0.3, stream.cancel)
        start = time.monotonic()
        timer.start()
        assert read_all(stream) == []  # no stop condition: only cancel() ends it
        assert time.monotonic() - start < 2
        assert stream.done
    assert stream.closed
    with pytest.raises(ValueError, match="closed"):
        next(stream)


def test_ack_rejects_what_is_not_a_position(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;")
    with open_stream(pg_env, idle_timeout=0.2) as stream:
        with pytest.raises(ValueError, match="invalid LSN 'soon'"):
            stream.ack("soon")
        with pytest.raises(TypeError, match="an LSN is an int or 'X/Y' text"):
            stream.ack(1.5)  # type: ignore[arg-type]
        stream.ack("0/0")


def test_changes_outlive_their_stream(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION pub FOR TABLE t;")
    stream = open_stream(pg_env, idle_timeout=0.5)
    pg_env.sql("INSERT INTO t VALUES (1, 'a'); ALTER TABLE t ADD COLUMN w int;"
               "INSERT INTO t VALUES (2, 'b', 3);")
    changes = read(stream, 2)
    stream.close()
    del stream
    gc.collect()
    # Each record owns its values and the column names of the relation it was decoded
    # with, also after a schema change and after the stream is gone.
    assert [c.new for c in changes] == [{"id": 1, "v": "a"}, {"id": 2, "v": "b", "w": 3}]
    assert changes[1].to_dict()["new"] == {"id": 2, "v": "b", "w": 3}
    assert changes[0].to_proto().new_row.columns[1].name == "v"


def test_read_linger_waits_before_reading_once_caught_up(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;")
    committed = []

    def insert() -> None:  # commits while the stream waits on an idle socket
        time.sleep(0.3)
        pg_env.sql("INSERT INTO t VALUES (1)")
        committed.append(time.monotonic())

    with open_stream(pg_env, idle_timeout=5.0, read_linger=0.1) as stream:
        writer = threading.Thread(target=insert)
        writer.start()
        got = read(stream, 1)
        delivered = time.monotonic()
        writer.join()
    assert [c.new for c in got] == [{"id": 1}]
    # Without the linger it arrives within milliseconds of the commit, usually before
    # the INSERT's client has returned.
    assert delivered - committed[0] >= 0.05


def test_a_loop_that_drops_its_changes_keeps_the_cyclic_gc_idle(pg_env: PgEnv) -> None:
    # Rows with a list and a nested dict: GC-tracked containers in every row.
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, tags text[], doc jsonb);"
               "CREATE PUBLICATION pub FOR TABLE t;")
    open_stream(pg_env).close()  # creates the slot: the rows below come after it
    pg_env.sql("INSERT INTO t SELECT g, ARRAY['x', 'y', 'z'], jsonb_build_object('k', g, "
               "'n', jsonb_build_object('m', g)) FROM generate_series(3001, 9000) g;")
    kept = []
    with open_stream(pg_env, idle_timeout=1.0) as stream:
        young_before = gc.get_stats()[0]["collections"]
        count = 0
        for change in stream:
            assert change.new["tags"] == ["x", "y", "z"]
            assert change.new["doc"]["n"] == {"m": change.new["id"]}
            if change.new["id"] % 1000 == 0:
                kept.append(change)
            count += 1
        young = gc.get_stats()[0]["collections"] - young_before
    assert count == 6000
    # Each change is created when the loop reaches it and freed when the loop moves
    # on, so allocations never outrun frees by the 700 that start a collection.
    # Handing out whole batches as lists made ~40 collections here.
    assert young <= 5, "%d young-generation collections for 6000 changes" % young
    # A change the loop kept stays whole after the rest of its batch was consumed.
    assert [c.new["id"] for c in kept] == [4000, 5000, 6000, 7000, 8000, 9000]
    assert kept[0].new["doc"] == {"k": 4000, "n": {"m": 4000}}
