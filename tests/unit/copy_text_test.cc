// The COPY text-format row parser (src/snapshot/copy_text.*) with hand-built lines:
// what COPY ... TO STDOUT writes (CopyAttributeOutText in PostgreSQL's copyto.c) and
// what COPY FROM also accepts (octal and hex escapes, CopyReadAttributesText).
#include "snapshot/copy_text.h"

#include <cstdio>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unit/testing/status_matchers.h"

namespace pgcdc::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A field as the test compares it: "NULL" or the text in brackets.
std::string Show(const TupleColumn& c) {
  if (c.kind == TupleColumn::Kind::kNull) return "NULL";
  if (c.kind != TupleColumn::Kind::kText) return "?";
  return "[" + std::string(c.data) + "]";
}

// Splits `line` into `columns` fields, failing the test on an error.
std::vector<std::string> Split(std::string_view line, size_t columns) {
  TupleData tuple;
  std::string scratch;
  const absl::Status s = SplitCopyRow(line, columns, &tuple, &scratch);
  EXPECT_TRUE(s.ok()) << s;
  std::vector<std::string> out;
  for (const TupleColumn& c : tuple.columns) out.push_back(Show(c));
  return out;
}

absl::Status SplitStatus(std::string_view line, size_t columns) {
  TupleData tuple;
  std::string scratch;
  return SplitCopyRow(line, columns, &tuple, &scratch);
}

// What COPY TO writes for `value` with the default delimiter (copyto.c).
std::string EscapeLikeCopyTo(const std::string& value) {
  std::string out;
  for (const char c : value) {
    switch (c) {
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        out += c;
    }
  }
  return out;
}

TEST(SplitCopyRowTest, NullIsOnlyTheWholeFieldBackslashN) {
  // \N, empty, an escaped backslash before N (the text "\N"), N, \N inside text.
  EXPECT_THAT(Split("\\N\t\t\\\\N\tN\ta\\Nb\n", 5),
              ElementsAre("NULL", "[]", "[\\N]", "[N]", "[aNb]"));
  EXPECT_THAT(Split("\t", 2), ElementsAre("[]", "[]"));
  EXPECT_THAT(Split("\\N", 1), ElementsAre("NULL"));
}

TEST(SplitCopyRowTest, SingleCharacterEscapes) {
  EXPECT_THAT(Split("a\\\\b\tc\\td\te\\nf\tg\\rh\ti\\bj\tk\\fl\tm\\vn\n", 7),
              ElementsAre("[a\\b]", "[c\td]", "[e\nf]", "[g\rh]", "[i\bj]", "[k\fl]", "[m\vn]"));
  // Any other escaped character stands for itself, as COPY FROM reads it.
  EXPECT_THAT(Split("\\q\\.\\\"", 1), ElementsAre("[q.\"]"));
}

TEST(SplitCopyRowTest, OctalEscapesTakeUpToThreeDigits) {
  EXPECT_THAT(Split("\\101\t\\1011\t\\08\t\\7\t\\377\t\\777", 6),
              ElementsAre("[A]", "[A1]",
                          std::string("[\0"
                                      "8]",
                                      4),
                          "[\a]", "[\xff]",
                          "[\xff]"));  // \777 keeps the low 8 bits, like COPY FROM
}

TEST(SplitCopyRowTest, HexEscapesTakeUpToTwoDigits) {
  EXPECT_THAT(Split("\\x41\t\\x414\t\\x4\t\\x4g\t\\xfF\t\\xg", 6),
              ElementsAre("[A]", "[A4]", "[\x04]", "[\x04g]", "[\xff]", "[xg]"));
}

TEST(SplitCopyRowTest, EveryByteRoundTripsThroughEachEscapeForm) {
  for (int b = 1; b < 256; ++b) {
    const std::string value = {'<', static_cast<char>(b), '>'};
    char octal[8];
    char hex[8];
    std::snprintf(octal, sizeof octal, "\\%03o", b);
    std::snprintf(hex, sizeof hex, "\\x%02x", b);
    const std::string line = EscapeLikeCopyTo(value) + "\t<" + octal + ">\t<" + hex + ">\n";
    EXPECT_THAT(Split(line, 3),
                ElementsAre("[" + value + "]", "[" + value + "]", "[" + value + "]"))
        << "byte " << b;
  }
}

TEST(SplitCopyRowTest, OnlyOneTrailingNewlineIsTheLineEnd) {
  EXPECT_THAT(Split("1\t2\n", 2), ElementsAre("[1]", "[2]"));
  EXPECT_THAT(Split("1\t2", 2), ElementsAre("[1]", "[2]"));
  EXPECT_THAT(Split("x\\n\n", 1), ElementsAre("[x\n]"));  // an escaped newline is data
  EXPECT_THAT(Split("\n", 1), ElementsAre("[]"));
  EXPECT_THAT(Split("", 1), ElementsAre("[]"));
}

TEST(SplitCopyRowTest, ManyColumnsKeepTheirValues) {
  // 1600 columns (PostgreSQL's maximum), escaped, plain and NULL mixed: views into the
  // scratch buffer must stay valid while later fields are unescaped.
  constexpr size_t kColumns = 1600;
  std::string line;
  std::vector<std::string> expected;
  for (size_t i = 0; i < kColumns; ++i) {
    if (i > 0) line += '\t';
    if (i % 3 == 0) {
      line += "\\N";
      expected.push_back("NULL");
    } else if (i % 3 == 1) {
      line += EscapeLikeCopyTo("v" + std::to_string(i) + "\t\\\n");
      expected.push_back("[v" + std::to_string(i) + "\t\\\n]");
    } else {
      line += std::to_string(i);
      expected.push_back("[" + std::to_string(i) + "]");
    }
  }
  line += '\n';
  EXPECT_EQ(Split(line, kColumns), expected);
}

TEST(SplitCopyRowTest, PlainFieldsPointIntoTheLineAndStateIsReset) {
  TupleData tuple;
  std::string scratch;
  const std::string first = "abc\tx\\ty\n";
  ASSERT_TRUE(SplitCopyRow(first, 2, &tuple, &scratch).ok());
  EXPECT_EQ(tuple.columns[0].data.data(), first.data());  // no copy without escapes
  EXPECT_EQ(tuple.columns[1].data, "x\ty");
  const std::string second = "\\N";
  ASSERT_TRUE(SplitCopyRow(second, 1, &tuple, &scratch).ok());
  ASSERT_EQ(tuple.columns.size(), 1u);
  EXPECT_EQ(tuple.columns[0].kind, TupleColumn::Kind::kNull);
  EXPECT_TRUE(scratch.empty());
}

TEST(SplitCopyRowTest, WrongFieldCountIsDataLoss) {
  EXPECT_THAT(SplitStatus("1\t2\n", 3), StatusIs(absl::StatusCode::kDataLoss,
                                                 HasSubstr("has 2 fields where 3 were expected")));
  EXPECT_THAT(
      SplitStatus("1\t2\t3\t4", 3),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("has 4 fields where 3 were expected")));
  // A trailing tab starts one more (empty) field.
  EXPECT_THAT(
      SplitStatus("1\t2\t\n", 2),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("has 3 fields where 2 were expected")));
}

TEST(SplitCopyRowTest, DanglingBackslashIsDataLoss) {
  EXPECT_THAT(SplitStatus("ab\\\n", 1), StatusIs(absl::StatusCode::kDataLoss,
                                                 HasSubstr("ends field 1 with a lone backslash")));
  // "x\<tab>y": COPY TO writes a tab in data as \t, so this tab ends field 2.
  EXPECT_THAT(
      SplitStatus("1\tx\\\ty", 3),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("ends field 2 with a lone backslash")));
  EXPECT_THAT(SplitStatus("\\", 1), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("backslash")));
}

}  // namespace
}  // namespace pgcdc::internal
