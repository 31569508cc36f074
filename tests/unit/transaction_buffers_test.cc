// The buffers ChangeAssembler keeps transactions in until their outcome: streamed ones
// (StreamedTransactions), prepared ones (PreparedTransactions), under one accounting.
#include "assembly/frame_accounting.h"
#include "assembly/prepared_transactions.h"
#include "assembly/streamed_transactions.h"
#include "gtest/gtest.h"

namespace pgcdc::internal {
namespace {

XLogData Frame(uint64_t lsn, std::string_view payload) {
  XLogData frame;
  frame.data_start = lsn;
  frame.payload = payload;
  return frame;
}

std::vector<std::string> Payloads(FrameStore& store) {
  std::vector<std::string> out;
  FrameStore::Reader reader(&store);
  uint64_t lsn = 0;
  std::string_view payload;
  while (*reader.Next(&lsn, &payload)) out.emplace_back(payload);
  return out;
}

Insert InsertBy(uint32_t xid) {
  Insert insert;
  insert.xid = xid;
  return insert;
}

TEST(StreamedTransactionsTest, KeepsBlocksPerTransactionAndAccountsForThem) {
  FrameAccounting accounting;
  StreamedTransactions streams(accounting);
  RelationCache relations;
  EXPECT_FALSE(streams.Stop().ok());  // no block open
  streams.Start({700, true}, relations);
  ASSERT_TRUE(streams.Append(InsertBy(700), Frame(0x10, "I-one")).ok());
  ASSERT_TRUE(streams.Stop().ok());
  streams.Start({800, true}, relations);
  ASSERT_TRUE(streams.Append(InsertBy(800), Frame(0x20, "I-two")).ok());
  ASSERT_TRUE(streams.Stop().ok());
  streams.Start({700, false}, relations);  // a later segment adds to the same transaction
  ASSERT_TRUE(streams.Append(InsertBy(700), Frame(0x30, "I-three")).ok());
  ASSERT_TRUE(streams.Stop().ok());
  const size_t all = accounting.buffered_bytes();
  EXPECT_GT(all, 0u);
  FrameStore taken = streams.Take(700);
  EXPECT_EQ(Payloads(taken), (std::vector<std::string>{"I-one", "I-three"}));
  EXPECT_EQ(accounting.buffered_bytes(), all);  // counted until the caller releases it
  accounting.Release(taken);
  EXPECT_FALSE(streams.empty());
  EXPECT_TRUE(streams.Abort({800, 800, std::nullopt, std::nullopt}, relations).ok());
  EXPECT_TRUE(streams.empty());
  EXPECT_EQ(accounting.buffered_bytes(), 0u);
}

TEST(StreamedTransactionsTest, AFirstSegmentAgainDropsTheStaleCopy) {
  FrameAccounting accounting;
  StreamedTransactions streams(accounting);
  RelationCache relations;
  streams.Start({700, true}, relations);
  ASSERT_TRUE(streams.Append(InsertBy(700), Frame(0x10, "I-old")).ok());
  ASSERT_TRUE(streams.Stop().ok());
  streams.Start({700, true}, relations);  // re-sent from its start by a new session
  ASSERT_TRUE(streams.Append(InsertBy(700), Frame(0x10, "I-new")).ok());
  ASSERT_TRUE(streams.Stop().ok());
  FrameStore taken = streams.Take(700);
  EXPECT_EQ(Payloads(taken), (std::vector<std::string>{"I-new"}));
  accounting.Release(taken);
  EXPECT_EQ(accounting.buffered_bytes(), 0u);
}

TEST(StreamedTransactionsTest, ARolledBackSubtransactionGoesButItsSchemaMessagesStay) {
  FrameAccounting accounting;
  StreamedTransactions streams(accounting);
  RelationCache relations;
  streams.Start({700, true}, relations);
  ASSERT_TRUE(streams.Append(InsertBy(700), Frame(0x10, "I-top")).ok());
  Relation relation;
  relation.xid = 701;
  ASSERT_TRUE(streams.Append(relation, Frame(0x18, "R-sub")).ok());
  ASSERT_TRUE(streams.Append(InsertBy(701), Frame(0x20, "I-sub")).ok());
  ASSERT_TRUE(streams.Append(InsertBy(702), Frame(0x28, "I-nested")).ok());
  ASSERT_TRUE(streams.Stop().ok());
  ASSERT_TRUE(streams.Abort({700, 701, std::nullopt, std::nullopt}, relations).ok());
  FrameStore taken = streams.Take(700);
  EXPECT_EQ(Payloads(taken), (std::vector<std::string>{"I-top", "R-sub"}));
}

TEST(PreparedTransactionsTest, HoldTheSlotAtTheEarliestPrepareUntilAcknowledged) {
  FrameAccounting accounting;
  PreparedTransactions prepared(accounting);
  EXPECT_FALSE(prepared.hold_lsn());
  BeginPrepare begin;
  begin.xid = 10;
  begin.prepare_lsn = 0x500;
  prepared.BeginBlock(begin);
  EXPECT_EQ(prepared.hold_lsn(), 0x500u);  // the block holds already
  ASSERT_TRUE(prepared.Append(Frame(0x480, "I-a")).ok());
  EXPECT_FALSE(prepared.EndBlock(11).ok());  // not its block
  absl::StatusOr<PreparedTransaction> a = prepared.EndBlock(10);
  ASSERT_TRUE(a.ok());
  prepared.Add("a", *std::move(a));
  PreparedTransaction b;
  b.xid = 12;
  b.prepare_lsn = 0x300;
  b.streamed = true;
  prepared.Add("b", std::move(b));
  EXPECT_EQ(prepared.hold_lsn(), 0x300u);
  EXPECT_EQ(prepared.Rollback("b"), 12u);  // streamed: its schema overlay must go too
  EXPECT_EQ(prepared.hold_lsn(), 0x500u);
  std::optional<PreparedTransaction> committed = prepared.Commit("a", /*commit_end_lsn=*/0x900);
  ASSERT_TRUE(committed);
  EXPECT_EQ(Payloads(committed->frames), (std::vector<std::string>{"I-a"}));
  EXPECT_EQ(prepared.hold_lsn(), 0x500u);  // until the commit is acknowledged whole
  prepared.ReleaseHolds(0x8ff);
  EXPECT_EQ(prepared.hold_lsn(), 0x500u);
  prepared.ReleaseHolds(0x900);
  EXPECT_FALSE(prepared.hold_lsn());
  EXPECT_FALSE(prepared.Commit("a", 0x900));  // its PREPARE is gone
  accounting.Release(committed->frames);
  EXPECT_EQ(accounting.buffered_bytes(), 0u);
}

TEST(PreparedTransactionsTest, PreparedAgainReplacesTheStaleCopy) {
  FrameAccounting accounting;
  PreparedTransactions prepared(accounting);
  for (const char* payload : {"I-old", "I-new"}) {
    BeginPrepare begin;
    begin.xid = 10;
    begin.prepare_lsn = 0x500;
    prepared.BeginBlock(begin);
    ASSERT_TRUE(prepared.Append(Frame(0x480, payload)).ok());
    prepared.Add("g", *prepared.EndBlock(10));
  }
  std::optional<PreparedTransaction> txn = prepared.Commit("g", 0x900);
  ASSERT_TRUE(txn);
  EXPECT_EQ(Payloads(txn->frames), (std::vector<std::string>{"I-new"}));
  accounting.Release(txn->frames);
  EXPECT_EQ(accounting.buffered_bytes(), 0u);  // the stale copy was released
}

}  // namespace
}  // namespace pgcdc::internal
