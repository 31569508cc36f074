"""pgcdc.to_dataframe, and the example notebook executed (nbclient) against the
session's private PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import nbclient
import nbformat
import pandas
import pytest
from pgcdc_helpers import open_stream, read, slot_confirmed_lsn

import pgcdc

if TYPE_CHECKING:
    from conftest import PgEnv

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "explore_changes.ipynb"

ORDERS = """
    CREATE TABLE orders (id int PRIMARY KEY, status text, amount numeric(10,2),
                         placed_at timestamptz, note text);
    CREATE PUBLICATION orders_pub FOR TABLE orders;"""
WRITES = """
    INSERT INTO orders VALUES (1, 'new', 10.50, '2026-11-21 09:30:00+00', 'x'),
                              (2, 'new', 5.25, '2026-11-21 09:31:00+00', NULL),
                              (3, 'paid', 100.00, '2026-11-21 09:32:00+01', 'y');
    UPDATE orders SET status = 'paid' WHERE id = 1;
    DELETE FROM orders WHERE id = 2;"""


def test_to_dataframe_one_row_per_change(pg_env: PgEnv) -> None:
    pg_env.sql(ORDERS)
    with open_stream(pg_env, publications=["orders_pub"], idle_timeout=0.5) as stream:
        pg_env.sql(WRITES)
        changes = read(stream, 5)
    frame = pgcdc.to_dataframe(changes, meta=("op", "table", "lsn", "commit_time", "xid"))
    assert list(frame.columns) == ["__op", "__table", "__lsn", "__commit_time", "__xid", "id",
                                   "status", "amount", "placed_at", "note"]
    assert list(frame["__op"]) == ["insert"] * 3 + ["update", "delete"]
    assert list(frame["__lsn"]) == [str(c.lsn) for c in changes]
    assert str(frame["__commit_time"].dtype).startswith("datetime64")
    assert str(frame["__commit_time"].dt.tz) == "UTC"
    assert frame["amount"].iloc[0] == Decimal("10.50")
    assert frame["placed_at"].iloc[2] == pandas.Timestamp("2026-11-21 08:32:00", tz="UTC")
    assert frame["id"].tolist() == [1, 2, 3, 1, 2]  # the delete's key comes from the old row
    assert pandas.isna(frame["status"].iloc[4])
    empty = pgcdc.to_dataframe([])
    assert list(empty.columns) == ["__op", "__schema", "__table", "__commit_time", "__lsn"]
    assert len(empty) == 0


def test_example_notebook_runs(pg_env: PgEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    pg_env.sql(ORDERS)
    slot = pg_env.new_slot_name()
    pg_env.sql("SELECT pg_create_logical_replication_slot('%s', 'pgoutput')" % slot)
    created_at = slot_confirmed_lsn(pg_env, slot)
    pg_env.sql(WRITES)
    monkeypatch.setenv("PGCDC_DSN", pg_env.dsn)
    monkeypatch.setenv("PGCDC_SLOT", slot)
    monkeypatch.setenv("PGCDC_PUBLICATION", "orders_pub")
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # no migration warning from jupyter_core

    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "5 changes; 2 rows now; ops {'delete': 1, 'insert': 3, 'update': 1}" in printed
    last = notebook.cells[-1].outputs[-1]["data"]["text/plain"]
    assert "paid" in last and "10.50" in last and "100.00" in last
    assert slot_confirmed_lsn(pg_env, slot) == created_at  # nothing was acknowledged
