"""pgcdc's Debezium-compatible records against Debezium 3.6.1's own records for the same
SQL (tests/vectors/debezium): `pgcdc stream --format debezium` and
`Change.to_debezium()`, all three settings variants, replayed on a private server.

Fields allowed to differ: debezium_vectors.FREE_FIELDS; the run-dependent ones (LSNs,
xids, commit times, sequence) are mapped to this replay's values (vectors README)."""

import json
import subprocess
from dataclasses import dataclass
from typing import Dict, List

import debezium_vectors as dv
import pytest

import pgcdc

SLOTS = ["dbz_" + v.replace("-", "_") for v in dv.VARIANTS]
PYTHON_SLOT = "dbz_python"
DECODING_SLOT = "dbz_test_decoding"


@dataclass
class Replayed:
    dsn: str
    stop_lsn: str
    replay: dv.Replay


@pytest.fixture(scope="module")
def replayed(pg):
    pg.sql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % dv.DATABASE)
    pg.sql('CREATE DATABASE "%s"' % dv.DATABASE)
    try:
        pg.sql((dv.VECTORS / dv.INDEX["schema_sql"]).read_text(), dv.DATABASE)
        # All slots at one point, nothing written in between.
        pg.sql("SELECT %s, pg_create_logical_replication_slot('%s', 'test_decoding')" % (
            ", ".join("pg_create_logical_replication_slot('%s', 'pgoutput')" % s
                      for s in SLOTS + [PYTHON_SLOT]), DECODING_SLOT), dv.DATABASE)
        pg.sql((dv.VECTORS / dv.INDEX["changes_sql"]).read_text(), dv.DATABASE)
        stop = pg.scalar("SELECT pg_current_wal_lsn()", dv.DATABASE)
        rows = pg.sql("SET TimeZone = 'UTC'; SELECT lsn, xid, data FROM "
                      "pg_logical_slot_get_changes('%s', '%s', NULL, 'include-xids', '1', "
                      "'include-timestamp', '1')" % (DECODING_SLOT, stop), dv.DATABASE)
        replay = dv.pair_rows([{"lsn": r[0], "xid": int(r[1]), "data": r[2]} for r in rows])
        yield Replayed(pg.dsn(dv.DATABASE), stop, replay)
    finally:
        pg.sql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
               "WHERE database = '%s'" % dv.DATABASE)
        pg.sql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % dv.DATABASE)


@pytest.mark.parametrize("variant", dv.VARIANTS)
def test_cli_matches_debeziums_records(replayed, pgcdc_cli, variant):
    slot = SLOTS[dv.VARIANTS.index(variant)]
    r = subprocess.run(
        [pgcdc_cli, "stream", "--dsn", replayed.dsn, "--slot", slot, "--publication",
         dv.PUBLICATION, "--format", "debezium", *dv.cli_flags(variant), "--stop-at-lsn",
         replayed.stop_lsn],
        capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    actual = [json.loads(line) for line in r.stdout.splitlines()]
    dv.assert_records_equal(
        actual, dv.expected_records(variant, replayed.replay, tombstones=dv.tombstones(variant)))


def test_to_debezium_matches_debeziums_records(replayed):
    stream = pgcdc.open_stream(replayed.dsn, slot=PYTHON_SLOT,
                               publications=[dv.PUBLICATION],
                               stop_at_lsn=replayed.stop_lsn, describe_columns=True)
    with stream:
        changes = list(stream)
    for variant in dv.VARIANTS:
        actual: List[Dict] = []
        for change in changes:
            actual.extend(change.to_debezium(**dv.python_args(variant)))
        dv.assert_records_equal(actual, dv.expected_records(variant, replayed.replay,
                                                            tombstones=False))
