"""Progress through the Python API: ack and resume, on_checkpoint gating the slot and
its exceptions, and redelivery with identical ids after a consumer is killed."""

from __future__ import annotations

import datetime
import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import TYPE_CHECKING, List

import pytest
from pgcdc_helpers import open_stream, read, read_all, slot_confirmed_lsn, wait_slot_inactive

import pgcdc

if TYPE_CHECKING:
    from conftest import PgEnv


def setup_table(env: PgEnv) -> None:
    env.sql("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION pub FOR TABLE t;")
    with open_stream(env, idle_timeout=0.1):
        pass  # the slot exists from here on


def insert_each(env: PgEnv, ids: range) -> None:
    """One transaction per row."""
    env.sql("".join("INSERT INTO t VALUES (%d, 'v%d');" % (i, i) for i in ids))


def test_ack_half_then_reopen_delivers_exactly_the_rest(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    insert_each(pg_env, range(1, 11))
    with open_stream(pg_env, create_slot=False, idle_timeout=0.5) as stream:
        first = read(stream, 10)
        stream.ack(first[4])  # the 5th transaction, whole
        assert stream.acked_lsn == first[4].end_lsn
    # Leaving the block reported the position: the server's slot moved there.
    assert stream.confirmed_flush_lsn == first[4].end_lsn == slot_confirmed_lsn(pg_env)

    with open_stream(pg_env, create_slot=False, idle_timeout=0.5) as stream:
        rest = read_all(stream)
        assert [c.new["id"] for c in rest] == [6, 7, 8, 9, 10]
        assert [c.id for c in rest] == [c.id for c in first[5:]]
        stream.ack(rest[-1].end_lsn)  # an LSN works as well as a change
    with open_stream(pg_env, create_slot=False, idle_timeout=0.3) as stream:
        assert read_all(stream) == []


def test_ack_inside_a_transaction_redelivers_it_whole(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    pg_env.sql("INSERT INTO t VALUES (1, 'a'); BEGIN; INSERT INTO t VALUES (2, 'b');"
               "INSERT INTO t VALUES (3, 'c'); COMMIT;")
    with open_stream(pg_env, create_slot=False, idle_timeout=0.5) as stream:
        changes = read(stream, 3)
        stream.ack(changes[1])  # first of the two-row transaction
    with open_stream(pg_env, create_slot=False, idle_timeout=0.5) as stream:
        assert [c.id for c in read_all(stream)] == [changes[1].id, changes[2].id]


def test_on_checkpoint_gates_the_slot(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    checkpoints: List[pgcdc.Checkpoint] = []
    insert_each(pg_env, range(1, 4))
    with open_stream(pg_env, create_slot=False, idle_timeout=0.5,
                     on_checkpoint=checkpoints.append) as stream:
        changes = read(stream, 3)
        stream.ack(changes[-1])
        assert checkpoints == []  # status_interval (10 s) not reached: only at close
    assert len(checkpoints) == 1
    cp = checkpoints[0]
    assert isinstance(cp, pgcdc.Checkpoint)
    assert (cp.slot_name, cp.flush_lsn) == (pg_env.slot, changes[-1].end_lsn)
    assert type(cp.flush_lsn) is pgcdc.Lsn
    now = datetime.datetime.now(datetime.timezone.utc)
    assert cp.time.tzinfo is not None and abs((now - cp.time).total_seconds()) < 60
    assert slot_confirmed_lsn(pg_env) == cp.flush_lsn


class Refused(Exception):
    pass


def test_on_checkpoint_exception_comes_out_of_the_loop_and_slot_stays(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    before = slot_confirmed_lsn(pg_env)
    error = Refused("the sink is down")
    calls = []

    def refuse(cp: pgcdc.Checkpoint) -> None:
        calls.append(cp)
        raise error

    insert_each(pg_env, range(1, 4))
    seen = []
    with pytest.raises(Refused) as info:
        with open_stream(pg_env, create_slot=False, on_checkpoint=refuse, status_interval=0.05,
                         idle_timeout=5.0) as stream:
            for change in stream:
                seen.append(change.new["id"])
                stream.ack(change)
                time.sleep(0.1)  # let status_interval pass: a checkpoint is due
    assert info.value is error  # the very same object, not a wrapper
    assert info.value.__traceback__ is not None
    assert calls and seen and seen == [1, 2, 3][:len(seen)]
    assert slot_confirmed_lsn(pg_env) == before
    with open_stream(pg_env, create_slot=False, idle_timeout=0.5) as stream:
        assert [c.new["id"] for c in read_all(stream)] == [1, 2, 3]  # all again


def test_on_checkpoint_exception_at_close(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    before = slot_confirmed_lsn(pg_env)
    error = Refused("at close")

    def refuse(cp: pgcdc.Checkpoint) -> None:
        raise error

    insert_each(pg_env, range(1, 3))
    stream = open_stream(pg_env, create_slot=False, on_checkpoint=refuse, idle_timeout=0.5)
    for change in stream:
        stream.ack(change)
    with pytest.raises(Refused) as info:
        stream.close()
    assert info.value is error
    assert stream.closed
    stream.close()  # idempotent
    assert slot_confirmed_lsn(pg_env) == before


def test_on_checkpoint_may_ack_but_not_iterate(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    insert_each(pg_env, range(1, 3))
    problems = []

    def checkpoint(cp: pgcdc.Checkpoint) -> None:
        stream.ack(cp.flush_lsn)
        try:
            next(stream)
        except RuntimeError as e:
            problems.append(str(e))

    stream = open_stream(pg_env, create_slot=False, on_checkpoint=checkpoint, idle_timeout=0.5)
    with stream:
        changes = read(stream, 2)
        stream.ack(changes[-1])
    assert problems == ["cannot iterate over a pgcdc stream from its own on_checkpoint callback"]
    assert slot_confirmed_lsn(pg_env) == changes[-1].end_lsn


CONSUMER = textwrap.dedent("""
    import json, sys, time
    import pgcdc
    dsn, slot, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    stream = pgcdc.open_stream(dsn, slot=slot, publications=["pub"], status_interval=0.05)
    for n, change in enumerate(stream, 1):
        print(json.dumps(change.to_dict()), flush=True)   # consumed, never acknowledged
        if n == count:
            time.sleep(3600)
""")


def test_killed_consumer_gets_everything_again_with_the_same_ids(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    before = slot_confirmed_lsn(pg_env)
    pg_env.sql("INSERT INTO t VALUES (0, 'single');"
               "INSERT INTO t SELECT g, 'big ' || g FROM generate_series(1, 2000) g;"
               "INSERT INTO t VALUES (2001, 'after');")
    seen = 500
    with subprocess.Popen([sys.executable, "-c", CONSUMER, pg_env.dsn, pg_env.slot, str(seen)],
                          stdout=subprocess.PIPE, text=True) as child:
        watchdog = threading.Timer(60, child.kill)
        watchdog.start()
        try:
            assert child.stdout is not None
            killed_run = [json.loads(child.stdout.readline()) for _ in range(seen)]
            child.send_signal(signal.SIGKILL)
            assert child.wait() == -signal.SIGKILL  # it was still running
        finally:
            watchdog.cancel()
    assert [c["new"]["id"] for c in killed_run] == list(range(seen))
    wait_slot_inactive(pg_env)
    assert slot_confirmed_lsn(pg_env) == before

    with open_stream(pg_env, create_slot=False, idle_timeout=0.5) as stream:
        again = read_all(stream)
        stream.ack(again[-1])
    assert [c.to_dict() for c in again[:seen]] == killed_run  # same ids, same everything
    assert [c.new["id"] for c in again] == list(range(2002))
    assert len({c.id for c in again}) == 2002
    with open_stream(pg_env, create_slot=False, idle_timeout=0.3) as stream:
        assert read_all(stream) == []


def test_terminated_walsender_is_healed_without_duplicates(
        pg_env: PgEnv, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 11: the stream reconnects by itself (the default) and the loop never sees
    the fault: every row once, in order, the reconnect counted and logged."""
    import logging
    setup_table(pg_env)
    caplog.set_level(logging.WARNING, logger="pgcdc")
    pg_env.sql("INSERT INTO t SELECT i, 'v' FROM generate_series(1, 500) i")
    seen: List[int] = []
    with open_stream(pg_env, create_slot=False, idle_timeout=2.0) as stream:
        for change in stream:
            seen.append(change.new["id"])
            stream.ack(change)
            if len(seen) == 200:
                pg_env.sql("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                           "WHERE slot_name = '%s'" % pg_env.slot)
                time.sleep(0.2)
                pg_env.sql("INSERT INTO t SELECT i, 'v' FROM generate_series(501, 600) i")
        stats = stream.stats()
    assert seen == list(range(1, 601))
    assert stats["reconnects"] == 1
    assert any("reconnected" in r.getMessage() for r in caplog.records)


def test_reconnect_false_raises_the_retryable_error(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    with open_stream(pg_env, create_slot=False, reconnect=False) as stream:
        pg_env.sql("INSERT INTO t VALUES (1, 'v')")
        assert read(stream, 1)[0].new["id"] == 1
        pg_env.sql("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                   "WHERE slot_name = '%s'" % pg_env.slot)
        with pytest.raises(pgcdc.errors.ConnectionLostError) as info:
            read(stream, 1)
    assert info.value.retryable and info.value.sqlstate == "57P01"
