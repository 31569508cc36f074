#include "protocol/wire_reader.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unit/testing/pgoutput_builder.h"

namespace pgcdc::internal {
namespace {

using ::testing::HasSubstr;

TEST(WireReaderTest, ReadsBigEndianIntegers) {
  const std::string bytes = PgoutputBuilder()
                                .U8(0xAB)
                                .U16(0x1234)
                                .I16(-2)
                                .U32(0xDEADBEEF)
                                .I32(-123456)
                                .U64(0x0102030405060708ULL)
                                .I64(-9000000000LL)
                                .str();
  ASSERT_EQ(bytes.size(), 1u + 2 + 2 + 4 + 4 + 8 + 8);
  WireReader r(bytes);
  EXPECT_EQ(r.ReadU8(), 0xAB);
  EXPECT_EQ(r.ReadU16(), 0x1234);
  EXPECT_EQ(r.ReadI16(), -2);
  EXPECT_EQ(r.ReadU32(), 0xDEADBEEFu);
  EXPECT_EQ(r.ReadI32(), -123456);
  EXPECT_EQ(r.ReadU64(), 0x0102030405060708ULL);
  EXPECT_EQ(r.ReadI64(), -9000000000LL);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_TRUE(r.Finish().ok());
}

TEST(WireReaderTest, ByteOrderIsNetworkOrder) {
  const std::string bytes("\x00\x00\x40\x00", 4);
  WireReader r(bytes);
  EXPECT_EQ(r.ReadU32(), 16384u);
}

TEST(WireReaderTest, ExtremeValues) {
  const std::string bytes =
      PgoutputBuilder().U64(UINT64_MAX).I64(INT64_MIN).I32(INT32_MIN).U16(UINT16_MAX).str();
  WireReader r(bytes);
  EXPECT_EQ(r.ReadU64(), UINT64_MAX);
  EXPECT_EQ(r.ReadI64(), INT64_MIN);
  EXPECT_EQ(r.ReadI32(), INT32_MIN);
  EXPECT_EQ(r.ReadU16(), UINT16_MAX);
  EXPECT_TRUE(r.ok());
}

TEST(WireReaderTest, ReadsCStringsPointingIntoTheBuffer) {
  const std::string bytes = PgoutputBuilder().CString("public").CString("").CString("Łódź").str();
  WireReader r(bytes);
  const std::string_view a = r.ReadCString();
  EXPECT_EQ(a, "public");
  EXPECT_EQ(a.data(), bytes.data());
  EXPECT_EQ(r.offset(), 7u);
  EXPECT_EQ(r.ReadCString(), "");
  EXPECT_EQ(r.ReadCString(), "Łódź");
  EXPECT_TRUE(r.Finish().ok());
}

TEST(WireReaderTest, MissingNulIsAnError) {
  const std::string bytes = PgoutputBuilder().U8(1).Bytes("abc").str();
  WireReader r(bytes, "pgoutput Type");
  r.ReadU8();
  EXPECT_EQ(r.ReadCString(), "");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message(),
            "pgoutput Type: unterminated string at byte 1 (no NUL in the remaining 3 bytes)");
}

TEST(WireReaderTest, CStringOnEmptyInputIsAnError) {
  WireReader r(std::string_view{});
  EXPECT_EQ(r.ReadCString(), "");
  EXPECT_THAT(r.status().message(), HasSubstr("unterminated string at byte 0"));
}

TEST(WireReaderTest, ReadBytes) {
  const std::string bytes = "hello world";
  WireReader r(bytes);
  EXPECT_EQ(r.ReadBytes(5), "hello");
  EXPECT_EQ(r.ReadBytes(0), "");
  EXPECT_EQ(r.remaining(), 6u);
  const std::string_view rest = r.ReadBytes(6);
  EXPECT_EQ(rest, " world");
  EXPECT_EQ(rest.data(), bytes.data() + 5);
  EXPECT_EQ(r.ReadBytes(0), "");
  EXPECT_TRUE(r.Finish().ok());
}

TEST(WireReaderTest, OverrunReportsOffsetNeedHave) {
  const std::string bytes = PgoutputBuilder().Byte('I').U32(7).U16(1).str();
  WireReader r(bytes, "pgoutput Insert");
  r.ReadU8();
  EXPECT_EQ(r.ReadU32(), 7u);
  EXPECT_EQ(r.ReadU32(), 0u);  // only 2 bytes left
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message(), "pgoutput Insert: truncated at byte 5 (need 4, have 2)");
}

TEST(WireReaderTest, ErrorIsStickyAndKeepsTheFirstOverrun) {
  const std::string bytes = PgoutputBuilder().U16(0xFFFF).U8(0x7F).str();
  WireReader r(bytes);
  EXPECT_EQ(r.ReadU64(), 0u);
  // A smaller read that would have fit before the failure must not succeed now:
  // the decoder would otherwise read fields out of their place.
  EXPECT_EQ(r.ReadU8(), 0u);
  EXPECT_EQ(r.ReadU16(), 0u);
  EXPECT_EQ(r.ReadCString(), "");
  EXPECT_EQ(r.ReadBytes(1), "");
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.status().message(), "truncated at byte 0 (need 8, have 3)");
  EXPECT_EQ(r.Finish(), r.status());
}

TEST(WireReaderTest, HugeReadBytesDoesNotWrap) {
  const std::string bytes = "abc";
  WireReader r(bytes);
  r.ReadU8();
  EXPECT_EQ(r.ReadBytes(SIZE_MAX), "");
  EXPECT_THAT(r.status().message(), HasSubstr("truncated at byte 1 (need "));
  EXPECT_THAT(r.status().message(), HasSubstr("have 2)"));
}

TEST(WireReaderTest, EmptyInputReadsFail) {
  WireReader r(std::string_view{}, "ctx");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.Finish().ok());
  EXPECT_EQ(r.ReadBytes(0), "");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.ReadU8(), 0u);
  EXPECT_EQ(r.status().message(), "ctx: truncated at byte 0 (need 1, have 0)");
}

TEST(WireReaderTest, FinishRejectsTrailingBytes) {
  const std::string bytes = PgoutputBuilder().U32(1).U8(9).U8(9).str();
  WireReader r(bytes, "pgoutput Begin");
  r.ReadU32();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.Finish().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.Finish().message(), HasSubstr("pgoutput Begin: 2 trailing bytes at byte 4"));
}

TEST(WireReaderTest, MalformedAtNamesContextAndOffset) {
  WireReader r("x", "pgoutput Delete");
  const absl::Status s = r.MalformedAt(5, "bad marker");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "pgoutput Delete: bad marker at byte 5");
}

TEST(WireReaderTest, AccessorsTrackPosition) {
  WireReader r("abcdef", "ctx");
  EXPECT_EQ(r.context(), "ctx");
  EXPECT_EQ(r.offset(), 0u);
  r.ReadU16();
  EXPECT_EQ(r.offset(), 2u);
  EXPECT_EQ(r.remaining(), 4u);
}

}  // namespace
}  // namespace pgcdc::internal
