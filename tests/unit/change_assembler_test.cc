// ChangeAssembler over hand-built pgoutput bytes: transactions, streamed chunks,
// (sub)transaction aborts, relation overlays, messages and protocol violations.
#include "assembly/change_assembler.h"

#include <deque>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pgcdc/v1/change.pb.h"
#include "unit/testing/pgoutput_builder.h"
#include "unit/testing/status_matchers.h"

namespace pgcdc::internal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint32_t kRel = 16384;
constexpr int64_t kPgEpochUnixMicros = 946684800000000;

class AssemblerTest : public ::testing::Test {
 protected:
  explicit AssemblerTest(int proto_version = 2, AssemblerLimits limits = {},
                         PreparedDelivery prepared = PreparedDelivery::kAtCommit)
      : assembler_(proto_version, std::move(limits), prepared) {}

  absl::Status Feed(std::string payload, uint64_t lsn = 0x100) {
    payloads_.push_back(std::move(payload));
    absl::Status s = assembler_.Process(XLogData{lsn, lsn, 0, payloads_.back()}, &ready_);
    // A committed streamed transaction is decoded on demand, as the stream does.
    while (s.ok() && assembler_.replaying()) s = assembler_.Produce(3, &ready_);
    return s;
  }
  void MustFeed(std::string payload, uint64_t lsn = 0x100) {
    absl::Status s = Feed(std::move(payload), lsn);
    ASSERT_TRUE(s.ok()) << s;
  }

  // Relation with columns id int4 (key) and v text; `xid` set inside a stream block.
  static std::string RelationMessage(std::optional<uint32_t> xid = std::nullopt,
                                     bool extra_column = false) {
    PgoutputBuilder b;
    b.Byte('R');
    if (xid) b.U32(*xid);
    b.U32(kRel).CString("public").CString("t").Byte('d').U16(extra_column ? 3 : 2);
    b.U8(1).CString("id").U32(23).I32(-1);
    b.U8(0).CString("v").U32(25).I32(-1);
    if (extra_column) b.U8(0).CString("w").U32(20).I32(-1);
    return std::move(b).str();
  }
  static std::string Insert(int id, std::optional<uint32_t> xid = std::nullopt) {
    PgoutputBuilder b;
    b.Byte('I');
    if (xid) b.U32(*xid);
    return std::move(b.U32(kRel).Byte('N').U16(2).Text(std::to_string(id)).Text("x")).str();
  }
  static std::string Begin(uint64_t final_lsn, uint32_t xid) {
    return PgoutputBuilder().Byte('B').Lsn(final_lsn).Timestamp(1000).U32(xid).str();
  }
  static std::string Commit(uint64_t commit_lsn, uint64_t end_lsn) {
    return PgoutputBuilder().Byte('C').U8(0).Lsn(commit_lsn).Lsn(end_lsn).Timestamp(2000).str();
  }
  static std::string StreamStart(uint32_t xid, bool first) {
    return PgoutputBuilder().Byte('S').U32(xid).U8(first ? 1 : 0).str();
  }
  static std::string StreamStop() { return PgoutputBuilder().Byte('E').str(); }
  static std::string StreamCommit(uint32_t xid, uint64_t commit_lsn, uint64_t end_lsn) {
    return PgoutputBuilder()
        .Byte('c')
        .U32(xid)
        .U8(0)
        .Lsn(commit_lsn)
        .Lsn(end_lsn)
        .Timestamp(3000)
        .str();
  }
  static std::string StreamAbort(uint32_t xid, uint32_t subxid) {
    return PgoutputBuilder().Byte('A').U32(xid).U32(subxid).str();
  }

  std::vector<int64_t> ReadyIds() const {
    std::vector<int64_t> ids;
    for (const Change& c : ready_) ids.push_back(c.new_row()[0].value().int_value());
    return ids;
  }

  ChangeAssembler assembler_;
  std::deque<Change> ready_;
  std::deque<std::string> payloads_;  // decoded messages point into these
};

TEST_F(AssemblerTest, TransactionIsDeliveredWholeAtCommitWithPositions) {
  MustFeed(RelationMessage());
  MustFeed(Begin(0x500, 77));
  MustFeed(Insert(1), 0x200);
  MustFeed(Insert(2), 0x300);
  EXPECT_TRUE(ready_.empty());
  EXPECT_TRUE(assembler_.has_pending());
  MustFeed(Commit(0x500, 0x530));
  EXPECT_FALSE(assembler_.has_pending());
  ASSERT_EQ(ready_.size(), 2u);
  EXPECT_EQ(ready_[0].lsn().value(), 0x200u);
  EXPECT_EQ(ready_[1].lsn().value(), 0x300u);
  for (const Change& c : ready_) {
    EXPECT_EQ(c.commit_lsn().value(), 0x500u);
    EXPECT_EQ(c.end_lsn().value(), 0x530u);
    EXPECT_EQ(c.xid(), 77u);
    EXPECT_EQ(c.commit_time_us(), 2000 + kPgEpochUnixMicros);
  }
  EXPECT_EQ(ready_[0].id(), "0000000000000500-00000000");
  EXPECT_EQ(ready_[1].id(), "0000000000000500-00000001");
  EXPECT_FALSE(ready_[0].last_in_transaction());
  EXPECT_TRUE(ready_[1].last_in_transaction());
}

TEST_F(AssemblerTest, StreamedTransactionWaitsForStreamCommitAndKeepsCommitOrder) {
  MustFeed(StreamStart(10, true));
  MustFeed(RelationMessage(10));
  MustFeed(Insert(1, 10));
  MustFeed(StreamStop());
  // A small transaction commits while the big one is still in progress. (The server
  // describes the table again outside the stream: the stream's Relation is its own.)
  MustFeed(RelationMessage());
  MustFeed(Begin(0x600, 11));
  MustFeed(Insert(2));
  MustFeed(Commit(0x600, 0x630));
  EXPECT_THAT(ReadyIds(), ElementsAre(2));
  MustFeed(StreamStart(10, false));
  MustFeed(Insert(3, 10));
  MustFeed(StreamStop());
  EXPECT_TRUE(assembler_.has_pending());
  MustFeed(StreamCommit(10, 0x900, 0x930));
  EXPECT_THAT(ReadyIds(), ElementsAre(2, 1, 3));
  EXPECT_EQ(ready_[1].commit_lsn().value(), 0x900u);
  EXPECT_EQ(ready_[2].ordinal(), 1u);
  EXPECT_TRUE(ready_[2].last_in_transaction());
  EXPECT_EQ(ready_[2].commit_time_us(), 3000 + kPgEpochUnixMicros);
  EXPECT_FALSE(assembler_.has_pending());
}

TEST_F(AssemblerTest, RolledBackSubtransactionIsDroppedWithItsChildren) {
  MustFeed(StreamStart(10, true));
  MustFeed(RelationMessage(10));
  MustFeed(Insert(1, 10));
  MustFeed(Insert(2, 11));  // savepoint a (subxid 11)
  MustFeed(Insert(3, 12));  // nested savepoint b (subxid 12)
  MustFeed(StreamStop());
  MustFeed(StreamAbort(10, 11));  // ROLLBACK TO a: drops 11 and its child 12
  MustFeed(StreamAbort(10, 99));  // a subtransaction that made no change: harmless
  MustFeed(StreamStart(10, false));
  MustFeed(Insert(4, 10));
  MustFeed(StreamStop());
  MustFeed(StreamCommit(10, 0x900, 0x930));
  EXPECT_THAT(ReadyIds(), ElementsAre(1, 4));
  EXPECT_EQ(ready_[1].ordinal(), 1u);
}

// The server does not repeat a relation's schema within a streamed transaction, also
// when the subtransaction that carried it rolled back.
TEST_F(AssemblerTest, RolledBackSubtransactionKeepsItsRelationMessage) {
  MustFeed(StreamStart(10, true));
  MustFeed(RelationMessage(11));  // first sent inside savepoint a (subxid 11)
  MustFeed(Insert(1, 11));
  MustFeed(StreamStop());
  MustFeed(StreamAbort(10, 11));
  MustFeed(StreamStart(10, false));
  MustFeed(Insert(2, 10));
  MustFeed(StreamStop());
  MustFeed(StreamCommit(10, 0x900, 0x930));
  EXPECT_THAT(ReadyIds(), ElementsAre(2));
}

// Tiny limits: 300 bytes of messages in memory, then spill files (the OS temp dir).
class LimitedAssemblerTest : public AssemblerTest {
 protected:
  LimitedAssemblerTest() : AssemblerTest(2, AssemblerLimits{300, "/tmp"}) {}
};

TEST_F(LimitedAssemblerTest, StreamedTransactionsSpillAndReplayInOrder) {
  MustFeed(RelationMessage());
  for (uint32_t xid : {10u, 20u}) {
    MustFeed(StreamStart(xid, true));
    MustFeed(RelationMessage(xid));
    MustFeed(StreamStop());
  }
  for (int i = 0; i < 100; ++i) {  // two transactions interleaved chunk by chunk
    const uint32_t xid = i % 2 == 0 ? 10 : 20;
    MustFeed(StreamStart(xid, false));
    MustFeed(Insert(i, xid));
    MustFeed(StreamStop());
    EXPECT_LE(assembler_.buffered_bytes(), 300u);
  }
  EXPECT_GT(assembler_.spilled_bytes(), 0u);
  MustFeed(Begin(0x500, 30));  // a small one commits in between
  MustFeed(Insert(1000));
  MustFeed(Commit(0x500, 0x530));
  MustFeed(StreamCommit(20, 0x900, 0x930));
  MustFeed(StreamCommit(10, 0xA00, 0xA30));
  std::vector<int64_t> expected = {1000};
  for (int i = 1; i < 100; i += 2) expected.push_back(i);
  for (int i = 0; i < 100; i += 2) expected.push_back(i);
  EXPECT_EQ(ReadyIds(), expected);
  EXPECT_EQ(ready_[1].ordinal(), 0u);
  EXPECT_EQ(ready_[50].ordinal(), 49u);
  EXPECT_TRUE(ready_[50].last_in_transaction());
  EXPECT_EQ(ready_[50].end_lsn().value(), 0x930u);
  EXPECT_EQ(ready_.back().id(), "0000000000000A00-00000031");
  EXPECT_FALSE(assembler_.has_pending());
}

TEST_F(LimitedAssemblerTest, StatsCountBufferedAndSpilledBytes) {
  MustFeed(RelationMessage());
  MustFeed(StreamStart(10, true));
  MustFeed(RelationMessage(10));
  for (int i = 0; i < 40; ++i) MustFeed(Insert(i, 10));
  MustFeed(StreamStop());
  AssemblerStats during = assembler_.stats();
  EXPECT_EQ(during.transactions_spilled, 1u);
  EXPECT_GT(during.spill_file_bytes, 0u);
  EXPECT_EQ(during.spill_file_bytes, assembler_.spilled_bytes());
  EXPECT_GE(during.spilled_bytes_total, during.spill_file_bytes);
  EXPECT_EQ(during.buffered_bytes, assembler_.buffered_bytes());
  EXPECT_GT(during.peak_buffered_bytes, 0u);
  EXPECT_LE(during.peak_buffered_bytes, 300u);
  // A second transaction that spills, then is aborted: its file no longer counts.
  MustFeed(StreamStart(20, true));
  for (int i = 0; i < 40; ++i) MustFeed(Insert(i, 20));
  MustFeed(StreamStop());
  const AssemblerStats both = assembler_.stats();
  EXPECT_EQ(both.transactions_spilled, 2u);
  EXPECT_GT(both.spilled_bytes_total, during.spilled_bytes_total);
  MustFeed(StreamAbort(20, 20));
  EXPECT_GT(assembler_.stats().spill_file_bytes, 0u);
  EXPECT_LT(assembler_.stats().spill_file_bytes, both.spill_file_bytes);
  EXPECT_EQ(assembler_.stats().spill_file_bytes, assembler_.spilled_bytes());
  // Replayed at its commit: memory and file are released once it was decoded.
  MustFeed(StreamCommit(10, 0x900, 0x930));
  ASSERT_EQ(ready_.size(), 40u);
  const AssemblerStats after = assembler_.stats();
  EXPECT_EQ(after.buffered_bytes, 0u);
  EXPECT_EQ(after.spill_file_bytes, 0u);
  EXPECT_EQ(assembler_.buffered_bytes(), 0u);
  EXPECT_EQ(after.spilled_bytes_total, both.spilled_bytes_total);  // totals never go down
  EXPECT_EQ(after.transactions_spilled, 2u);
  EXPECT_LE(after.peak_buffered_bytes, 300u);
}

// A transaction sent whole counts its decoded changes while it is received.
TEST_F(LimitedAssemblerTest, StatsCountTheOpenTransaction) {
  MustFeed(RelationMessage());
  MustFeed(Begin(0x500, 30));
  MustFeed(Insert(1));
  EXPECT_GT(assembler_.stats().buffered_bytes, 0u);
  MustFeed(Commit(0x500, 0x530));
  EXPECT_EQ(assembler_.stats().buffered_bytes, 0u);
  EXPECT_GT(assembler_.stats().peak_buffered_bytes, 0u);
  EXPECT_EQ(assembler_.stats().spilled_bytes_total, 0u);
}

TEST_F(LimitedAssemblerTest, LargeTransactionIsDeliveredAsItArrives) {
  MustFeed(RelationMessage());
  MustFeed(Begin(0x500, 30));
  for (int i = 0; i < 20; ++i) MustFeed(Insert(i), 0x100 + i);
  // Beyond 300 bytes of records, all but the latest change are out before the Commit:
  // commit LSN, xid and ordinal are known from Begin, the commit record's end is not.
  ASSERT_GE(ready_.size(), 10u);
  EXPECT_LT(ready_.size(), 20u);
  EXPECT_EQ(ready_[3].ordinal(), 3u);
  EXPECT_EQ(ready_[3].commit_lsn().value(), 0x500u);
  EXPECT_EQ(ready_[3].xid(), 30u);
  EXPECT_EQ(ready_[3].end_lsn().value(), 0u);
  EXPECT_FALSE(ready_.back().last_in_transaction());
  MustFeed(Commit(0x500, 0x530));
  ASSERT_EQ(ready_.size(), 20u);
  std::vector<int64_t> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(i);
  EXPECT_EQ(ReadyIds(), expected);
  EXPECT_EQ(ready_.back().ordinal(), 19u);
  EXPECT_TRUE(ready_.back().last_in_transaction());
  EXPECT_EQ(ready_.back().end_lsn().value(), 0x530u);
}

// One budget: a streamed transaction's buffered messages and a transaction being
// received whole share max_buffered_bytes. The messages go to a file first, so the
// whole transaction still arrives whole, at its commit.
TEST_F(LimitedAssemblerTest, StreamedMessagesSpillToMakeRoomForTheOpenTransaction) {
  MustFeed(RelationMessage());
  MustFeed(StreamStart(10, true));
  MustFeed(RelationMessage(10));
  for (int i = 0; assembler_.buffered_bytes() < 200; ++i) MustFeed(Insert(i, 10));
  MustFeed(StreamStop());
  ASSERT_EQ(assembler_.stats().transactions_spilled, 0u);
  MustFeed(Begin(0x500, 30));
  int rows = 0;
  while (assembler_.stats().transactions_spilled == 0 && rows < 10) {
    MustFeed(Insert(1000 + rows), 0x510 + rows);
    ++rows;
  }
  EXPECT_EQ(assembler_.stats().transactions_spilled, 1u) << "the budget is not shared";
  EXPECT_LE(assembler_.stats().buffered_bytes, 300u);
  EXPECT_TRUE(ready_.empty()) << "delivered early although it fits once the other spilled";
  MustFeed(Commit(0x500, 0x530));
  ASSERT_EQ(ready_.size(), static_cast<size_t>(rows));
  EXPECT_EQ(ready_.front().end_lsn().value(), 0x530u);
  EXPECT_EQ(ready_.back().end_lsn().value(), 0x530u);
}

// The two-phase messages, for both delivery modes.
class TwoPhaseMessages {
 public:
  static std::string BeginPrepare(uint64_t lsn, uint32_t xid, const std::string& gid) {
    return PgoutputBuilder()
        .Byte('b')
        .Lsn(lsn)
        .Lsn(lsn + 0x20)
        .Timestamp(500)
        .U32(xid)
        .CString(gid)
        .str();
  }
  static std::string Prepare(uint64_t lsn, uint32_t xid, const std::string& gid, char type = 'P') {
    return PgoutputBuilder()
        .Byte(type)
        .U8(0)
        .Lsn(lsn)
        .Lsn(lsn + 0x20)
        .Timestamp(500)
        .U32(xid)
        .CString(gid)
        .str();
  }
  static std::string CommitPrepared(uint64_t lsn, uint32_t xid, const std::string& gid) {
    return PgoutputBuilder()
        .Byte('K')
        .U8(0)
        .Lsn(lsn)
        .Lsn(lsn + 0x30)
        .Timestamp(4000)
        .U32(xid)
        .CString(gid)
        .str();
  }
  static std::string RollbackPrepared(uint32_t xid, const std::string& gid) {
    return PgoutputBuilder()
        .Byte('r')
        .U8(0)
        .Lsn(0x700)
        .Lsn(0x800)
        .Timestamp(500)
        .Timestamp(600)
        .U32(xid)
        .CString(gid)
        .str();
  }
};

class TwoPhaseAssemblerTest : public AssemblerTest, protected TwoPhaseMessages {
 protected:
  TwoPhaseAssemblerTest() : AssemblerTest(3) {}
};

TEST_F(TwoPhaseAssemblerTest, PreparedTransactionIsDeliveredAtCommitPrepared) {
  MustFeed(BeginPrepare(0x500, 40, "g1"));
  MustFeed(RelationMessage());
  MustFeed(Insert(1));
  MustFeed(Insert(2));
  MustFeed(Prepare(0x500, 40, "g1"));
  EXPECT_TRUE(ready_.empty());
  EXPECT_EQ(assembler_.hold_lsn(), 0x500u);
  // Other transactions go on meanwhile, and use the Relation the prepared one carried.
  MustFeed(Begin(0x600, 41));
  MustFeed(Insert(3));
  MustFeed(Commit(0x600, 0x630));
  EXPECT_THAT(ReadyIds(), ElementsAre(3));
  MustFeed(CommitPrepared(0x900, 40, "g1"));
  EXPECT_THAT(ReadyIds(), ElementsAre(3, 1, 2));
  EXPECT_EQ(ready_[2].commit_lsn().value(), 0x900u);
  EXPECT_EQ(ready_[2].end_lsn().value(), 0x930u);
  EXPECT_EQ(ready_[2].xid(), 40u);
  EXPECT_EQ(ready_[2].commit_time_us(), 4000 + kPgEpochUnixMicros);
  EXPECT_TRUE(ready_[2].last_in_transaction());
  EXPECT_EQ(ready_[2].id(), "0000000000000900-00000001");
  EXPECT_EQ(ready_[2].gid(), "");  // committed when delivered: no gid
  EXPECT_FALSE(assembler_.has_pending());
  // Held until the committed transaction is acknowledged through its end: confirming
  // past the PREPARE earlier would make a restart receive COMMIT PREPARED alone.
  EXPECT_EQ(assembler_.hold_lsn(), 0x500u);
  assembler_.ReleaseHolds(0x900);  // its non-last changes acknowledge its commit LSN
  EXPECT_EQ(assembler_.hold_lsn(), 0x500u);
  assembler_.ReleaseHolds(0x930);
  EXPECT_FALSE(assembler_.hold_lsn().has_value());
}

TEST_F(TwoPhaseAssemblerTest, RollbackPreparedDropsItAndStreamPrepareKeepsChunks) {
  MustFeed(RelationMessage());
  MustFeed(BeginPrepare(0x500, 40, "g1"));
  MustFeed(Insert(1));
  MustFeed(Prepare(0x500, 40, "g1"));
  MustFeed(RollbackPrepared(40, "g1"));
  EXPECT_FALSE(assembler_.hold_lsn().has_value());
  // A streamed transaction that ends prepared (Stream Prepare), then commits.
  MustFeed(StreamStart(50, true));
  MustFeed(RelationMessage(50));
  MustFeed(Insert(7, 50));
  MustFeed(StreamStop());
  MustFeed(Prepare(0x600, 50, "g2", 'p'));
  EXPECT_EQ(assembler_.hold_lsn(), 0x600u);
  EXPECT_TRUE(ready_.empty());
  MustFeed(CommitPrepared(0xA00, 50, "g2"));
  EXPECT_THAT(ReadyIds(), ElementsAre(7));
  // COMMIT PREPARED of something never prepared here is an error, not a silent skip.
  EXPECT_THAT(Feed(CommitPrepared(0xB00, 60, "unknown")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("\"unknown\"")));
}

// PreparedDelivery::kAtPrepare: changes at PREPARE (with their gid), the outcome as a
// record of its own.
class AtPrepareAssemblerTest : public AssemblerTest, protected TwoPhaseMessages {
 protected:
  AtPrepareAssemblerTest() : AssemblerTest(3, {}, PreparedDelivery::kAtPrepare) {}
};

TEST_F(AtPrepareAssemblerTest, PreparedTransactionIsDeliveredAtPrepareThenItsOutcome) {
  MustFeed(BeginPrepare(0x500, 40, "g1"));
  MustFeed(RelationMessage());
  MustFeed(Insert(1), 0x200);
  MustFeed(Insert(2), 0x300);
  EXPECT_TRUE(ready_.empty());
  EXPECT_TRUE(assembler_.has_pending());
  MustFeed(Prepare(0x500, 40, "g1"));
  // Not held back: once acknowledged, the slot may move past the PREPARE.
  EXPECT_FALSE(assembler_.hold_lsn().has_value());
  EXPECT_FALSE(assembler_.has_pending());
  ASSERT_THAT(ReadyIds(), ElementsAre(1, 2));
  for (const Change& c : ready_) {
    EXPECT_EQ(c.gid(), "g1");
    EXPECT_EQ(c.xid(), 40u);
    EXPECT_EQ(c.commit_lsn().value(), 0x500u);  // the PREPARE record's start and end
    EXPECT_EQ(c.end_lsn().value(), 0x520u);
    EXPECT_EQ(c.commit_time_us(), 500 + kPgEpochUnixMicros);
  }
  EXPECT_EQ(ready_[0].lsn().value(), 0x200u);
  EXPECT_EQ(ready_[1].id(), "0000000000000500-00000001");
  EXPECT_TRUE(ready_[1].last_in_transaction());
  EXPECT_EQ(ready_[1].ToProto().gid(), "g1");
  // An ordinary transaction meanwhile has no gid.
  MustFeed(Begin(0x600, 41));
  MustFeed(Insert(3));
  MustFeed(Commit(0x600, 0x630));
  EXPECT_EQ(ready_[2].gid(), "");
  MustFeed(CommitPrepared(0x900, 40, "g1"));
  ASSERT_EQ(ready_.size(), 4u);
  const Change& k = ready_[3];
  EXPECT_EQ(k.op(), Operation::kCommitPrepared);
  EXPECT_EQ(k.gid(), "g1");
  EXPECT_EQ(k.xid(), 40u);
  EXPECT_EQ(k.lsn().value(), 0x900u);
  EXPECT_EQ(k.commit_lsn().value(), 0x900u);
  EXPECT_EQ(k.end_lsn().value(), 0x930u);
  EXPECT_EQ(k.commit_time_us(), 4000 + kPgEpochUnixMicros);
  EXPECT_TRUE(k.last_in_transaction());  // acknowledging it confirms its end_lsn
  EXPECT_EQ(k.ordinal(), 0u);
  EXPECT_TRUE(k.new_row().empty());
  EXPECT_TRUE(k.schema().empty());
  EXPECT_EQ(k.id(), "0000000000000900-CP");
  EXPECT_EQ(OperationName(k.op()), "commit_prepared");
  const v1::Change proto = k.ToProto();
  EXPECT_EQ(proto.op(), v1::OPERATION_COMMIT_PREPARED);
  EXPECT_EQ(proto.gid(), "g1");
  EXPECT_THAT(ToJson(k), HasSubstr(R"("op":"commit_prepared")"));
  EXPECT_THAT(ToJson(k), HasSubstr(R"("gid":"g1")"));
  EXPECT_THAT(ToJson(ready_[2]), ::testing::Not(HasSubstr("gid")));
  EXPECT_FALSE(assembler_.has_pending());
}

TEST_F(AtPrepareAssemblerTest, RollbackPreparedIsARecordOfItsOwn) {
  MustFeed(RelationMessage());
  MustFeed(BeginPrepare(0x500, 40, "g1"));
  MustFeed(Insert(1));
  MustFeed(Prepare(0x500, 40, "g1"));
  MustFeed(RollbackPrepared(40, "g1"));
  ASSERT_EQ(ready_.size(), 2u);
  EXPECT_EQ(ready_[0].gid(), "g1");
  const Change& r = ready_[1];
  EXPECT_EQ(r.op(), Operation::kRollbackPrepared);
  EXPECT_EQ(r.gid(), "g1");
  EXPECT_EQ(r.xid(), 40u);
  // Only the rollback record's end is sent: it is the record's position and its ack.
  EXPECT_EQ(r.end_lsn().value(), 0x800u);
  EXPECT_EQ(r.commit_lsn().value(), 0x800u);
  EXPECT_EQ(r.commit_time_us(), 600 + kPgEpochUnixMicros);
  EXPECT_TRUE(r.last_in_transaction());
  EXPECT_EQ(r.id(), "0000000000000800-RP");
  EXPECT_EQ(r.ToProto().op(), v1::OPERATION_ROLLBACK_PREPARED);
  EXPECT_THAT(ToJson(r), HasSubstr(R"("op":"rollback_prepared")"));
}

// The PREPARE was delivered (and acknowledged) in an earlier session: the server sends
// the outcome alone. A transaction prepared before two_phase was enabled comes as
// Begin Prepare ... Prepare immediately followed by Commit Prepared.
TEST_F(AtPrepareAssemblerTest, OutcomeWithoutItsPrepareInThisSession) {
  MustFeed(CommitPrepared(0x900, 40, "earlier"));
  MustFeed(RollbackPrepared(41, "never-seen"));
  ASSERT_EQ(ready_.size(), 2u);
  EXPECT_EQ(ready_[0].op(), Operation::kCommitPrepared);
  EXPECT_EQ(ready_[0].gid(), "earlier");
  EXPECT_EQ(ready_[1].op(), Operation::kRollbackPrepared);
  EXPECT_EQ(ready_[1].gid(), "never-seen");
  MustFeed(RelationMessage());
  MustFeed(BeginPrepare(0xA00, 42, "old"));
  MustFeed(Insert(5));
  MustFeed(Prepare(0xA00, 42, "old"));
  MustFeed(CommitPrepared(0xB00, 42, "old"));
  ASSERT_EQ(ready_.size(), 4u);
  EXPECT_EQ(ready_[2].gid(), "old");
  EXPECT_EQ(ready_[2].commit_lsn().value(), 0xA00u);
  EXPECT_EQ(ready_[3].op(), Operation::kCommitPrepared);
  EXPECT_EQ(ready_[3].commit_lsn().value(), 0xB00u);
  // Redelivered records keep their ids; distinct records never share one.
  EXPECT_NE(ready_[0].id(), ready_[3].id());
  EXPECT_NE(ready_[2].id(), ready_[3].id());
}

TEST_F(AtPrepareAssemblerTest, StreamedTransactionIsDeliveredAtStreamPrepare) {
  MustFeed(StreamStart(50, true));
  MustFeed(RelationMessage(50));
  MustFeed(Insert(7, 50));
  MustFeed(StreamStop());
  MustFeed(StreamStart(50, false));
  MustFeed(Insert(8, 50));
  MustFeed(StreamStop());
  EXPECT_TRUE(ready_.empty());
  MustFeed(Prepare(0x600, 50, "g2", 'p'));
  ASSERT_THAT(ReadyIds(), ElementsAre(7, 8));
  EXPECT_EQ(ready_[1].gid(), "g2");
  EXPECT_EQ(ready_[1].commit_lsn().value(), 0x600u);
  EXPECT_EQ(ready_[1].end_lsn().value(), 0x620u);
  EXPECT_TRUE(ready_[1].last_in_transaction());
  EXPECT_FALSE(assembler_.hold_lsn().has_value());
  EXPECT_FALSE(assembler_.has_pending());
  // The table's schema it described becomes the session's at COMMIT PREPARED.
  MustFeed(CommitPrepared(0xA00, 50, "g2"));
  EXPECT_EQ(ready_[2].op(), Operation::kCommitPrepared);
  MustFeed(Begin(0xB00, 51));
  MustFeed(Insert(9));
  MustFeed(Commit(0xB00, 0xB30));
  EXPECT_EQ(ready_.back().new_row()[0].value().int_value(), 9);
}

TEST_F(AtPrepareAssemblerTest, StreamedTransactionRolledBackAfterStreamPrepare) {
  MustFeed(StreamStart(50, true));
  MustFeed(RelationMessage(50));
  MustFeed(Insert(7, 50));
  MustFeed(StreamStop());
  MustFeed(Prepare(0x600, 50, "g2", 'p'));
  MustFeed(RollbackPrepared(50, "g2"));
  ASSERT_EQ(ready_.size(), 2u);
  EXPECT_EQ(ready_[1].op(), Operation::kRollbackPrepared);
  // Its schema went with it: the table needs a Relation again.
  MustFeed(Begin(0xB00, 51));
  EXPECT_THAT(Feed(Insert(9)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("no Relation message described")));
}

TEST_F(AtPrepareAssemblerTest, ProtocolViolations) {
  EXPECT_THAT(Feed(Prepare(0x500, 40, "g1")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("without its Begin Prepare")));
  MustFeed(BeginPrepare(0x500, 40, "g1"));
  EXPECT_THAT(Feed(Commit(0x500, 0x530)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("Commit without Begin")));
  EXPECT_THAT(Feed(CommitPrepared(0x900, 39, "g0")),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("inside an unfinished")));
}

TEST_F(AssemblerTest, AbortedStreamedTransactionIsNeverDelivered) {
  MustFeed(StreamStart(10, true));
  MustFeed(RelationMessage(10));
  MustFeed(Insert(1, 10));
  MustFeed(StreamStop());
  MustFeed(StreamAbort(10, 10));
  EXPECT_FALSE(assembler_.has_pending());
  // Its Relation message was dropped with it: a later change of the table needs the
  // Relation the server will send again.
  MustFeed(Begin(0x600, 11));
  EXPECT_THAT(Feed(Insert(2)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("no Relation message described")));
  EXPECT_TRUE(ready_.empty());
}

TEST_F(AssemblerTest, StreamRelationOverlayAppliesToItsTransactionUntilCommit) {
  MustFeed(RelationMessage());
  MustFeed(StreamStart(10, true));
  MustFeed(RelationMessage(10, /*extra_column=*/true));
  MustFeed(PgoutputBuilder()
               .Byte('I')
               .U32(10)
               .U32(kRel)
               .Byte('N')
               .U16(3)
               .Text("1")
               .Text("x")
               .Text("7")
               .str());
  MustFeed(StreamStop());
  // Outside the stream the old shape still holds.
  MustFeed(Begin(0x600, 11));
  MustFeed(Insert(2));
  MustFeed(Commit(0x600, 0x630));
  MustFeed(StreamCommit(10, 0x900, 0x930));
  ASSERT_EQ(ready_.size(), 2u);
  EXPECT_EQ(ready_[0].new_row().size(), 2u);
  EXPECT_EQ(ready_[1].new_row().size(), 3u);
  // After the commit the new shape is the table's shape.
  MustFeed(Begin(0xA00, 12));
  EXPECT_THAT(Feed(Insert(3)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("has 2 columns but its Relation")));
}

TEST_F(AssemblerTest, FirstSegmentAfterReconnectDiscardsStaleChunks) {
  MustFeed(StreamStart(10, true));
  MustFeed(RelationMessage(10));
  MustFeed(Insert(1, 10));
  MustFeed(StreamStop());
  MustFeed(StreamStart(10, true));  // the server re-sends the transaction from its start
  MustFeed(RelationMessage(10));
  MustFeed(Insert(1, 10));
  MustFeed(StreamStop());
  MustFeed(StreamCommit(10, 0x900, 0x930));
  EXPECT_THAT(ReadyIds(), ElementsAre(1));
}

TEST_F(AssemblerTest, NonTransactionalMessageIsDeliveredAtOnce) {
  MustFeed(PgoutputBuilder().Byte('M').U8(0).Lsn(0x450).CString("audit").U32(2).Bytes("hi").str());
  ASSERT_EQ(ready_.size(), 1u);
  const Change& m = ready_[0];
  EXPECT_EQ(m.op(), Operation::kMessage);
  EXPECT_FALSE(m.message_transactional());
  EXPECT_EQ(m.message_prefix(), "audit");
  EXPECT_EQ(m.message_content(), "hi");
  EXPECT_EQ(m.id(), "0000000000000450-M");
  // Its LSN is the end of its WAL record: confirming exactly that skips it on restart
  // and keeps a commit that starts there.
  EXPECT_EQ(m.end_lsn().value(), 0x450u);
  EXPECT_TRUE(m.last_in_transaction());
}

TEST_F(AssemblerTest, KeyOnlyOldRowKeepsKeyColumnsOnly) {
  MustFeed(RelationMessage());
  MustFeed(Begin(0x600, 11));
  MustFeed(PgoutputBuilder().Byte('D').U32(kRel).Byte('K').U16(2).Text("5").Null().str());
  MustFeed(PgoutputBuilder().Byte('U').U32(kRel).Byte('N').U16(2).Text("6").Unchanged().str());
  MustFeed(Commit(0x600, 0x630));
  ASSERT_EQ(ready_.size(), 2u);
  EXPECT_EQ(ready_[0].old_row_kind(), OldRowKind::kKey);
  ASSERT_EQ(ready_[0].old_row().size(), 1u);
  EXPECT_EQ(ready_[0].old_row()[0].name(), "id");
  EXPECT_TRUE(ready_[0].old_row()[0].key());
  EXPECT_TRUE(ready_[1].new_row()[1].value().is_unchanged_toast());
}

TEST_F(AssemblerTest, ProtocolViolationsAreDataLoss) {
  MustFeed(RelationMessage());
  EXPECT_THAT(Feed(Insert(1)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("Insert outside a transaction")));
  EXPECT_THAT(Feed(Commit(0x600, 0x630)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("Commit without Begin")));
  MustFeed(Begin(0x600, 11));
  EXPECT_THAT(Feed(Begin(0x700, 12)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("inside an unfinished transaction")));
  EXPECT_THAT(Feed(Commit(0x601, 0x630)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("differs from its Begin")));
  EXPECT_THAT(Feed(PgoutputBuilder().Byte('I').U32(999).Byte('N').U16(0).str()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("relation 999")));
  EXPECT_THAT(Feed(PgoutputBuilder().Byte('I').U32(kRel).Byte('N').U16(2).Text("x").Null().str()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cannot decode int4")));
}

}  // namespace
}  // namespace pgcdc::internal
