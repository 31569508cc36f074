"""The portable wheel (scripts/wheel.sh) as a user gets it: installed with --no-index into
a fresh virtualenv of this Python, every library it loads either inside the wheel or one
the manylinux policy lets it take from the system, and streaming from a real PostgreSQL
through it (typed values, ack, resume), through the module and through its CLI."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List

import pytest
from wheel_helpers import find_wheel, make_venv, pip, run

import pgcdc

if TYPE_CHECKING:
    from conftest import PgEnv, TlsCluster

# Lambda's Python 3.12 and 3.13 runtimes (Amazon Linux 2023) have glibc 2.34.
MAX_GLIBC_MINOR = 34
MAX_WHEEL_BYTES = 15_000_000


@dataclass
class InstalledWheel:
    wheel: Path
    python: Path
    site_packages: Path

    @property
    def cli(self) -> Path:
        return self.python.parent / "pgcdc"


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    wheel = find_wheel()
    root = tmp_path_factory.mktemp("wheel")
    python = make_venv(root / "venv")
    # Only the wheel and protobuf (its one dependency, the version this suite runs with),
    # both from a local directory: nothing comes from the build tree or an index.
    deps = root / "deps"
    run([str(python), "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(deps),
         "protobuf==%s" % importlib.metadata.version("protobuf")])
    pip(python, "--no-index", "--find-links", str(deps), str(wheel))
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"])
    return InstalledWheel(wheel, python, Path(site.stdout.strip()))


def manylinux_tag(wheel: Path) -> str:
    found = re.search(r"-(manylinux_2_(\d+)_x86_64)\.whl$", wheel.name)
    assert found, wheel.name
    return found.group(1)


def test_wheel_is_manylinux_2_34_or_older_and_small() -> None:
    wheel = find_wheel()
    tag = manylinux_tag(wheel)
    assert int(tag.split("_")[2]) <= MAX_GLIBC_MINOR, tag
    assert wheel.stat().st_size < MAX_WHEEL_BYTES, wheel.stat().st_size
    names = zipfile.ZipFile(wheel).namelist()
    assert any(re.fullmatch(r"pgcdc/_core\.cpython-.*\.so", n) for n in names), names
    assert "pgcdc/v1/change_pb2.py" in names
    assert any(n.startswith("pgcdc.libs/libpq") for n in names), names


def allowed_system_libraries(tag: str) -> List[str]:
    """The manylinux policy's list (auditwheel's own copy of it)."""
    policies = json.loads((resources.files("auditwheel") / "policy" /
                           "manylinux-policy.json").read_text())
    policy_name = tag.rsplit("_", 1)[0].replace("_x86", "")
    for policy in policies:
        if policy["name"] == policy_name:
            return policy["lib_whitelist"]
    raise AssertionError("no manylinux policy named %s" % policy_name)


def loaded_libraries(binary: Path) -> Dict[str, str]:
    """soname -> path, as the dynamic loader resolves them (ldd)."""
    out = run(["ldd", str(binary)]).stdout
    assert "not found" not in out, out
    libs = {}
    for line in out.splitlines():
        found = re.match(r"\s*(\S+) => (\S+) \(", line)
        if found:
            libs[found.group(1)] = found.group(2)
    return libs


def test_every_library_is_in_the_wheel_or_allowed_by_the_policy(
        installed: InstalledWheel) -> None:
    allowed = allowed_system_libraries(manylinux_tag(installed.wheel))
    bundled_dir = (installed.site_packages / "pgcdc.libs").resolve()
    # The extension is the wheel's only binary: the `pgcdc` command runs inside it.
    binaries = [p for p in installed.site_packages.glob("pgcdc*/**/*")
                if p.is_file() and p.read_bytes()[:4] == b"\x7fELF"
                and p.parent.resolve() != bundled_dir]
    assert [b.name for b in binaries] == [b.name for b in
                                          (installed.site_packages / "pgcdc").glob("_core.*.so")]
    libs = loaded_libraries(binaries[0])
    bundled = {n for n, p in libs.items() if Path(p).resolve().parent == bundled_dir}
    assert any(n.startswith("libpq-") for n in bundled), libs
    from_system = {n: p for n, p in libs.items() if n not in bundled}
    assert set(from_system) <= set(allowed), from_system


STREAM_SCRIPT = r"""
import json, sys
import pgcdc
dsn, slot, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = {"file": pgcdc.__file__, "version": pgcdc.__version__, "changes": []}
with pgcdc.open_stream(dsn, slot=slot, publications=["pub"], create_slot=True,
                       idle_timeout=1.0 if count == 0 else 30.0) as stream:
    for change in stream:
        new = change.new or {}
        out["changes"].append({k: [type(v).__name__, str(v)] for k, v in new.items()})
        if len(out["changes"]) == count:
            stream.ack(change)
            break
print(json.dumps(out))
"""


def stream_through(installed: InstalledWheel, env: PgEnv, count: int) -> Dict[str, Any]:
    return run_stream_script(installed, env.dsn, env.slot, count)


def run_stream_script(installed: InstalledWheel, dsn: str, slot: str,
                      count: int) -> Dict[str, Any]:
    # -I: neither the working directory nor PYTHONPATH, only the virtualenv.
    r = run([str(installed.python), "-I", "-c", STREAM_SCRIPT, dsn, slot, str(count)],
            timeout=120)
    return json.loads(r.stdout)


def test_streams_typed_values_acks_and_resumes(installed: InstalledWheel,
                                               pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, amount numeric(12,4), at timestamptz, "
               "doc jsonb, tags text[], blob bytea, u uuid);"
               "CREATE PUBLICATION pub FOR TABLE t")
    first = stream_through(installed, pg_env, 0)  # creates the slot
    assert first["file"].startswith(str(installed.site_packages)), first["file"]
    assert first["version"] == pgcdc.__version__ and first["changes"] == []

    pg_env.sql("INSERT INTO t VALUES (1, 12.34, '2026-12-05 10:00:00+00', '{\"a\": [1, 2]}', "
               "'{x,y}', '\\x00ff', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');"
               "INSERT INTO t (id) VALUES (2)")
    got = stream_through(installed, pg_env, 1)["changes"]
    assert got == [{"id": ["int", "1"], "amount": ["Decimal", "12.3400"],
                    "at": ["datetime", "2026-12-05 10:00:00+00:00"],
                    "doc": ["dict", "{'a': [1, 2]}"], "tags": ["list", "['x', 'y']"],
                    "blob": ["bytes", "b'\\x00\\xff'"],
                    "u": ["UUID", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]}]
    # Acknowledged up to row 1: the next session starts with row 2, then row 3.
    pg_env.sql("INSERT INTO t (id) VALUES (3)")
    rest = stream_through(installed, pg_env, 2)["changes"]
    assert [c["id"] for c in rest] == [["int", "2"], ["int", "3"]]


def test_the_wheels_cli_streams(installed: InstalledWheel, pg_env: PgEnv) -> None:
    version = run([str(installed.cli), "--version"]).stdout.strip()
    metadata = run([str(installed.python), "-I", "-c",
                    "import importlib.metadata as m; print(m.version('pgcdc'))"]).stdout.strip()
    assert version == metadata == pgcdc.__version__
    assert "from pgcdc._cli import main" in installed.cli.read_text()  # an entry point
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, v numeric); CREATE PUBLICATION pub FOR TABLE t")
    args = [str(installed.cli), "stream", "--dsn", pg_env.dsn, "--slot", pg_env.slot,
            "--publication", "pub", "--idle-timeout", "1"]
    run(args + ["--create-slot"], timeout=60)
    pg_env.sql("INSERT INTO t SELECT g, g / 3.0 FROM generate_series(1, 50) g")
    lines = run(args, timeout=60).stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["new"]["id"] for r in records] == list(range(1, 51))
    assert records[0]["new"]["v"] == "0.33333333333333333333"  # numeric as exact text
    # Acknowledged on exit: a third run has nothing.
    assert run(args, timeout=60).stdout == ""


def test_tls_with_the_bundled_openssl(installed: InstalledWheel, pg_tls: TlsCluster) -> None:
    """RDS and most managed servers want TLS: libpq and OpenSSL from inside the wheel
    verify the server's certificate (sslmode=verify-full) and stream over it."""
    pg = pg_tls.pg
    pg.sql("CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY);"
           "DROP PUBLICATION IF EXISTS pub; CREATE PUBLICATION pub FOR TABLE t")
    dsn = "host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=verify-full " % pg.port
    trusted = dsn + "sslrootcert=%s" % pg_tls.ca_cert
    assert run_stream_script(installed, trusted, "wheel_tls", 0)["changes"] == []
    pg.sql("INSERT INTO t VALUES (1)")
    assert run_stream_script(installed, trusted, "wheel_tls", 1)["changes"] == [
        {"id": ["int", "1"]}]
    wrong = subprocess.run([str(installed.python), "-I", "-c", STREAM_SCRIPT,
                            dsn + "sslrootcert=%s" % pg_tls.other_ca_cert, "wheel_tls", "0"],
                           capture_output=True, text=True, timeout=120)
    assert wrong.returncode != 0 and "certificate verify failed" in wrong.stderr, wrong.stderr
