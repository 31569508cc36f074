"""AWS Lambda handler for S3 ObjectCreated events of the Parquet objects: reads each
object back, checks its schema, and loads it into the warehouse.

In the pipeline this replaces (DMS -> S3 Parquet -> Lambda -> BigQuery) this is the
loader. The check: the object is one of parquet_handler's (it carries pgcdc's column
descriptions), its schema is exactly the one those descriptions give, and every Op is
I, U or D; an object that fails it raises, so Lambda retries it and then sends the event
to the function's failure destination instead of loading a file the warehouse would
misread. `load()` is where the warehouse client goes; for BigQuery, for example:

    job = bigquery.Client().load_table_from_file(
        io.BytesIO(data), "%s.%s_changes" % (dataset, table),
        job_config=bigquery.LoadJobConfig(source_format="PARQUET",
                                          write_disposition="WRITE_APPEND"))
    job.result()

The S3 event is delivered at least once: load into a changes table keyed by the object
key (or check it was loaded before), then merge by primary key in commit order.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import Any, Dict, List

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
from parquet_handler import arrow_schema

logger = logging.getLogger(__name__)
s3 = boto3.client("s3")


class SchemaMismatch(RuntimeError):
    """The object is not what parquet_handler writes; it is not loaded."""


def check(table: pa.Table, key: str) -> List[Dict[str, Any]]:
    """The object's pgcdc column descriptions, once its schema matches them."""
    described = (table.schema.metadata or {}).get(b"pgcdc.columns")
    if described is None:
        raise SchemaMismatch("%s has no pgcdc.columns metadata: not a pgcdc object" % key)
    columns = json.loads(described)
    expected = arrow_schema(columns)
    if not table.schema.equals(expected, check_metadata=False):
        raise SchemaMismatch("%s: schema %s, expected %s from its column descriptions" % (
            key, table.schema.to_string(show_schema_metadata=False),
            expected.to_string(show_schema_metadata=False)))
    ops = set(table.column("Op").to_pylist())
    if not ops <= {"I", "U", "D"}:
        raise SchemaMismatch("%s: Op values %s, expected I, U, D" % (key, sorted(ops)))
    return columns


def load(schema: str, table: str, key: str, rows: pa.Table) -> None:
    """The warehouse load (see the module's docstring)."""
    logger.info("would load %d rows of %s.%s from %s", rows.num_rows, schema, table, key)


def handler(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    summary: Dict[str, Any] = {"objects": 0, "rows": 0}
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        rows = pq.read_table(pa.BufferReader(data))
        check(rows, key)
        schema, table = key.split("/")[-3:-1]  # PREFIX/<schema>/<table>/<first change>.parquet
        load(schema, table, key, rows)
        summary["objects"] += 1
        summary["rows"] += rows.num_rows
    return summary
