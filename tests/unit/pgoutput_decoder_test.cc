#include "protocol/pgoutput_decoder.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/pgoutput_messages.h"
#include "unit/testing/pgoutput_builder.h"
#include "unit/testing/status_matchers.h"

namespace pgcdc::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

using Kind = TupleColumn::Kind;

constexpr uint64_t kLsn = 0x00000016B374D848ULL;     // 16/B374D848
constexpr uint64_t kEndLsn = 0x00000016B374D900ULL;  // 16/B374D900
constexpr int64_t kTime = 765432109876543LL;         // µs since 2000-01-01
constexpr int64_t kTime2 = 765432109999999LL;
constexpr uint32_t kXid = 0xDEADBEEF;
constexpr uint32_t kSubXid = 0xDEADBEF0;
constexpr uint32_t kRel = 16384;

// Decodes `bytes` and returns the alternative T, failing the test otherwise. The
// result points into `bytes`.
template <typename T>
T DecodeAs(const std::string& bytes, int proto_version = 1, bool in_stream = false) {
  absl::StatusOr<PgoutputMessage> m = DecodePgoutput(bytes, proto_version, in_stream);
  EXPECT_TRUE(m.ok()) << m.status();
  if (!m.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*m)) << "got variant index " << m->index();
  if (!std::holds_alternative<T>(*m)) return T{};
  return std::get<T>(*std::move(m));
}

// Asserts that `view` lies inside `buffer`: the decoder must hand out views into the
// payload, never into a temporary.
void ExpectPointsInto(std::string_view view, const std::string& buffer) {
  EXPECT_GE(view.data(), buffer.data());
  EXPECT_LE(view.data() + view.size(), buffer.data() + buffer.size());
}

// clang-format off: the message builders below keep one wire-layout group per line.

// Adds the xid prefix that stream blocks put in front of R/Y/I/U/D/T/M.
PgoutputBuilder Start(char type, bool in_stream, uint32_t xid = kSubXid) {
  PgoutputBuilder b;
  b.Byte(type);
  if (in_stream) b.U32(xid);
  return b;
}

std::string BeginBytes() {
  return PgoutputBuilder().Byte('B').Lsn(kLsn).Timestamp(kTime).U32(kXid).str();
}

std::string CommitBytes() {
  return PgoutputBuilder().Byte('C').U8(0).Lsn(kLsn).Lsn(kEndLsn).Timestamp(kTime).str();
}

std::string OriginBytes() { return PgoutputBuilder().Byte('O').Lsn(kLsn).CString("node_ü").str(); }

std::string RelationBytes(bool in_stream = false) {
  return Start('R', in_stream)
      .U32(kRel)
      .CString("public")
      .CString("orders")
      .Byte('d')
      .U16(3)
      .U8(1)
      .CString("id")
      .U32(20)
      .I32(-1)
      .U8(0)
      .CString("note")
      .U32(1043)
      .I32(68)
      .U8(0)
      .CString("zażółć_表")
      .U32(90001)
      .I32(-1)
      .str();
}

std::string TypeBytes(bool in_stream = false) {
  return Start('Y', in_stream).U32(90001).CString("app").CString("mood").str();
}

std::string InsertBytes(bool in_stream = false) {
  return Start('I', in_stream)
      .U32(kRel)
      .Byte('N')
      .U16(5)
      .Text("42")
      .Null()
      .Unchanged()
      .Text("")
      .Binary(std::string("\x00\xFF\x01", 3))
      .str();
}

std::string UpdateBytes(char old_kind, bool in_stream = false) {
  PgoutputBuilder b = Start('U', in_stream);
  b.U32(kRel);
  if (old_kind != 0) b.Byte(old_kind).U16(2).Text("1").Null();
  b.Byte('N').U16(2).Text("2").Unchanged();
  return std::move(b).str();
}

std::string DeleteBytes(char old_kind, bool in_stream = false) {
  return Start('D', in_stream).U32(kRel).Byte(old_kind).U16(2).Text("7").Text("old").str();
}

std::string TruncateBytes(bool in_stream = false) {
  return Start('T', in_stream)
      .U32(2)
      .U8(Truncate::kCascade | Truncate::kRestartIdentity)
      .U32(kRel)
      .U32(kRel + 1)
      .str();
}

std::string MessageBytes(uint8_t flags, bool in_stream = false) {
  return Start('M', in_stream)
      .U8(flags)
      .Lsn(kLsn)
      .CString("app.audit")
      .U32(4)
      .Bytes(std::string("a\0b\xFF", 4))
      .str();
}

std::string StreamStartBytes(uint8_t first) {
  return PgoutputBuilder().Byte('S').U32(kXid).U8(first).str();
}

std::string StreamCommitBytes() {
  return PgoutputBuilder().Byte('c').U32(kXid).U8(0).Lsn(kLsn).Lsn(kEndLsn).Timestamp(kTime).str();
}

std::string StreamAbortShort() { return PgoutputBuilder().Byte('A').U32(kXid).U32(kSubXid).str(); }

std::string StreamAbortLong() {
  return PgoutputBuilder().Byte('A').U32(kXid).U32(kXid).Lsn(kLsn).Timestamp(kTime).str();
}

std::string BeginPrepareBytes() {
  return PgoutputBuilder()
      .Byte('b')
      .Lsn(kLsn)
      .Lsn(kEndLsn)
      .Timestamp(kTime)
      .U32(kXid)
      .CString("gid-ä1")
      .str();
}

std::string PrepareBytes(char type) {
  return PgoutputBuilder()
      .Byte(type)
      .U8(0)
      .Lsn(kLsn)
      .Lsn(kEndLsn)
      .Timestamp(kTime)
      .U32(kXid)
      .CString("gid-1")
      .str();
}

std::string CommitPreparedBytes() {
  return PgoutputBuilder()
      .Byte('K')
      .U8(0)
      .Lsn(kLsn)
      .Lsn(kEndLsn)
      .Timestamp(kTime)
      .U32(kXid)
      .CString("g")
      .str();
}

std::string RollbackPreparedBytes() {
  return PgoutputBuilder()
      .Byte('r')
      .U8(0)
      .Lsn(kLsn)
      .Lsn(kEndLsn)
      .Timestamp(kTime)
      .Timestamp(kTime2)
      .U32(kXid)
      .CString("gid-9")
      .str();
}

// clang-format on

// --- Well-formed messages, v1 ----------------------------------------------------

TEST(PgoutputDecoderTest, Begin) {
  const std::string bytes = BeginBytes();
  const Begin m = DecodeAs<Begin>(bytes);
  EXPECT_EQ(m.final_lsn, kLsn);
  EXPECT_EQ(m.commit_time, kTime);
  EXPECT_EQ(m.xid, kXid);
}

TEST(PgoutputDecoderTest, Commit) {
  const std::string bytes = CommitBytes();
  const Commit m = DecodeAs<Commit>(bytes);
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.commit_lsn, kLsn);
  EXPECT_EQ(m.end_lsn, kEndLsn);
  EXPECT_EQ(m.commit_time, kTime);
}

TEST(PgoutputDecoderTest, Origin) {
  const std::string bytes = OriginBytes();
  const Origin m = DecodeAs<Origin>(bytes);
  EXPECT_EQ(m.origin_lsn, kLsn);
  EXPECT_EQ(m.name, "node_ü");
}

TEST(PgoutputDecoderTest, Relation) {
  const std::string bytes = RelationBytes();
  const Relation m = DecodeAs<Relation>(bytes);
  EXPECT_EQ(m.xid, std::nullopt);
  EXPECT_EQ(m.relation_id, kRel);
  EXPECT_EQ(m.nspname, "public");
  EXPECT_EQ(m.relname, "orders");
  EXPECT_EQ(m.replica_identity, 'd');
  ASSERT_EQ(m.columns.size(), 3u);
  EXPECT_EQ(m.columns[0].flags, 1);
  EXPECT_TRUE(m.columns[0].is_key());
  EXPECT_EQ(m.columns[0].name, "id");
  EXPECT_EQ(m.columns[0].type_oid, 20u);
  EXPECT_EQ(m.columns[0].type_modifier, -1);
  EXPECT_FALSE(m.columns[1].is_key());
  EXPECT_EQ(m.columns[1].name, "note");
  EXPECT_EQ(m.columns[1].type_oid, 1043u);
  EXPECT_EQ(m.columns[1].type_modifier, 68);
  EXPECT_EQ(m.columns[2].name, "zażółć_表");
  EXPECT_EQ(m.columns[2].type_oid, 90001u);
}

TEST(PgoutputDecoderTest, RelationInPgCatalogWithNoColumnsAndEveryIdentity) {
  for (char ident : {'d', 'n', 'f', 'i'}) {
    const std::string bytes = PgoutputBuilder()
                                  .Byte('R')
                                  .U32(1259)
                                  .CString("")
                                  .CString("Ünïcode")
                                  .Byte(ident)
                                  .U16(0)
                                  .str();
    const Relation m = DecodeAs<Relation>(bytes);
    EXPECT_EQ(m.nspname, "");
    EXPECT_EQ(m.relname, "Ünïcode");
    EXPECT_EQ(m.replica_identity, ident);
    EXPECT_TRUE(m.columns.empty());
  }
}

TEST(PgoutputDecoderTest, Type) {
  const std::string bytes = TypeBytes();
  const Type m = DecodeAs<Type>(bytes);
  EXPECT_EQ(m.xid, std::nullopt);
  EXPECT_EQ(m.type_oid, 90001u);
  EXPECT_EQ(m.nspname, "app");
  EXPECT_EQ(m.typname, "mood");
}

TEST(PgoutputDecoderTest, InsertWithEveryColumnKind) {
  const std::string bytes = InsertBytes();
  const Insert m = DecodeAs<Insert>(bytes);
  EXPECT_EQ(m.xid, std::nullopt);
  EXPECT_EQ(m.relation_id, kRel);
  const std::vector<TupleColumn>& c = m.new_tuple.columns;
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0].kind, Kind::kText);
  EXPECT_EQ(c[0].data, "42");
  EXPECT_EQ(c[1].kind, Kind::kNull);
  EXPECT_EQ(c[1].data, "");
  EXPECT_EQ(c[2].kind, Kind::kUnchangedToast);
  EXPECT_EQ(c[3].kind, Kind::kText);
  EXPECT_EQ(c[3].data, "");  // '' is a text column of length 0, not NULL
  EXPECT_EQ(c[4].kind, Kind::kBinary);
  EXPECT_EQ(c[4].data, std::string_view("\x00\xFF\x01", 3));
  ExpectPointsInto(c[0].data, bytes);
  ExpectPointsInto(c[4].data, bytes);
}

TEST(PgoutputDecoderTest, InsertWithZeroColumns) {
  const std::string bytes = PgoutputBuilder().Byte('I').U32(kRel).Byte('N').U16(0).str();
  EXPECT_TRUE(DecodeAs<Insert>(bytes).new_tuple.columns.empty());
}

TEST(PgoutputDecoderTest, InsertWithLargeTextColumn) {
  const std::string big(100000, 'x');
  const std::string bytes = PgoutputBuilder().Byte('I').U32(kRel).Byte('N').U16(1).Text(big).str();
  const Insert m = DecodeAs<Insert>(bytes);
  ASSERT_EQ(m.new_tuple.columns.size(), 1u);
  EXPECT_EQ(m.new_tuple.columns[0].data.size(), big.size());
}

TEST(PgoutputDecoderTest, UpdateWithoutOldTuple) {
  const std::string bytes = UpdateBytes(0);
  const Update m = DecodeAs<Update>(bytes);
  EXPECT_EQ(m.relation_id, kRel);
  EXPECT_EQ(m.old_kind, OldTupleKind::kNone);
  EXPECT_TRUE(m.old_tuple.columns.empty());
  ASSERT_EQ(m.new_tuple.columns.size(), 2u);
  EXPECT_EQ(m.new_tuple.columns[0].data, "2");
  EXPECT_EQ(m.new_tuple.columns[1].kind, Kind::kUnchangedToast);
}

TEST(PgoutputDecoderTest, UpdateWithOldKeyAndWithOldRow) {
  for (char old_kind : {'K', 'O'}) {
    SCOPED_TRACE(old_kind);
    const std::string bytes = UpdateBytes(old_kind);
    const Update m = DecodeAs<Update>(bytes);
    EXPECT_EQ(m.old_kind, static_cast<OldTupleKind>(old_kind));
    ASSERT_EQ(m.old_tuple.columns.size(), 2u);
    EXPECT_EQ(m.old_tuple.columns[0].kind, Kind::kText);
    EXPECT_EQ(m.old_tuple.columns[0].data, "1");
    EXPECT_EQ(m.old_tuple.columns[1].kind, Kind::kNull);
    ASSERT_EQ(m.new_tuple.columns.size(), 2u);
    EXPECT_EQ(m.new_tuple.columns[0].data, "2");
  }
}

TEST(PgoutputDecoderTest, DeleteWithKeyAndWithFullRow) {
  for (char old_kind : {'K', 'O'}) {
    SCOPED_TRACE(old_kind);
    const std::string bytes = DeleteBytes(old_kind);
    const Delete m = DecodeAs<Delete>(bytes);
    EXPECT_EQ(m.xid, std::nullopt);
    EXPECT_EQ(m.relation_id, kRel);
    EXPECT_EQ(m.old_kind, static_cast<OldTupleKind>(old_kind));
    ASSERT_EQ(m.old_tuple.columns.size(), 2u);
    EXPECT_EQ(m.old_tuple.columns[0].data, "7");
    EXPECT_EQ(m.old_tuple.columns[1].data, "old");
  }
}

TEST(PgoutputDecoderTest, TruncateWithOptions) {
  const std::string bytes = TruncateBytes();
  const Truncate m = DecodeAs<Truncate>(bytes);
  EXPECT_EQ(m.xid, std::nullopt);
  EXPECT_EQ(m.options, Truncate::kCascade | Truncate::kRestartIdentity);
  EXPECT_THAT(m.relation_ids, ElementsAre(kRel, kRel + 1));
}

TEST(PgoutputDecoderTest, TruncateWithoutOptionsOrRelations) {
  const std::string bytes = PgoutputBuilder().Byte('T').U32(0).U8(0).str();
  const Truncate m = DecodeAs<Truncate>(bytes);
  EXPECT_EQ(m.options, 0);
  EXPECT_TRUE(m.relation_ids.empty());
}

TEST(PgoutputDecoderTest, TransactionalAndNonTransactionalMessage) {
  for (uint8_t flags : {0, 1}) {
    const std::string bytes = MessageBytes(flags);
    const LogicalMessage m = DecodeAs<LogicalMessage>(bytes, /*proto_version=*/1);
    EXPECT_EQ(m.xid, std::nullopt);
    EXPECT_EQ(m.flags, flags);
    EXPECT_EQ(m.transactional(), flags == 1);
    EXPECT_EQ(m.lsn, kLsn);
    EXPECT_EQ(m.prefix, "app.audit");
    EXPECT_EQ(m.content, std::string_view("a\0b\xFF", 4));
    ExpectPointsInto(m.content, bytes);
  }
}

TEST(PgoutputDecoderTest, MessageWithEmptyPrefixAndContent) {
  const std::string bytes = PgoutputBuilder().Byte('M').U8(0).Lsn(1).CString("").U32(0).str();
  const LogicalMessage m = DecodeAs<LogicalMessage>(bytes, 4);
  EXPECT_EQ(m.prefix, "");
  EXPECT_EQ(m.content, "");
}

// --- Streaming, v2+ ------------------------------------------------------------------

TEST(PgoutputDecoderTest, StreamStartAndStop) {
  const std::string first = StreamStartBytes(1);
  const StreamStart s1 = DecodeAs<StreamStart>(first, 2);
  EXPECT_EQ(s1.xid, kXid);
  EXPECT_TRUE(s1.first_segment);
  const std::string later = StreamStartBytes(0);
  EXPECT_FALSE(DecodeAs<StreamStart>(later, 2).first_segment);
  DecodeAs<StreamStop>("E", 2, /*in_stream=*/true);
}

TEST(PgoutputDecoderTest, StreamCommit) {
  const std::string bytes = StreamCommitBytes();
  const StreamCommit m = DecodeAs<StreamCommit>(bytes, 2);
  EXPECT_EQ(m.xid, kXid);
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.commit_lsn, kLsn);
  EXPECT_EQ(m.end_lsn, kEndLsn);
  EXPECT_EQ(m.commit_time, kTime);
}

TEST(PgoutputDecoderTest, StreamAbortShortFormInEveryStreamingVersion) {
  const std::string bytes = StreamAbortShort();
  for (int version : {2, 3, 4}) {
    const StreamAbort m = DecodeAs<StreamAbort>(bytes, version);
    EXPECT_EQ(m.xid, kXid);
    EXPECT_EQ(m.subxid, kSubXid);
    EXPECT_EQ(m.abort_lsn, std::nullopt);
    EXPECT_EQ(m.abort_time, std::nullopt);
  }
}

TEST(PgoutputDecoderTest, StreamAbortParallelFormInV4) {
  const std::string bytes = StreamAbortLong();
  const StreamAbort m = DecodeAs<StreamAbort>(bytes, 4);
  EXPECT_EQ(m.xid, kXid);
  EXPECT_EQ(m.subxid, kXid);
  EXPECT_THAT(m.abort_lsn, Optional(kLsn));
  EXPECT_THAT(m.abort_time, Optional(kTime));
}

TEST(PgoutputDecoderTest, StreamAbortParallelFormRejectedBeforeV4) {
  for (int version : {2, 3}) {
    EXPECT_THAT(DecodePgoutput(StreamAbortLong(), version, false),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("pgoutput Stream Abort: 16 trailing bytes at byte 9")));
  }
}

TEST(PgoutputDecoderTest, StreamAbortWithHalfTheParallelFieldsIsTruncated) {
  const std::string bytes = PgoutputBuilder().Byte('A').U32(kXid).U32(kXid).Lsn(kLsn).str();
  EXPECT_THAT(DecodePgoutput(bytes, 4, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Stream Abort: truncated at byte 17 (need 8, have 0)")));
}

TEST(PgoutputDecoderTest, XidPrefixInsideStream) {
  {
    const std::string bytes = RelationBytes(true);
    const Relation m = DecodeAs<Relation>(bytes, 2, true);
    EXPECT_THAT(m.xid, Optional(kSubXid));
    EXPECT_EQ(m.relation_id, kRel);
    EXPECT_EQ(m.columns.size(), 3u);
  }
  {
    const std::string bytes = TypeBytes(true);
    const Type m = DecodeAs<Type>(bytes, 2, true);
    EXPECT_THAT(m.xid, Optional(kSubXid));
    EXPECT_EQ(m.typname, "mood");
  }
  {
    const std::string bytes = InsertBytes(true);
    const Insert m = DecodeAs<Insert>(bytes, 3, true);
    EXPECT_THAT(m.xid, Optional(kSubXid));
    EXPECT_EQ(m.relation_id, kRel);
    EXPECT_EQ(m.new_tuple.columns.size(), 5u);
  }
  {
    const std::string bytes = UpdateBytes('O', true);
    const Update m = DecodeAs<Update>(bytes, 4, true);
    EXPECT_THAT(m.xid, Optional(kSubXid));
    EXPECT_EQ(m.old_kind, OldTupleKind::kFull);
  }
  {
    const std::string bytes = DeleteBytes('K', true);
    const Delete m = DecodeAs<Delete>(bytes, 2, true);
    EXPECT_THAT(m.xid, Optional(kSubXid));
    EXPECT_EQ(m.old_kind, OldTupleKind::kKey);
  }
  {
    const std::string bytes = TruncateBytes(true);
    const Truncate m = DecodeAs<Truncate>(bytes, 2, true);
    EXPECT_THAT(m.xid, Optional(kSubXid));
    EXPECT_THAT(m.relation_ids, ElementsAre(kRel, kRel + 1));
  }
  {
    const std::string bytes = MessageBytes(1, true);
    const LogicalMessage m = DecodeAs<LogicalMessage>(bytes, 2, true);
    EXPECT_THAT(m.xid, Optional(kSubXid));
    EXPECT_EQ(m.prefix, "app.audit");
  }
}

TEST(PgoutputDecoderTest, StreamControlMessagesHaveNoXidPrefixEvenInStream) {
  // Only R/Y/I/U/D/T/M get the prefix; S/E/c/A carry their xid as a normal field.
  const std::string bytes = StreamCommitBytes();
  EXPECT_EQ(DecodeAs<StreamCommit>(bytes, 2, /*in_stream=*/true).xid, kXid);
  const std::string begin = BeginBytes();
  EXPECT_EQ(DecodeAs<Begin>(begin, 2, /*in_stream=*/true).xid, kXid);
}

TEST(PgoutputDecoderTest, MissingXidPrefixIsDetected) {
  // An Insert without the prefix decoded as if inside a stream: the relid becomes the
  // xid and the 'N' marker is then misplaced.
  EXPECT_THAT(DecodePgoutput(InsertBytes(false), 2, true),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("pgoutput Insert")));
}

// --- Two-phase, v3+ -------------------------------------------------------------------

TEST(PgoutputDecoderTest, BeginPrepare) {
  const std::string bytes = BeginPrepareBytes();
  const BeginPrepare m = DecodeAs<BeginPrepare>(bytes, 3);
  EXPECT_EQ(m.prepare_lsn, kLsn);
  EXPECT_EQ(m.end_lsn, kEndLsn);
  EXPECT_EQ(m.prepare_time, kTime);
  EXPECT_EQ(m.xid, kXid);
  EXPECT_EQ(m.gid, "gid-ä1");
}

TEST(PgoutputDecoderTest, PrepareAndStreamPrepareAreDistinct) {
  const std::string p = PrepareBytes('P');
  const Prepare m = DecodeAs<Prepare>(p, 3);
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.prepare_lsn, kLsn);
  EXPECT_EQ(m.end_lsn, kEndLsn);
  EXPECT_EQ(m.prepare_time, kTime);
  EXPECT_EQ(m.xid, kXid);
  EXPECT_EQ(m.gid, "gid-1");

  const std::string sp = PrepareBytes('p');
  const StreamPrepare s = DecodeAs<StreamPrepare>(sp, 4);
  EXPECT_EQ(s.prepare_lsn, kLsn);
  EXPECT_EQ(s.end_lsn, kEndLsn);
  EXPECT_EQ(s.xid, kXid);
  EXPECT_EQ(s.gid, "gid-1");
}

TEST(PgoutputDecoderTest, CommitPrepared) {
  const std::string bytes = CommitPreparedBytes();
  const CommitPrepared m = DecodeAs<CommitPrepared>(bytes, 3);
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.commit_lsn, kLsn);
  EXPECT_EQ(m.end_lsn, kEndLsn);
  EXPECT_EQ(m.commit_time, kTime);
  EXPECT_EQ(m.xid, kXid);
  EXPECT_EQ(m.gid, "g");
}

TEST(PgoutputDecoderTest, RollbackPrepared) {
  const std::string bytes = RollbackPreparedBytes();
  const RollbackPrepared m = DecodeAs<RollbackPrepared>(bytes, 4);
  EXPECT_EQ(m.flags, 0);
  EXPECT_EQ(m.prepare_end_lsn, kLsn);
  EXPECT_EQ(m.rollback_end_lsn, kEndLsn);
  EXPECT_EQ(m.prepare_time, kTime);
  EXPECT_EQ(m.rollback_time, kTime2);
  EXPECT_EQ(m.xid, kXid);
  EXPECT_EQ(m.gid, "gid-9");
}

// --- Version gates and arguments -------------------------------------------------------

TEST(PgoutputDecoderTest, StreamMessagesNeedV2) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {StreamStartBytes(1), "pgoutput Stream Start"},
      {"E", "pgoutput Stream Stop"},
      {StreamCommitBytes(), "pgoutput Stream Commit"},
      {StreamAbortShort(), "pgoutput Stream Abort"},
  };
  for (const auto& [bytes, name] : cases) {
    EXPECT_THAT(DecodePgoutput(bytes, 1, false),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr(name + ": not valid with proto_version 1 (needs 2 or later)")));
  }
}

TEST(PgoutputDecoderTest, TwoPhaseMessagesNeedV3) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {BeginPrepareBytes(), "pgoutput Begin Prepare"},
      {PrepareBytes('P'), "pgoutput Prepare"},
      {CommitPreparedBytes(), "pgoutput Commit Prepared"},
      {RollbackPreparedBytes(), "pgoutput Rollback Prepared"},
      {PrepareBytes('p'), "pgoutput Stream Prepare"},
  };
  for (const auto& [bytes, name] : cases) {
    for (int version : {1, 2}) {
      EXPECT_THAT(DecodePgoutput(bytes, version, false),
                  StatusIs(absl::StatusCode::kDataLoss,
                           HasSubstr(name + ": not valid with proto_version " +
                                     std::to_string(version) + " (needs 3 or later)")));
    }
  }
}

TEST(PgoutputDecoderTest, InStreamWithV1IsACallerError) {
  EXPECT_THAT(DecodePgoutput(InsertBytes(true), 1, true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("pgoutput Insert: in_stream needs proto_version 2")));
}

TEST(PgoutputDecoderTest, UnsupportedProtoVersion) {
  for (int version : {0, -1, 5}) {
    EXPECT_THAT(DecodePgoutput(BeginBytes(), version, false),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("unsupported proto_version " + std::to_string(version))));
  }
}

// --- Malformed input ----------------------------------------------------------------------

TEST(PgoutputDecoderTest, EmptyPayload) {
  EXPECT_THAT(DecodePgoutput("", 1, false),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("pgoutput: empty message")));
}

TEST(PgoutputDecoderTest, UnknownTypeByteIsNamed) {
  EXPECT_THAT(DecodePgoutput("Z\x01\x02", 4, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput: unknown message type 'Z' (0x5A)")));
  EXPECT_THAT(DecodePgoutput(std::string("\x01", 1), 4, false),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("unknown message type 0x01")));
  EXPECT_THAT(DecodePgoutput(std::string("\0", 1), 4, false),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("unknown message type 0x00")));
  EXPECT_THAT(DecodePgoutput("\xFF", 4, false),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("unknown message type 0xFF")));
  // Replication-layer types are not pgoutput types.
  EXPECT_THAT(DecodePgoutput("w", 4, false),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("unknown message type 'w'")));
}

TEST(PgoutputDecoderTest, BadTupleColumnKind) {
  const std::string bytes =
      PgoutputBuilder().Byte('I').U32(kRel).Byte('N').U16(2).Text("1").Byte('x').str();
  EXPECT_THAT(DecodePgoutput(bytes, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Insert: column 2 has invalid TupleData kind 'x' "
                                 "(0x78) (want 'n', 'u', 't' or 'b') at byte 14")));
}

TEST(PgoutputDecoderTest, NegativeColumnLength) {
  for (char kind : {'t', 'b'}) {
    const std::string bytes =
        PgoutputBuilder().Byte('I').U32(kRel).Byte('N').U16(1).Byte(kind).I32(-1).str();
    EXPECT_THAT(DecodePgoutput(bytes, 1, false),
                StatusIs(absl::StatusCode::kDataLoss,
                         HasSubstr("pgoutput Insert: column 1 has negative length -1 at byte 9")));
  }
  const std::string min_len =
      PgoutputBuilder().Byte('D').U32(kRel).Byte('K').U16(1).Byte('t').I32(INT32_MIN).str();
  EXPECT_THAT(DecodePgoutput(min_len, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Delete: column 1 has negative length -2147483648")));
}

TEST(PgoutputDecoderTest, ColumnLengthBeyondEnd) {
  const std::string bytes =
      PgoutputBuilder().Byte('I').U32(kRel).Byte('N').U16(1).Byte('t').I32(100).Bytes("abc").str();
  EXPECT_THAT(DecodePgoutput(bytes, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Insert: truncated at byte 13 (need 100, have 3)")));
  const std::string max_len =
      PgoutputBuilder().Byte('I').U32(kRel).Byte('N').U16(1).Byte('b').I32(INT32_MAX).str();
  EXPECT_THAT(DecodePgoutput(max_len, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("truncated at byte 13 (need 2147483647, have 0)")));
}

TEST(PgoutputDecoderTest, ColumnCountBeyondEnd) {
  // 65535 columns announced, one sent: must fail fast without reserving for 65535.
  const std::string bytes =
      PgoutputBuilder().Byte('I').U32(kRel).Byte('N').U16(0xFFFF).Null().str();
  EXPECT_THAT(DecodePgoutput(bytes, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Insert: truncated at byte 9 (need 1, have 0)")));
}

TEST(PgoutputDecoderTest, InsertNeedsNewTupleMarker) {
  const std::string bytes = PgoutputBuilder().Byte('I').U32(kRel).Byte('K').U16(0).str();
  EXPECT_THAT(DecodePgoutput(bytes, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Insert: expected new tuple marker 'N', got 'K' "
                                 "(0x4B) at byte 5")));
}

TEST(PgoutputDecoderTest, UpdateWithBothOldKeyAndOldRowIsRejected) {
  const std::string bytes = PgoutputBuilder()
                                .Byte('U')
                                .U32(kRel)
                                .Byte('K')
                                .U16(1)
                                .Text("1")
                                .Byte('O')
                                .U16(1)
                                .Text("1")
                                .Byte('N')
                                .U16(1)
                                .Text("2")
                                .str();
  EXPECT_THAT(DecodePgoutput(bytes, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Update: expected new tuple marker 'N', got 'O' "
                                 "(0x4F) at byte 14")));
}

TEST(PgoutputDecoderTest, UpdateNeedsNewTuple) {
  const std::string bytes = PgoutputBuilder().Byte('U').U32(kRel).Byte('K').U16(1).Null().str();
  EXPECT_THAT(DecodePgoutput(bytes, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Update: truncated at byte 9 (need 1, have 0)")));
  const std::string bad = PgoutputBuilder().Byte('U').U32(kRel).Byte('X').U16(0).str();
  EXPECT_THAT(DecodePgoutput(bad, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("expected new tuple marker 'N', got 'X' (0x58) at byte 5")));
}

TEST(PgoutputDecoderTest, DeleteNeedsOldTuple) {
  const std::string bytes = PgoutputBuilder().Byte('D').U32(kRel).Byte('N').U16(1).Null().str();
  EXPECT_THAT(DecodePgoutput(bytes, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Delete: expected old tuple marker 'K' or 'O', got "
                                 "'N' (0x4E) at byte 5")));
}

TEST(PgoutputDecoderTest, RelationWithInvalidReplicaIdentity) {
  const std::string bytes =
      PgoutputBuilder().Byte('R').U32(kRel).CString("s").CString("t").Byte('x').U16(0).str();
  EXPECT_THAT(DecodePgoutput(bytes, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Relation: invalid replica identity 'x' (0x78) at "
                                 "byte 9")));
}

TEST(PgoutputDecoderTest, RelationWithUnterminatedName) {
  const std::string bytes =
      PgoutputBuilder().Byte('R').U32(kRel).CString("public").Bytes("ord").str();
  EXPECT_THAT(DecodePgoutput(bytes, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Relation: unterminated string at byte 12 (no NUL "
                                 "in the remaining 3 bytes)")));
}

TEST(PgoutputDecoderTest, TruncateWithHugeRelationCount) {
  const std::string bytes = PgoutputBuilder().Byte('T').U32(0xFFFFFFFF).U8(0).U32(kRel).str();
  EXPECT_THAT(DecodePgoutput(bytes, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Truncate: truncated at byte 10 (need 4, have 0)")));
}

TEST(PgoutputDecoderTest, MessageContentBeyondEnd) {
  const std::string bytes =
      PgoutputBuilder().Byte('M').U8(1).Lsn(kLsn).CString("p").U32(0xFFFFFFFF).Bytes("ab").str();
  EXPECT_THAT(DecodePgoutput(bytes, 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Message: truncated at byte 16 (need 4294967295, "
                                 "have 2)")));
}

TEST(PgoutputDecoderTest, TrailingBytesAreRejected) {
  EXPECT_THAT(DecodePgoutput(BeginBytes() + "x", 1, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Begin: 1 trailing bytes at byte 21 (message is 22 "
                                 "bytes)")));
  EXPECT_THAT(
      DecodePgoutput(InsertBytes() + "nn", 1, false),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("pgoutput Insert: 2 trailing bytes")));
  EXPECT_THAT(DecodePgoutput(std::string("E\0", 2), 2, false),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("pgoutput Stream Stop: 1 trailing bytes at byte 1")));
}

// --- Every message, every prefix --------------------------------------------------------

struct Case {
  std::string name;
  std::string bytes;
  int proto_version;
  bool in_stream;
  std::string context;
  size_t valid_prefix = 0;  // a strictly shorter prefix that is itself valid, or 0
};

std::vector<Case> AllMessages() {
  return {
      {"Begin", BeginBytes(), 1, false, "pgoutput Begin"},
      {"Commit", CommitBytes(), 1, false, "pgoutput Commit"},
      {"Origin", OriginBytes(), 1, false, "pgoutput Origin"},
      {"Relation", RelationBytes(), 1, false, "pgoutput Relation"},
      {"RelationInStream", RelationBytes(true), 2, true, "pgoutput Relation"},
      {"Type", TypeBytes(), 1, false, "pgoutput Type"},
      {"TypeInStream", TypeBytes(true), 2, true, "pgoutput Type"},
      {"Insert", InsertBytes(), 1, false, "pgoutput Insert"},
      {"InsertInStream", InsertBytes(true), 2, true, "pgoutput Insert"},
      {"Update", UpdateBytes(0), 1, false, "pgoutput Update"},
      {"UpdateOldKey", UpdateBytes('K'), 1, false, "pgoutput Update"},
      {"UpdateOldRowInStream", UpdateBytes('O', true), 3, true, "pgoutput Update"},
      {"DeleteKey", DeleteBytes('K'), 1, false, "pgoutput Delete"},
      {"DeleteFullInStream", DeleteBytes('O', true), 4, true, "pgoutput Delete"},
      {"Truncate", TruncateBytes(), 1, false, "pgoutput Truncate"},
      {"TruncateInStream", TruncateBytes(true), 2, true, "pgoutput Truncate"},
      {"Message", MessageBytes(0), 1, false, "pgoutput Message"},
      {"MessageInStream", MessageBytes(1, true), 2, true, "pgoutput Message"},
      {"StreamStart", StreamStartBytes(1), 2, false, "pgoutput Stream Start"},
      {"StreamStop", "E", 2, true, "pgoutput Stream Stop"},
      {"StreamCommit", StreamCommitBytes(), 2, false, "pgoutput Stream Commit"},
      {"StreamAbort", StreamAbortShort(), 2, false, "pgoutput Stream Abort"},
      {"StreamAbortParallel", StreamAbortLong(), 4, false, "pgoutput Stream Abort", 9},
      {"BeginPrepare", BeginPrepareBytes(), 3, false, "pgoutput Begin Prepare"},
      {"Prepare", PrepareBytes('P'), 3, false, "pgoutput Prepare"},
      {"CommitPrepared", CommitPreparedBytes(), 3, false, "pgoutput Commit Prepared"},
      {"RollbackPrepared", RollbackPreparedBytes(), 3, false, "pgoutput Rollback Prepared"},
      {"StreamPrepare", PrepareBytes('p'), 3, false, "pgoutput Stream Prepare"},
  };
}

class EveryMessageTest : public ::testing::TestWithParam<Case> {};

TEST_P(EveryMessageTest, DecodesInItsVersionAndAllLater) {
  const Case& c = GetParam();
  for (int version = c.proto_version; version <= 4; ++version) {
    EXPECT_TRUE(DecodePgoutput(c.bytes, version, c.in_stream).ok()) << "v" << version;
  }
}

TEST_P(EveryMessageTest, EveryPrefixIsDataLoss) {
  const Case& c = GetParam();
  for (size_t n = 0; n < c.bytes.size(); ++n) {
    if (n == c.valid_prefix && n != 0) continue;
    // An exactly sized heap copy, so that an over-read is caught by ASan builds.
    const std::vector<char> prefix(c.bytes.begin(), c.bytes.begin() + n);
    const absl::StatusOr<PgoutputMessage> m =
        DecodePgoutput(std::string_view(prefix.data(), n), c.proto_version, c.in_stream);
    EXPECT_THAT(m, StatusIs(absl::StatusCode::kDataLoss,
                            HasSubstr(n == 0 ? "pgoutput: empty message" : c.context)))
        << "prefix length " << n;
  }
}

TEST_P(EveryMessageTest, TrailingByteIsDataLoss) {
  const Case& c = GetParam();
  EXPECT_THAT(DecodePgoutput(c.bytes + '\0', c.proto_version, c.in_stream),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(c.context)));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, EveryMessageTest, ::testing::ValuesIn(AllMessages()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace pgcdc::internal
