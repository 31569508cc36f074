"""json/jsonb values are converted by pgcdc's own parser (bindings/python/src/json_value.cc)
for speed; it must give exactly what json.loads gives, or leave the document to
json.loads. Compared here on hand-picked and generated documents."""

from __future__ import annotations

import json
import random
import struct
from typing import Any

import pytest

from pgcdc import _core


def identical(a: Any, b: Any) -> bool:
    """Same types, values, dict key order and float bits (iterative: documents nest
    deeper than Python's recursion limit)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if struct.pack("<d", x) != struct.pack("<d", y) and not (x != x and y != y):
                return False
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y))
        elif isinstance(x, dict):
            if list(x) != list(y):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif x != y:
            return False
    return True


def check(document: str) -> None:
    try:
        expected: Any = json.loads(document)
    except (ValueError, RecursionError) as e:
        with pytest.raises(type(e)):
            _core._json_loads(document.encode("utf-8", "surrogatepass"))
        return
    got = _core._json_loads(document.encode("utf-8", "surrogatepass"))
    assert identical(got, expected), (document, got, expected)


@pytest.mark.parametrize("document", [
    '{"a": [1, 2.5, null, true, false], "b": {"c": ""}}',
    '{"b": 1,   "a": [1, 2],\n "b": "dup"}',  # duplicate key: last value, first position
    ' \t\r\n[1] ', "[]", "{}", '""', "0", "-0", "-0.0", "1e400", "-1e400", "1e-400",
    "123456789012345678", "1234567890123456789", "-9223372036854775809",
    "123456789012345678901234567890", "0.1", "2.5e-3", "1E+2", "5e-324",
    '"\\u00e9\\u20ac\\ud83d\\ude00 \\" \\\\ \\/ \\b \\f \\n \\r \\t"', '"é€😀 raw"',
    '{"\\u006bey": 1, "key": 2}',  # escaped and plain spelling of the same key
    '"\\ud800"', '"\\udc00x"', '"\\ud800\\u0041"',  # lone surrogates (json.loads allows)
    "NaN", "Infinity", "-Infinity", "[NaN]",  # not JSON, accepted by json.loads
    '{"a": 1,}', "[1,]", '{"a" 1}', "[01]", "{a: 1}", "", "-", "1.", ".5", "1e", "tru",
    '"unterminated', '"tab\tinside"', "[1] x", '"\\x41"', '"\\u12"',
    "[" * 199 + "]" * 199, "[" * 201 + "]" * 201, "[" * 5000 + "]" * 5000,
    '{"big": ' + "9" * 5000 + "}",  # beyond int's digit limit: json.loads' ValueError
])
def test_same_as_json_loads(document: str) -> None:
    check(document)


def random_string(rng: random.Random) -> str:
    alphabet = "ab z\"\\/\b\f\n\r\t\x00\x1f\x7fé€😀\u2028"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(8)))


def random_number(rng: random.Random) -> Any:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randrange(-10**6, 10**6)
    if kind == 1:
        return rng.choice([1, -1]) * rng.randrange(10**17, 10**20)  # around the int64 path
    if kind == 2:
        return rng.randrange(-10**40, 10**40)
    if kind == 3:
        return struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
    return rng.uniform(-1e6, 1e6)


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 4 else 6)
    if kind == 0:
        return random_string(rng)
    if kind in (1, 2):
        return random_number(rng)
    if kind == 3:
        return rng.choice([True, False, None])
    if kind in (4, 5):
        return rng.choice(["k", "qty", "sku", random_string(rng)])
    if kind == 6:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {random_string(rng) if rng.random() < 0.5 else rng.choice(["a", "b", "c"]):
            random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_generated_documents_and_their_truncations() -> None:
    rng = random.Random(20261121)
    for _ in range(3000):
        value = random_value(rng)
        document = json.dumps(value, ensure_ascii=rng.random() < 0.5,
                              allow_nan=True,
                              separators=rng.choice([(",", ":"), (", ", ": "), (" ,", " : ")]))
        check(document)
        check(document[:rng.randrange(len(document) + 1)])  # mostly invalid
