"""What Python users expect of a blocking iterator: Ctrl-C interrupts it, other threads
keep running while it waits, and the core's log lines reach logging."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, List

import pytest
from pgcdc_helpers import open_stream, read, read_all

if TYPE_CHECKING:
    from conftest import PgEnv


def setup_table(env: PgEnv) -> None:
    env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;")


def test_ctrl_c_interrupts_a_blocking_iteration_within_half_a_second(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    assert threading.current_thread() is threading.main_thread()  # where SIGINT lands
    sent: List[float] = []

    def interrupt() -> None:
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    with open_stream(pg_env) as stream:  # no stop condition: it would wait forever
        timer = threading.Timer(0.5, interrupt)
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                next(stream)
        finally:
            timer.cancel()
        latency = time.monotonic() - sent[0]
        assert latency < 0.5, "KeyboardInterrupt came %.3f s after SIGINT" % latency
        # The stream is still usable afterwards.
        pg_env.sql("INSERT INTO t VALUES (1)")
        assert read(stream, 1)[0].new == {"id": 1}


def test_other_threads_run_while_the_stream_waits(pg_env: PgEnv) -> None:
    setup_table(pg_env)

    def count_for(seconds: float) -> int:
        n = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            n += 1
        return n

    alone = count_for(0.5)  # pure-Python work needs the GIL all the time
    counted: List[int] = []
    with open_stream(pg_env, idle_timeout=1.0) as stream:
        worker = threading.Thread(target=lambda: counted.append(count_for(0.5)))
        worker.start()
        assert read_all(stream) == []  # blocks for the whole second
        worker.join()
    # If the stream held the GIL while waiting, the worker would barely run.
    assert counted[0] > alone * 0.5, (counted, alone)


def test_core_log_lines_go_to_the_pgcdc_logger(pg_env: PgEnv,
                                               caplog: pytest.LogCaptureFixture) -> None:
    setup_table(pg_env)
    caplog.set_level(logging.INFO, logger="pgcdc")
    with open_stream(pg_env, idle_timeout=0.1):
        pass
    opened = [r for r in caplog.records if "streaming slot %s from" % pg_env.slot in r.getMessage()]
    assert len(opened) == 1, [r.getMessage() for r in caplog.records]
    assert opened[0].name == "pgcdc" and opened[0].levelno == logging.INFO


def test_log_lines_from_the_core_keepalive_thread(pg_env: PgEnv,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """The core's keepalive thread logs when the connection breaks while the application
    is busy between two changes: that line is forwarded from that (non-Python) thread."""
    setup_table(pg_env)
    caplog.set_level(logging.WARNING, logger="pgcdc")
    # A short wal_sender_timeout makes the keepalive thread report every ~0.3 s.
    dsn = pg_env.dsn + "?options=-c%20wal_sender_timeout%3D1s"
    pg_env.sql("INSERT INTO t VALUES (0)")  # before the slot: not streamed
    import pgcdc
    with pgcdc.open_stream(dsn, slot=pg_env.slot, publications=["pub"], create_slot=True,
                           idle_timeout=5.0, reconnect=False) as stream:
        pg_env.sql("INSERT INTO t VALUES (1)")
        assert read(stream, 1)[0].new == {"id": 1}
        # The application is "busy": no call into the stream while the walsender dies.
        pg_env.sql("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                   "WHERE slot_name = '%s'" % pg_env.slot)
        deadline = time.monotonic() + 10
        while not [r for r in caplog.records if "keepalive" in r.getMessage()]:
            assert time.monotonic() < deadline, [r.getMessage() for r in caplog.records]
            time.sleep(0.05)
        with pytest.raises(ConnectionError):
            next(stream)
    line = [r for r in caplog.records if "keepalive" in r.getMessage()][0]
    assert line.levelno == logging.WARNING and line.thread != threading.get_ident()


def test_callbacks_raising_on_two_threads_surface_each_in_its_own(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE u (id int PRIMARY KEY);"
               "CREATE PUBLICATION pub FOR TABLE t; CREATE PUBLICATION pub_u FOR TABLE u;")
    caught = {}

    def consume(name: str, publication: str) -> None:
        error = RuntimeError("checkpoint of %s refused" % name)

        def refuse(cp: object) -> None:
            raise error

        try:
            with open_stream(pg_env, slot="%s_%s" % (pg_env.slot, name),
                             publications=[publication], on_checkpoint=refuse,
                             status_interval=0.05, idle_timeout=5.0) as stream:
                for change in stream:
                    stream.ack(change)
        except RuntimeError as e:
            caught[name] = (e is error, threading.current_thread().name)

    threads = [threading.Thread(target=consume, args=(n, p), name=n)
               for n, p in (("first", "pub"), ("second", "pub_u"))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while pg_env.scalar("SELECT count(*) FROM pg_replication_slots "
                        "WHERE active AND database = current_database()") != "2":
        assert time.monotonic() < deadline, "the two streams did not start"
        time.sleep(0.02)
    pg_env.sql("INSERT INTO t VALUES (1); INSERT INTO u VALUES (1);")
    for thread in threads:
        thread.join(30)
    assert caught == {"first": (True, "first"), "second": (True, "second")}
