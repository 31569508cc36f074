#!/usr/bin/env python3
"""Start-up costs of the Python package: `import pgcdc` in a fresh interpreter, and
open_stream() to the first change on a local server (see README.md here).

Needs a server with wal_level=logical that psql reaches through PGHOST/PGPORT/PGUSER/
PGDATABASE (../shared/bench/pg-up prints them); uses table pgcdc_startup, publication
pgcdc_startup_pub and slots pgcdc_startup_<n>, and drops them at the end.

    python bench/python/startup.py [--runs 15]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import List

IMPORT = "import time; t = time.perf_counter(); import pgcdc; print(time.perf_counter() - t)"


def psql(sql: str) -> str:
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("psql failed on %s: %s" % (sql, r.stderr.strip()))
    return r.stdout.strip()


def dsn(socket: str) -> str:
    port, user, db = (os.environ.get("PGPORT", "5432"), os.environ.get("PGUSER", "postgres"),
                      os.environ.get("PGDATABASE", "postgres"))
    if socket == "unix":
        return "postgresql://%s@/%s?host=%s&port=%s" % (user, db, os.environ["PGHOST"], port)
    return "postgresql://%s@127.0.0.1:%s/%s" % (user, port, db)


def import_seconds(runs: int) -> List[float]:
    return [float(subprocess.run([sys.executable, "-c", IMPORT], check=True,
                                 capture_output=True, text=True).stdout) for _ in range(runs)]


def open_to_first_change_seconds(runs: int, socket: str) -> List[float]:
    import pgcdc

    times: List[float] = []
    for n in range(runs):
        slot = "pgcdc_startup_%d" % n
        psql("DELETE FROM pgcdc_startup")  # before the slot: not streamed
        psql("SELECT pg_create_logical_replication_slot('%s', 'pgoutput')" % slot)
        psql("INSERT INTO pgcdc_startup VALUES (%d)" % n)
        start = time.perf_counter()
        with pgcdc.open_stream(dsn(socket), slot=slot, publications=["pgcdc_startup_pub"],
                               idle_timeout=5.0) as stream:
            change = next(iter(stream))
            times.append(time.perf_counter() - start)
            assert change.new == {"id": n}, change.new
        psql("SELECT pg_drop_replication_slot('%s')" % slot)
    return times


def show(label: str, seconds: List[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    print("%-32s median %6.1f ms   min %6.1f   max %6.1f   (%d runs)" % (
        label, statistics.median(ms), ms[0], ms[-1], len(ms)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    show("import pgcdc", import_seconds(runs))
    psql("DROP TABLE IF EXISTS pgcdc_startup; DROP PUBLICATION IF EXISTS pgcdc_startup_pub;"
         "CREATE TABLE pgcdc_startup (id int PRIMARY KEY);"
         "CREATE PUBLICATION pgcdc_startup_pub FOR TABLE pgcdc_startup;")
    try:
        for socket in ("unix", "tcp"):
            show("open -> first change (%s)" % socket, open_to_first_change_seconds(runs, socket))
    finally:
        psql("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
             "WHERE slot_name LIKE 'pgcdc_startup_%' AND NOT active;"
             "DROP TABLE IF EXISTS pgcdc_startup; DROP PUBLICATION IF EXISTS pgcdc_startup_pub;")


if __name__ == "__main__":
    main()
