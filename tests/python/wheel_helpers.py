"""The portable wheel that scripts/wheel.sh made for this interpreter, and fresh
virtualenvs of this interpreter's base Python, away from the build tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

import pgcdc

REPO_ROOT = Path(__file__).resolve().parents[2]
WHEEL_DIR = Path(os.environ.get("PGCDC_WHEEL_DIR", REPO_ROOT / "dist"))
PY_TAG = "cp%d%d" % sys.version_info[:2]
PY_VERSION = "%d.%d" % sys.version_info[:2]


def base_python() -> str:
    """This suite's interpreter outside its virtualenv (the one the wheel is for)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def find_wheel() -> Path:
    pattern = "pgcdc-%s-%s-%s-manylinux_*_x86_64.whl" % (pgcdc.__version__, PY_TAG, PY_TAG)
    found = sorted(WHEEL_DIR.glob(pattern))
    if len(found) != 1:
        pytest.fail("expected one %s in %s, found %s: build it with `scripts/wheel.sh %s` "
                    "(scripts/test.sh does)" % (pattern, WHEEL_DIR, [p.name for p in found],
                                                base_python()), pytrace=False)
    return found[0]


def run(args: List[str], timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert r.returncode == 0, "%s failed (%d):\n%s\n%s" % (args, r.returncode, r.stdout[-3000:],
                                                          r.stderr[-3000:])
    return r


def make_venv(path: Path) -> Path:
    """A new virtualenv of the base interpreter; returns its python."""
    run([base_python(), "-m", "venv", str(path)])
    return path / "bin" / "python"


def pip(python: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PIP_FIND_LINKS", None)
    return run([str(python), "-m", "pip", "install", "-q", *args], env=env)
