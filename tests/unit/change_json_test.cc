#include "record/change_json.h"

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "pgcdc/v1/change.pb.h"
#include "unit/testing/change_from_proto.h"

namespace pgcdc::internal {
namespace {

using ::google::protobuf::TextFormat;

template <typename Message>
Message Parse(std::string_view text_proto) {
  Message message;
  EXPECT_TRUE(TextFormat::ParseFromString(std::string(text_proto), &message)) << text_proto;
  return message;
}

std::string ToJson(const v1::Change& proto) {
  std::string out = "prefix:";  // appends, never overwrites
  AppendChangeJson(ChangeFromProto(proto), &out);
  EXPECT_EQ(out.substr(0, 7), "prefix:");
  return out.substr(7);
}

std::string ValueJson(const v1::Value& value) {
  std::string out;
  const Change change = ChangeWithValue(value);
  AppendValueJson(change.new_row()[0].value(), &out);
  return out;
}

std::string StringJson(std::string_view text) {
  std::string out;
  AppendJsonString(text, &out);
  return out;
}

constexpr std::string_view kPositions = R"pb(
  lsn: 0x16B374D848
  commit_lsn: 0x16B374D900
  end_lsn: 0x16B374D930
  xid: 4242
  commit_time_us: 1709646300123456
)pb";

constexpr std::string_view kPositionsJson =
    R"("lsn":"16/B374D848","commit_lsn":"16/B374D900","end_lsn":"16/B374D930",)"
    R"("xid":4242,"commit_time":"2024-03-05T13:45:00.123456Z")";

TEST(ChangeJsonTest, Insert) {
  const auto change =
      Parse<v1::Change>(std::string(R"pb(
                          op: OPERATION_INSERT
                          schema: "public"
                          table: "users"
                          new_row {
                            columns {
                              name: "id"
                              type_oid: 23
                              key: true
                              value { int_value: 1 }
                            }
                            columns {
                              name: "name"
                              type_oid: 25
                              value { text_value: "Ann" }
                            }
                            columns {
                              name: "balance"
                              type_oid: 1700
                              value { numeric_value: "12.50" }
                            }
                            columns {
                              name: "tags"
                              type_oid: 1009
                              value {
                                array_value {
                                  elements { text_value: "a" }
                                  elements { null {} }
                                  element_type_oid: 25
                                }
                              }
                            }
                            columns {
                              name: "created"
                              type_oid: 1184
                              value { timestamptz_value { micros: 1709646300123000 } }
                            }
                            columns {
                              name: "score"
                              type_oid: 701
                              value { float_value: nan }
                            }
                            columns {
                              name: "note"
                              type_oid: 25
                              value { null {} }
                            }
                          }
                          ordinal: 0
                        )pb") +
                        std::string(kPositions));
  EXPECT_EQ(ToJson(change),
            R"({"id":"00000016B374D900-00000000","op":"insert","schema":"public","table":"users",)"
            R"("new":{"id":1,"name":"Ann","balance":"12.50","tags":["a",null],)"
            R"("created":"2024-03-05T13:45:00.123Z","score":"NaN","note":null},)"
            R"("old":null,"old_kind":null,"unchanged":[],)" +
                std::string(kPositionsJson) + R"(,"ordinal":0})");
}

TEST(ChangeJsonTest, UpdateOmitsUnchangedToastColumnsAndListsThem) {
  const auto change = Parse<v1::Change>(std::string(R"pb(
                                          op: OPERATION_UPDATE
                                          schema: "app"
                                          table: "docs"
                                          new_row {
                                            columns {
                                              name: "id"
                                              value { int_value: 7 }
                                              key: true
                                            }
                                            columns {
                                              name: "bio"
                                              value { unchanged_toast {} }
                                            }
                                            columns {
                                              name: "name"
                                              value { text_value: "Bob" }
                                            }
                                            columns {
                                              name: "doc"
                                              value { unchanged_toast {} }
                                            }
                                          }
                                          old_row {
                                            columns {
                                              name: "id"
                                              value { int_value: 6 }
                                              key: true
                                            }
                                          }
                                          old_row_kind: OLD_ROW_KIND_KEY
                                          ordinal: 3
                                        )pb") +
                                        std::string(kPositions));
  EXPECT_EQ(ToJson(change),
            R"({"id":"00000016B374D900-00000003","op":"update","schema":"app","table":"docs",)"
            R"("new":{"id":7,"name":"Bob"},"old":{"id":6},"old_kind":"key",)"
            R"("unchanged":["bio","doc"],)" +
                std::string(kPositionsJson) + R"(,"ordinal":3})");
}

TEST(ChangeJsonTest, DeleteWithFullOldRow) {
  const auto change = Parse<v1::Change>(std::string(R"pb(
                                          op: OPERATION_DELETE
                                          schema: "public"
                                          table: "t"
                                          old_row {
                                            columns {
                                              name: "id"
                                              value { int_value: 1 }
                                            }
                                            columns {
                                              name: "flag"
                                              value { bool_value: false }
                                            }
                                          }
                                          old_row_kind: OLD_ROW_KIND_FULL
                                          ordinal: 1
                                        )pb") +
                                        std::string(kPositions));
  EXPECT_EQ(
      ToJson(change),
      R"({"id":"00000016B374D900-00000001","op":"delete","schema":"public","table":"t","new":null,)"
      R"("old":{"id":1,"flag":false},"old_kind":"full","unchanged":[],)" +
          std::string(kPositionsJson) + R"(,"ordinal":1})");
}

TEST(ChangeJsonTest, TruncateWithoutCommitTime) {
  const auto change = Parse<v1::Change>(R"pb(
    op: OPERATION_TRUNCATE
    schema: "s"
    table: "t"
    truncate { cascade: true }
    lsn: 1
    commit_lsn: 0
    end_lsn: 0xFFFFFFFFFFFFFFFF
    xid: 0
    ordinal: 2
  )pb");
  EXPECT_EQ(
      ToJson(change),
      R"({"id":"0000000000000000-00000002","op":"truncate","schema":"s","table":"t","new":null,"old":null,)"
      R"("old_kind":null,"unchanged":[],"lsn":"0/1","commit_lsn":"0/0",)"
      R"("end_lsn":"FFFFFFFF/FFFFFFFF","xid":0,"commit_time":null,"ordinal":2,)"
      R"("cascade":true,"restart_identity":false})");
}

TEST(ChangeJsonTest, MessageWithTextContent) {
  const auto change = Parse<v1::Change>(R"pb(
    op: OPERATION_MESSAGE
    message { prefix: "app/\"audit\"" content: "h\303\251llo \"x\"\n" transactional: true }
    lsn: 0x100000000
    commit_time_us: -1
  )pb");
  EXPECT_EQ(
      ToJson(change),
      R"({"id":"0000000000000000-00000000","op":"message","schema":"","table":"","new":null,"old":null,)"
      R"("old_kind":null,"unchanged":[],"lsn":"1/0","commit_lsn":"0/0","end_lsn":"0/0",)"
      R"("xid":0,"commit_time":"1969-12-31T23:59:59.999999Z","ordinal":0,)"
      R"("prefix":"app/\"audit\"","content":"h)"
      "\xc3\xa9"
      R"(llo \"x\"\n","transactional":true})");
}

TEST(ChangeJsonTest, MessageWithBinaryContentIsBase64) {
  const auto change = Parse<v1::Change>(R"pb(
    op: OPERATION_MESSAGE
    message { prefix: "bin" content: "\377\000\001" }
  )pb");
  const std::string json = ToJson(change);
  EXPECT_NE(json.find(R"("prefix":"bin","content":{"base64":"/wAB"},"transactional":false})"),
            std::string::npos)
      << json;
}

TEST(ChangeJsonTest, ColumnNamesAreEscaped) {
  const auto change = Parse<v1::Change>(R"pb(
    op: OPERATION_READ
    new_row {
      columns {
        name: "we\"ird\\"
        value { int_value: -5 }
      }
    }
  )pb");
  const std::string json = ToJson(change);
  EXPECT_NE(json.find(R"("op":"read")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("new":{"we\"ird\\":-5})"), std::string::npos) << json;
}

struct ValueCase {
  std::string_view text_proto;
  std::string_view json;
};

class ValueJsonTest : public ::testing::TestWithParam<ValueCase> {};

TEST_P(ValueJsonTest, Renders) {
  EXPECT_EQ(ValueJson(Parse<v1::Value>(GetParam().text_proto)), GetParam().json)
      << GetParam().text_proto;
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, ValueJsonTest,
    ::testing::ValuesIn(std::vector<ValueCase>{
        {"", "null"},
        {"null {}", "null"},
        {"bool_value: true", "true"},
        {"int_value: -9223372036854775808", "-9223372036854775808"},
        {"float_value: 0.1", "0.1"},
        {"float_value: 1e100", "1e+100"},
        {"float_value: 1.5e-07", "1.5e-07"},
        {"float_value: -0.0", "-0"},
        {"float_value: 3", "3"},
        {"float_value: nan", R"("NaN")"},
        {"float_value: inf", R"("Infinity")"},
        {"float_value: -inf", R"("-Infinity")"},
        {R"pb(numeric_value: "123456789012345678901234567890.10")pb",
         R"("123456789012345678901234567890.10")"},
        {R"pb(text_value: "tab\there")pb", R"("tab\there")"},
        {R"pb(bytes_value: "\x00\xff\x10")pb", R"("\\x00ff10")"},
        {R"pb(bytes_value: "")pb", R"("\\x")"},
        {R"pb(uuid_value: "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11")pb",
         R"("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")"},
        {R"pb(json_value: "{\"a\": [1, 2], \"b\": null}")pb", R"({"a": [1, 2], "b": null})"},
        // json keeps the client's line breaks; a JSON-lines record must stay on one line.
        {R"pb(json_value: "{\n  \"a\": \"x\\ny\",\r\n  \"b\": 1\n}")pb",
         R"({   "a": "x\ny",    "b": 1 })"},
        {R"pb(json_value: "")pb", "null"},
        {"date_value { days: 19787 }", R"("2024-03-05")"},
        {"date_value { days: 0 }", R"("1970-01-01")"},
        {"date_value { days: -735160 }", R"("-0043-03-15")"},  // 44 BC
        {"date_value { days: -719528 }", R"("0000-01-01")"},   // 1 BC
        {"date_value { days: -719529 }", R"("-0001-12-31")"},  // 2 BC
        {"date_value { days: 2932897 }", R"("+10000-01-01")"},
        {"date_value { days: 2145042905 }", R"("+5874897-12-31")"},
        {"date_value { infinity: INFINITY_POSITIVE }", R"("infinity")"},
        {"date_value { infinity: INFINITY_NEGATIVE }", R"("-infinity")"},
        {"time_value: 49500000000", R"("13:45:00")"},
        {"time_value: 49500100000", R"("13:45:00.1")"},
        {"time_value: 49500000001", R"("13:45:00.000001")"},
        {"time_value: 86400000000", R"("24:00:00")"},
        {"time_value: -1", "-1"},  // not a time of day: the raw number
        {"timetz_value { micros: 49500000000 offset_seconds: 19800 }", R"("13:45:00+05:30")"},
        {"timetz_value { micros: 49500123000 offset_seconds: -28800 }", R"("13:45:00.123-08:00")"},
        {"timetz_value { micros: 0 offset_seconds: 3208 }", R"("00:00:00+00:53:28")"},
        {"timetz_value { micros: 0 offset_seconds: 0 }", R"("00:00:00+00:00")"},
        {"timestamp_value { micros: 1709646300123000 }", R"("2024-03-05T13:45:00.123")"},
        {"timestamp_value { micros: -63517780800000000 }", R"("-0043-03-15T12:00:00")"},
        {"timestamp_value { micros: 9223372036854775807 }", R"("+294247-01-10T04:00:54.775807")"},
        {"timestamp_value { micros: -9223372036854775808 }", R"("-290308-12-21T19:59:05.224192")"},
        {"timestamp_value { infinity: INFINITY_NEGATIVE }", R"("-infinity")"},
        {"timestamptz_value { micros: 1709646300123456 }", R"("2024-03-05T13:45:00.123456Z")"},
        {"timestamptz_value { micros: -1 }", R"("1969-12-31T23:59:59.999999Z")"},
        {"timestamptz_value { infinity: INFINITY_POSITIVE }", R"("infinity")"},
        {"interval_value { months: 14 days: -3 micros: 14706500000 }",
         R"({"months":14,"days":-3,"micros":14706500000})"},
        {"interval_value {}", R"({"months":0,"days":0,"micros":0})"},
        {"interval_value { infinity: INFINITY_NEGATIVE }", R"("-infinity")"},
        {"array_value { element_type_oid: 23 }", "[]"},
        {"array_value { elements { array_value { elements { int_value: 1 } elements { null {} } } "
         "} "
         "elements { array_value { elements { int_value: 3 } elements { int_value: 4 } } } }",
         "[[1,null],[3,4]]"},
        {R"pb(inet_value: "10.0.0.0/8")pb", R"("10.0.0.0/8")"},
        {R"pb(macaddr_value: "08:00:2b:01:02:03")pb", R"("08:00:2b:01:02:03")"},
    }));

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(StringJson(""), R"("")");
  EXPECT_EQ(StringJson("plain"), R"("plain")");
  EXPECT_EQ(StringJson(R"(a"b\c)"), R"("a\"b\\c")");
  EXPECT_EQ(StringJson(std::string("\x00\x01\n\r\t\x1f", 6)), R"("\u0000\u0001\n\r\t\u001f")");
  EXPECT_EQ(StringJson("\x7f/"), "\"\x7f/\"");  // DEL and '/' need no escape
}

TEST(JsonStringTest, PassesValidUtf8Through) {
  const std::string text =
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf";
  EXPECT_EQ(StringJson(text), "\"" + text + "\"");
}

TEST(JsonStringTest, ReplacesInvalidUtf8) {
  const std::string kFffd = "\xef\xbf\xbd";
  EXPECT_EQ(StringJson("a\xff"
                       "b"),
            "\"a" + kFffd + "b\"");
  EXPECT_EQ(StringJson("\xc3"), "\"" + kFffd + "\"");              // truncated
  EXPECT_EQ(StringJson("\xc0\xaf"), "\"" + kFffd + kFffd + "\"");  // overlong '/'
  EXPECT_EQ(StringJson("\xe0\x80\xaf"), "\"" + kFffd + kFffd + kFffd + "\"");
  EXPECT_EQ(StringJson("\xed\xa0\x80"), "\"" + kFffd + kFffd + kFffd + "\"");  // surrogate
  EXPECT_EQ(StringJson("\xf4\x90\x80\x80"), "\"" + kFffd + kFffd + kFffd + kFffd + "\"");
  EXPECT_EQ(StringJson("\xe2\x82"
                       "x"),
            "\"" + kFffd + kFffd + "x\"");
}

TEST(JsonStringTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x9f\x98"));
}

}  // namespace
}  // namespace pgcdc::internal
