#include "values/value_decoder.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "pgcdc/v1/change.pb.h"
#include "record/change_data.h"
#include "record/change_proto.h"
#include "values/datetime_format.h"

namespace pgcdc::internal {
namespace {

using ::google::protobuf::TextFormat;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

// Decodes into a fresh ChangeData (after `other_values` unrelated slots and bytes, as
// for a later column of a row) and returns the protobuf form of the result. On failure
// `out` is cleared, and the ChangeData must be as before the call with a NULL slot.
absl::Status Decode(uint32_t oid, std::string_view text, v1::Value* out, int other_values = 0) {
  ChangeData data;
  for (int i = 0; i < other_values; ++i) {
    data.values.emplace_back();
    ValueWriter(&data, data.values.size() - 1).SetBytes(ValueKind::kText, "stale");
  }
  const size_t index = data.values.size();
  data.values.emplace_back();
  const size_t bytes_before = data.bytes.size();
  data.values[index].kind = ValueKind::kUnchangedToast;  // must be overwritten
  const absl::Status status = DecodeTextValue(oid, text, ValueWriter(&data, index));
  out->Clear();
  if (!status.ok()) {
    EXPECT_EQ(data.values.size(), index + 1) << "slots left behind";
    EXPECT_EQ(data.bytes.size(), bytes_before) << "bytes left behind";
    EXPECT_EQ(data.values[index].kind, ValueKind::kNull);
    return status;
  }
  ValueToProto(data.ValueAt(index), out);
  return status;
}

v1::Value ParseExpected(std::string_view text_proto) {
  v1::Value value;
  EXPECT_TRUE(TextFormat::ParseFromString(std::string(text_proto), &value)) << text_proto;
  return value;
}

struct DecodeCase {
  uint32_t oid;
  std::string_view text;
  std::string_view expected;  // text format of the v1::Value
};

void PrintTo(const DecodeCase& c, std::ostream* os) {
  *os << "oid " << c.oid << " \"" << c.text << "\"";
}

class DecodeTest : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(DecodeTest, DecodesToExpectedValue) {
  const DecodeCase& c = GetParam();
  v1::Value actual;
  const absl::Status status = Decode(c.oid, c.text, &actual);
  ASSERT_TRUE(status.ok()) << status;
  const v1::Value expected = ParseExpected(c.expected);
  EXPECT_TRUE(MessageDifferencer::Equals(expected, actual))
      << "expected: " << expected.ShortDebugString() << "\nactual:   " << actual.ShortDebugString();
}

// Values share their change's slot vector and byte buffer: a value decoded after
// others must point at its own bytes and elements.
TEST_P(DecodeTest, DecodesAfterOtherValuesOfTheChange) {
  const DecodeCase& c = GetParam();
  v1::Value actual;
  ASSERT_TRUE(Decode(c.oid, c.text, &actual, /*other_values=*/3).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(ParseExpected(c.expected), actual))
      << actual.ShortDebugString();
}

INSTANTIATE_TEST_SUITE_P(
    Scalars, DecodeTest,
    ::testing::ValuesIn(std::vector<DecodeCase>{
        {16, "t", "bool_value: true"},
        {16, "f", "bool_value: false"},
        {21, "32767", "int_value: 32767"},
        {21, "-32768", "int_value: -32768"},
        {23, "0", "int_value: 0"},
        {23, "-2147483648", "int_value: -2147483648"},
        {23, "2147483647", "int_value: 2147483647"},
        {20, "9223372036854775807", "int_value: 9223372036854775807"},
        {20, "-9223372036854775808", "int_value: -9223372036854775808"},
        {26, "4294967295", "int_value: 4294967295"},
        {28, "12345", "int_value: 12345"},
        {700, "0.1", "float_value: 0.1"},
        {700, "3.4028235e+38", "float_value: 3.4028235e+38"},
        {700, "1.5e-07", "float_value: 1.5e-07"},
        {700, "Infinity", "float_value: inf"},
        {701, "-Infinity", "float_value: -inf"},
        {701, "1e+100", "float_value: 1e+100"},
        {701, "5e-324", "float_value: 5e-324"},
        {701, "1.7976931348623157e+308", "float_value: 1.7976931348623157e+308"},
        {701, "-1.5", "float_value: -1.5"},
        {1700, "1.500", R"pb(numeric_value: "1.500")pb"},
        {1700, "-0.000001", R"pb(numeric_value: "-0.000001")pb"},
        {1700, "123456789012345678901234567890.123456789",
         R"pb(numeric_value: "123456789012345678901234567890.123456789")pb"},
        {1700, "0", R"pb(numeric_value: "0")pb"},
        {1700, "NaN", R"pb(numeric_value: "NaN")pb"},
        {1700, "Infinity", R"pb(numeric_value: "Infinity")pb"},
        {1700, "-Infinity", R"pb(numeric_value: "-Infinity")pb"},
        {790, "$1,234.56", R"pb(numeric_value: "1234.56")pb"},
        {790, "-$1,234.56", R"pb(numeric_value: "-1234.56")pb"},
        {790, "$0.00", R"pb(numeric_value: "0.00")pb"},
        {790, "-$0.01", R"pb(numeric_value: "-0.01")pb"},
        {790, "$999.99", R"pb(numeric_value: "999.99")pb"},
        {790, "-$92,233,720,368,547,758.08", R"pb(numeric_value: "-92233720368547758.08")pb"},
        {25, "hello", R"pb(text_value: "hello")pb"},
        {25, "", R"pb(text_value: "")pb"},
        {1043, "a varchar", R"pb(text_value: "a varchar")pb"},
        {1042, "ab  ", R"pb(text_value: "ab  ")pb"},
        {19, "pg_class", R"pb(text_value: "pg_class")pb"},
        {18, "x", R"pb(text_value: "x")pb"},
        {705, "literal", R"pb(text_value: "literal")pb"},
        {600, "(1,2)", R"pb(text_value: "(1,2)")pb"},
        {16384, "happy", R"pb(text_value: "happy")pb"},                  // a user enum
        {99999, "{not,an,array", R"pb(text_value: "{not,an,array")pb"},  // unknown OID
        {17, "\\x", R"pb(bytes_value: "")pb"},
        {17, "\\x00ff10", R"pb(bytes_value: "\x00\xff\x10")pb"},
        {17, "\\xDEADbeef", R"pb(bytes_value: "\xde\xad\xbe\xef")pb"},
        {2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
         R"pb(uuid_value: "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11")pb"},
        {114, R"({"b": 1,  "a" : [1,2]})", R"pb(json_value: "{\"b\": 1,  \"a\" : [1,2]}")pb"},
        {3802, R"({"a": 1, "b": [1, 2]})", R"pb(json_value: "{\"a\": 1, \"b\": [1, 2]}")pb"},
        {869, "10.0.0.5", R"pb(inet_value: "10.0.0.5")pb"},
        {869, "10.0.0.0/8", R"pb(inet_value: "10.0.0.0/8")pb"},
        {869, "::1", R"pb(inet_value: "::1")pb"},
        {869, "::ffff:1.2.3.4", R"pb(inet_value: "::ffff:1.2.3.4")pb"},
        {650, "2001:db8::/32", R"pb(inet_value: "2001:db8::/32")pb"},
        {829, "08:00:2b:01:02:03", R"pb(macaddr_value: "08:00:2b:01:02:03")pb"},
        {774, "08:00:2b:01:02:03:04:05", R"pb(macaddr_value: "08:00:2b:01:02:03:04:05")pb"},
    }));

// Expected day numbers were computed independently (Python's datetime, shifted by
// 400-year cycles for years outside 1..9999).
INSTANTIATE_TEST_SUITE_P(
    DateTime, DecodeTest,
    ::testing::ValuesIn(std::vector<DecodeCase>{
        {1082, "1970-01-01", "date_value { days: 0 }"},
        {1082, "2024-03-05", "date_value { days: 19787 }"},
        {1082, "2000-02-29", "date_value { days: 11016 }"},
        {1082, "1900-02-28", "date_value { days: -25509 }"},
        {1082, "0001-01-01", "date_value { days: -719162 }"},
        {1082, "0001-12-31 BC", "date_value { days: -719163 }"},
        {1082, "0001-02-29 BC", "date_value { days: -719469 }"},  // 1 BC (year 0) is leap
        {1082, "0044-03-15 BC", "date_value { days: -735160 }"},
        {1082, "4714-11-24 BC", "date_value { days: -2440588 }"},  // PostgreSQL's first day
        {1082, "10000-01-01", "date_value { days: 2932897 }"},
        {1082, "5874897-12-31", "date_value { days: 2145042905 }"},  // and its last
        {1082, "infinity", "date_value { infinity: INFINITY_POSITIVE }"},
        {1082, "-infinity", "date_value { infinity: INFINITY_NEGATIVE }"},
        {1083, "00:00:00", "time_value: 0"},
        {1083, "13:45:00", "time_value: 49500000000"},
        {1083, "13:45:00.5", "time_value: 49500500000"},
        {1083, "23:59:59.999999", "time_value: 86399999999"},
        {1083, "24:00:00", "time_value: 86400000000"},
        {1266, "13:45:00+05:30", "timetz_value { micros: 49500000000 offset_seconds: 19800 }"},
        {1266, "13:45:00.123456-03:30",
         "timetz_value { micros: 49500123456 offset_seconds: -12600 }"},
        {1266, "13:45:00-08", "timetz_value { micros: 49500000000 offset_seconds: -28800 }"},
        {1266, "00:00:00+00:53:28", "timetz_value { micros: 0 offset_seconds: 3208 }"},
        {1266, "24:00:00+00", "timetz_value { micros: 86400000000 }"},
        {1114, "1970-01-01 00:00:00", "timestamp_value { micros: 0 }"},
        {1114, "1969-12-31 23:59:59.999999", "timestamp_value { micros: -1 }"},
        {1114, "2024-03-05 13:45:00.123", "timestamp_value { micros: 1709646300123000 }"},
        {1114, "0044-03-15 12:00:00 BC", "timestamp_value { micros: -63517780800000000 }"},
        {1114, "10000-01-01 00:00:00", "timestamp_value { micros: 253402300800000000 }"},
        {1114, "294247-01-10 04:00:54.775807",
         "timestamp_value { micros: 9223372036854775807 }"},  // the last representable µs
        // Valid in PostgreSQL (up to 294276 AD) but past int64 µs since 1970: exact text.
        {1114, "294247-01-10 04:00:54.775808", R"pb(text_value: "294247-01-10 04:00:54.775808")pb"},
        {1184, "294276-12-31 23:59:59+00", R"pb(text_value: "294276-12-31 23:59:59+00")pb"},
        {1114, "infinity", "timestamp_value { infinity: INFINITY_POSITIVE }"},
        {1114, "-infinity", "timestamp_value { infinity: INFINITY_NEGATIVE }"},
        {1184, "2024-03-05 13:45:00.123+00", "timestamptz_value { micros: 1709646300123000 }"},
        {1184, "2024-03-05 19:15:00.123+05:30", "timestamptz_value { micros: 1709646300123000 }"},
        {1184, "2024-03-05 05:45:00.123-08", "timestamptz_value { micros: 1709646300123000 }"},
        {1184, "1900-01-01 00:53:28+00:53:28", "timestamptz_value { micros: -2208988800000000 }"},
        {1184, "0001-01-01 00:00:00+00 BC", "timestamptz_value { micros: -62167219200000000 }"},
        {1184, "infinity", "timestamptz_value { infinity: INFINITY_POSITIVE }"},
        {1184, "-infinity", "timestamptz_value { infinity: INFINITY_NEGATIVE }"},
        {1186, "00:00:00", "interval_value {}"},
        {1186, "1 year 2 mons 3 days 04:05:06.5",
         "interval_value { months: 14 days: 3 micros: 14706500000 }"},
        {1186, "-1 days +02:00:00", "interval_value { days: -1 micros: 7200000000 }"},
        {1186, "-00:00:00.000001", "interval_value { micros: -1 }"},
        {1186, "1 mon -3 days", "interval_value { months: 1 days: -3 }"},
        {1186, "1 day", "interval_value { days: 1 }"},
        {1186, "-1 years -2 mons +3 days -04:05:06",
         "interval_value { months: -14 days: 3 micros: -14706000000 }"},
        {1186, "100:00:00", "interval_value { micros: 360000000000 }"},
        {1186, "178000000 years", "interval_value { months: 2136000000 }"},
        {1186, "-178000000 years", "interval_value { months: -2136000000 }"},
        {1186, "-178956970 years -8 mons -2147483648 days",
         "interval_value { months: -2147483648 days: -2147483648 }"},
        {1186, "2562047788:00:54.775807", "interval_value { micros: 9223372036854775807 }"},
        {1186, "-2562047788:00:54.775808", "interval_value { micros: -9223372036854775808 }"},
        {1186, "infinity", "interval_value { infinity: INFINITY_POSITIVE }"},
        {1186, "-infinity", "interval_value { infinity: INFINITY_NEGATIVE }"},
    }));

INSTANTIATE_TEST_SUITE_P(
    Arrays, DecodeTest,
    ::testing::ValuesIn(std::vector<DecodeCase>{
        {1007, "{}", "array_value { element_type_oid: 23 }"},
        {1007, "{1,2,NULL}",
         "array_value { elements { int_value: 1 } elements { int_value: 2 } "
         "elements { null {} } element_type_oid: 23 }"},
        {1007, "{{1,2},{3,4}}",
         "array_value { element_type_oid: 23 "
         "elements { array_value { elements { int_value: 1 } elements { int_value: 2 } "
         "element_type_oid: 23 } } "
         "elements { array_value { elements { int_value: 3 } elements { int_value: 4 } "
         "element_type_oid: 23 } } }"},
        {1007, "{{{1},{2}},{{3},{NULL}}}",
         "array_value { element_type_oid: 23 elements { array_value { element_type_oid: 23 "
         "elements { array_value { elements { int_value: 1 } element_type_oid: 23 } } "
         "elements { array_value { elements { int_value: 2 } element_type_oid: 23 } } } } "
         "elements { array_value { element_type_oid: 23 "
         "elements { array_value { elements { int_value: 3 } element_type_oid: 23 } } "
         "elements { array_value { elements { null {} } element_type_oid: 23 } } } } }"},
        {1007, "[0:1]={1,2}",
         "array_value { elements { int_value: 1 } elements { int_value: 2 } "
         "lower_bounds: 0 element_type_oid: 23 }"},
        {1007, "[-2:-2][1:2]={{5,6}}",
         "array_value { elements { array_value { elements { int_value: 5 } "
         "elements { int_value: 6 } element_type_oid: 23 } } "
         "lower_bounds: -2 lower_bounds: 1 element_type_oid: 23 }"},
        {1007, "[1:2]={1,2}",  // all bounds 1: nothing to record
         "array_value { elements { int_value: 1 } elements { int_value: 2 } "
         "element_type_oid: 23 }"},
        {1007, "{ 1 , 2 }",
         "array_value { elements { int_value: 1 } elements { int_value: 2 } "
         "element_type_oid: 23 }"},
        {1009, R"({a,"b c","with \"quote\"","back\\slash",NULL,"NULL","",null,"{x}","a,b"})",
         R"pb(array_value {
                elements { text_value: "a" }
                elements { text_value: "b c" }
                elements { text_value: "with \"quote\"" }
                elements { text_value: "back\\slash" }
                elements { null {} }
                elements { text_value: "NULL" }
                elements { text_value: "" }
                elements { null {} }
                elements { text_value: "{x}" }
                elements { text_value: "a,b" }
                element_type_oid: 25
              })pb"},
        {1009, R"({a\,b})", R"pb(array_value {
                                   elements { text_value: "a,b" }
                                   element_type_oid: 25
                                 })pb"},
        {1009, R"({N\ULL})",  // an escaped unquoted NULL is the string, as in array_in
         R"pb(array_value {
                elements { text_value: "NULL" }
                element_type_oid: 25
              })pb"},
        {1015, "{x,y}",
         R"pb(array_value {
                elements { text_value: "x" }
                elements { text_value: "y" }
                element_type_oid: 1043
              })pb"},
        {1000, "{t,f,NULL}",
         "array_value { elements { bool_value: true } elements { bool_value: false } "
         "elements { null {} } element_type_oid: 16 }"},
        {1016, "{-9223372036854775808}",
         "array_value { elements { int_value: -9223372036854775808 } element_type_oid: 20 }"},
        {1022, "{1.5,-Infinity,-0}",
         "array_value { elements { float_value: 1.5 } elements { float_value: -inf } "
         "elements { float_value: -0 } element_type_oid: 701 }"},
        {1231, "{1.5,NaN,-2}",
         R"pb(array_value {
                elements { numeric_value: "1.5" }
                elements { numeric_value: "NaN" }
                elements { numeric_value: "-2" }
                element_type_oid: 1700
              })pb"},
        {1185, R"({"2024-03-05 13:45:00.123+00",infinity,NULL})",
         "array_value { elements { timestamptz_value { micros: 1709646300123000 } } "
         "elements { timestamptz_value { infinity: INFINITY_POSITIVE } } elements { null {} } "
         "element_type_oid: 1184 }"},
        {1182, R"({2024-03-05,"0044-03-15 BC"})",
         "array_value { elements { date_value { days: 19787 } } "
         "elements { date_value { days: -735160 } } element_type_oid: 1082 }"},
        {1187, R"({"1 day",-00:00:01})",
         "array_value { elements { interval_value { days: 1 } } "
         "elements { interval_value { micros: -1000000 } } element_type_oid: 1186 }"},
        {2951, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
         R"pb(array_value {
                elements {
                  uuid_value: "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11"
                }
                element_type_oid: 2950
              })pb"},
        {3807, R"({"{\"a\": 1}","[1, 2]"})",
         R"pb(array_value {
                elements { json_value: "{\"a\": 1}" }
                elements { json_value: "[1, 2]" }
                element_type_oid: 3802
              })pb"},
        {1001, R"({"\\x00ff",NULL})",
         R"pb(array_value {
                elements { bytes_value: "\x00\xff" }
                elements { null {} }
                element_type_oid: 17
              })pb"},
        {791, R"({"$1,234.56"})", R"pb(array_value {
                                         elements { numeric_value: "1234.56" }
                                         element_type_oid: 790
                                       })pb"},
        {1020, "{(1,1),(0,0);(3,3),(2,2)}",  // box arrays are ';'-delimited
         R"pb(array_value {
                elements { text_value: "(1,1),(0,0)" }
                elements { text_value: "(3,3),(2,2)" }
                element_type_oid: 603
              })pb"},
        {99998, "{1,2}", R"pb(text_value: "{1,2}")pb"},  // unknown array type: text
    }));

struct MalformedCase {
  uint32_t oid;
  std::string_view text;
};

void PrintTo(const MalformedCase& c, std::ostream* os) {
  *os << "oid " << c.oid << " \"" << c.text << "\"";
}

class MalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedTest, IsDataLoss) {
  const MalformedCase& c = GetParam();
  v1::Value value;
  value.set_text_value("previous");
  const absl::Status status = Decode(c.oid, c.text, &value);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("cannot decode "));
  EXPECT_EQ(value.kind_case(), v1::Value::KIND_NOT_SET) << value.ShortDebugString();
}

INSTANTIATE_TEST_SUITE_P(Scalars, MalformedTest,
                         ::testing::ValuesIn(std::vector<MalformedCase>{
                             {16, "true"},
                             {16, ""},
                             {16, "T"},
                             {16, "tt"},
                             {21, "32768"},
                             {21, "-32769"},
                             {23, "2147483648"},
                             {23, "1.0"},
                             {23, ""},
                             {23, " 1"},
                             {23, "1 "},
                             {23, "+1"},
                             {23, "abc"},
                             {23, "0x10"},
                             {20, "9223372036854775808"},
                             {26, "-1"},
                             {26, "4294967296"},
                             {28, ""},
                             {700, ""},
                             {700, "1e"},
                             {700, "inf"},
                             {700, "nan"},
                             {700, "Inf"},
                             {701, "1.5x"},
                             {701, "1e400"},
                             {701, "-NaN"},
                             {701, "+1"},
                             {701, " 1"},
                             {1700, "1.2.3"},
                             {1700, ""},
                             {1700, "1."},
                             {1700, ".5"},
                             {1700, "abc"},
                             {1700, "1e5"},
                             {1700, "--1"},
                             {1700, "NaNx"},
                             {1700, "-NaN"},
                             {1700, "1,000"},
                             {1700, "-"},
                             {790, "1234.56"},
                             {790, "$1234.56"},
                             {790, "$1,23.00"},
                             {790, "$1,234.5"},
                             {790, "$,123.00"},
                             {790, "-1,234.56"},
                             {790, "$-1.00"},
                             {790, "$1.000"},
                             {790, ""},
                             {790, "$"},
                             {790, "-$"},
                             {17, "00ff"},
                             {17, "\\x0"},
                             {17, "\\xzz"},
                             {17, "\\X00"},
                             {17, ""},
                             {17, "\\000"},
                             {2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1"},
                             {2950, "a0eebc999c0b4ef8bb6d6bb9bd380a11"},
                             {2950, "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
                             {2950, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 "},
                             {114, ""},
                             {3802, ""},
                             {869, "10.0.0.256"},
                             {869, "10.0.0.5/33"},
                             {869, "::1/129"},
                             {869, ""},
                             {869, "abc"},
                             {869, "10.0.0.5/"},
                             {869, "10.0.0.5/-1"},
                             {869, "10.0.0"},
                             {650, "10.0.0.0/8x"},
                             {829, "08:00:2b:01:02"},
                             {829, "08-00-2b-01-02-03"},
                             {829, "08:00:2b:01:02:0g"},
                             {774, "08:00:2b:01:02:03"},
                             {829, "08:00:2b:01:02:03:04:05"},
                         }));

INSTANTIATE_TEST_SUITE_P(DateTime, MalformedTest,
                         ::testing::ValuesIn(std::vector<MalformedCase>{
                             {1082, "2024-02-30"},
                             {1082, "2023-02-29"},
                             {1082, "1900-02-29"},
                             {1082, "2024-13-01"},
                             {1082, "2024-00-10"},
                             {1082, "2024-01-00"},
                             {1082, "2024-04-31"},
                             {1082, "0000-01-01"},
                             {1082, "0000-01-01 BC"},
                             {1082, "24-03-05"},
                             {1082, "2024-3-5"},
                             {1082, "2024-03-05 AD"},
                             {1082, "2024-03-05 BC "},
                             {1082, "2024-03-05BC"},
                             {1082, "infinite"},
                             {1082, "Infinity"},
                             {1082, "12345678-01-01"},
                             {1082, ""},
                             {1082, "2024-03-05 00:00:00"},
                             {1083, "25:00:00"},
                             {1083, "24:00:01"},
                             {1083, "24:00:00.000001"},
                             {1083, "13:60:00"},
                             {1083, "13:45:60"},
                             {1083, "13:45"},
                             {1083, "13:45:00.1234567"},
                             {1083, "13:45:00."},
                             {1083, "1:45:00"},
                             {1083, "13:45:00+00"},
                             {1083, ""},
                             {1266, "13:45:00"},
                             {1266, "13:45:00+5"},
                             {1266, "13:45:00+05:60"},
                             {1266, "13:45:00 +05"},
                             {1266, "13:45:00+05:30:"},
                             {1266, "13:45:00+24"},
                             {1114, "2024-03-05"},
                             {1114, "2024-03-05T13:45:00"},
                             {1114, "2024-03-05 24:00:00"},
                             {1114, "2024-03-05 13:45:00+00"},
                             {1114, "2024-03-05  13:45:00"},
                             {1184, "2024-03-05 13:45:00"},
                             {1184, "2024-03-05 13:45:00+00 AD"},
                             {1184, "2024-03-05 13:45:00Z"},
                             {1184, "2024-03-05 13:45:00 BC+00"},
                             {1186, ""},
                             {1186, "1 yearz"},
                             {1186, "1 day 1 year"},
                             {1186, "1 days 2 days"},
                             {1186, "1"},
                             {1186, "01:02"},
                             {1186, "1 day  02:00:00"},
                             {1186, "00:00:00 1 day"},
                             {1186, "99999999999 years"},
                             {1186, "178956971 years"},
                             {1186, "2147483648 days"},
                             {1186, "1 hour"},
                             {1186, "-"},
                             {1186, "00:60:00"},
                             {1186, "2562047788:00:54.775808"},
                             {1186, "@ 1 day"},
                             {1186, "P1D"},
                             {1186, "1 day "},
                             {1186, "Infinity"},
                         }));

INSTANTIATE_TEST_SUITE_P(Arrays, MalformedTest,
                         ::testing::ValuesIn(std::vector<MalformedCase>{
                             {1007, "{1,x}"},
                             {1007, "{1,2"},
                             {1007, "1,2}"},
                             {1007, "{1,,2}"},
                             {1007, "{{1,2},{3}}"},
                             {1007, "{{1,2},3}"},
                             {1007, "{1,{2}}"},
                             {1007, "{1}x"},
                             {1007, "[0:2]={1,2}"},
                             {1007, "[0:1]{1,2}"},
                             {1007, "[0:1][0:1]={1,2}"},
                             {1007, "[0:1]={{1},{2}}"},
                             {1007, R"({"1})"},
                             {1007, "{{}}"},
                             {1007, "{{{{{{{1}}}}}}}"},
                             {1007, ""},
                             {1007, R"({""})"},
                             {1007, "{1,}"},
                             {1007, "{,1}"},
                             {1007, "{}}"},
                             {1007, "{1\"2\"}"},
                             {1007, "[a:b]={1}"},
                             {1009, R"({"abc\})"},
                             {1009, "{a\\}"},
                             {1231, "{1.2.3}"},
                             {1185, "{2024-03-05}"},
                         }));

TEST(DecodeErrorTest, MessageNamesTypeAndValue) {
  v1::Value value;
  EXPECT_EQ(Decode(1700, "1.2.3", &value),
            absl::DataLossError("cannot decode numeric value \"1.2.3\""));
  EXPECT_EQ(Decode(1007, "{1,x}", &value),
            absl::DataLossError("cannot decode _int4 value \"{1,x}\""));
  EXPECT_EQ(Decode(23, "a\"b\n", &value),
            absl::DataLossError("cannot decode int4 value \"a\\\"b\\n\""));
}

TEST(DecodeErrorTest, LongValuesAreTruncated) {
  v1::Value value;
  const std::string text(1000, '7');
  EXPECT_EQ(Decode(23, text, &value),
            absl::DataLossError(absl::StrCat("cannot decode int4 value \"", std::string(64, '7'),
                                             "...\" (1000 bytes)")));
}

TEST(DecodeFloatTest, SpecialValues) {
  v1::Value value;
  ASSERT_TRUE(Decode(701, "NaN", &value).ok());
  EXPECT_TRUE(std::isnan(value.float_value()));
  ASSERT_TRUE(Decode(700, "NaN", &value).ok());
  EXPECT_TRUE(std::isnan(value.float_value()));
  ASSERT_TRUE(Decode(701, "-0", &value).ok());
  EXPECT_EQ(value.float_value(), 0.0);
  EXPECT_TRUE(std::signbit(value.float_value()));
  // float4 text is parsed as a double, so 0.1 stays 0.1 rather than 0.100000001490116.
  ASSERT_TRUE(Decode(700, "0.1", &value).ok());
  EXPECT_EQ(value.float_value(), 0.1);
}

TEST(BuiltinTypeOidByNameTest, KnowsEveryDecodedTypeAndItsArray) {
  const std::vector<std::pair<std::string_view, uint32_t>> expected = {
      {"bool", 16},
      {"_bool", 1000},
      {"bytea", 17},
      {"_bytea", 1001},
      {"char", 18},
      {"_char", 1002},
      {"name", 19},
      {"_name", 1003},
      {"int8", 20},
      {"_int8", 1016},
      {"int2", 21},
      {"_int2", 1005},
      {"int4", 23},
      {"_int4", 1007},
      {"text", 25},
      {"_text", 1009},
      {"oid", 26},
      {"_oid", 1028},
      {"xid", 28},
      {"_xid", 1011},
      {"json", 114},
      {"_json", 199},
      {"float4", 700},
      {"_float4", 1021},
      {"float8", 701},
      {"_float8", 1022},
      {"unknown", 705},
      {"money", 790},
      {"_money", 791},
      {"macaddr", 829},
      {"_macaddr", 1040},
      {"macaddr8", 774},
      {"_macaddr8", 775},
      {"inet", 869},
      {"_inet", 1041},
      {"cidr", 650},
      {"_cidr", 651},
      {"bpchar", 1042},
      {"_bpchar", 1014},
      {"varchar", 1043},
      {"_varchar", 1015},
      {"date", 1082},
      {"_date", 1182},
      {"time", 1083},
      {"_time", 1183},
      {"timestamp", 1114},
      {"_timestamp", 1115},
      {"timestamptz", 1184},
      {"_timestamptz", 1185},
      {"interval", 1186},
      {"_interval", 1187},
      {"timetz", 1266},
      {"_timetz", 1270},
      {"numeric", 1700},
      {"_numeric", 1231},
      {"uuid", 2950},
      {"_uuid", 2951},
      {"jsonb", 3802},
      {"_jsonb", 3807},
      {"box", 603},
      {"_box", 1020},
      {"pg_lsn", 3220},
      {"int4range", 3904},
      {"_int8multirange", 6157},
  };
  for (const auto& [name, oid] : expected) {
    EXPECT_EQ(BuiltinTypeOidByName(name), oid) << name;
  }
  EXPECT_EQ(BuiltinTypeOidByName("integer"), std::nullopt);  // SQL spelling, not typname
  EXPECT_EQ(BuiltinTypeOidByName("my_enum"), std::nullopt);
  EXPECT_EQ(BuiltinTypeOidByName(""), std::nullopt);
}

// Domains are decoded by their base type's OID: the name lookup must lead to the same
// decoder as the OID itself.
TEST(BuiltinTypeOidByNameTest, NameLeadsToTypedDecoding) {
  v1::Value value;
  ASSERT_TRUE(Decode(*BuiltinTypeOidByName("_numeric"), "{1.50}", &value).ok());
  ASSERT_EQ(value.array_value().elements_size(), 1);
  EXPECT_EQ(value.array_value().elements(0).numeric_value(), "1.50");
}

// ---------------------------------------------------------------------------------
// Round trips over a wide range of dates. The calendar here counts leap years
// (floor(y/4) - floor(y/100) + floor(y/400)) instead of using 400-year eras like the
// library, so a mistake shared by parser and formatter cannot hide.

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t LeapYearsThrough(int64_t y) { return FloorDiv(y, 4) - FloorDiv(y, 100) + FloorDiv(y, 400); }
bool OracleLeap(int64_t y) { return LeapYearsThrough(y) != LeapYearsThrough(y - 1); }

int OracleMonthLength(int64_t y, int m) {
  static constexpr int kLength[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kLength[m - 1] + (m == 2 && OracleLeap(y));
}

int64_t OracleDays(int64_t y, int m, int d) {
  static constexpr int kBefore[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  return 365 * (y - 1970) + LeapYearsThrough(y - 1) - LeapYearsThrough(1969) + kBefore[m - 1] +
         (m > 2 && OracleLeap(y)) + d - 1;
}

// PostgreSQL's ISO DateStyle: no year 0, " BC" suffix, at least 4 year digits.
std::string PgDateText(int64_t y, int m, int d) {
  const std::string text = absl::StrFormat("%04d-%02d-%02d", y > 0 ? y : 1 - y, m, d);
  return y > 0 ? text : text + " BC";
}

std::string IsoDateText(int64_t y, int m, int d) {
  const char* sign = y < 0 ? "-" : (y > 9999 ? "+" : "");
  return absl::StrFormat("%s%04d-%02d-%02d", sign, std::llabs(y), m, d);
}

void ExpectDateRoundTrip(int64_t y, int m, int d, int64_t days) {
  const std::string text = PgDateText(y, m, d);
  v1::Value value;
  ASSERT_TRUE(Decode(1082, text, &value).ok()) << text;
  ASSERT_EQ(value.date_value().days(), days) << text;
  std::string iso;
  AppendIsoDate(days, &iso);
  ASSERT_EQ(iso, IsoDateText(y, m, d)) << days;
}

TEST(DateRoundTripTest, WalkFrom4714BcTo12000Ad) {
  int64_t y = -4713;
  int m = 11;
  int d = 24;
  int64_t days = -2440588;  // PostgreSQL's first date, Julian day 0
  int64_t checked = 0;
  while (y <= 12000) {
    // Every leap-day neighbourhood, the BC/AD change and 1970 in full; a sample elsewhere.
    const bool boundary = (m == 2 && d >= 28) || (m == 3 && d == 1) || (y >= -1 && y <= 1) ||
                          y == 1969 || y == 1970 || y == 9999 || y == 10000;
    if (boundary || days % 13 == 0) {
      ASSERT_EQ(OracleDays(y, m, d), days) << y << "-" << m << "-" << d;
      ExpectDateRoundTrip(y, m, d, days);
      ++checked;
    }
    ++days;
    if (++d > OracleMonthLength(y, m)) {
      d = 1;
      if (++m > 12) {
        m = 1;
        ++y;
      }
    }
  }
  EXPECT_GT(checked, 400000);
}

TEST(DateRoundTripTest, RandomDatesOverPostgresRange) {
  std::mt19937_64 rng(20240305);
  std::uniform_int_distribution<int64_t> year(-4712, 5874897);
  std::uniform_int_distribution<int> month(1, 12);
  for (int i = 0; i < 100000; ++i) {
    const int64_t y = year(rng);
    const int m = month(rng);
    const int d = std::uniform_int_distribution<int>(1, OracleMonthLength(y, m))(rng);
    ExpectDateRoundTrip(y, m, d, OracleDays(y, m, d));
  }
}

// "13:45:00.123" with PostgreSQL's trimmed fraction.
std::string ClockText(int64_t micros_of_day) {
  const int64_t seconds = micros_of_day / 1000000;
  std::string text =
      absl::StrFormat("%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60);
  if (const int64_t fraction = micros_of_day % 1000000; fraction != 0) {
    std::string digits = absl::StrFormat(".%06d", fraction);
    while (digits.back() == '0') digits.pop_back();
    text += digits;
  }
  return text;
}

// EncodeTimezone: "+05", "+05:30", "+00:53:28".
std::string OffsetText(int32_t seconds_east) {
  const int32_t magnitude = std::abs(seconds_east);
  std::string text = absl::StrFormat("%c%02d", seconds_east < 0 ? '-' : '+', magnitude / 3600);
  if (magnitude % 3600 != 0) absl::StrAppendFormat(&text, ":%02d", magnitude / 60 % 60);
  if (magnitude % 60 != 0) absl::StrAppendFormat(&text, ":%02d", magnitude % 60);
  return text;
}

TEST(TimestampRoundTripTest, RandomTimestampsAndOffsets) {
  std::mt19937_64 rng(1709646300);
  std::uniform_int_distribution<int64_t> year(-4712, 294246);
  std::uniform_int_distribution<int> month(1, 12);
  std::uniform_int_distribution<int64_t> time_of_day(0, kMicrosPerDay - 1);
  constexpr int32_t kMaxOffset = 15 * 3600 + 59 * 60 + 59;  // PostgreSQL's TZDISP_LIMIT
  std::uniform_int_distribution<int32_t> offset(-kMaxOffset, kMaxOffset);
  for (int i = 0; i < 100000; ++i) {
    const int64_t y = year(rng);
    const int m = month(rng);
    const int d = std::uniform_int_distribution<int>(1, OracleMonthLength(y, m))(rng);
    // Whole seconds, whole milliseconds and arbitrary microseconds all occur.
    int64_t tod = time_of_day(rng);
    if (i % 3 == 0) tod -= tod % 1000000;
    if (i % 3 == 1) tod -= tod % 1000;
    const int32_t off = i % 4 == 0 ? 0 : (i % 4 == 1 ? offset(rng) / 60 * 60 : offset(rng));
    const int64_t local = OracleDays(y, m, d) * kMicrosPerDay + tod;

    const std::string date = PgDateText(y, m, d);
    const size_t bc = date.find(" BC");
    const std::string ymd = date.substr(0, bc);
    const std::string suffix = bc == std::string::npos ? "" : " BC";
    const std::string ts_text = ymd + " " + ClockText(tod) + suffix;
    const std::string tstz_text = ymd + " " + ClockText(tod) + OffsetText(off) + suffix;

    v1::Value value;
    ASSERT_TRUE(Decode(1114, ts_text, &value).ok()) << ts_text;
    ASSERT_EQ(value.timestamp_value().micros(), local) << ts_text;
    ASSERT_TRUE(Decode(1184, tstz_text, &value).ok()) << tstz_text;
    ASSERT_EQ(value.timestamptz_value().micros(), local - off * kMicrosPerSecond) << tstz_text;

    std::string iso;
    AppendIsoTimestamp(local, &iso);
    ASSERT_EQ(iso, IsoDateText(y, m, d) + "T" + ClockText(tod)) << local;
  }
}

}  // namespace
}  // namespace pgcdc::internal
