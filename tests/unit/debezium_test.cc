// Debezium's record shapes on hand-built changes: the decimal bytes, the value forms
// the vectors (tests/python/test_debezium.py) do not cover, defaults, key changes.
#include "pgcdc/debezium.h"

#include <memory>
#include <string>
#include <string_view>

#include "debezium/decimal_bytes.h"
#include "debezium/field_type.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "pgcdc/v1/change.pb.h"
#include "record/change_data.h"
#include "unit/testing/change_from_proto.h"

namespace pgcdc::internal {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(DecimalBytesTest, BigEndianTwosComplementInTheFewestBytes) {
  // BigInteger.valueOf(n).toByteArray() for each.
  EXPECT_EQ(DecimalUnscaledBytes("12345.678", 3), Bytes({0x00, 0xbc, 0x61, 0x4e}));
  EXPECT_EQ(DecimalUnscaledBytes("-0.500", 3), Bytes({0xfe, 0x0c}));
  EXPECT_EQ(DecimalUnscaledBytes("0", 2), Bytes({0x00}));
  EXPECT_EQ(DecimalUnscaledBytes("-0.00", 2), Bytes({0x00}));
  EXPECT_EQ(DecimalUnscaledBytes("127", 0), Bytes({0x7f}));
  EXPECT_EQ(DecimalUnscaledBytes("128", 0), Bytes({0x00, 0x80}));
  EXPECT_EQ(DecimalUnscaledBytes("-128", 0), Bytes({0x80}));
  EXPECT_EQ(DecimalUnscaledBytes("-129", 0), Bytes({0xff, 0x7f}));
  EXPECT_EQ(DecimalUnscaledBytes("-256", 0), Bytes({0xff, 0x00}));
  EXPECT_EQ(DecimalUnscaledBytes("-32768", 0), Bytes({0x80, 0x00}));
  EXPECT_EQ(DecimalUnscaledBytes("65535", 0), Bytes({0x00, 0xff, 0xff}));
}

TEST(DecimalBytesTest, RescalesLikeSetScaleHalfEven) {
  EXPECT_EQ(DecimalUnscaledBytes("1.5", 2), Bytes({0x00, 150}));  // padded
  EXPECT_EQ(DecimalUnscaledBytes("1.25", 1), Bytes({12}));        // half to even
  EXPECT_EQ(DecimalUnscaledBytes("1.35", 1), Bytes({14}));
  EXPECT_EQ(DecimalUnscaledBytes("1.251", 1), Bytes({13}));    // above half
  EXPECT_EQ(DecimalUnscaledBytes("9.99", 1), Bytes({100}));    // carries
  EXPECT_EQ(DecimalUnscaledBytes("12300", -2), Bytes({123}));  // numeric(5,-2)
  EXPECT_EQ(DecimalUnscaledBytes(".5", 1), Bytes({5}));
  EXPECT_EQ(DecimalUnscaledBytes("NaN", 2), std::nullopt);
  EXPECT_EQ(DecimalUnscaledBytes("Infinity", 0), std::nullopt);
  EXPECT_EQ(DecimalUnscaledBytes("1e5", 0), std::nullopt);
  EXPECT_EQ(DecimalScale("123.4500"), 4);
  EXPECT_EQ(DecimalScale("-42"), 0);
}

TEST(DebeziumJsonTest, DoublesAlwaysReadBackAsFloatingPoint) {
  auto json = [](double v) {
    std::string out;
    AppendJsonDouble(v, &out);
    return out;
  };
  EXPECT_EQ(json(1), "1.0");
  EXPECT_EQ(json(-42), "-42.0");
  EXPECT_EQ(json(3.141592653589793), "3.141592653589793");
  EXPECT_EQ(json(-1e-300), "-1e-300");
  EXPECT_EQ(json(1e300), "1e+300");
  EXPECT_EQ(json(std::nan("")), "\"NaN\"");
  EXPECT_EQ(json(-HUGE_VAL), "\"-Infinity\"");
}

RelationInfo::Column Col(uint32_t type_oid, int32_t type_modifier = -1) {
  RelationInfo::Column c;
  c.name = "v";
  c.type_oid = type_oid;
  c.decode_oid = type_oid;
  c.type_modifier = type_modifier;
  return c;
}

std::string ValuePayload(const RelationInfo::Column& column, std::string_view value_text_proto,
                         DebeziumOptions options = {}) {
  v1::Value value;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(value_text_proto), &value));
  const Change change = ChangeWithValue(value);
  std::string out;
  AppendFieldValue(MapColumn(column, options), change.new_row()[0].value(), &out);
  return out;
}

TEST(DebeziumValueTest, TimesByPrecisionMode) {
  DebeziumOptions connect;
  connect.time = DebeziumTime::kConnect;
  // One microsecond before the epoch: milliseconds round down, as Java's toEpochMilli.
  EXPECT_EQ(ValuePayload(Col(1114, 3), "timestamp_value { micros: -1 }"), "-1");
  EXPECT_EQ(ValuePayload(Col(1114), "timestamp_value { micros: -1 }"), "-1");
  EXPECT_EQ(ValuePayload(Col(1114), "timestamp_value { micros: 1500 }", connect), "1");
  EXPECT_EQ(ValuePayload(Col(1083, 2), "time_value: 47655123456"), "47655123");
  EXPECT_EQ(ValuePayload(Col(1083), "time_value: 47655123456"), "47655123456");
  EXPECT_EQ(ValuePayload(Col(1083), "time_value: 47655123456", connect), "47655123");
  // timestamptz: UTC, as many fraction digits as the column's precision.
  EXPECT_EQ(ValuePayload(Col(1184), "timestamptz_value { micros: -1 }"),
            "\"1969-12-31T23:59:59.999999Z\"");
  EXPECT_EQ(ValuePayload(Col(1184, 3), "timestamptz_value { micros: 1500 }"),
            "\"1970-01-01T00:00:00.001Z\"");
  EXPECT_EQ(ValuePayload(Col(1184, 0), "timestamptz_value { micros: 0 }"),
            "\"1970-01-01T00:00:00Z\"");
  EXPECT_EQ(ValuePayload(Col(1184), "timestamptz_value { infinity: INFINITY_POSITIVE }"),
            "\"infinity\"");
  // timetz: in UTC, wrapping around midnight.
  EXPECT_EQ(ValuePayload(Col(1266), "timetz_value { micros: 3600000000 offset_seconds: 7200 }"),
            "\"23:00:00Z\"");
}

TEST(DebeziumValueTest, IntervalsCountAMonthAsThirtyPointFourThreeSevenFiveDays) {
  EXPECT_EQ(ValuePayload(Col(1186), "interval_value { months: 14 days: 3 micros: 14706789000 }"),
            "37091106789000");
  EXPECT_EQ(ValuePayload(Col(1186), "interval_value { months: -1 }"), "-2629800000000");
}

TEST(DebeziumValueTest, NumericsByDecimalMode) {
  DebeziumOptions as_string;
  as_string.decimal = DebeziumDecimal::kString;
  DebeziumOptions as_double;
  as_double.decimal = DebeziumDecimal::kDouble;
  const RelationInfo::Column fixed = Col(1700, ((10 << 16) | 2) + 4);
  EXPECT_EQ(ValuePayload(fixed, "numeric_value: \"-0.01\""), "\"/w==\"");
  EXPECT_EQ(ValuePayload(fixed, "numeric_value: \"NaN\""), "null");
  EXPECT_EQ(ValuePayload(fixed, "numeric_value: \"-0.01\"", as_string), "\"-0.01\"");
  EXPECT_EQ(ValuePayload(fixed, "numeric_value: \"7\"", as_double), "7.0");
  EXPECT_EQ(ValuePayload(Col(1700), "numeric_value: \"-42\""), R"({"scale":0,"value":"1g=="})");
  EXPECT_EQ(ValuePayload(Col(1700), "numeric_value: \"0.000001\""),
            R"({"scale":6,"value":"AQ=="})");
}

TEST(DebeziumDefaultTest, ReadsLiteralsAndGeneratedPlaceholders) {
  auto with_default = [](RelationInfo::Column c, std::string expression) {
    c.default_expression = std::move(expression);
    return DefaultJson(MapColumn(c, {}), c);
  };
  EXPECT_EQ(with_default(Col(1043, 20), "'new'::character varying"), "\"new\"");
  EXPECT_EQ(with_default(Col(21), "3"), "3");
  EXPECT_EQ(with_default(Col(23), "'-1'::integer"), "-1");
  EXPECT_EQ(with_default(Col(20), "nextval('audit_log_seq_seq'::regclass)"), "0");
  EXPECT_EQ(with_default(Col(16), "true"), "true");
  EXPECT_EQ(with_default(Col(1700, ((10 << 16) | 2) + 4), "1.5"), "\"AJY=\"");
  EXPECT_EQ(with_default(Col(25), "NULL::text"), std::nullopt);
  EXPECT_EQ(with_default(Col(1184), "now()"), std::nullopt);  // no mapper read here
  EXPECT_EQ(with_default(Col(790), "'1.00'::money"), std::nullopt);
  EXPECT_EQ(with_default(Col(1700), "1.5"), std::nullopt);  // a struct cannot be a default
  RelationInfo::Column required = Col(25);
  EXPECT_EQ(RequiredFallbackJson(MapColumn(required, {}), required), "\"\"");
}

v1::Change ParseChange(std::string_view text) {
  v1::Change change;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(text), &change)) << text;
  return change;
}

TEST(DebeziumEncoderTest, KeyChangeIsADeleteAndACreate) {
  const Change change = ChangeFromProto(ParseChange(R"pb(
    op: OPERATION_UPDATE
    schema: "public"
    table: "t"
    new_row {
      columns {
        name: "id"
        type_oid: 23
        key: true
        value { int_value: 10 }
      }
      columns {
        name: "name"
        type_oid: 25
        value { text_value: "a" }
      }
    }
    old_row {
      columns {
        name: "id"
        type_oid: 23
        key: true
        value { int_value: 1 }
      }
    }
    old_row_kind: OLD_ROW_KIND_KEY
    lsn: 100
    commit_lsn: 200
    end_lsn: 300
    xid: 7
    commit_time_us: 1000000
  )pb"));
  DebeziumOptions options;
  options.schemas = false;
  absl::StatusOr<std::vector<DebeziumRecord>> records = DebeziumEncoder(options).Encode(change);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].topic, "pgcdc.public.t");
  EXPECT_EQ((*records)[0].key, R"({"id":1})");
  EXPECT_TRUE((*records)[0].is_delete);
  EXPECT_NE((*records)[0].value.find(R"("before":{"id":1,"name":null},"after":null)"),
            std::string::npos)
      << (*records)[0].value;
  EXPECT_EQ((*records)[1].key, R"({"id":10})");
  EXPECT_NE((*records)[1].value.find(R"("op":"c")"), std::string::npos);
  EXPECT_NE((*records)[1].value.find(R"("txId":7,"lsn":100,)"), std::string::npos);
  EXPECT_EQ(ToJsonLine(Tombstone((*records)[0])),
            R"({"topic":"pgcdc.public.t","key":{"id":1},"value":null})");
}

TEST(DebeziumEncoderTest, TruncatesAreSkippedAsDebeziumDoes) {
  const Change change =
      ChangeFromProto(ParseChange(R"pb(
        op: OPERATION_TRUNCATE schema: "public" table: "t"
      )pb"));
  absl::StatusOr<std::vector<DebeziumRecord>> records = DebeziumEncoder({}).Encode(change);
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());
}

TEST(DebeziumEncoderTest, ParsesTheModes) {
  EXPECT_EQ(*ParseDebeziumDecimal("double"), DebeziumDecimal::kDouble);
  EXPECT_EQ(*ParseDebeziumTime("connect"), DebeziumTime::kConnect);
  EXPECT_FALSE(ParseDebeziumDecimal("exact").ok());
  EXPECT_FALSE(ParseDebeziumTime("micro").ok());
}

}  // namespace
}  // namespace pgcdc::internal
