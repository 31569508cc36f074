"""Issue 11: 20 random kill -9 trials of a consumer process (the CLI) while a writer
keeps committing, then a final drain. Nothing is lost; a change delivered again carries
the same id and the same content; every id names one change."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, List

from test_cli import create_slot, stream, stream_args, wait_slot_inactive

if TYPE_CHECKING:
    from conftest import PgEnv

TRIALS = 20


def run_and_kill(cli: str, env: PgEnv, after: float) -> List[Dict[str, Any]]:
    """Runs `pgcdc stream`, kills it with SIGKILL after `after` seconds, and returns every
    line it wrote (read to the end of the pipe)."""
    proc = subprocess.Popen([cli, *stream_args(env, env.slot, "--status-interval", "0.1")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines: List[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout))  # type: ignore
    reader.start()
    time.sleep(after)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=30)
    assert proc.stdout is not None
    proc.stdout.close()
    # A line cut by the kill is not a delivered change.
    return [json.loads(line) for line in lines if line.endswith(b"\n")]


def test_twenty_kill9_trials_lose_nothing_and_keep_ids(pgcdc_cli: str, pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION pub FOR TABLE t;")
    create_slot(pgcdc_cli, pg_env)
    rng = random.Random(11)
    written = [0]
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            first = written[0] + 1
            count = rng.randint(1, 40)  # transactions of 1 to 40 rows
            pg_env.sql("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(%d, %d) g"
                       % (first, first + count - 1))
            written[0] = first + count - 1
            time.sleep(0.01)

    thread = threading.Thread(target=writer)
    thread.start()
    deliveries: List[Dict[str, Any]] = []
    started = time.monotonic()
    try:
        for _ in range(TRIALS):
            deliveries.extend(run_and_kill(pgcdc_cli, pg_env, rng.uniform(0.15, 0.8)))
            wait_slot_inactive(pg_env, pg_env.slot)
    finally:
        stop.set()
        thread.join()
    final = stream(pgcdc_cli, pg_env, "--stop-at-lsn", pg_env.current_lsn())
    deliveries.extend(final)

    by_id: Dict[str, Dict[str, Any]] = {}
    row_to_id: Dict[int, str] = {}
    for c in deliveries:
        assert c["op"] == "insert"
        first = by_id.setdefault(c["id"], c)
        assert c == first, "the same id delivered with different content"
        row = c["new"]["id"]
        assert row_to_id.setdefault(row, c["id"]) == c["id"], "a row delivered under two ids"
    delivered_rows = sorted(row_to_id)
    assert delivered_rows == list(range(1, written[0] + 1)), "rows lost"
    # The final drain starts where the last acknowledged change ended: it repeats at
    # most what the last killed run had not acknowledged.
    duplicates = len(deliveries) - len(by_id)
    print("kill -9 trials: %d runs, %d rows written, %d deliveries, %d duplicates, 0 lost, "
          "%.1f s" % (TRIALS, written[0], len(deliveries), duplicates,
                      time.monotonic() - started))
    assert written[0] > 200, "the writer wrote too little for the trials to mean much"
