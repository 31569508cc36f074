"""What the tests of examples/s3 share: the handlers imported fresh for each test (their
boto3 clients are made at import, against that test's moto server), a bucket, and a
source table with values that CSV and Parquet must carry exactly."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Dict, List

import boto3
import pytest
from aws_helpers import LambdaContext

if TYPE_CHECKING:
    from conftest import PgEnv

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "s3"
BUCKET = "lake"

SOURCE = """
CREATE TABLE items (id int PRIMARY KEY, name text, qty int, price numeric(12,3),
                    ratio numeric, tags text[], doc jsonb, raw bytea, flag boolean,
                    seen timestamptz, day date, score float8);
CREATE TABLE notes (id int PRIMARY KEY, body text);
ALTER TABLE notes REPLICA IDENTITY FULL;
CREATE PUBLICATION lake_pub FOR TABLE items, notes;
"""

# Commas, quotes, newlines, backslashes, empty strings and NULLs, non-ASCII, large and
# small numerics, arrays with NULL and quoted elements, nested json.
WORKLOAD = """
INSERT INTO items SELECT g, 'item ' || g, g, g * 1.125, g / 7.0,
  ARRAY['a', 'b,c', 'q"uote', NULL],
  jsonb_build_object('n', g, 'nested', jsonb_build_array(1, 'x')),
  decode(md5(g::text), 'hex'), g % 2 = 0,
  '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 hour', DATE '2026-01-01' + g, g / 3.0
  FROM generate_series(1, 300) g;
INSERT INTO items VALUES (1001, '', NULL, NULL, NULL, '{}', 'null', '', NULL, NULL, NULL, NULL),
  (1002, E'line1\\nline2, "quoted" \\\\ back', -5, -123456789.001, 1e-30, ARRAY[E'back\\\\slash'],
   '{"k": "v\\"q"}', '\\x00ff', true, '1999-12-31 23:59:59.999999+00', '0001-01-01', 'Infinity'),
  (1003, 'grüße ✓', 0, 0, 'NaN', NULL, '[1, 2]', NULL, false, NULL, NULL, -0.5);
UPDATE items SET qty = qty + 1, name = name || ' (updated)' WHERE id % 10 = 0;
DELETE FROM items WHERE id % 25 = 0;
BEGIN; INSERT INTO items VALUES (5000, 'ghost'); ROLLBACK;
INSERT INTO notes SELECT g, repeat('toast me ', 20000) FROM generate_series(1, 3) g;
UPDATE notes SET id = id + 100 WHERE id = 1;
UPDATE items SET price = 7.5 WHERE id = 1;
"""
CHANGES = 300 + 3 + 30 + 12 + 3 + 1 + 1  # inserts, updates, deletes, notes, key change, price


def load_example(name: str) -> ModuleType:
    """Imports examples/s3/<name>.py anew, with a fresh s3_batches under it."""
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    for module in ("s3_batches", "csv_handler", "parquet_handler", "parquet_loader"):
        sys.modules.pop(module, None)
    return importlib.import_module(name)


@pytest.fixture
def s3_env(pg_env: PgEnv, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    pg_env.sql(SOURCE)
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    for name, value in {"PGCDC_DSN": pg_env.dsn, "PGCDC_SLOT": pg_env.slot,
                        "PGCDC_PUBLICATION": "lake_pub", "S3_BUCKET": BUCKET,
                        "S3_PREFIX": "cdc", "MAX_BATCH_BYTES": "20000",
                        "IDLE_TIMEOUT_S": "0.5", "SAFETY_MARGIN_S": "1"}.items():
        monkeypatch.setenv(name, value)
    return boto3.client("s3")


def objects(client: Any, prefix: str) -> List[Dict[str, Any]]:
    """Every object under `prefix`, in key order (= commit order per table)."""
    out = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        out += page.get("Contents", [])
    return sorted(out, key=lambda o: o["Key"])


def body(client: Any, key: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def first_run(module: ModuleType) -> None:
    """Creates the slot: changes from then on are captured."""
    assert module.handler({}, LambdaContext(10))["changes"] == 0
