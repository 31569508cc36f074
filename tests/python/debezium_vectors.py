"""Replays the Debezium test vectors (tests/vectors/debezium, from Debezium 3.6.1's
PostgreSQL connector) and turns their run-dependent fields into this replay's values,
by the comparison rule of the vectors' README: pair the capture's test_decoding rows
with the replay's by position, then map each LSN, xid and commit time found in the
records to the replay's value in the same row and role."""

import copy
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "debezium"
INDEX = json.loads((VECTORS / "vectors.json").read_text())
DATABASE = INDEX["database"]
PUBLICATION = INDEX["publication"]
VARIANTS = sorted(INDEX["variants"])

_COMMIT = re.compile(r"^COMMIT (\d+) \(at (.+)\)$")


def lsn_int(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _micros(timestamp: str) -> int:
    """test_decoding's commit time ("2026-12-04 15:55:49.96844+00", TimeZone UTC)."""
    text = timestamp.replace("+00", "+00:00")
    if "." in text:
        whole, rest = text.split(".", 1)
        fraction, zone = rest[:rest.index("+")], rest[rest.index("+"):]
        text = "%s.%s%s" % (whole, fraction.ljust(6, "0"), zone)
    dt = datetime.fromisoformat(text)
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def _normalized(data: str) -> str:
    """A row's text without what differs between runs (xids, commit times)."""
    data = re.sub(r"^(BEGIN|COMMIT) \d+", r"\1 X", data)
    return re.sub(r" \(at .+\)$", "", data)


@dataclass
class Replay:
    """The replay's rows paired with the capture's: maps from the capture's values."""

    lsns: Dict[int, int]
    xids: Dict[int, int]
    commit_micros: Dict[int, int]


def _add(mapping: Dict[int, int], captured: int, replayed: int, what: str) -> None:
    if mapping.setdefault(captured, replayed) != replayed:
        raise AssertionError("%s %d of the capture pairs with both %d and %d in the replay"
                             % (what, captured, mapping[captured], replayed))


def pair_rows(replayed: List[Dict[str, Any]]) -> Replay:
    lines = (VECTORS / INDEX["test_decoding"]).read_text().splitlines()
    captured = [json.loads(line) for line in lines if line.strip()]
    assert len(replayed) == len(captured), (
        "the replay decoded %d test_decoding rows, the capture %d" % (len(replayed), len(captured)))
    replay = Replay({}, {}, {})
    for i, (c, r) in enumerate(zip(captured, replayed)):
        assert _normalized(c["data"]) == _normalized(r["data"]), (
            "row %d differs:\ncapture: %s\nreplay:  %s" % (i, c["data"], r["data"]))
        _add(replay.lsns, lsn_int(c["lsn"]), lsn_int(r["lsn"]), "LSN")
        _add(replay.xids, c["xid"], r["xid"], "xid")
        mc, mr = _COMMIT.match(c["data"]), _COMMIT.match(r["data"])
        if mc and mr:
            _add(replay.commit_micros, _micros(mc.group(2)), _micros(mr.group(2)), "commit time")
    return replay


def _payload(value: Dict[str, Any]) -> Dict[str, Any]:
    return value["payload"] if "payload" in value and "schema" in value else value


def _map_source(source: Dict[str, Any], replay: Replay) -> None:
    source["lsn"] = replay.lsns[source["lsn"]]
    if source["txId"] is not None:
        source["txId"] = replay.xids[source["txId"]]
    us = replay.commit_micros[source["ts_us"]]
    source["ts_us"], source["ts_ms"], source["ts_ns"] = us, us // 1000, us * 1000
    last, this = json.loads(source["sequence"])
    last = None if last is None else str(replay.lsns[int(last)])
    source["sequence"] = json.dumps([last, str(replay.lsns[int(this)])], separators=(",", ":"))


def expected_records(variant: str, replay: Replay, tombstones: bool = True) -> List[Dict[str, Any]]:
    """The variant's records with the replay's LSNs, xids and commit times."""
    path = VECTORS / INDEX["variants"][variant]["records"]
    out = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["value"] is None:
            if tombstones:
                out.append(record)
            continue
        record = copy.deepcopy(record)
        _map_source(_payload(record["value"])["source"], replay)
        out.append(record)
    return out


# Fields any value of the same JSON type may take: processing time and build info.
FREE_FIELDS = ("the envelope's ts_ms, ts_us, ts_ns (processing time); source.version "
               "(pgcdc's version, not Debezium's)")


def _free_fields(record: Dict[str, Any]) -> Dict[str, Any]:
    """`record` with its free fields replaced by their JSON types."""
    record = copy.deepcopy(record)
    if record["value"] is None:
        return record
    payload = _payload(record["value"])
    for key in ("ts_ms", "ts_us", "ts_ns"):
        if key in payload:
            payload[key] = type(payload[key]).__name__
    payload["source"]["version"] = type(payload["source"]["version"]).__name__
    return record


def assert_records_equal(actual: List[Dict[str, Any]], expected: List[Dict[str, Any]]) -> None:
    """Record by record, field by field; JSON types count (1 is not 1.0)."""
    for i, (a, e) in enumerate(zip(actual, expected)):
        a, e = _free_fields(a), _free_fields(e)
        if _typed(a) != _typed(e):
            raise AssertionError("record %d (%s) differs:\n%s" % (i, e["topic"], _diff(a, e)))
    assert len(actual) == len(expected), (
        "%d records, expected %d; first extra or missing: %s" % (
            len(actual), len(expected),
            json.dumps((actual if len(actual) > len(expected) else expected)[
                min(len(actual), len(expected))])[:600]))


def _typed(value: Any) -> Any:
    """A JSON value where 1 and 1.0 and True differ when compared."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _diff(actual: Any, expected: Any, path: str = "") -> str:
    if isinstance(actual, dict) and isinstance(expected, dict):
        lines = []
        for key in sorted(set(actual) | set(expected)):
            if key not in actual:
                lines.append("%s.%s: missing (expected %s)"
                             % (path, key, json.dumps(expected[key])[:300]))
            elif key not in expected:
                lines.append("%s.%s: unexpected %s" % (path, key, json.dumps(actual[key])[:300]))
            else:
                sub = _diff(actual[key], expected[key], "%s.%s" % (path, key))
                if sub:
                    lines.append(sub)
        return "\n".join(lines)
    if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        return "\n".join(filter(None, (_diff(a, e, "%s[%d]" % (path, i))
                                       for i, (a, e) in enumerate(zip(actual, expected)))))
    if _typed(actual) == _typed(expected):
        return ""
    return "%s: %s, expected %s" % (path, json.dumps(actual)[:300], json.dumps(expected)[:300])


def statements(sql_file: str) -> List[str]:
    """The file's statements: each ends with ';' at the end of a line (vectors README)."""
    out, current = [], []
    for line in (VECTORS / sql_file).read_text().splitlines():
        if not current and (not line.strip() or line.startswith("--")):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(current))
            current = []
    return out


def cli_flags(variant: str) -> List[str]:
    return list(INDEX["variants"][variant]["cli"])


def python_args(variant: str) -> Dict[str, Any]:
    return dict(INDEX["variants"][variant]["python"])


def tombstones(variant: str) -> bool:
    flags = cli_flags(variant)
    return flags[flags.index("--debezium-tombstones") + 1] == "true"
