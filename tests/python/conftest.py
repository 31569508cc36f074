"""Fixtures for the Python tests: a private PostgreSQL 15 cluster and the pgcdc CLI.

The cluster is started once per session (wal_level=logical, trust authentication, on
127.0.0.1 with a free port and a unix socket in its own temporary directory) and stopped
and removed at the end, also when tests fail; `pg_wal_replica` is a second one with
wal_level=replica, started only by the tests that use it. Each test gets its own database and a
unique slot name (`pg_env`); the slots it created are dropped when it ends.

SQL goes through `psql` (installed with the server), so no Python driver is needed.

The clusters are the C++ suite's own (tools/embedded, EmbeddedPostgres), started by
`pgcdc-test-server`, a small program built with the tests: one implementation of the
private cluster, the same settings and the same server binaries everywhere.

Environment:
  PGCDC_CLI          the pgcdc executable (default: build/pgcdc, else build-main/pgcdc)
  PGCDC_TEST_SERVER  pgcdc-test-server (default: next to the pgcdc executable)
  PGCDC_PG_BIN_DIR   PostgreSQL server binaries (default: /usr/lib/postgresql/15/bin,
                     else `pg_config --bindir`), read by the test server
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, NoReturn, Optional, Sequence, Tuple

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_HINT = "apt-get install postgresql-15"
# psql output framing: fields and records never contain these in the tests' data.
_FIELD_SEP = "\x1f"
_NULL = "\x1bNULL\x1b"

Row = Tuple[Optional[str], ...]


# --------------------------------------------------------------------------- helpers


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _find_psql(bin_dir: Path) -> str:
    for candidate in (bin_dir / "psql", shutil.which("psql")):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    _fail("psql not found; install it with `%s` (it brings postgresql-client-15)" % INSTALL_HINT)


@dataclass
class _OsUser:
    """Who the server runs as (`postgres` when we are root: the server refuses root), for
    the files it must read that the tests make (TLS certificates)."""

    uid: Optional[int] = None
    gid: Optional[int] = None

    @property
    def switch(self) -> bool:
        return self.uid is not None

    def own(self, path: Path) -> None:
        if self.switch:
            os.chown(path, self.uid, self.gid)

    def make_reachable(self, path: Path, basetemp: Path) -> None:
        """Lets the server's user traverse (search bit only, no listing) the private
        directories pytest created above `path`: the base temporary directory and its
        "pytest-of-<user>" parent are 0700."""
        if not self.switch:
            return
        dirs = [p for p in path.parents if p == basetemp or basetemp in p.parents]
        if basetemp.parent.name.startswith("pytest-of-"):
            dirs.append(basetemp.parent)
        for d in dirs:
            st = d.stat()
            if st.st_uid == os.geteuid() and not st.st_mode & 0o001:
                os.chmod(d, (st.st_mode & 0o7777) | 0o001)


def _server_os_user() -> _OsUser:
    if os.geteuid() != 0:
        return _OsUser()
    import pwd

    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        _fail(
            "running as root, but there is no OS user 'postgres' to run the server as; "
            "`%s` creates it (or: useradd --system --user-group postgres)" % INSTALL_HINT
        )
    return _OsUser(pw.pw_uid, pw.pw_gid)


# --------------------------------------------------------------------------- cluster


@dataclass
class PgCluster:
    """A running pgcdc-test-server: its cluster lives until its stdin closes."""

    process: subprocess.Popen
    bin_dir: Path
    psql: str
    socket_dir: Path
    data_dir: Path
    log_path: Path
    port: int

    def dsn(self, db: str = "postgres") -> str:
        """A connection URI over TCP, as a user of the CLI would write it."""
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, db)

    def sql(self, query: str, db: str = "postgres") -> List[Row]:
        """Runs `query` (one or more statements, each in its own transaction unless the
        text says BEGIN/COMMIT) and returns every result row as a tuple of text values,
        None for SQL NULL. Raises AssertionError with psql's message on any error."""
        cmd = [
            self.psql, "-X", "-q", "-A", "-t", "-0", "-v", "ON_ERROR_STOP=1",
            "-F", _FIELD_SEP, "-P", "null=" + _NULL,
            "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres", "-d", db,
            "-f", "-",
        ]
        env = dict(os.environ, PGOPTIONS="-c client_min_messages=warning", PGTZ="UTC")
        r = subprocess.run(cmd, input=query, capture_output=True, text=True, env=env,
                           timeout=120)
        if r.returncode != 0:
            raise AssertionError("psql failed (exit %d) on:\n%s\n%s"
                                 % (r.returncode, query, r.stderr.strip()))
        rows: List[Row] = []
        for record in r.stdout.split("\0"):
            record = record.strip("\n")
            if not record:
                continue
            rows.append(tuple(None if v == _NULL else v for v in record.split(_FIELD_SEP)))
        return rows

    def scalar(self, query: str, db: str = "postgres") -> Optional[str]:
        rows = self.sql(query, db)
        assert len(rows) == 1 and len(rows[0]) == 1, (query, rows)
        return rows[0][0]

    def stop(self) -> None:
        """Closing stdin makes the server stop and its directory go."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory):
    """The session's private PostgreSQL 15 cluster (wal_level=logical)."""
    yield from _cluster(tmp_path_factory)


@pytest.fixture(scope="session")
def pg_wal_replica(tmp_path_factory: pytest.TempPathFactory):
    """A second private cluster with wal_level=replica (not enough for logical decoding),
    started on first use."""
    yield from _cluster(tmp_path_factory, ["wal_level = replica"])


@dataclass
class TlsCluster:
    pg: PgCluster
    ca_cert: Path  # the server's self-signed certificate, issued to 127.0.0.1
    other_ca_cert: Path  # a certificate that did not sign the server's


@pytest.fixture(scope="session")
def pg_tls(tmp_path_factory: pytest.TempPathFactory):
    """A private cluster with ssl = on and a self-signed certificate for 127.0.0.1,
    started on first use."""
    certs = tmp_path_factory.mktemp("certs")
    for name, cn in (("server", "127.0.0.1"), ("other", "other-ca")):
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-days", "1", "-subj", "/CN=" + cn, "-keyout",
                            str(certs / (name + ".key")), "-out", str(certs / (name + ".crt"))],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            _fail("openssl could not make a test certificate (apt-get install openssl): "
                  + r.stderr)
    os_user = _server_os_user()
    os_user.make_reachable(certs, tmp_path_factory.getbasetemp())
    os.chmod(certs / "server.key", 0o600)  # the server refuses a key others can read
    for path in (certs, certs / "server.key", certs / "server.crt"):
        os_user.own(path)
    for cluster in _cluster(tmp_path_factory, [
            "ssl = on", "ssl_cert_file = '%s'" % (certs / "server.crt"),
            "ssl_key_file = '%s'" % (certs / "server.key")]):
        yield TlsCluster(cluster, certs / "server.crt", certs / "other.crt")


def _test_server() -> str:
    explicit = os.environ.get("PGCDC_TEST_SERVER")
    cli = os.environ.get("PGCDC_CLI")
    candidates = [Path(explicit)] if explicit else []
    if cli:
        candidates.append(Path(cli).resolve().parent / "pgcdc-test-server")
    candidates += [REPO_ROOT / "build" / "pgcdc-test-server",
                   REPO_ROOT / "build-main" / "pgcdc-test-server"]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    _fail("pgcdc-test-server was not found (looked for %s); build it with scripts/setup.sh "
          "or set PGCDC_TEST_SERVER to its path" % ", ".join(map(str, candidates)))


def _cluster(tmp_path_factory: pytest.TempPathFactory, extra_conf: Sequence[str] = ()):
    # The Python tests read pg_current_wal_lsn() right after COMMIT and expect the
    # commit flushed: synchronous_commit back on (EmbeddedPostgres turns it off).
    conf = ["synchronous_commit = on", *extra_conf]
    args = [_test_server()] + [a for line in conf for a in ("--conf", line)]
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    info: Dict[str, str] = {}
    for line in process.stdout:
        line = line.rstrip("\n")
        if line == "ready":
            break
        key, _, value = line.partition("=")
        info[key] = value
    else:
        message = process.stderr.read().strip()
        process.stdout.close()
        process.stderr.close()
        _fail("pgcdc-test-server could not start a cluster (exit %s): %s"
              % (process.wait(), message))
    bin_dir = Path(info["bin_dir"])
    cluster = PgCluster(process, bin_dir, _find_psql(bin_dir), Path(info["socket_dir"]),
                        Path(info["data_dir"]), Path(info["log"]), int(info["port"]))
    try:
        yield cluster
    finally:
        cluster.stop()


# --------------------------------------------------------------------------- per test

_counter = itertools.count(1)


@dataclass
class PgEnv:
    """One test's database on the session cluster, and a slot name for it."""

    pg: PgCluster
    db: str
    slot: str

    @property
    def dsn(self) -> str:
        return self.pg.dsn(self.db)

    def sql(self, query: str) -> List[Row]:
        return self.pg.sql(query, self.db)

    def scalar(self, query: str) -> Optional[str]:
        return self.pg.scalar(query, self.db)

    def new_slot_name(self) -> str:
        return "%s_%d" % (self.slot, next(_counter))

    def current_lsn(self) -> str:
        return self.scalar("SELECT pg_current_wal_lsn()")  # type: ignore[return-value]


def _drop_slots(pg: PgCluster, db: str) -> None:
    """Drops every replication slot of `db`, ending the walsenders that hold them."""
    deadline = time.monotonic() + 15
    while True:
        pg.sql("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
               "WHERE database = '%s' AND active_pid IS NOT NULL" % db)
        rows = pg.sql("SELECT slot_name, active FROM pg_replication_slots "
                      "WHERE database = '%s'" % db)
        if not rows:
            return
        for name, active in rows:
            if active == "f":
                try:
                    pg.sql("SELECT pg_drop_replication_slot('%s')" % name)
                except AssertionError:
                    pass  # became active again or already gone: look again
        if time.monotonic() > deadline:
            raise AssertionError("could not drop replication slots of %s: %s" % (db, rows))
        time.sleep(0.05)


@pytest.fixture
def pg_env(pg: PgCluster, request: pytest.FixtureRequest):
    """A fresh database and a unique slot name; the database's slots are dropped after."""
    n = next(_counter)
    base = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:30]
    env = PgEnv(pg, db="t%d_%s" % (n, base), slot="s%d_%s" % (n, base[:20]))
    pg.sql('CREATE DATABASE "%s"' % env.db)
    try:
        yield env
    finally:
        _drop_slots(pg, env.db)
        pg.sql('DROP DATABASE "%s" WITH (FORCE)' % env.db)


# --------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="session")
def pgcdc_cli() -> str:
    """Path of the pgcdc executable under test."""
    explicit = os.environ.get("PGCDC_CLI")
    if explicit:
        path = Path(explicit)
        if not path.is_absolute():
            path = Path.cwd() / path
        if not (path.is_file() and os.access(path, os.X_OK)):
            _fail("PGCDC_CLI=%s is not an executable file; build it (scripts/setup.sh) or "
                  "point PGCDC_CLI at the pgcdc binary" % explicit)
        return str(path)
    candidates = [REPO_ROOT / "build" / "pgcdc", REPO_ROOT / "build-main" / "pgcdc"]
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    _fail("the pgcdc CLI was not found (looked for %s); build it with scripts/setup.sh or "
          "set PGCDC_CLI to its path" % " and ".join(map(str, candidates)))
