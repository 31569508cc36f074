"""The installed package: what the wheel ships, what `import pgcdc` costs, and stubs that
match the compiled module."""

from __future__ import annotations

import ast
import subprocess
import sys
import sysconfig
from pathlib import Path

import pgcdc
from pgcdc import _core

PACKAGE_DIR = Path(pgcdc.__file__).parent


def test_wheel_ships_module_stubs_gencode_and_cli() -> None:
    for name in ("py.typed", "_core.pyi", "v1/change_pb2.py", "v1/__init__.py"):
        assert (PACKAGE_DIR / name).is_file(), name
    assert Path(_core.__file__).parent == PACKAGE_DIR
    cli = Path(sysconfig.get_path("scripts")) / "pgcdc"
    r = subprocess.run([str(cli), "stream", "--slot", "s"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and "--dsn is required" in r.stderr, r.stderr
    from pgcdc.v1 import change_pb2  # the runtime accepts the gencode

    assert change_pb2.Change(id="x").SerializeToString() == b"\n\x01x"


def test_import_is_light() -> None:
    """`import pgcdc` loads neither protobuf (only to_proto() needs it) nor pandas."""
    code = ("import sys, pgcdc; print(' '.join(m for m in ('google.protobuf', 'pandas', "
            "'numpy', 'pgcdc._core') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["pgcdc._core"]
    # "import time: self [us] | cumulative | name"; generous against a busy machine
    # (the budget is 100 ms, measured in bench/python/README.md).
    cumulative = [int(line.split("|")[1]) for line in r.stderr.splitlines()
                  if line.rstrip().endswith("| pgcdc")]
    assert cumulative and cumulative[0] < 500_000, r.stderr[-2000:]


def test_stub_lists_what_the_module_has() -> None:
    stub = ast.parse((PACKAGE_DIR / "_core.pyi").read_text())
    classes = {node.name: node for node in stub.body if isinstance(node, ast.ClassDef)}

    def stubbed(name: str) -> set:
        return {n.name for n in classes[name].body if isinstance(n, ast.FunctionDef)} - {
            "__init__"}

    def public(cls: type) -> set:
        return {n for n in vars(cls) if not n.startswith("_")}

    assert stubbed("Change") == public(_core.Change)
    assert stubbed("Stream") == public(_core.Stream)
    assert pgcdc.Change is _core.Change
    assert set(pgcdc.__all__) <= set(dir(pgcdc))
