#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "json_abbreviation.h"

namespace pgcdc::cli {
namespace {

TEST(AbbreviateJsonStrings, ShortStringsAndTheRestUntouched) {
  const std::string json = R"({"id":1,"new":{"a":"short","b":[1,"x"],"c":null}})";
  EXPECT_EQ(AbbreviateJsonStrings(json, 10), json);
}

TEST(AbbreviateJsonStrings, LongStringsCutWithTheirLength) {
  const std::string json = "{\"note\":\"" + std::string(1000, 'a') + "\",\"k\":\"v\"}";
  EXPECT_EQ(AbbreviateJsonStrings(json, 5),
            "{\"note\":\"aaaaa\u2026 (995 more bytes)\",\"k\":\"v\"}");
}

TEST(AbbreviateJsonStrings, NeverCutsAnEscapeOrAUtf8Sequence) {
  // A quote escape inside stays whole and does not end the literal.
  EXPECT_EQ(AbbreviateJsonStrings(R"({"a":"xy\"zzzzzz"})", 3),
            "{\"a\":\"xy\u2026 (8 more bytes)\"}");
  EXPECT_EQ(AbbreviateJsonStrings(R"({"a":"x\u00e9yyyyyy"})", 4),
            "{\"a\":\"x\u2026 (12 more bytes)\"}");
  EXPECT_EQ(AbbreviateJsonStrings("{\"a\":\"x\xc3\xa9yyyy\"}", 2),
            "{\"a\":\"x\u2026 (6 more bytes)\"}");
}

}  // namespace
}  // namespace pgcdc::cli
