"""Errors through the Python API: each bad configuration raises its pgcdc.errors class,
which is also the matching builtin, with the SQLSTATE, the retry verdict and a message
naming the problem and the fix."""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING, Type

import pytest
from pgcdc_helpers import open_stream

import pgcdc
from pgcdc import errors

if TYPE_CHECKING:
    from conftest import PgCluster, PgEnv


def setup_table(env: PgEnv) -> None:
    env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;")


def raised(env: PgEnv, cls: Type[errors.PgcdcError], **options: object) -> errors.PgcdcError:
    with pytest.raises(cls) as info:
        open_stream(env, **options)
    return info.value


@pytest.mark.parametrize("cls, builtin", [
    (errors.ConfigurationError, ValueError),
    (errors.ReplicationSetupError, RuntimeError),
    (errors.PublicationNotFoundError, LookupError),
    (errors.SlotNotFoundError, LookupError),
    (errors.AuthorizationError, PermissionError),
    (errors.ConnectionLostError, ConnectionError),
    (errors.SlotInUseError, ConnectionError),
    (errors.DeadlineExceededError, TimeoutError),
    (errors.ResourceError, OSError),
    (errors.DecodeError, RuntimeError),
    (errors.CheckpointError, RuntimeError),
    (errors.StreamCancelledError, RuntimeError),
    (errors.InternalError, RuntimeError),
    (errors.ServerError, RuntimeError),
])
def test_every_error_is_also_a_builtin(cls: Type[errors.PgcdcError], builtin: type) -> None:
    assert issubclass(cls, errors.PgcdcError) and issubclass(cls, builtin)
    e = cls("boom", code="X", sqlstate="55006", retryable=True)
    assert (str(e), e.code, e.sqlstate, e.retryable) == ("boom", "X", "55006", True)
    copy = pickle.loads(pickle.dumps(e))
    assert type(copy) is cls and (str(copy), copy.sqlstate, copy.retryable) == ("boom", "55006",
                                                                                True)
    assert getattr(pgcdc, cls.__name__) is cls


@pytest.mark.parametrize("dsn", [
    "postgresql://cdc:Sup3r%Secret@db/app",
    "postgresql://cdc:Sup3rSecret@[::1/app",
    "postgresql://cdc@db/app?password=Sup3r%Secret",
    "host=db password=Sup3rSecret bogus",
    "host=db password='Sup3r Secret",
])
def test_no_error_carries_the_password(dsn: str, pgcdc_cli: str) -> None:
    """Issue 11, defect 8: not the exception, not its repr, not the CLI's stderr."""
    import subprocess
    with pytest.raises(errors.ConfigurationError) as info:
        pgcdc.open_stream(dsn, slot="s", publications=["pub"])
    for text in (str(info.value), repr(info.value)):
        assert "Sup3r" not in text and "Secret" not in text, text
        assert "invalid DSN" in text
    for command in (["stream", "--dsn", dsn, "--slot", "s", "--publication", "pub"],
                    ["check", "--dsn", dsn]):
        r = subprocess.run([pgcdc_cli, *command], capture_output=True, text=True, timeout=30)
        assert r.returncode != 0
        assert "invalid DSN" in r.stderr + r.stdout, r.stderr
        assert "Sup3r" not in r.stderr + r.stdout and "Secret" not in r.stderr + r.stdout


def test_every_documented_status_code_has_its_exception() -> None:
    """include/pgcdc/status.h lists every code the core returns (a C++ unit test checks
    that); each must map to its own class, not fall back to the PgcdcError base."""
    import re
    from pathlib import Path
    contract = (Path(__file__).resolve().parents[2] / "include/pgcdc/status.h").read_text()
    codes = re.findall(r"^//   k(\w+) ", contract, re.M)
    assert len(codes) >= 14, codes
    for code in codes:
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", code).upper()
        assert errors._BY_CODE.get(name, errors.PgcdcError) is not errors.PgcdcError, name


def test_bad_dsn_is_a_configuration_error() -> None:
    with pytest.raises(errors.ConfigurationError) as info:
        pgcdc.open_stream("host=127.0.0.1 nonsense_key=1", slot="s", publications=["pub"])
    e = info.value
    assert isinstance(e, ValueError)
    assert "invalid DSN" in str(e) and "postgresql://user@host:5432/dbname" in str(e)
    assert (e.code, e.sqlstate, e.retryable) == ("INVALID_ARGUMENT", None, False)


def test_unreachable_server_is_retryable_connection_error() -> None:
    with pytest.raises(ConnectionError) as info:
        pgcdc.open_stream("postgresql://postgres@127.0.0.1:1/postgres", slot="s",
                          publications=["pub"])
    e = info.value
    assert isinstance(e, errors.ConnectionLostError)
    assert e.retryable is True and e.code == "UNAVAILABLE"
    assert "Is the server running" in str(e)


def test_missing_publication(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    e = raised(pg_env, errors.PublicationNotFoundError, publications=["nope"])
    assert 'publication "nope" does not exist' in str(e) and "CREATE PUBLICATION" in str(e)
    # Found by pgcdc's own check before streaming, with the SQLSTATE the server gives
    # when a publication goes missing later: one class for both.
    assert isinstance(e, LookupError)
    assert (e.code, e.sqlstate, e.retryable) == ("FAILED_PRECONDITION", "42704", False)


def test_publication_dropped_while_streaming(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    with open_stream(pg_env, idle_timeout=5.0) as stream:
        pg_env.sql("INSERT INTO t VALUES (1)")
        assert next(stream).new == {"id": 1}
        pg_env.sql("DROP PUBLICATION pub; INSERT INTO t VALUES (2)")
        with pytest.raises(errors.PublicationNotFoundError) as info:
            next(stream)
    e = info.value
    assert isinstance(e, LookupError) and isinstance(e, errors.ReplicationSetupError)
    assert (e.code, e.sqlstate, e.retryable) == ("FAILED_PRECONDITION", "42704", False)
    assert 'publication "pub" does not exist' in str(e) and "CREATE PUBLICATION" in str(e)


def test_wal_level_replica(pg_wal_replica: PgCluster) -> None:
    with pytest.raises(errors.ReplicationSetupError) as info:
        pgcdc.open_stream(pg_wal_replica.dsn(), slot="s", publications=["pub"],
                          create_slot=True)
    e = info.value
    assert "wal_level" in str(e) and "ALTER SYSTEM SET wal_level = logical" in str(e)
    assert (e.code, e.sqlstate, e.retryable) == ("FAILED_PRECONDITION", "55000", False)


def test_role_without_replication_privilege(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    pg_env.sql("DROP ROLE IF EXISTS plain_%s; CREATE ROLE plain_%s LOGIN;" % (pg_env.db,
                                                                             pg_env.db))
    dsn = pg_env.dsn.replace("postgres@", "plain_%s@" % pg_env.db)
    try:
        with pytest.raises(PermissionError) as info:
            pgcdc.open_stream(dsn, slot=pg_env.slot, publications=["pub"], create_slot=True)
    finally:
        pg_env.sql("DROP ROLE plain_%s" % pg_env.db)
    e = info.value
    assert isinstance(e, errors.AuthorizationError) and e.retryable is False
    assert "REPLICATION" in str(e) and "ALTER ROLE" in str(e)


def test_slot_in_use_is_retryable_with_sqlstate(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    with open_stream(pg_env):
        e = raised(pg_env, errors.SlotInUseError)
    assert isinstance(e, ConnectionError) and isinstance(e, errors.ConnectionLostError)
    assert (e.sqlstate, e.retryable, e.code) == ("55006", True, "UNAVAILABLE")
    assert "pg_terminate_backend" in str(e)
    with open_stream(pg_env, idle_timeout=0.1):  # free again once the first one closed
        pass


def test_missing_slot_without_create_slot(pg_env: PgEnv) -> None:
    setup_table(pg_env)
    e = raised(pg_env, errors.SlotNotFoundError, create_slot=False)
    assert isinstance(e, LookupError) and "create_slot" in str(e)
    assert e.sqlstate == "42704"
    assert pg_env.sql("SELECT 1 FROM pg_replication_slots") == []


@pytest.mark.parametrize("options, message", [
    ({"slot": "Bad-Name"}, "slot"),
    ({"publications": []}, "publication"),
    ({"publications": "pub"}, "publications takes a list of names, e.g. publications=['pub']"),
    ({"idle_timeout": -1}, "idle_timeout must be positive"),
    ({"max_duration": "soon"}, "max_duration takes a number of seconds"),
    ({"stop_at_lsn": "16-B3"}, "stop_at_lsn: invalid LSN '16-B3'"),
    ({"on_checkpoint": 42}, "on_checkpoint must be callable"),
    ({"read_linger": -0.001}, "read_linger must be between 0 and 100 ms"),
    ({"read_linger": 0.5}, "read_linger must be between 0 and 100 ms"),
])
def test_invalid_options_are_configuration_errors(pg_env: PgEnv, options: dict,
                                                  message: str) -> None:
    e = raised(pg_env, errors.ConfigurationError, **options)
    assert message in str(e)
    assert (e.code, e.sqlstate, e.retryable) == ("INVALID_ARGUMENT", None, False)
    assert pg_env.sql("SELECT 1 FROM pg_replication_slots") == []
