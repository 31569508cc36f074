"""Every PostgreSQL type pgcdc decodes, as the Python value a user gets: written with
SQL, streamed, and compared by type and value with an expectation written by hand (or
computed by the server, never by pgcdc)."""

from __future__ import annotations

import datetime
import math
import pickle
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any, List, Sequence, Tuple

import pytest
from pgcdc_helpers import open_stream, read

import pgcdc
from pgcdc import INFINITY, NEG_INFINITY, BoundedArray, Interval, OutOfRange

if TYPE_CHECKING:
    from conftest import PgEnv

UTC = datetime.timezone.utc
D = datetime.date
T = datetime.time
DT = datetime.datetime

# (SQL type, SQL literal, expected Python value)
Case = Tuple[str, str, Any]


def tz(seconds: int) -> datetime.timezone:
    return datetime.timezone(datetime.timedelta(seconds=seconds))


def same(a: Any, b: Any) -> bool:
    """Equal value and type, recursively; NaN equals NaN; -0.0 differs from 0.0;
    Decimal compared by text (1.50 is not 1.5)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, pgcdc.BoundedArray) and a.lower_bounds != b.lower_bounds:
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) ==
                                                     math.copysign(1, b))
    if isinstance(a, Decimal):
        return str(a) == str(b)
    if isinstance(a, (DT, T)):
        return a == b and a.tzinfo == b.tzinfo and a.utcoffset() == b.utcoffset()
    return bool(a == b)


def check(env: PgEnv, cases: Sequence[Case], setup: str = "") -> List[pgcdc.Change]:
    """Table t(id, c0 <type0>, ...): one row of the literals and one of NULLs; every
    column must come back as the expected value (then None)."""
    columns = ", ".join("c%d %s" % (i, c[0]) for i, c in enumerate(cases))
    env.sql(setup + "CREATE TABLE t (id int PRIMARY KEY, %s); CREATE PUBLICATION pub FOR TABLE t;"
            % columns)
    with open_stream(env, idle_timeout=2.0) as stream:
        env.sql("INSERT INTO t VALUES (1, %s); INSERT INTO t VALUES (2%s);" % (
            ", ".join(c[1] for c in cases), ", NULL" * len(cases)))
        changes = read(stream, 2)
    for i, (sql_type, literal, expected) in enumerate(cases):
        got = changes[0].new["c%d" % i]
        assert same(got, expected), "%s::%s: got %r (%s), expected %r (%s)" % (
            literal, sql_type, got, type(got).__name__, expected, type(expected).__name__)
        assert changes[1].new["c%d" % i] is None
    return changes


def days(env: PgEnv, date_literal: str) -> int:
    return int(env.scalar("SELECT date %s - date '1970-01-01'" % date_literal))


def micros(env: PgEnv, literal: str) -> int:
    return int(env.scalar("SELECT (extract(epoch FROM %s) * 1000000)::bigint" % literal))


def test_bool_integers_floats(pg_env: PgEnv) -> None:
    check(pg_env, [
        ("bool", "true", True),
        ("bool", "false", False),
        ("int2", "-32768", -32768),
        ("int4", "2147483647", 2147483647),
        ("int8", "-9223372036854775808", -9223372036854775808),
        ("int8", "9223372036854775807", 9223372036854775807),
        ("oid", "4294967295", 4294967295),
        ("float8", "'NaN'", math.nan),
        ("float8", "'Infinity'", math.inf),
        ("float8", "'-Infinity'", -math.inf),
        ("float8", "'-0'", -0.0),
        ("float8", "0.1::float8 + 0.2::float8", 0.30000000000000004),
        ("float8", "'5e-324'", 5e-324),
        ("float4", "0.1", 0.1),
        ("float4", "-1.5", -1.5),
    ])


def test_numeric_and_money_are_exact_decimals(pg_env: PgEnv) -> None:
    huge = "1234567890123456789012345678901234567890"
    check(pg_env, [
        ("numeric", "0.000001000", Decimal("0.000001000")),
        ("numeric", huge + ".0123456789", Decimal(huge + ".0123456789")),
        ("numeric", "-42.5", Decimal("-42.5")),
        ("numeric", "1e-20", Decimal("0.00000000000000000001")),
        ("numeric", "'NaN'", Decimal("NaN")),
        ("numeric", "'Infinity'", Decimal("Infinity")),
        ("numeric", "'-Infinity'", Decimal("-Infinity")),
        ("numeric(12,2)", "-5", Decimal("-5.00")),
        ("money", "'$1,234.56'", Decimal("1234.56")),
        ("money", "'-92233720368547758.08'", Decimal("-92233720368547758.08")),
    ])


def test_text_bytes_uuid_json(pg_env: PgEnv) -> None:
    u = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    changes = check(pg_env, [
        ("text", "E'tab\\there \"q\" ''s'' line\\n✓ é'", "tab\there \"q\" 's' line\n✓ é"),
        ("text", "''", ""),
        ("char(5)", "'ab'", "ab   "),
        ("varchar(5)", "'abc'", "abc"),
        ("bytea", "'\\x00ff0041'", b"\x00\xff\x00A"),
        ("bytea", "''", b""),
        ("uuid", "'%s'" % u.upper(), uuid.UUID(u)),
        ("uuid", "'00000000-0000-0000-0000-000000000000'", uuid.UUID(int=0)),
        # json keeps its text (json.loads: the last duplicate key wins); jsonb is
        # normalized by the server.
        ("json", "'{\"b\": 1,   \"a\": [1, 2],\n \"b\": \"dup\"}'", {"b": "dup", "a": [1, 2]}),
        ("json", "' [1, {\"x\": null}] '", [1, {"x": None}]),  # surrounding whitespace
        ("json", "' null '", pgcdc.JSON_NULL),  # the document null is not SQL NULL
        ("jsonb", "NULL", None),  # SQL NULL
        ("jsonb", "'{\"bb\": 1.50, \"a\": [1,2], \"c\": \"\\u00e9\"}'",
         {"a": [1, 2], "c": "é", "bb": 1.5}),
        ("jsonb", "'{\"n\": 123456789012345678901234567890}'",
         {"n": 123456789012345678901234567890}),
        ("jsonb", "'\"just a string\"'", "just a string"),
    ])
    value = changes[0].new["c6"]
    assert str(value) == u and value.version == 4 and value.is_safe == uuid.SafeUUID.unknown
    assert hash(value) == hash(uuid.UUID(u)) and pickle.loads(pickle.dumps(value)) == value
    assert {value: 1}[uuid.UUID(u)] == 1


def test_dates_and_times(pg_env: PgEnv) -> None:
    bc_days = days(pg_env, "'0044-03-15 BC'")
    bc_micros = micros(pg_env, "timestamp '0044-03-15 12:00:00.000001 BC'")
    bc_tz_micros = micros(pg_env, "timestamptz '0044-03-15 12:00:00+01 BC'")
    far_micros = micros(pg_env, "timestamp '10000-01-01 00:00:00'")
    check(pg_env, [
        ("date", "'2024-02-29'", D(2024, 2, 29)),
        ("date", "'0001-01-01'", D(1, 1, 1)),
        ("date", "'9999-12-31'", D(9999, 12, 31)),
        ("date", "'0044-03-15 BC'", OutOfRange("date", bc_days, "-0043-03-15")),
        ("date", "'10000-01-01'", OutOfRange("date", 2932897, "+10000-01-01")),
        ("date", "'infinity'", INFINITY),
        ("date", "'-infinity'", NEG_INFINITY),
        ("time", "'13:14:15.123456'", T(13, 14, 15, 123456)),
        ("time", "'00:00:00'", T(0, 0)),
        ("time", "'24:00:00'", OutOfRange("time", 86400000000, "24:00:00")),
        ("timetz", "'12:34:56.789+05:30'", T(12, 34, 56, 789000, tzinfo=tz(19800))),
        ("timetz", "'01:02:03-00:00:45'", T(1, 2, 3, tzinfo=tz(-45))),
        ("timetz", "'00:00:00-15:59'", T(0, 0, tzinfo=tz(-57540))),
        ("timetz", "'24:00:00+00'", OutOfRange("timetz", 86400000000, "24:00:00+00:00")),
        ("timestamp", "'2024-03-10 12:34:56.123456'", DT(2024, 3, 10, 12, 34, 56, 123456)),
        ("timestamp", "'0001-01-01 00:00:00'", DT(1, 1, 1)),
        ("timestamp", "'9999-12-31 23:59:59.999999'", DT(9999, 12, 31, 23, 59, 59, 999999)),
        ("timestamp", "'0044-03-15 12:00:00.000001 BC'",
         OutOfRange("timestamp", bc_micros, "-0043-03-15T12:00:00.000001")),
        ("timestamp", "'10000-01-01 00:00:00'",
         OutOfRange("timestamp", far_micros, "+10000-01-01T00:00:00")),
        ("timestamp", "'infinity'", INFINITY),
        ("timestamptz", "'2024-03-10 18:04:56.123456+05:30'",
         DT(2024, 3, 10, 12, 34, 56, 123456, tzinfo=UTC)),
        ("timestamptz", "'0001-01-01 00:00:00+00'", DT(1, 1, 1, tzinfo=UTC)),
        ("timestamptz", "'0044-03-15 12:00:00+01 BC'",
         OutOfRange("timestamptz", bc_tz_micros, "-0043-03-15T11:00:00Z")),
        ("timestamptz", "'-infinity'", NEG_INFINITY),
        ("interval", "'1 year 2 mons 3 days 04:05:06.5'", Interval(14, 3, 14706500000)),
        ("interval", "'-1 days +02:00:00'", Interval(0, -1, 7200000000)),
        ("interval", "'-178956970 years -8 mons'", Interval(-2147483648, 0, 0)),
        ("interval", "'2562047788:00:54.775807'", Interval(0, 0, 9223372036854775807)),
    ])


def test_timestamps_past_294247_ad_keep_the_server_text(pg_env: PgEnv) -> None:
    changes = check(pg_env, [
        ("timestamp", "'294276-12-31 23:59:59'",
         OutOfRange("timestamp", None, "294276-12-31 23:59:59")),
    ])
    assert changes[0].to_dict()["new"]["c0"] == "294276-12-31 23:59:59"


def test_out_of_range_text_is_the_cli_text(pg_env: PgEnv) -> None:
    changes = check(pg_env, [
        ("date", "'4714-11-24 BC'", OutOfRange("date", -2440588, "-4713-11-24")),
        ("timestamptz", "'5000-01-01 00:00:00+00'", DT(5000, 1, 1, tzinfo=UTC)),
        ("timestamptz", "'20000-06-01 10:00:00.5+00'",
         OutOfRange("timestamptz", micros(pg_env, "timestamptz '20000-06-01 10:00:00.5+00'"),
                    "+20000-06-01T10:00:00.5Z")),
    ])
    as_json = changes[0].to_dict()["new"]
    assert as_json["c0"] == changes[0].new["c0"].text
    assert as_json["c2"] == changes[0].new["c2"].text


def test_network_enum_domain_composite_and_other_types_as_text(pg_env: PgEnv) -> None:
    check(pg_env, [
        ("inet", "'192.168.0.1/24'", "192.168.0.1/24"),
        ("cidr", "'10.0.0.0/8'", "10.0.0.0/8"),
        ("inet", "'2001:DB8::1/64'", "2001:db8::1/64"),
        ("macaddr", "'08:00:2B:01:02:03'", "08:00:2b:01:02:03"),
        ("mood", "'happy'", "happy"),
        ("price", "12.5", Decimal("12.50")),
        ("pair", "ROW(1, 'x y')", '(1,"x y")'),
        ("int4range", "'(1,10]'", "[2,11)"),
        ("pg_lsn", "'16/B374D848'", "16/B374D848"),
        ("point", "'(1.5,-2)'", "(1.5,-2)"),
    ], setup="CREATE TYPE mood AS ENUM ('sad', 'happy');"
             "CREATE DOMAIN price AS numeric(10,2);"
             "CREATE TYPE pair AS (a int, b text);")


def test_arrays_are_nested_lists_of_typed_values(pg_env: PgEnv) -> None:
    u = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    check(pg_env, [
        ("int4[]", "'{1,NULL,-3}'", [1, None, -3]),
        ("int4[]", "'{{1,2},{3,NULL}}'", [[1, 2], [3, None]]),
        ("int8[]", "'{{{1}},{{2}}}'", [[[1]], [[2]]]),
        ("int4[]", "'{}'", []),
        ("int4[]", "'[0:1]={1,2}'", BoundedArray([1, 2], (0,))),
        ("text[]", "'[-2:-1][3:4]={{a,b},{c,NULL}}'",
         BoundedArray([["a", "b"], ["c", None]], (-2, 3))),
        ("int4[]", "'[1:2]={7,8}'", [7, 8]),  # explicit bounds of 1: a plain list
        ("text[]", "ARRAY['a\"b', 'c,d', '', 'NULL', NULL, '{x}', 'é']",
         ['a"b', "c,d", "", "NULL", None, "{x}", "é"]),
        ("numeric[]", "'{1.50,NaN,-Infinity}'",
         [Decimal("1.50"), Decimal("NaN"), Decimal("-Infinity")]),
        ("timestamptz[]", "ARRAY[timestamptz '2024-03-10 12:00:00+00', 'infinity', NULL]",
         [DT(2024, 3, 10, 12, tzinfo=UTC), INFINITY, None]),
        ("date[]", "'{2024-02-29,0044-03-15 BC}'",
         [D(2024, 2, 29), OutOfRange("date", days(pg_env, "'0044-03-15 BC'"), "-0043-03-15")]),
        ("uuid[]", "'{%s,NULL}'" % u, [uuid.UUID(u), None]),
        ("jsonb[]", "ARRAY['{\"a\": 1}'::jsonb, '[1, \"x\"]', 'null', NULL]",
         [{"a": 1}, [1, "x"], pgcdc.JSON_NULL, None]),
        ("bool[]", "'{t,f}'", [True, False]),
        ("bytea[]", "ARRAY['\\x00ff'::bytea]", [b"\x00\xff"]),
        ("interval[]", "'{\"1 day\"}'", [Interval(0, 1, 0)]),
        ("box[]", "'{(1,1),(0,0);(3,3),(2,2)}'", ["(1,1),(0,0)", "(3,3),(2,2)"]),
    ])


def test_sentinels_and_value_types() -> None:
    assert repr(pgcdc.UNCHANGED) == "pgcdc.UNCHANGED"
    assert pickle.loads(pickle.dumps(pgcdc.UNCHANGED)) is pgcdc.UNCHANGED
    assert pickle.loads(pickle.dumps(INFINITY)) is INFINITY
    assert pgcdc.UNCHANGED is not None and pgcdc.UNCHANGED != None  # noqa: E711
    # Infinity orders around every finite value and equals none of them.
    assert NEG_INFINITY < D(1, 1, 1) < D(9999, 12, 31) < INFINITY
    assert DT.max < INFINITY and DT.min > NEG_INFINITY
    assert INFINITY != DT.max and NEG_INFINITY != D.min and INFINITY != NEG_INFINITY
    assert sorted([INFINITY, D(2024, 1, 1), NEG_INFINITY]) == [NEG_INFINITY, D(2024, 1, 1),
                                                               INFINITY]
    far = OutOfRange("date", 2932897, "+10000-01-01")
    assert NEG_INFINITY < far < INFINITY and str(far) == "+10000-01-01"
    assert far != D(9999, 12, 31)
    # Intervals keep months apart from days.
    month = Interval(1, 0, 0)
    assert month != Interval(0, 30, 0)
    with pytest.raises(ValueError, match="month"):
        month.to_timedelta()
    assert month.to_timedelta(days_per_month=30) == datetime.timedelta(days=30)
    assert Interval(0, 1, 7200000000).to_timedelta() == datetime.timedelta(days=1, hours=2)
    assert str(Interval(14, 3, 14706500000)) == "P1Y2M3DT4H5M6.5S"
    assert str(Interval(0, 0, 0)) == "PT0S"
    # Lsn: an int that prints like PostgreSQL.
    lsn = pgcdc.Lsn("16/B374D848")
    assert lsn == 0x16B374D848 and str(lsn) == "16/B374D848" and repr(lsn) == "Lsn('16/B374D848')"
    assert pgcdc.Lsn("0/0") == 0 and pgcdc.Lsn(lsn) == lsn
    assert pickle.loads(pickle.dumps(lsn)) == lsn
    with pytest.raises(ValueError, match="expected PostgreSQL's form X/Y"):
        pgcdc.Lsn("16-B374D848")
    with pytest.raises(ValueError, match="between 0 and 2\\*\\*64"):
        pgcdc.Lsn(-1)


def test_bounded_array_keeps_the_bounds_in_equality_repr_and_pickle() -> None:
    a = BoundedArray([1, 2], (0,))
    assert isinstance(a, list) and list(a) == [1, 2] and a.lower_bounds == (0,)
    # As in PostgreSQL, where '[0:1]={1,2}' = '{1,2}' is false.
    assert a != [1, 2] and [1, 2] != a and not a == [1, 2]
    assert a != BoundedArray([1, 2], (5,))
    assert a == BoundedArray([1, 2], (0,))
    assert BoundedArray([1, 2], (1,)) == [1, 2]
    assert repr(a) == "BoundedArray([1, 2], lower_bounds=(0,))"
    b = pickle.loads(pickle.dumps(a))
    assert type(b) is BoundedArray and b == a and b.lower_bounds == (0,)



def test_columns_describe_the_table_with_type_modifiers(pg_env: PgEnv) -> None:
    pg_env.sql("CREATE TABLE t (id int PRIMARY KEY, price numeric(12,3), n numeric, "
               "name varchar(20) NOT NULL DEFAULT '', at timestamp(3), tz timestamptz);"
               "CREATE PUBLICATION pub FOR TABLE t;")
    with open_stream(pg_env, idle_timeout=0.5, describe_columns=True) as stream:
        pg_env.sql("INSERT INTO t (id, price) VALUES (1, 1.5); DELETE FROM t;"
                   "SELECT pg_logical_emit_message(true, 'p', 'x')")
        insert, delete, message = read(stream, 3)
    expected = (pgcdc.ColumnInfo("id", 23, -1, True, nullable=False, primary_key=True),
                pgcdc.ColumnInfo("price", 1700, (12 << 16 | 3) + 4, False),
                pgcdc.ColumnInfo("n", 1700, -1, False),
                pgcdc.ColumnInfo("name", 1043, 24, False, nullable=False),
                pgcdc.ColumnInfo("at", 1114, 3, False),
                pgcdc.ColumnInfo("tz", 1184, -1, False))
    assert insert.columns == expected
    # The delete's old row holds the key only; columns still describe the whole table.
    assert list(delete.old) == ["id"] and delete.columns == expected
    assert expected[1].numeric_precision_scale == (12, 3)
    assert expected[2].numeric_precision_scale is None  # unconstrained numeric
    assert message.columns is None
    # Without the catalog read, NOT NULL is unknown: every column says nullable.
    pg_env.sql("INSERT INTO t (id) VALUES (2)")
    with open_stream(pg_env, idle_timeout=0.5) as stream:
        (undescribed,) = read(stream, 1)
    assert [c.nullable for c in undescribed.columns] == [True] * 6
    assert [c.primary_key for c in undescribed.columns] == [False] * 6
    # With REPLICA IDENTITY FULL every column is part of the identity, one of the key.
    with open_stream(pg_env, slot=pg_env.new_slot_name(), idle_timeout=0.5,
                     describe_columns=True) as stream:
        pg_env.sql("ALTER TABLE t REPLICA IDENTITY FULL; UPDATE t SET n = 1 WHERE id = 2")
        (full,) = read(stream, 1)
    assert full.old_kind == "full"
    assert [(c.key, c.primary_key) for c in full.columns] == [(True, True)] + [(True, False)] * 5
