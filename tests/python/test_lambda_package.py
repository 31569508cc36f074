"""examples/lambda's deployment package, made by the commands its README gives
(examples/lambda/package.sh: pip install --platform manylinux_2_34_x86_64 ... --target,
then zip) from the portable wheel, unpacked the way Lambda unpacks it, and the handler
run from there by this Python outside the development install: a fresh virtualenv with
only boto3 (which the Lambda runtime provides), the package directory first on sys.path
(as /var/task is), against the session's PostgreSQL and Kinesis served by moto."""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict

import pytest
from aws_helpers import kinesis, moto_endpoint, published  # noqa: F401 (fixtures)
from pgcdc_helpers import slot_confirmed_lsn
from wheel_helpers import PY_VERSION, REPO_ROOT, find_wheel, make_venv, pip, run

if TYPE_CHECKING:
    from conftest import PgEnv

PACKAGE_SH = REPO_ROOT / "examples" / "lambda" / "package.sh"

# What Lambda's bootstrap does, reduced to what the handler sees: the task directory
# first on sys.path, handler.handler(event, context) with a context that has a deadline.
INVOKE = r"""
import json, sys, time
task, seconds = sys.argv[1], float(sys.argv[2])
sys.path.insert(0, task)
import handler, pgcdc

class Context:
    deadline = time.monotonic() + seconds
    def get_remaining_time_in_millis(self):
        return max(0, int((self.deadline - time.monotonic()) * 1000))

print(json.dumps({"pgcdc": pgcdc.__file__, "result": handler.handler({}, Context())}))
"""


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """function.zip, made by package.sh for this Python, unpacked."""
    out = tmp_path_factory.mktemp("lambda")
    env = dict(os.environ, OUT=str(out), PYTHON_VERSION=PY_VERSION,
               PIP="%s -m pip" % sys.executable, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PIP_FIND_LINKS", None)
    run([str(PACKAGE_SH), str(find_wheel().parent)], env=env)
    task = out / "task"
    with zipfile.ZipFile(out / "function.zip") as zf:
        names = zf.namelist()
        assert "handler.py" in names and "pgcdc.libs/" in {n.split("/")[0] + "/" for n in names}
        zf.extractall(task)
    return task


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python like the Lambda runtime's: the standard library and boto3, no pgcdc."""
    python = make_venv(tmp_path_factory.mktemp("runtime") / "venv")
    pip(python, "boto3")
    r = run([str(python), "-I", "-c", "import importlib.util as u; print(u.find_spec('pgcdc'))"])
    assert r.stdout.strip() == "None"
    return python


def invoke(runtime: Path, task: Path, env: PgEnv, seconds: float = 30) -> Dict[str, Any]:
    config = {"PGCDC_DSN": env.dsn, "PGCDC_SLOT": env.slot, "PGCDC_PUBLICATION": "orders_pub",
              "KINESIS_STREAM": "changes", "IDLE_TIMEOUT_S": "0.5", "SAFETY_MARGIN_S": "1"}
    # -I: the runtime's own site-packages only, not the working directory or PYTHONPATH.
    r = run([str(runtime), "-I", "-c", INVOKE, str(task), str(seconds)],
            env=dict(os.environ, **config), timeout=120)
    out = json.loads(r.stdout)
    assert out["pgcdc"].startswith(str(task)), out["pgcdc"]
    return out["result"]


def test_the_deployment_package_runs_the_handler(pg_env: PgEnv, kinesis: Any,  # noqa: F811
                                                 task_dir: Path, runtime: Path) -> None:
    pg_env.sql("CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2));"
               "CREATE PUBLICATION orders_pub FOR TABLE orders;")
    assert invoke(runtime, task_dir, pg_env)["changes"] == 0  # creates the slot
    pg_env.sql("INSERT INTO orders SELECT g, g * 1.25 FROM generate_series(1, 700) g;"
               "UPDATE orders SET total = 0 WHERE id = 7; DELETE FROM orders WHERE id = 8;")
    result = invoke(runtime, task_dir, pg_env)
    assert result["changes"] == 702 and result["batches"] >= 2
    assert result["confirmed_flush_lsn"] == str(slot_confirmed_lsn(pg_env))
    records = published(kinesis)
    assert len(records) == 702 and len({r["id"] for r in records}) == 702
    row_7 = [(r["op"], r["new"]["total"]) for r in records if r["key"] == "public.orders:[7]"]
    assert row_7 == [("insert", "8.75"), ("update", "0.00")]
    assert invoke(runtime, task_dir, pg_env)["changes"] == 0  # acknowledged
