// Every supported PostgreSQL type through ChangeStream against a real PostgreSQL 15:
// each value is written with SQL, decoded by pgcdc and compared, as a compact
// rendering of the value (kind and exact contents; the protobuf form must agree), with an expected
// value that is written by hand or computed by the server (never by pgcdc's own formatters).
#include <charconv>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"
#include "integration/testing/stream_helpers.h"
#include "internal/strings.h"
#include "pgcdc/pgcdc.h"
#include "pgcdc/v1/change.pb.h"

namespace pgcdc::testing {
namespace {

using internal::Sv;

std::string Inf(Infinity infinity) { return infinity == Infinity::kPositive ? "+inf" : "-inf"; }
std::string Inf(v1::Infinity infinity) { return Inf(static_cast<Infinity>(infinity)); }

std::string ShowTimestamp(const char* kind, const Timestamp& t) {
  return absl::StrCat(kind,
                      t.infinity == Infinity::kFinite ? absl::StrCat(t.micros) : Inf(t.infinity));
}

std::string ShowFloat(double value) {  // shortest round-trip text: equal text <=> equal double
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return "float:" + std::string(buf, result.ptr);
}

std::string Show(const Value& v);

// Nested lists, one per dimension, from the row-major elements.
std::string ShowArrayLevel(const Array& a, int dimension, size_t* next) {
  std::string out = "[";
  for (int32_t i = 0; i < a.length(dimension); ++i) {
    if (i > 0) out += ", ";
    out += dimension + 1 < a.dimensions() ? ShowArrayLevel(a, dimension + 1, next)
                                          : Show(a[(*next)++]);
  }
  return out + "]";
}

// "kind:contents", e.g. int:1, num:1.50, text:"a\"b", tstz:1710074096123456,
// interval:14/3/14706500000 (months/days/micros), {23}[int:1, NULL]@0 (element type
// OID, then nested lists per dimension, then lower bounds after '@' when not all 1).
std::string Show(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNull:
      return "NULL";
    case ValueKind::kUnchangedToast:
      return "UNCHANGED";
    case ValueKind::kBool:
      return v.bool_value() ? "bool:t" : "bool:f";
    case ValueKind::kInt:
      return absl::StrCat("int:", v.int_value());
    case ValueKind::kFloat:
      return ShowFloat(v.float_value());
    case ValueKind::kNumeric:
      return absl::StrCat("num:", Sv(v.numeric_value()));
    case ValueKind::kText:
      return absl::StrCat("text:\"", absl::Utf8SafeCHexEscape(Sv(v.text_value())), "\"");
    case ValueKind::kBytes:
      return "bytes:" + absl::BytesToHexString(Sv(v.bytes_value()));
    case ValueKind::kDate:
      return absl::StrCat("date:", v.date_value().infinity == Infinity::kFinite
                                       ? absl::StrCat(v.date_value().days)
                                       : Inf(v.date_value().infinity));
    case ValueKind::kTime:
      return absl::StrCat("time:", v.time_value());
    case ValueKind::kTimeTz:
      return absl::StrCat("timetz:", v.timetz_value().micros, "@", v.timetz_value().offset_seconds);
    case ValueKind::kTimestamp:
      return ShowTimestamp("ts:", v.timestamp_value());
    case ValueKind::kTimestampTz:
      return ShowTimestamp("tstz:", v.timestamptz_value());
    case ValueKind::kInterval: {
      const Interval i = v.interval_value();
      if (i.infinity != Infinity::kFinite) return "interval:" + Inf(i.infinity);
      return absl::StrCat("interval:", i.months, "/", i.days, "/", i.micros);
    }
    case ValueKind::kUuid:
      return "uuid:" + absl::BytesToHexString(Sv(v.uuid_value()));
    case ValueKind::kJson:
      return absl::StrCat("json:", Sv(v.json_value()));
    case ValueKind::kArray: {
      const Array a = v.array_value();
      std::string out = absl::StrCat("{", a.element_type_oid(), "}");
      size_t next = 0;
      out += a.dimensions() == 0 ? "[]" : ShowArrayLevel(a, 0, &next);
      std::vector<int32_t> bounds;
      bool all_one = true;
      for (int d = 0; d < a.dimensions(); ++d) {
        bounds.push_back(a.lower_bound(d));
        all_one = all_one && a.lower_bound(d) == 1;
      }
      if (!all_one) absl::StrAppend(&out, "@", absl::StrJoin(bounds, ","));
      return out;
    }
    case ValueKind::kInet:
      return absl::StrCat("inet:", Sv(v.inet_value()));
    case ValueKind::kMacaddr:
      return absl::StrCat("mac:", Sv(v.macaddr_value()));
  }
  return "UNSET";
}

// The same rendering of the protobuf form (Change::ToProto), which nests one Array
// per dimension with the element type on every level.
std::string Show(const v1::Value& v, uint32_t enclosing_element_oid = 0) {
  using V = v1::Value;
  switch (v.kind_case()) {
    case V::kNull:
      return "NULL";
    case V::kUnchangedToast:
      return "UNCHANGED";
    case V::kBoolValue:
      return v.bool_value() ? "bool:t" : "bool:f";
    case V::kIntValue:
      return absl::StrCat("int:", v.int_value());
    case V::kFloatValue:
      return ShowFloat(v.float_value());
    case V::kNumericValue:
      return "num:" + v.numeric_value();
    case V::kTextValue:
      return absl::StrCat("text:\"", absl::Utf8SafeCHexEscape(v.text_value()), "\"");
    case V::kBytesValue:
      return "bytes:" + absl::BytesToHexString(v.bytes_value());
    case V::kDateValue:
      return absl::StrCat("date:", v.date_value().infinity() == v1::INFINITY_FINITE
                                       ? absl::StrCat(v.date_value().days())
                                       : Inf(v.date_value().infinity()));
    case V::kTimeValue:
      return absl::StrCat("time:", v.time_value());
    case V::kTimetzValue:
      return absl::StrCat("timetz:", v.timetz_value().micros(), "@",
                          v.timetz_value().offset_seconds());
    case V::kTimestampValue:
    case V::kTimestamptzValue: {
      const bool tz = v.kind_case() == V::kTimestamptzValue;
      const v1::Timestamp& t = tz ? v.timestamptz_value() : v.timestamp_value();
      return ShowTimestamp(tz ? "tstz:" : "ts:", {t.micros(), static_cast<Infinity>(t.infinity())});
    }
    case V::kIntervalValue: {
      const v1::Interval& i = v.interval_value();
      if (i.infinity() != v1::INFINITY_FINITE) return "interval:" + Inf(i.infinity());
      return absl::StrCat("interval:", i.months(), "/", i.days(), "/", i.micros());
    }
    case V::kUuidValue:
      return "uuid:" + absl::BytesToHexString(v.uuid_value());
    case V::kJsonValue:
      return "json:" + v.json_value();
    case V::kArrayValue: {
      const v1::Array& a = v.array_value();
      std::string out = a.element_type_oid() == enclosing_element_oid
                            ? "["
                            : absl::StrCat("{", a.element_type_oid(), "}[");
      for (int i = 0; i < a.elements_size(); ++i) {
        absl::StrAppend(&out, i == 0 ? "" : ", ", Show(a.elements(i), a.element_type_oid()));
      }
      out += "]";
      if (a.lower_bounds_size() > 0) {
        absl::StrAppend(&out, "@", absl::StrJoin(a.lower_bounds(), ","));
      }
      return out;
    }
    case V::kInetValue:
      return "inet:" + v.inet_value();
    case V::kMacaddrValue:
      return "mac:" + v.macaddr_value();
    default:
      return "UNSET";
  }
}

// One column: its SQL type, an SQL literal, and the expected Show() text. An expected
// text starting with "sql:" is an SQL expression the server evaluates instead, with $v
// standing for the literal cast to the type.
struct Case {
  std::string type;
  std::string literal;
  std::string expected;
};

std::string Sql(const std::string& expression) { return "sql:" + expression; }
// Microseconds since 1970-01-01 (UTC for timestamptz), computed by the server.
std::string Micros(const std::string& kind) {
  return Sql("'" + kind + ":' || (extract(epoch from $v) * 1000000)::bigint");
}
std::string Days() { return Sql("'date:' || ($v - date '1970-01-01')"); }

class TypesTest : public PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    slot_ = UniqueName("types");
    guard_ = std::make_unique<ReplicationSlotGuard>(slot_);
    db_ = dbname();
  }

  void Exec(const std::string& sql) {
    absl::Status s = pg().Exec(sql, db_);
    ASSERT_TRUE(s.ok()) << s << "\n" << sql;
  }

  // The single row of `select_list`, as text (NULL as "NULL").
  std::vector<std::string> SelectRow(const std::vector<std::string>& select_list) {
    auto rows = pg().Query("SELECT " + absl::StrJoin(select_list, ", "), db_);
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok() || rows->size() != 1) return std::vector<std::string>(select_list.size());
    std::vector<std::string> out;
    for (const auto& field : (*rows)[0]) out.push_back(field ? *field : "NULL");
    return out;
  }

  absl::StatusOr<ChangeStream> Open() {
    return ChangeStream::Open(MakeOptions(pg().Dsn(db_), slot_, "pub"));
  }

  // Table t (id int PRIMARY KEY, c0 <cases[0].type>, ...) after `setup`; inserts the
  // literals as row 1 and NULLs as row 2, streams both and checks every column: value,
  // type OID ('<type>'::regtype::oid), name, key flag.
  void Check(const std::vector<Case>& cases, const std::string& setup = "") {
    std::vector<std::string> columns = {"id int PRIMARY KEY"};
    std::vector<std::string> literals = {"1"};
    std::vector<std::string> nulls = {"2"};  // explicit: domains may have defaults
    std::vector<std::string> regtypes;
    std::vector<std::string> computed;  // the "sql:" expectations
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      columns.push_back(absl::StrCat("c", i, " ", c.type));
      literals.push_back(c.literal);
      nulls.push_back("NULL");
      regtypes.push_back("'" + absl::StrReplaceAll(c.type, {{"'", "''"}}) + "'::regtype::oid");
      if (c.expected.rfind("sql:", 0) == 0) {
        computed.push_back(
            absl::StrReplaceAll(c.expected.substr(4), {{"$v", "(" + c.literal + ")::" + c.type}}));
      }
    }
    ASSERT_NO_FATAL_FAILURE(Exec(setup + "CREATE TABLE t (" + absl::StrJoin(columns, ", ") +
                                 "); CREATE PUBLICATION pub FOR TABLE t;"));
    const std::vector<std::string> oids = SelectRow(regtypes);
    const std::vector<std::string> server_expected =
        computed.empty() ? std::vector<std::string>() : SelectRow(computed);
    absl::StatusOr<ChangeStream> stream = Open();
    ASSERT_TRUE(stream.ok()) << stream.status();
    ASSERT_NO_FATAL_FAILURE(Exec("INSERT INTO t VALUES (" + absl::StrJoin(literals, ", ") + ")"));
    ASSERT_NO_FATAL_FAILURE(Exec("INSERT INTO t VALUES (" + absl::StrJoin(nulls, ", ") + ")"));
    std::vector<Change> changes = ReadChanges(*stream, 2);
    ASSERT_EQ(changes.size(), 2u);
    for (int r = 0; r < 2; ++r) {
      const Row row = changes[r].new_row();
      const v1::Row proto = changes[r].ToProto().new_row();
      ASSERT_EQ(row.size(), cases.size() + 1) << ToJson(changes[r]);
      ASSERT_EQ(proto.columns_size(), static_cast<int>(row.size()));
      EXPECT_EQ(row[0].name(), "id");
      EXPECT_TRUE(row[0].key());
      EXPECT_EQ(Show(row[0].value()), absl::StrCat("int:", r + 1));
      size_t next_computed = 0;
      for (size_t i = 0; i < cases.size(); ++i) {
        const Case& c = cases[i];
        const Column column = row[i + 1];
        SCOPED_TRACE(absl::StrCat("row ", r + 1, " c", i, ": ", c.literal, "::", c.type));
        std::string expected = c.expected;
        if (expected.rfind("sql:", 0) == 0) expected = server_expected[next_computed++];
        EXPECT_EQ(Show(column.value()), r == 0 ? expected : "NULL");
        EXPECT_EQ(Show(proto.columns(static_cast<int>(i) + 1).value()), Show(column.value()));
        EXPECT_EQ(column.name(), absl::StrCat("c", i));
        EXPECT_FALSE(column.key());
        EXPECT_EQ(absl::StrCat(column.type_oid()), oids[i]);
      }
    }
    EXPECT_TRUE(stream->Close().ok());
  }

  std::string slot_;
  std::unique_ptr<ReplicationSlotGuard> guard_;
  std::string db_;  // the database the tests write to and stream from
};

TEST_F(TypesTest, BoolIntegersOid) {
  Check({
      {"bool", "true", "bool:t"},
      {"bool", "false", "bool:f"},
      {"int2", "-32768", "int:-32768"},
      {"int2", "32767", "int:32767"},
      {"int4", "-2147483648", "int:-2147483648"},
      {"int4", "2147483647", "int:2147483647"},
      {"int4", "0", "int:0"},
      {"int8", "-9223372036854775808", "int:-9223372036854775808"},
      {"int8", "9223372036854775807", "int:9223372036854775807"},
      {"oid", "0", "int:0"},
      {"oid", "4294967295", "int:4294967295"},
      {"xid", "'4294967295'", "int:4294967295"},
  });
}

TEST_F(TypesTest, FloatsNumericMoney) {
  const std::string huge = "1234567890123456789012345678901234567890";
  Check({
      {"float4", "'NaN'", "float:nan"},
      {"float4", "'Infinity'", "float:inf"},
      {"float4", "'-Infinity'", "float:-inf"},
      {"float4", "'-0'", "float:-0"},
      {"float4", "0.1", "float:0.1"},  // the double nearest the server's shortest text
      {"float4", "'3.4028235e+38'", "float:3.4028235e+38"},
      {"float4", "-1.5", "float:-1.5"},
      {"float8", "'NaN'", "float:nan"},
      {"float8", "'Infinity'", "float:inf"},
      {"float8", "'-Infinity'", "float:-inf"},
      {"float8", "'-0'", "float:-0"},
      {"float8", "0.1", "float:0.1"},
      {"float8", "0.1::float8 + 0.2::float8", "float:0.30000000000000004"},
      {"float8", "1e+100", "float:1e+100"},
      {"float8", "'1.7976931348623157e+308'", "float:1.7976931348623157e+308"},
      {"float8", "'5e-324'", "float:5e-324"},
      {"numeric", "0.000001000", "num:0.000001000"},
      {"numeric", huge + ".0123456789", "num:" + huge + ".0123456789"},
      {"numeric", "-" + huge, "num:-" + huge},
      {"numeric", "1e100", "num:1" + std::string(100, '0')},
      {"numeric", "1e-20", "num:0.00000000000000000001"},
      {"numeric", "-42.5", "num:-42.5"},
      {"numeric", "0", "num:0"},
      {"numeric", "'NaN'", "num:NaN"},
      {"numeric", "'Infinity'", "num:Infinity"},
      {"numeric", "'-Infinity'", "num:-Infinity"},
      {"numeric(12,2)", "1234567890.125", "num:1234567890.13"},
      {"numeric(12,2)", "-5", "num:-5.00"},
      {"money", "'$1,234.56'", "num:1234.56"},
      {"money", "'-$1,234.56'", "num:-1234.56"},
      {"money", "'0.05'", "num:0.05"},
      {"money", "92233720368547758.07", "num:92233720368547758.07"},
      {"money", "'-92233720368547758.08'", "num:-92233720368547758.08"},
  });
}

TEST_F(TypesTest, TextBinaryUuidJson) {
  Check({
      {"text", "E'tab\\there \"q\" ''s'' back\\\\slash\\nline ✓ é'",
       R"(text:"tab\there \"q\" \'s\' back\\slash\nline ✓ é")"},
      {"text", "''", R"(text:"")"},
      {"varchar(5)", "'abc'", R"(text:"abc")"},
      {"char(5)", "'ab'", R"(text:"ab   ")"},
      {"char", "'x'", R"(text:"x")"},  // char(1)
      {"name", "'a_name'", R"(text:"a_name")"},
      {"\"char\"", "'z'", R"(text:"z")"},
      {"bytea", "'\\x00ff0041'", "bytes:00ff0041"},
      {"bytea", "''", "bytes:"},
      {"bytea", "'abc'", "bytes:616263"},
      {"uuid", "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", "uuid:a0eebc999c0b4ef8bb6d6bb9bd380a11"},
      {"uuid", "'00000000-0000-0000-0000-000000000000'", "uuid:00000000000000000000000000000000"},
      {"json", R"('{"b": 1,   "a": [1, 2],
 "b": "dup"}')",
       R"(json:{"b": 1,   "a": [1, 2],
 "b": "dup"})"},
      {"json", "'null'", "json:null"},
      {"jsonb", R"('{"bb": 1.50,   "a": [1,2], "bb": "dup", "c": "\u00e9"}')",
       R"(json:{"a": [1, 2], "c": "é", "bb": "dup"})"},
      {"jsonb", "'\"just a string\"'", R"(json:"just a string")"},
  });
}

TEST_F(TypesTest, DatesAndTimes) {
  Check({
      {"date", "'2024-02-29'", "date:19782"},
      {"date", "'2024-02-29'", Days()},
      {"date", "'1970-01-01'", "date:0"},
      {"date", "'1969-12-31'", "date:-1"},
      {"date", "'0044-03-15 BC'", Days()},
      {"date", "'0001-01-01 BC'", Days()},
      {"date", "'4714-11-24 BC'", "date:-2440588"},  // Julian day 0, PostgreSQL's minimum
      {"date", "'10000-01-01'", "date:2932897"},
      {"date", "'10000-01-01'", Days()},
      {"date", "'5874897-12-31'", Days()},  // the maximum
      {"date", "'infinity'", "date:+inf"},
      {"date", "'-infinity'", "date:-inf"},
      {"time", "'00:00:00'", "time:0"},
      {"time", "'13:14:15.123456'", "time:47655123456"},
      {"time", "'00:00:00.5'", "time:500000"},
      {"time", "'24:00:00'", "time:86400000000"},
      {"timetz", "'12:34:56.789+05:30'", "timetz:45296789000@19800"},
      {"timetz", "'23:59:59.999999-03'", "timetz:86399999999@-10800"},
      {"timetz", "'01:02:03+05:30:15'", "timetz:3723000000@19815"},
      {"timetz", "'01:02:03-00:00:45'", "timetz:3723000000@-45"},
      {"timetz", "'24:00:00+00'", "timetz:86400000000@0"},
      {"timetz", "'00:00:00-15:59'", "timetz:0@-57540"},
      {"timestamp", "'2000-01-01 00:00:00'", "ts:946684800000000"},
      {"timestamp", "'2024-03-10 12:34:56.123456'", "ts:1710074096123456"},
      {"timestamp", "'2024-03-10 12:34:56.123456'", Micros("ts")},
      {"timestamp", "'1969-12-31 23:59:59.999999'", "ts:-1"},
      {"timestamp", "'0044-03-15 12:00:00.000001 BC'", Micros("ts")},
      {"timestamp", "'4714-11-24 00:00:00 BC'", "ts:-210866803200000000"},
      {"timestamp", "'10000-01-01 00:00:00'", Micros("ts")},
      {"timestamp", "'infinity'", "ts:+inf"},
      {"timestamp", "'-infinity'", "ts:-inf"},
      {"timestamptz", "'2024-03-10 18:04:56.123456+05:30'", "tstz:1710074096123456"},
      {"timestamptz", "'2024-03-10 18:04:56.123456+05:30'", Micros("tstz")},
      {"timestamptz", "'1999-12-31 19:00:00-05'", "tstz:946684800000000"},
      {"timestamptz", "'2024-06-01 08:00:00 America/New_York'", Micros("tstz")},
      {"timestamptz", "'1900-01-01 00:00:00+00:19:32'", Micros("tstz")},
      {"timestamptz", "'0044-03-15 12:00:00+01 BC'", Micros("tstz")},
      {"timestamptz", "'infinity'", "tstz:+inf"},
      {"timestamptz", "'-infinity'", "tstz:-inf"},
      {"interval", "'1 year 2 mons 3 days 04:05:06.5'", "interval:14/3/14706500000"},
      {"interval", "'-1 years -2 mons +3 days -04:05:06'", "interval:-14/3/-14706000000"},
      {"interval", "'-1 days +02:00:00'", "interval:0/-1/7200000000"},
      {"interval", "'1 mon'", "interval:1/0/0"},
      {"interval", "'0'", "interval:0/0/0"},
      {"interval", "'-0.000001 seconds'", "interval:0/0/-1"},
      {"interval", "'100 hours'", "interval:0/0/360000000000"},
      {"interval", "'P1Y2M3DT4H5M6.5S'", "interval:14/3/14706500000"},
      {"interval", "'-178000000 years'", "interval:-2136000000/0/0"},
      {"interval", "'2562047788:00:54.775807'", "interval:0/0/9223372036854775807"},
      {"interval", "'-178956970 years -8 mons'", "interval:-2147483648/0/0"},
      {"interval", "'-2147483648 days'", "interval:0/-2147483648/0"},
      {"interval", "interval '-2562047788:00:54.775807' - interval '00:00:00.000001'",
       "interval:0/0/-9223372036854775808"},  // PostgreSQL 15 cannot read this as text
  });
}

TEST_F(TypesTest, NetworkAddresses) {
  Check({
      {"inet", "'192.168.0.1/24'", "inet:192.168.0.1/24"},
      {"inet", "'10.0.0.1'", "inet:10.0.0.1"},
      {"inet", "'::1'", "inet:::1"},
      {"inet", "'2001:DB8::1/64'", "inet:2001:db8::1/64"},
      {"inet", "'::ffff:1.2.3.4'", "inet:::ffff:1.2.3.4"},
      {"cidr", "'10.0.0.0/8'", "inet:10.0.0.0/8"},
      {"cidr", "'192.168.1'", "inet:192.168.1.0/24"},
      {"cidr", "'2001:db8::/32'", "inet:2001:db8::/32"},
      {"macaddr", "'08:00:2B:01:02:03'", "mac:08:00:2b:01:02:03"},
      {"macaddr", "'0800.2b01.0203'", "mac:08:00:2b:01:02:03"},
      {"macaddr8", "'08:00:2b:01:02:03:04:05'", "mac:08:00:2b:01:02:03:04:05"},
      {"macaddr8", "'08:00:2b:01:02:03'", "mac:08:00:2b:ff:fe:01:02:03"},
  });
}

TEST_F(TypesTest, Arrays) {
  const std::string ts = "timestamptz '2024-03-10 18:04:56.123456+05:30'";
  Check({
      {"int4[]", "'{1,NULL,-3}'", "{23}[int:1, NULL, int:-3]"},
      {"text[]",
       R"(ARRAY['a"b', 'c,d', 'back\slash', '', 'NULL', NULL, ' sp ', '{x}', 'null', 'é'])",
       R"({25}[text:"a\"b", text:"c,d", text:"back\\slash", text:"", text:"NULL", NULL, )"
       R"(text:" sp ", text:"{x}", text:"null", text:"é"])"},
      {"int4[]", "'{{1,2},{3,NULL}}'", "{23}[[int:1, int:2], [int:3, NULL]]"},
      {"int8[]", "'{{{1}},{{2}}}'", "{20}[[[int:1]], [[int:2]]]"},
      {"numeric[]", "'{1.50,NaN,-Infinity,0.000001000}'",
       "{1700}[num:1.50, num:NaN, num:-Infinity, num:0.000001000]"},
      {"timestamptz[]", "ARRAY[" + ts + ", 'infinity', NULL]",
       Sql("format('{1184}[tstz:%s, tstz:+inf, NULL]', (extract(epoch from " + ts +
           ") * 1000000)::bigint)")},
      {"uuid[]", "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}'",
       "{2950}[uuid:a0eebc999c0b4ef8bb6d6bb9bd380a11, NULL]"},
      {"jsonb[]", R"(ARRAY['{"b": 1, "a": "x,y"}'::jsonb, '[1, "q\"uote"]', 'null'])",
       R"({3802}[json:{"a": "x,y", "b": 1}, json:[1, "q\"uote"], json:null])"},
      {"int4[]", "'[0:1]={1,2}'", "{23}[int:1, int:2]@0"},
      {"int4[]", "'[0:1][-1:0]={{1,2},{3,4}}'", "{23}[[int:1, int:2], [int:3, int:4]]@0,-1"},
      {"int4[]", "'[-2147483648:-2147483647]={1,2}'", "{23}[int:1, int:2]@-2147483648"},
      {"int4[]", "'{}'", "{23}[]"},
      {"text[]", "'{}'", "{25}[]"},
      {"bool[]", "'{t,f,NULL}'", "{16}[bool:t, bool:f, NULL]"},
      {"bytea[]", R"(ARRAY['\x00ff'::bytea, ''])", "{17}[bytes:00ff, bytes:]"},
      {"char(3)[]", "'{a,bc}'", R"({1042}[text:"a  ", text:"bc "])"},
      {"float8[]", "'{NaN,-0,1e+100,-Infinity}'",
       "{701}[float:nan, float:-0, float:1e+100, float:-inf]"},
      {"date[]", "'{2024-02-29,infinity,0044-03-15 BC}'",
       Sql("format('{1082}[date:19782, date:+inf, date:%s]', "
           "date '0044-03-15 BC' - date '1970-01-01')")},
      {"interval[]", "'{\"1 day\",\"-1 days +02:00:00\"}'",
       "{1186}[interval:0/1/0, interval:0/-1/7200000000]"},
      {"money[]", "'{$1.50,\"-$1,234.56\"}'", "{790}[num:1.50, num:-1234.56]"},
      {"inet[]", "'{10.0.0.1/8,::1}'", "{869}[inet:10.0.0.1/8, inet:::1]"},
      {"box[]", "'{(1,1),(0,0);(3,3),(2,2)}'",
       R"-({603}[text:"(1,1),(0,0)", text:"(3,3),(2,2)"])-"},
      {"box[]", "'{{(1,1),(0,0);(2,2),(1,1)};{(3,3),(2,2);(4,4),(3,3)}}'",
       R"-({603}[[text:"(1,1),(0,0)", text:"(2,2),(1,1)"], )-"
       R"-([text:"(3,3),(2,2)", text:"(4,4),(3,3)"]])-"},
      {"timetz[]", "'{12:00:00+05:30}'", "{1266}[timetz:43200000000@19800]"},
  });
}

TEST_F(TypesTest, EnumsDomainsCompositesAndOtherTypes) {
  Check(
      {
          {"mood", "'happy'", R"(text:"happy")"},
          {"mood", "'very \"happy\"'", R"(text:"very \"happy\"")"},
          {"mood[]", "'{sad,happy}'", R"(text:"{sad,happy}")"},
          {"price", "12.5", "num:12.50"},
          {"price_of_price", "'NaN'", "num:NaN"},
          {"int_list", "'{1,NULL,3}'", "{23}[int:1, NULL, int:3]"},
          {"at_time", "'2024-03-10 18:04:56.123456+05:30'", "tstz:1710074096123456"},
          {"pair", "ROW(1, 'x y')", R"-(text:"(1,\"x y\")")-"},
          {"information_schema.cardinal_number", "42", "int:42"},
          {"information_schema.time_stamp", "'2024-03-10 18:04:56.123456+05:30'",
           "tstz:1710074096120000"},  // timestamptz(2)
          {"point", "'(1.5,-2)'", R"-(text:"(1.5,-2)")-"},
          {"tsvector", "'fat cat a'", R"-(text:"\'a\' \'cat\' \'fat\'")-"},
          {"int4range", "'(1,10]'", R"-(text:"[2,11)")-"},
          {"int4multirange", "'{[1,3),[5,7)}'", R"(text:"{[1,3),[5,7)}")"},
          {"bit(4)", "B'1010'", R"(text:"1010")"},
          {"pg_lsn", "'16/B374D848'", R"(text:"16/B374D848")"},
          {"xml", "'<a>x</a>'", R"(text:"<a>x</a>")"},
      },
      "CREATE TYPE mood AS ENUM ('sad', 'happy', 'very \"happy\"');"
      "CREATE DOMAIN price AS numeric(10,2) CHECK (VALUE >= 0 OR VALUE = 'NaN');"
      "CREATE DOMAIN price_of_price AS price;"
      "CREATE DOMAIN int_list AS int4[];"
      "CREATE DOMAIN at_time AS timestamptz;"
      "CREATE TYPE pair AS (a int, b text);");
}

// OIDs written by hand for a few types, on top of Check's '<type>'::regtype comparison.
TEST_F(TypesTest, TypeOidsKeysAndOldKeyRow) {
  ASSERT_NO_FATAL_FAILURE(
      Exec("CREATE TYPE color AS ENUM ('red');"
           "CREATE TABLE k (a int, b timestamptz, c text, e color, n numeric, PRIMARY KEY (a, b));"
           "CREATE PUBLICATION pub FOR TABLE k;"));
  const std::vector<std::string> enum_oid = SelectRow({"'color'::regtype::oid"});
  absl::StatusOr<ChangeStream> stream = Open();
  ASSERT_TRUE(stream.ok()) << stream.status();
  Exec("INSERT INTO k VALUES (7, '2000-01-01 01:00:00+01', 'x', 'red', 1.0)");
  Exec("UPDATE k SET a = 8 WHERE a = 7");
  std::vector<Change> c = ReadChanges(*stream, 2);
  ASSERT_EQ(c.size(), 2u);
  const Row row = c[0].new_row();
  ASSERT_EQ(row.size(), 5u);
  const uint32_t oids[] = {23, 1184, 25, 0, 1700};
  const bool keys[] = {true, true, false, false, false};
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(row[i].name());
    if (oids[i] != 0) EXPECT_EQ(row[i].type_oid(), oids[i]);
    EXPECT_EQ(row[i].key(), keys[i]);
  }
  EXPECT_EQ(absl::StrCat(row[3].type_oid()), enum_oid[0]);
  EXPECT_GE(row[3].type_oid(), 16384u);
  EXPECT_EQ(Show(row[3].value()), R"(text:"red")");
  // The key change: the old row carries the key columns only, decoded the same way.
  ASSERT_EQ(c[1].old_row_kind(), OldRowKind::kKey);
  const Row old_row = c[1].old_row();
  ASSERT_EQ(old_row.size(), 2u);
  EXPECT_EQ(Show(old_row[0].value()), "int:7");
  EXPECT_EQ(Show(old_row[1].value()), "tstz:946684800000000");
  EXPECT_TRUE(old_row[0].key() && old_row[1].key());
  EXPECT_EQ(old_row[1].type_oid(), 1184u);
  EXPECT_EQ(Show(ValueOf(c[1].new_row(), "a")), "int:8");
}

// Settings that change the server's text output (DateStyle, IntervalStyle, TimeZone,
// extra_float_digits, bytea_output), set on the database so that the walsender would
// inherit them: pgcdc pins its own, so the decoded values do not change.
TEST_F(TypesTest, DatabaseOutputSettingsDoNotChangeValues) {
  const std::vector<std::string> settings = {"DateStyle = 'SQL, DMY'", "IntervalStyle = 'iso_8601'",
                                             "TimeZone = 'Asia/Kathmandu'",
                                             "extra_float_digits = -15", "bytea_output = 'escape'"};
  for (const std::string& setting : settings) {
    ASSERT_NO_FATAL_FAILURE(Exec("ALTER DATABASE " + db_ + " SET " + setting));
  }
  // New sessions on the database (walsenders included) start with them.
  EXPECT_EQ(SelectRow({"current_setting('DateStyle')", "current_setting('IntervalStyle')",
                       "current_setting('bytea_output')"}),
            (std::vector<std::string>{"SQL, DMY", "iso_8601", "escape"}));
  Check({
      {"date", "'2024-02-29'", "date:19782"},
      {"timestamp", "'2024-03-10 12:34:56.123456'", "ts:1710074096123456"},
      {"timestamptz", "'2024-03-10 18:04:56.123456+05:30'", "tstz:1710074096123456"},
      {"timetz", "'12:34:56.789+05:30'", "timetz:45296789000@19800"},
      {"interval", "'-1 days +02:00:00'", "interval:0/-1/7200000000"},
      {"float8", "0.1::float8 + 0.2::float8", "float:0.30000000000000004"},
      {"float4", "0.1", "float:0.1"},
      {"bytea", "'\\x00ff0041'", "bytes:00ff0041"},
      {"timestamptz[]", "ARRAY[timestamptz '2000-01-01 00:00:00+00']",
       "{1184}[tstz:946684800000000]"},
  });
}

// pgcdc asks for client_encoding UTF8: text from a LATIN1 database arrives as UTF-8.
TEST_F(TypesTest, Latin1DatabaseArrivesAsUtf8) {
  db_ = UniqueName("latin1");
  ASSERT_TRUE(pg().Exec("CREATE DATABASE " + db_ +
                        " ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
                  .ok());
  // The statements below are UTF-8; without this the server would read them as LATIN1.
  ASSERT_TRUE(pg().Exec("ALTER DATABASE " + db_ + " SET client_encoding = 'UTF8'").ok());
  Check(
      {
          {"text", "'café ÿ'", R"(text:"café ÿ")"},
          {"char(3)", "'é'", R"(text:"é  ")"},
          {"text[]", "'{é,\"a é\"}'", R"({25}[text:"é", text:"a é"])"},
          {"jsonb", R"('{"k": "é"}')", R"(json:{"k": "é"})"},
          {"word", "'né'", R"(text:"né")"},
      },
      "CREATE TYPE word AS ENUM ('né');");
}

}  // namespace
}  // namespace pgcdc::testing
