"""Helpers for the tests of the pgcdc Python package (the API, not the CLI)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, List, Optional

import pgcdc

if TYPE_CHECKING:
    from conftest import PgEnv

# A backstop for reads that expect changes: a test that gets fewer fails after this
# long instead of hanging.
READ_TIMEOUT = 30.0


def open_stream(env: PgEnv, **options: Any) -> pgcdc.ChangeStream:
    """A stream on the test's database: slot env.slot (created), publication "pub"."""
    options.setdefault("slot", env.slot)
    options.setdefault("publications", ["pub"])
    options.setdefault("create_slot", True)
    return pgcdc.open_stream(env.dsn, **options)


def read(stream: pgcdc.ChangeStream, count: int,
         timeout: float = READ_TIMEOUT) -> List[pgcdc.Change]:
    """Exactly `count` changes (fails if they do not come within `timeout`)."""
    changes: List[pgcdc.Change] = []
    deadline = time.monotonic() + timeout
    if count == 0:
        return changes
    for change in stream:
        changes.append(change)
        if len(changes) == count:
            return changes
        assert time.monotonic() < deadline, "only %d of %d changes after %ss" % (
            len(changes), count, timeout)
    raise AssertionError("the stream ended after %d of %d changes" % (len(changes), count))


def read_all(stream: pgcdc.ChangeStream) -> List[pgcdc.Change]:
    """Every change until the stream's stop condition ends it."""
    return list(stream)


def slot_confirmed_lsn(env: PgEnv, slot: Optional[str] = None) -> pgcdc.Lsn:
    text = env.scalar("SELECT confirmed_flush_lsn FROM pg_replication_slots "
                      "WHERE slot_name = '%s'" % (slot or env.slot))
    assert text is not None, "slot %s has no confirmed_flush_lsn" % (slot or env.slot)
    return pgcdc.Lsn(text)


def wait_slot_inactive(env: PgEnv, slot: Optional[str] = None, timeout: float = 15) -> None:
    """A killed consumer's walsender notices the closed socket shortly after; until
    then the server refuses another consumer of the slot."""
    deadline = time.monotonic() + timeout
    name = slot or env.slot
    while env.scalar("SELECT active FROM pg_replication_slots "
                     "WHERE slot_name = '%s'" % name) != "f":
        assert time.monotonic() < deadline, "slot %s still active after %ss" % (name, timeout)
        time.sleep(0.02)


def rows(changes: List[pgcdc.Change]) -> List[Any]:
    """(op, new or old row) per change: compact expectations."""
    return [(c.op, c.new if c.new is not None else c.old) for c in changes]
