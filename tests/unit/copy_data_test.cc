// Replication-layer CopyData: 'w' XLogData and 'k' keepalive in, 'r' status update out.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/pgoutput_decoder.h"
#include "protocol/pgoutput_messages.h"
#include "protocol/wire_reader.h"
#include "unit/testing/pgoutput_builder.h"
#include "unit/testing/status_matchers.h"

namespace pgcdc::internal {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kStart = 0x00000001000000A0ULL;
constexpr uint64_t kEnd = 0x00000001000000B8ULL;
constexpr int64_t kSendTime = 765432109876543LL;

std::string BeginPayload() {
  return PgoutputBuilder().Byte('B').Lsn(kStart).Timestamp(kSendTime).U32(42).str();
}

std::string XLogDataBytes(std::string_view payload) {
  return PgoutputBuilder()
      .Byte('w')
      .Lsn(kStart)
      .Lsn(kEnd)
      .Timestamp(kSendTime)
      .Bytes(payload)
      .str();
}

std::string KeepaliveBytes(uint8_t reply) {
  return PgoutputBuilder().Byte('k').Lsn(kEnd).Timestamp(kSendTime).U8(reply).str();
}

TEST(CopyDataTest, XLogData) {
  const std::string payload = BeginPayload();
  const std::string bytes = XLogDataBytes(payload);
  ASSERT_EQ(bytes.size(), 25u + payload.size());
  absl::StatusOr<CopyDataMessage> m = DecodeCopyData(bytes);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(std::holds_alternative<XLogData>(*m));
  const XLogData& x = std::get<XLogData>(*m);
  EXPECT_EQ(x.data_start, kStart);
  EXPECT_EQ(x.wal_end, kEnd);
  EXPECT_EQ(x.send_time, kSendTime);
  EXPECT_EQ(x.payload, payload);
  EXPECT_EQ(x.payload.data(), bytes.data() + 25);  // a view, not a copy

  absl::StatusOr<PgoutputMessage> inner = DecodePgoutput(x.payload, 1, false);
  ASSERT_TRUE(inner.ok()) << inner.status();
  ASSERT_TRUE(std::holds_alternative<Begin>(*inner));
  EXPECT_EQ(std::get<Begin>(*inner).xid, 42u);
}

TEST(CopyDataTest, XLogDataWithZeroPositions) {
  // Logical walsenders zero both positions for writes that are not a callback's last.
  const std::string bytes = PgoutputBuilder().Byte('w').Lsn(0).Lsn(0).Timestamp(-1).Byte('E').str();
  absl::StatusOr<CopyDataMessage> m = DecodeCopyData(bytes);
  ASSERT_TRUE(m.ok()) << m.status();
  const XLogData& x = std::get<XLogData>(*m);
  EXPECT_EQ(x.data_start, 0u);
  EXPECT_EQ(x.wal_end, 0u);
  EXPECT_EQ(x.send_time, -1);
  EXPECT_EQ(x.payload, "E");
}

TEST(CopyDataTest, XLogDataHeaderOnlyGivesEmptyPayload) {
  // The frame layer does not judge the payload; DecodePgoutput rejects it.
  const std::string bytes = XLogDataBytes("");
  absl::StatusOr<CopyDataMessage> m = DecodeCopyData(bytes);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(std::get<XLogData>(*m).payload, "");
  EXPECT_THAT(DecodePgoutput(std::get<XLogData>(*m).payload, 1, false),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("empty message")));
}

TEST(CopyDataTest, XLogDataHeaderTruncatedAtEveryOffset) {
  const std::string bytes = XLogDataBytes("C");
  for (size_t n = 1; n < 25; ++n) {
    const std::vector<char> prefix(bytes.begin(), bytes.begin() + n);
    EXPECT_THAT(DecodeCopyData(std::string_view(prefix.data(), n)),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("replication CopyData XLogData: truncated at byte")))
        << "prefix length " << n;
  }
  EXPECT_THAT(DecodeCopyData(std::string_view(bytes.data(), 20)),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("replication CopyData XLogData: truncated at byte 17 (need 8, "
                                 "have 3)")));
}

TEST(CopyDataTest, Keepalive) {
  for (uint8_t reply : {0, 1}) {
    const std::string bytes = KeepaliveBytes(reply);
    ASSERT_EQ(bytes.size(), 18u);
    absl::StatusOr<CopyDataMessage> m = DecodeCopyData(bytes);
    ASSERT_TRUE(m.ok()) << m.status();
    ASSERT_TRUE(std::holds_alternative<PrimaryKeepalive>(*m));
    const PrimaryKeepalive& k = std::get<PrimaryKeepalive>(*m);
    EXPECT_EQ(k.wal_end, kEnd);
    EXPECT_EQ(k.send_time, kSendTime);
    EXPECT_EQ(k.reply_requested, reply == 1);
  }
}

TEST(CopyDataTest, KeepaliveIsExactly18Bytes) {
  EXPECT_THAT(DecodeCopyData(KeepaliveBytes(1) + "x"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("replication CopyData Keepalive: 1 trailing bytes at byte 18")));
  const std::string bytes = KeepaliveBytes(1);
  for (size_t n = 1; n < bytes.size(); ++n) {
    const std::vector<char> prefix(bytes.begin(), bytes.begin() + n);
    EXPECT_THAT(DecodeCopyData(std::string_view(prefix.data(), n)),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("replication CopyData Keepalive: truncated at byte")))
        << "prefix length " << n;
  }
  EXPECT_THAT(
      DecodeCopyData(std::string_view(bytes.data(), 17)),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("truncated at byte 17 (need 1, have 0)")));
}

TEST(CopyDataTest, EmptyAndUnknown) {
  EXPECT_THAT(DecodeCopyData(""), StatusIs(absl::StatusCode::kDataLoss,
                                           HasSubstr("replication CopyData: empty message")));
  // 'r' is what we send, never what we receive.
  EXPECT_THAT(DecodeCopyData("r123"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("replication CopyData: unknown message type 'r' (0x72)")));
  EXPECT_THAT(DecodeCopyData(std::string("\x00\x01", 2)),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("replication CopyData: unknown message type 0x00")));
}

TEST(StandbyStatusUpdateTest, ExactBytes) {
  const std::array<char, 34> out = EncodeStandbyStatusUpdate(
      0x0000000116B374D8ULL, 0x0000000116B37400ULL, 0x0000000116B37000ULL, 765432109876543LL,
      /*reply_requested=*/true);
  const std::string expected = PgoutputBuilder()
                                   .Byte('r')
                                   .U64(0x0000000116B374D8ULL)
                                   .U64(0x0000000116B37400ULL)
                                   .U64(0x0000000116B37000ULL)
                                   .I64(765432109876543LL)
                                   .U8(1)
                                   .str();
  EXPECT_EQ(std::string(out.data(), out.size()), expected);
  const std::string literal(
      "r"
      "\x00\x00\x00\x01\x16\xB3\x74\xD8"
      "\x00\x00\x00\x01\x16\xB3\x74\x00"
      "\x00\x00\x00\x01\x16\xB3\x70\x00"
      "\x00\x02\xB8\x28\x0D\x02\x45\x3F"
      "\x01",
      34);
  EXPECT_EQ(std::string(out.data(), out.size()), literal);
}

TEST(StandbyStatusUpdateTest, RoundTripThroughWireReader) {
  const std::array<char, 34> out =
      EncodeStandbyStatusUpdate(UINT64_MAX, 1, 0, -946684800000000LL, /*reply_requested=*/false);
  WireReader r(std::string_view(out.data(), out.size()));
  EXPECT_EQ(r.ReadU8(), 'r');
  EXPECT_EQ(r.ReadU64(), UINT64_MAX);
  EXPECT_EQ(r.ReadU64(), 1u);
  EXPECT_EQ(r.ReadU64(), 0u);
  EXPECT_EQ(r.ReadI64(), -946684800000000LL);  // the Unix epoch, before the PG epoch
  EXPECT_EQ(r.ReadU8(), 0);
  EXPECT_TRUE(r.Finish().ok());
}

}  // namespace
}  // namespace pgcdc::internal
