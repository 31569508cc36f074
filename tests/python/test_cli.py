"""The pgcdc command line, driven from Python as a user would: subprocess, JSON lines.

Each test writes to its own database on the session's private PostgreSQL (see
conftest.py) and reads what `pgcdc stream` prints. Runs end deterministically with
--stop-at-lsn (the position after the writes) wherever the test allows it; --idle-timeout
is only used where "nothing more" is the point.
"""

from __future__ import annotations

import calendar
import json
import re
import signal
import subprocess
import tempfile
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import pytest

if TYPE_CHECKING:
    from conftest import PgEnv

Change = Dict[str, Any]

LSN_RE = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")
ID_RE = re.compile(r"^[0-9A-F]{16}-[0-9A-F]{8}$")
UTC_TIME_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$")
CLI_TIMEOUT = 60


# --------------------------------------------------------------------------- helpers


def run_cli(cli: str, *args: str, timeout: float = CLI_TIMEOUT,
            text: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([cli, *args], capture_output=True, text=text, timeout=timeout)


def parse_lines(stdout: str) -> List[Change]:
    assert stdout == "" or stdout.endswith("\n"), "output does not end with a newline"
    return [json.loads(line) for line in stdout.splitlines()]


def stream_args(env: PgEnv, slot: str, *extra: str, publication: str = "pub") -> List[str]:
    return ["stream", "--dsn", env.dsn, "--slot", slot, "--publication", publication, *extra]


def stream(cli: str, env: PgEnv, *extra: str, slot: Optional[str] = None,
           publication: str = "pub") -> List[Change]:
    """Runs `pgcdc stream` to its end (exit 0 expected) and parses its JSON lines."""
    r = run_cli(cli, *stream_args(env, slot or env.slot, *extra, publication=publication))
    assert r.returncode == 0, "pgcdc stream exited %d: %s" % (r.returncode, r.stderr)
    changes = parse_lines(r.stdout)
    # The summary on stderr agrees with what was printed.
    rows = sum(c["op"] in ("insert", "update", "delete") for c in changes)
    assert "pgcdc stream: %d row changes; confirmed up to " % rows in r.stderr, r.stderr
    return changes


def create_slot(cli: str, env: PgEnv, slot: Optional[str] = None,
                publication: str = "pub") -> str:
    """Creates the slot through the CLI (it idles out after 0.2 s with nothing to print)."""
    slot = slot or env.slot
    assert stream(cli, env, "--create-slot", "--idle-timeout", "0.2", slot=slot,
                  publication=publication) == []
    assert env.sql("SELECT plugin, slot_type FROM pg_replication_slots "
                   "WHERE slot_name = '%s'" % slot) == [("pgoutput", "logical")]
    return slot


def slot_confirmed_lsn(env: PgEnv, slot: str) -> str:
    return env.scalar("SELECT confirmed_flush_lsn FROM pg_replication_slots "
                      "WHERE slot_name = '%s'" % slot)  # type: ignore[return-value]


def lsn_value(text: str) -> int:
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def wait_slot_inactive(env: PgEnv, slot: str, timeout: float = 10) -> None:
    """A killed client's walsender notices the closed socket shortly after; until then
    the server refuses a second consumer of the slot."""
    deadline = time.monotonic() + timeout
    while env.scalar("SELECT active FROM pg_replication_slots "
                     "WHERE slot_name = '%s'" % slot) != "f":
        assert time.monotonic() < deadline, "slot %s still active after %ss" % (slot, timeout)
        time.sleep(0.02)


def check_common_fields(changes: Sequence[Change]) -> None:
    """Fields every change has, whatever its operation."""
    ids = [c["id"] for c in changes]
    assert len(set(ids)) == len(ids), "ids are not unique"
    for c in changes:
        assert ID_RE.match(c["id"]), c["id"]
        for key in ("lsn", "commit_lsn", "end_lsn"):
            assert LSN_RE.match(c[key]), (key, c[key])
        assert lsn_value(c["commit_lsn"]) < lsn_value(c["end_lsn"])
        assert isinstance(c["xid"], int) and c["xid"] > 0
        m = UTC_TIME_RE.match(c["commit_time"])
        assert m, c["commit_time"]
        committed = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
        assert abs(committed - time.time()) < 300, c["commit_time"]  # just now, in UTC


# --------------------------------------------------------------------------- stream


def test_insert_update_delete_have_exact_typed_values(pgcdc_cli: str, pg_env: PgEnv) -> None:
    pg_env.sql("""
        CREATE TABLE t (id bigint PRIMARY KEY, amount numeric, score float8,
                        at timestamptz, tags text[], ints int[], doc jsonb, blob bytea,
                        note text, flag bool);
        CREATE PUBLICATION pub FOR TABLE t;""")
    create_slot(pgcdc_cli, pg_env)
    pg_env.sql(r"""
        INSERT INTO t VALUES (1, 12345678901234567890.123456789, 1.5,
            '2024-03-05 14:45:00.123456+01', ARRAY['a', NULL, 'b c'], '{1,NULL,3}',
            '{"k": [1, 2.5, "x"], "n": null}', '\xdeadbeef00', NULL, true);
        UPDATE t SET score = 'NaN', tags = '{}', doc = '[1, "two", {"three": 3}]',
                     note = E'he said "hi"\n', flag = false, amount = '-0.000000001'
            WHERE id = 1;
        DELETE FROM t WHERE id = 1;""")
    changes = stream(pgcdc_cli, pg_env, "--stop-at-lsn", pg_env.current_lsn())

    assert [c["op"] for c in changes] == ["insert", "update", "delete"]
    check_common_fields(changes)
    assert len({c["xid"] for c in changes}) == 3  # three autocommit transactions
    for c in changes:
        assert (c["schema"], c["table"], c["ordinal"]) == ("public", "t", 0)
        assert c["unchanged"] == []
    insert, update, delete = changes
    assert insert["new"] == {
        "id": 1,
        "amount": "12345678901234567890.123456789",  # exact, as a string
        "score": 1.5,
        "at": "2024-03-05T13:45:00.123456Z",         # UTC, microseconds kept
        "tags": ["a", None, "b c"],
        "ints": [1, None, 3],
        "doc": {"k": [1, 2.5, "x"], "n": None},      # jsonb inlined, not a string
        "blob": "\\xdeadbeef00",                     # bytea in PostgreSQL's hex form
        "note": None,
        "flag": True,
    }
    assert (insert["old"], insert["old_kind"]) == (None, None)
    assert update["new"] == {
        "id": 1,
        "amount": "-0.000000001",
        "score": "NaN",
        "at": "2024-03-05T13:45:00.123456Z",
        "tags": [],
        "ints": [1, None, 3],
        "doc": [1, "two", {"three": 3}],
        "blob": "\\xdeadbeef00",
        "note": 'he said "hi"\n',
        "flag": False,
    }
    assert (update["old"], update["old_kind"]) == (None, None)  # key unchanged
    assert (delete["new"], delete["old"], delete["old_kind"]) == (None, {"id": 1}, "key")
    # Positions increase in commit order.
    ends = [lsn_value(c["end_lsn"]) for c in changes]
    assert ends == sorted(ends)


def test_unchanged_toast_column_is_listed_and_left_out_not_null(
        pgcdc_cli: str, pg_env: PgEnv) -> None:
    pg_env.sql("""
        CREATE TABLE docs (id int PRIMARY KEY, body text, title text);
        ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
        CREATE PUBLICATION pub FOR TABLE docs;""")
    create_slot(pgcdc_cli, pg_env)
    pg_env.sql("""
        INSERT INTO docs VALUES (1, repeat('0123456789abcdef', 12500), 'first');
        UPDATE docs SET title = 'second' WHERE id = 1;
        UPDATE docs SET body = repeat('x', 200000), title = 'third' WHERE id = 1;""")
    # The 200 kB value really lives out of line (EXTERNAL: uncompressed TOAST).
    assert pg_env.scalar("SELECT pg_relation_size(reltoastrelid) >= 200000 FROM pg_class "
                         "WHERE relname = 'docs'") == "t"
    changes = stream(pgcdc_cli, pg_env, "--stop-at-lsn", pg_env.current_lsn())

    assert [c["op"] for c in changes] == ["insert", "update", "update"]
    check_common_fields(changes)
    insert, untouched, rewritten = changes
    assert insert["new"] == {"id": 1, "body": "0123456789abcdef" * 12500, "title": "first"}
    assert insert["unchanged"] == []
    # The server did not resend the value: unknown, so listed and absent, never null.
    assert untouched["unchanged"] == ["body"]
    assert untouched["new"] == {"id": 1, "title": "second"}
    assert "body" not in untouched["new"]
    assert rewritten["unchanged"] == []
    assert rewritten["new"] == {"id": 1, "body": "x" * 200000, "title": "third"}


def test_stop_at_lsn_then_resume_prints_exactly_the_rest(pgcdc_cli: str,
                                                         pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, v text); "
               "CREATE PUBLICATION pub FOR TABLE t;")
    create_slot(pgcdc_cli, pg_env)
    pg_env.sql("INSERT INTO t VALUES (1, 'a');"
               "INSERT INTO t VALUES (2, 'b'), (3, 'c'), (4, 'd');")
    first_stop = pg_env.current_lsn()
    pg_env.sql("BEGIN; INSERT INTO t VALUES (5, 'e'); UPDATE t SET v = 'A' WHERE id = 1; "
               "COMMIT; DELETE FROM t WHERE id = 2;")
    second_stop = pg_env.current_lsn()

    first = stream(pgcdc_cli, pg_env, "--stop-at-lsn", first_stop)
    assert [(c["op"], c["new"]["id"]) for c in first] == [
        ("insert", 1), ("insert", 2), ("insert", 3), ("insert", 4)]
    assert [c["ordinal"] for c in first] == [0, 0, 1, 2]
    assert all(lsn_value(c["end_lsn"]) <= lsn_value(first_stop) for c in first)
    # What was printed was acknowledged: the slot moved past it.
    assert lsn_value(slot_confirmed_lsn(pg_env, pg_env.slot)) >= lsn_value(first[-1]["end_lsn"])

    rest = stream(pgcdc_cli, pg_env, "--stop-at-lsn", second_stop)
    assert [(c["op"], (c["new"] or c["old"])["id"]) for c in rest] == [
        ("insert", 5), ("update", 1), ("delete", 2)]
    assert rest[0]["xid"] == rest[1]["xid"] != rest[2]["xid"]
    check_common_fields(first + rest)

    # Everything was acknowledged: an idle run prints nothing.
    assert stream(pgcdc_cli, pg_env, "--idle-timeout", "0.5") == []


def test_change_ids_are_stable_when_redelivered_after_sigkill(pgcdc_cli: str,
                                                               pg_env: PgEnv) -> None:
    rows = 50000
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, v text); "
               "CREATE PUBLICATION pub FOR TABLE t;")
    create_slot(pgcdc_cli, pg_env)
    pg_env.sql("INSERT INTO t VALUES (0, 'acknowledged before')")
    assert [c["new"]["id"] for c in stream(pgcdc_cli, pg_env, "--stop-at-lsn",
                                           pg_env.current_lsn())] == [0]
    # One large transaction: the CLI acknowledges only after flushing stdout (idle for
    # 100 ms, or every 4096 changes); reading a few lines and then not reading keeps it
    # blocked on the pipe, well inside the transaction, until it is killed.
    pg_env.sql("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, %d) g" % rows)
    pg_env.sql("INSERT INTO t VALUES (%d, 'after')" % (rows + 1))
    end = pg_env.current_lsn()

    seen = 25
    with tempfile.TemporaryFile() as stderr, subprocess.Popen(
            [pgcdc_cli, *stream_args(pg_env, pg_env.slot, "--idle-timeout", "30")],
            stdout=subprocess.PIPE, stderr=stderr) as proc:
        watchdog = threading.Timer(CLI_TIMEOUT, proc.kill)
        watchdog.start()
        try:
            assert proc.stdout is not None
            killed_run = []
            for _ in range(seen):
                line = proc.stdout.readline()
                assert line.endswith(b"\n"), "pgcdc stream ended early (exit %s)" % proc.poll()
                killed_run.append(json.loads(line))
            proc.send_signal(signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL  # it was still running
        finally:
            watchdog.cancel()
    assert [c["new"]["id"] for c in killed_run] == list(range(1, seen + 1))
    assert [c["ordinal"] for c in killed_run] == list(range(seen))
    big_commit = killed_run[0]["commit_lsn"]
    assert all(c["commit_lsn"] == big_commit for c in killed_run)
    # Nothing of the large transaction was confirmed to the server.
    wait_slot_inactive(pg_env, pg_env.slot)
    assert lsn_value(slot_confirmed_lsn(pg_env, pg_env.slot)) < lsn_value(
        killed_run[0]["end_lsn"])

    again = stream(pgcdc_cli, pg_env, "--stop-at-lsn", end)
    # Delivered again from the start of that transaction, with the same ids (and the
    # same everything else), then the rest, each change once.
    assert again[:seen] == killed_run
    assert len(again) == rows + 1
    assert [c["new"]["id"] for c in again] == list(range(1, rows + 2))
    assert all(c["commit_lsn"] == big_commit for c in again[:rows])
    assert [c["ordinal"] for c in again[:rows]] == list(range(rows))
    assert len({c["id"] for c in again}) == rows + 1
    assert again[-1]["commit_lsn"] != big_commit
    # Now it is acknowledged.
    assert stream(pgcdc_cli, pg_env, "--idle-timeout", "0.3") == []


# --------------------------------------------------------------------------- protobuf


def read_varint(data: bytes, pos: int) -> Tuple[int, int]:
    value = shift = 0
    while True:
        assert pos < len(data), "truncated varint"
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        assert shift < 64, "varint longer than 10 bytes"


def split_length_delimited(data: bytes) -> List[bytes]:
    messages = []
    pos = 0
    while pos < len(data):
        size, pos = read_varint(data, pos)
        assert pos + size <= len(data), "message runs past the end of the output"
        messages.append(data[pos:pos + size])
        pos += size
    return messages


def parse_fields(message: bytes) -> Dict[int, List[Any]]:
    """Protobuf wire format without the runtime: field number -> values (varints as
    int, length-delimited as bytes, fixed64/fixed32 as bytes)."""
    fields: Dict[int, List[Any]] = {}
    pos = 0
    while pos < len(message):
        key, pos = read_varint(message, pos)
        number, wire_type = key >> 3, key & 7
        assert number > 0, "field number 0"
        if wire_type == 0:
            value, pos = read_varint(message, pos)
        elif wire_type == 2:
            size, pos = read_varint(message, pos)
            value, pos = message[pos:pos + size], pos + size
            assert pos <= len(message), "truncated field"
        elif wire_type in (1, 5):
            width = 8 if wire_type == 1 else 4
            value, pos = message[pos:pos + width], pos + width
        else:
            raise AssertionError("unexpected wire type %d" % wire_type)
        fields.setdefault(number, []).append(value)
    return fields


def one(fields: Dict[int, List[Any]], number: int, default: Any = None) -> Any:
    values = fields.get(number, [])
    assert len(values) <= 1, (number, values)
    return values[0] if values else default


# pgcdc.v1.Change field numbers and Operation values (proto/pgcdc/v1/change.proto).
CHANGE_ID, CHANGE_OP, CHANGE_SCHEMA, CHANGE_TABLE, CHANGE_NEW_ROW = 1, 2, 3, 4, 5
CHANGE_LSN, CHANGE_COMMIT_LSN, CHANGE_END_LSN, CHANGE_XID, CHANGE_ORDINAL = 8, 9, 10, 11, 13
OPERATIONS = {1: "insert", 2: "update", 3: "delete", 4: "truncate", 5: "message", 6: "read"}


def lsn_text(value: int) -> str:
    return "%X/%X" % (value >> 32, value & 0xFFFFFFFF)


def _output_failure_then_rest(pgcdc_cli: str, pg_env: PgEnv, stdout: Any) -> None:
    """Issue 11, defect 3: a failed write or flush fails the command and acknowledges
    nothing it could not write; the next run delivers every row."""
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION pub FOR TABLE t;")
    create_slot(pgcdc_cli, pg_env)
    before = slot_confirmed_lsn(pg_env, pg_env.slot)
    pg_env.sql("INSERT INTO t SELECT i, 'row' FROM generate_series(1, 50) i")
    stop = pg_env.current_lsn()
    # SIGPIPE ignored, as systemd starts services: the write fails with EPIPE instead.
    r = subprocess.run([pgcdc_cli, *stream_args(pg_env, pg_env.slot, "--stop-at-lsn", stop)],
                       stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=CLI_TIMEOUT,
                       restore_signals=False)
    assert r.returncode == 1, r.stderr
    assert "writing the output failed" in r.stderr, r.stderr
    assert slot_confirmed_lsn(pg_env, pg_env.slot) == before, "the slot moved past unwritten rows"
    rest = stream(pgcdc_cli, pg_env, "--stop-at-lsn", stop)
    assert [c["new"]["id"] for c in rest] == list(range(1, 51))


def test_full_disk_fails_the_command_without_acknowledging(pgcdc_cli: str,
                                                           pg_env: PgEnv) -> None:
    with open("/dev/full", "w") as full:
        _output_failure_then_rest(pgcdc_cli, pg_env, full)


def test_closed_pipe_fails_the_command_without_acknowledging(pgcdc_cli: str,
                                                             pg_env: PgEnv) -> None:
    import os
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: every write fails
    try:
        assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN  # inherited by the CLI
        _output_failure_then_rest(pgcdc_cli, pg_env, write_end)
    finally:
        os.close(write_end)


def test_protobuf_output_is_length_delimited_and_matches_json(pgcdc_cli: str,
                                                              pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, name text); "
               "CREATE PUBLICATION pub FOR TABLE t;")
    json_slot = create_slot(pgcdc_cli, pg_env, pg_env.new_slot_name())
    proto_slot = create_slot(pgcdc_cli, pg_env, pg_env.new_slot_name())
    # 200 rows make some messages and the framing of the larger one exceed 127 bytes
    # (multi-byte varints).
    pg_env.sql("""
        INSERT INTO t SELECT g, repeat('n', g) FROM generate_series(1, 200) g;
        UPDATE t SET name = 'renamed' WHERE id = 1;
        DELETE FROM t WHERE id = 2;
        SELECT pg_logical_emit_message(true, 'app', 'hello');""")
    stop = pg_env.current_lsn()

    as_json = stream(pgcdc_cli, pg_env, "--stop-at-lsn", stop, slot=json_slot)
    r = run_cli(pgcdc_cli, *stream_args(pg_env, proto_slot, "--format", "protobuf",
                                        "--stop-at-lsn", stop), text=False)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"pgcdc stream: 202 row changes" in r.stderr

    messages = split_length_delimited(r.stdout)
    assert len(messages) == len(as_json) == 203
    assert max(map(len, messages)) > 127
    assert [c["op"] for c in as_json] == ["insert"] * 200 + ["update", "delete", "message"]
    for message, change in zip(messages, as_json):
        fields = parse_fields(message)
        assert one(fields, CHANGE_ID).decode() == change["id"]
        assert OPERATIONS[one(fields, CHANGE_OP)] == change["op"]
        assert one(fields, CHANGE_SCHEMA, b"").decode() == change["schema"]
        assert one(fields, CHANGE_TABLE, b"").decode() == change["table"]
        assert lsn_text(one(fields, CHANGE_LSN, 0)) == change["lsn"]
        assert lsn_text(one(fields, CHANGE_COMMIT_LSN, 0)) == change["commit_lsn"]
        assert lsn_text(one(fields, CHANGE_END_LSN, 0)) == change["end_lsn"]
        assert one(fields, CHANGE_XID, 0) == change["xid"]
        assert one(fields, CHANGE_ORDINAL, 0) == change["ordinal"]
    # The first insert's new row: Row.columns (1) of Column{name (1), value (3)}, the
    # values int_value (4) and text_value (7).
    columns = [parse_fields(c) for c in parse_fields(one(parse_fields(messages[0]),
                                                         CHANGE_NEW_ROW))[1]]
    assert [one(c, 1).decode() for c in columns] == ["id", "name"]
    values = [parse_fields(one(c, 3)) for c in columns]
    assert (one(values[0], 4), one(values[1], 7)) == (1, b"n")
    assert as_json[0]["new"] == {"id": 1, "name": "n"}


# --------------------------------------------------------------------------- check


def test_check_reports_table_without_primary_key_with_fix(pgcdc_cli: str,
                                                          pg_env: PgEnv) -> None:
    pg_env.sql("""
        CREATE TABLE good (id int PRIMARY KEY);
        CREATE TABLE bad (v int);
        CREATE PUBLICATION okpub FOR TABLE good;
        CREATE PUBLICATION badpub FOR TABLE good, bad;""")
    ok = run_cli(pgcdc_cli, "check", "--dsn", pg_env.dsn, "--publication", "okpub")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "wal_level: logical" in ok.stdout
    assert ok.stdout.rstrip().endswith("ready for logical replication")

    bad = run_cli(pgcdc_cli, "check", "--dsn", pg_env.dsn, "--publication", "badpub")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    lines = bad.stdout.splitlines()
    problem = [i for i, line in enumerate(lines) if line.startswith("PROBLEM")]
    assert len(problem) == 1, bad.stdout
    assert "public.bad has no replica identity" in lines[problem[0]]
    fix = lines[problem[0] + 1].strip()
    assert fix.startswith("fix:") and "REPLICA IDENTITY FULL" in fix, bad.stdout
    assert lines[-1] == "1 problem(s) found"

    # Applying the fix (or adding a primary key) makes the check pass.
    pg_env.sql("ALTER TABLE bad REPLICA IDENTITY FULL")
    fixed = run_cli(pgcdc_cli, "check", "--dsn", pg_env.dsn, "--publication", "badpub")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "PROBLEM" not in fixed.stdout


# --------------------------------------------------------------------------- errors


def test_stream_missing_publication_exits_1_with_fix(pgcdc_cli: str, pg_env: PgEnv) -> None:
    r = run_cli(pgcdc_cli, *stream_args(pg_env, pg_env.slot, "--create-slot",
                                        publication="missing"))
    assert r.returncode == 1, r.stderr
    assert r.stdout == ""
    assert 'publication "missing" does not exist' in r.stderr
    assert "CREATE PUBLICATION" in r.stderr


def test_stream_missing_slot_exits_1_naming_create_slot(pgcdc_cli: str,
                                                        pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;")
    r = run_cli(pgcdc_cli, *stream_args(pg_env, pg_env.slot))
    assert r.returncode == 1, r.stderr
    assert r.stdout == ""
    assert 'replication slot "%s" does not exist' % pg_env.slot in r.stderr
    assert "--create-slot" in r.stderr
    assert pg_env.sql("SELECT 1 FROM pg_replication_slots") == []  # nothing was created


# Argument errors are found before connecting: this server is never reached.
UNREACHABLE_DSN = "postgresql://nobody@127.0.0.1:1/nothing"


@pytest.mark.parametrize("command, synopsis", [
    ("stream", "usage: pgcdc stream --dsn DSN --slot NAME --publication NAME [options]"),
    ("check", "usage: pgcdc check --dsn DSN"),
    ("demo", "usage: pgcdc demo"),
])
def test_every_command_answers_help(pgcdc_cli: str, command: str, synopsis: str) -> None:
    r = run_cli(pgcdc_cli, command, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(synopsis), r.stdout
    assert "--dsn" in r.stdout or command == "demo"
    assert "--format json|protobuf|debezium" in r.stdout or command == "check"


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "usage:"),
        (["frobnicate"], 'unknown command "frobnicate"'),
        (["stream", "--slot", "s", "--publication", "p"], "--dsn is required"),
        (["stream", "--dsn", UNREACHABLE_DSN, "--slot", "s", "--publication", "p", "--bogus"],
         "unknown option --bogus"),
        (["stream", "--dsn", UNREACHABLE_DSN, "--slot", "s", "--publication", "p",
          "--format", "xml"], '--format must be json, protobuf or debezium, not "xml"'),
        (["stream", "--dsn", UNREACHABLE_DSN, "--slot", "s", "--publication", "p",
          "--idle-timeout", "soon"],
         '--idle-timeout takes a duration (seconds, or 200us, 2ms, 30s, 5m), not "soon"'),
        (["stream", "--dsn", UNREACHABLE_DSN, "--slot", "s", "--publication", "p",
          "--max-bufered-bytes", "1"], "did you mean --max-buffered-bytes?"),
        (["stream", "--dsn", UNREACHABLE_DSN, "--slot"], "--slot needs a value"),
        (["stream", "--dsn", UNREACHABLE_DSN, "positional"], 'unexpected argument "positional"'),
        (["check"], "--dsn is required"),
        (["demo", "--format", "yaml"], '--format must be json, protobuf or debezium, not "yaml"'),
    ],
    ids=["no-command", "unknown-command", "no-dsn", "unknown-option", "bad-format",
         "bad-seconds", "misspelt-option", "missing-value", "positional", "check-no-dsn",
         "demo-bad-format"],
)
def test_bad_arguments_exit_2(pgcdc_cli: str, args: List[str], message: str) -> None:
    r = run_cli(pgcdc_cli, *args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert message in r.stderr
    assert r.stdout == ""


# --------------------------------------------------------------------------- demo


def test_demo_streams_eight_changes_from_its_own_server(pgcdc_cli: str) -> None:
    r = run_cli(pgcdc_cli, "demo", timeout=120)
    assert r.returncode == 0, r.stderr
    changes = parse_lines(r.stdout)
    assert [c["op"] for c in changes] == [
        "insert", "insert", "insert", "update", "update", "update", "delete", "message"]
    check_common_fields(changes)
    assert changes[0]["new"]["amount"] == "19.99"
    assert changes[0]["new"]["tags"] == ["book", "gift"]
    assert changes[0]["new"]["details"] == {"priority": "high"}
    assert changes[0]["new"]["placed_at"] == "2026-11-21T09:30:00.123456Z"
    assert changes[2]["new"]["tags"] == ["with space", None]
    assert changes[3]["new"]["amount"] == "39.98"
    # The large note, shortened for the terminal (the demo only), then left alone by
    # the next update: listed as unchanged, not null.
    assert changes[4]["new"]["note"] == "a long note " * 5 + "\u2026 (23940 more bytes)"
    assert max(map(len, r.stdout.splitlines())) < 1000
    assert changes[5]["new"]["customer"] == "Grace Hopper"
    assert changes[5]["unchanged"] == ["note"] and "note" not in changes[5]["new"]
    assert changes[6]["old"] == {"id": 3}
    assert changes[6]["xid"] == changes[7]["xid"]  # the message is in the delete's transaction
    assert (changes[7]["prefix"], changes[7]["content"], changes[7]["transactional"]) == (
        "demo", "order 3 cancelled", True)
    assert "stopping the private server" in r.stderr
