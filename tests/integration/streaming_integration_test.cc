// Streaming of in-progress transactions (protocol v2+, PostgreSQL 14+), forced with a
// 64 kB logical_decoding_work_mem: whole transactions in commit order, aborted
// (sub)transactions never delivered.
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"
#include "integration/testing/stream_helpers.h"
#include "pgcdc/pgcdc.h"

namespace pgcdc::testing {
namespace {

class StreamingTest : public StreamTest {
 protected:
  void SetUp() override {
    StreamTest::SetUp();
    Exec("CREATE TABLE t (id int PRIMARY KEY, pad text); CREATE PUBLICATION pub FOR TABLE t;");
    StreamOptions options = Options();
    options.streaming = true;
    options.dsn += " options='-c logical_decoding_work_mem=64kB'";
    absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
    ASSERT_TRUE(stream.ok()) << stream.status();
    stream_ = std::make_unique<ChangeStream>(*std::move(stream));
  }
  static std::string InsertRange(int from, int to) {
    return "INSERT INTO t SELECT i, repeat('p', 100) FROM generate_series(" + std::to_string(from) +
           ", " + std::to_string(to) + ") i;";
  }
  int64_t StreamedTransactions() {
    auto rows = pg().Query(
        "SELECT stream_txns FROM pg_stat_replication_slots WHERE slot_name = '" + slot_ + "'",
        dbname());
    if (!rows.ok() || rows->empty() || !(*rows)[0][0]) return -1;
    return std::stoll(*(*rows)[0][0]);
  }

  std::unique_ptr<ChangeStream> stream_;
};

TEST_F(StreamingTest, LargeTransactionWithRolledBackSavepointArrivesWhole) {
  Exec("BEGIN;" + InsertRange(1, 2000) + "SAVEPOINT a;" + InsertRange(2001, 3000) + "SAVEPOINT b;" +
       InsertRange(3001, 3500) + "ROLLBACK TO a;" + InsertRange(4001, 5000) + "COMMIT;");
  std::vector<Change> c = ReadChanges(*stream_, 3000);
  ASSERT_EQ(c.size(), 3000u);
  EXPECT_EQ(ValueOf(c[1999].new_row(), "id").int_value(), 2000);
  EXPECT_EQ(ValueOf(c[2000].new_row(), "id").int_value(), 4001);
  EXPECT_EQ(c.front().commit_lsn(), c.back().commit_lsn());
  EXPECT_EQ(c.back().ordinal(), 2999u);
  EXPECT_TRUE(c.back().last_in_transaction());
  EXPECT_TRUE(ReadFor(*stream_, absl::Milliseconds(500)).empty());
  EXPECT_GT(StreamedTransactions(), 0) << "the server did not stream: the test proves nothing";
}

// The rollback comes after the server streamed the transaction: PostgreSQL 18 no longer
// streams a transaction that has already aborted when decoding reaches it
// (ReorderBufferCheckAndTruncateAbortedTXN), so a ROLLBACK before that tests nothing.
TEST_F(StreamingTest, AbortedLargeTransactionIsNeverDelivered) {
  std::unique_ptr<internal::PgConnection> session = OpenSession();
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->Exec("BEGIN;" + InsertRange(1, 3000)).ok());
  for (int i = 0; i < 50 && StreamedTransactions() <= 0; ++i) {
    EXPECT_TRUE(ReadFor(*stream_, absl::Milliseconds(100)).empty());
  }
  EXPECT_GT(StreamedTransactions(), 0) << "the server did not stream: the test proves nothing";
  ASSERT_TRUE(session->Exec("ROLLBACK").ok());
  Exec("INSERT INTO t VALUES (99999, 'after')");
  std::vector<Change> c = ReadChanges(*stream_, 1);
  EXPECT_THAT(RowIds(c), ::testing::ElementsAre(99999));
}

TEST_F(StreamingTest, SmallTransactionsCommittedDuringALargeOneComeFirst) {
  std::thread big([&] {
    Exec("BEGIN;" + InsertRange(1, 3000) + "SELECT pg_sleep(1);" + InsertRange(3001, 4000) +
         "COMMIT;");
  });
  absl::SleepFor(absl::Milliseconds(400));
  Exec("INSERT INTO t VALUES (10001, 'small')");
  Exec("INSERT INTO t VALUES (10002, 'small')");
  big.join();
  std::vector<Change> c = ReadChanges(*stream_, 4002);
  ASSERT_EQ(c.size(), 4002u);
  EXPECT_EQ(ValueOf(c[0].new_row(), "id").int_value(), 10001);
  EXPECT_EQ(ValueOf(c[1].new_row(), "id").int_value(), 10002);
  EXPECT_EQ(ValueOf(c[2].new_row(), "id").int_value(), 1);
  EXPECT_EQ(ValueOf(c[4001].new_row(), "id").int_value(), 4000);
  EXPECT_LT(c[1].end_lsn(), c[2].commit_lsn());
  EXPECT_GT(StreamedTransactions(), 0);
}

// Three large transactions open at once, each streamed in several chunks that the
// server interleaves, committed in another order than they began, with small ones
// committed between; a 256 kB buffer makes them spill too.
TEST_F(StreamingTest, ConcurrentLargeTransactionsArriveWholeInCommitOrder) {
  stream_.reset();
  StreamOptions options = Options();
  options.streaming = true;
  options.dsn += " options='-c logical_decoding_work_mem=64kB'";
  options.max_buffered_bytes = 256 << 10;
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();

  std::vector<std::unique_ptr<internal::PgConnection>> txn;
  for (int i = 0; i < 3; ++i) {
    txn.push_back(OpenSession());
    ASSERT_NE(txn.back(), nullptr);
  }
  auto run = [&](int i, const std::string& sql) {
    absl::Status s = txn[i]->Exec(sql);
    ASSERT_TRUE(s.ok()) << sql << ": " << s;
  };
  run(0, "BEGIN;" + InsertRange(1, 3000));       // A
  run(1, "BEGIN;" + InsertRange(10001, 13000));  // B
  run(2, "BEGIN;" + InsertRange(20001, 23000));  // C
  Exec("INSERT INTO t VALUES (90001, 'small')");
  run(0, InsertRange(3001, 4000));
  run(1, "SAVEPOINT s;" + InsertRange(13001, 14000) + "ROLLBACK TO s;");
  run(2, "COMMIT");
  Exec("INSERT INTO t VALUES (90002, 'small')");
  run(0, "COMMIT");
  run(1, InsertRange(14001, 15000) + "COMMIT;");
  Exec("INSERT INTO t VALUES (90003, 'small')");

  std::vector<int64_t> expected = {90001};
  for (int64_t i = 20001; i <= 23000; ++i) expected.push_back(i);  // C committed first
  expected.push_back(90002);
  for (int64_t i = 1; i <= 4000; ++i) expected.push_back(i);       // then A
  for (int64_t i = 10001; i <= 13000; ++i) expected.push_back(i);  // then B, without s
  for (int64_t i = 14001; i <= 15000; ++i) expected.push_back(i);
  expected.push_back(90003);
  std::vector<Change> c = ReadChanges(*stream, expected.size());
  std::vector<int64_t> ids = RowIds(c);
  EXPECT_EQ(ids, expected);
  for (size_t i = 1; i < c.size(); ++i) {
    ASSERT_GE(c[i].commit_lsn(), c[i - 1].commit_lsn()) << "at " << i;
    if (c[i].commit_lsn() == c[i - 1].commit_lsn()) {
      ASSERT_EQ(c[i].ordinal(), c[i - 1].ordinal() + 1) << "at " << i;
    }
  }
  EXPECT_TRUE(ReadFor(*stream, absl::Milliseconds(300)).empty());
  EXPECT_GE(StreamedTransactions(), 3) << "the server did not stream them all";
  EXPECT_GE(stream->stats().transactions_spilled, 1u) << "nothing spilled: raise the rows";
  EXPECT_EQ(stream->stats().spill_file_bytes, 0u);
}

// Issue 11, defect 2: a transaction that takes longer than idle_timeout to arrive as
// stream blocks used to end the stream "idle" before its first change, every run,
// while the slot never moved. Receiving it is not idle time.
TEST_F(StreamingTest, IdleTimeoutDoesNotFireWhileStreamBlocksArrive) {
  stream_.reset();
  StreamOptions options = Options();
  options.streaming = true;
  options.dsn += " options='-c logical_decoding_work_mem=64kB'";
  options.idle_timeout = absl::Seconds(1);
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  std::unique_ptr<internal::PgConnection> session = OpenSession();
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->Exec("BEGIN").ok());
  constexpr int kStatements = 8;  // 8 x 400 ms of stream blocks: 3.2 idle timeouts
  for (int i = 0; i < kStatements; ++i) {
    ASSERT_TRUE(session->Exec(InsertRange(i * 1000 + 1, (i + 1) * 1000)).ok());
    EXPECT_TRUE(ReadFor(*stream, absl::Milliseconds(400)).empty());
    ASSERT_FALSE(stream->done()) << "ended as idle while receiving stream blocks, after " << i + 1
                                 << " statements";
  }
  ASSERT_TRUE(session->Exec("COMMIT").ok());
  std::vector<Change> c = ReadChanges(*stream, kStatements * 1000);
  EXPECT_EQ(c.size(), kStatements * 1000u);
  EXPECT_GT(StreamedTransactions(), 0) << "the server did not stream: the test proves nothing";
  // And once nothing arrives any more, the idle timeout still ends the stream.
  const absl::Time idle_from = absl::Now();
  EXPECT_TRUE(ReadFor(*stream, absl::Seconds(5)).empty());
  EXPECT_TRUE(stream->done());
  EXPECT_LT(absl::Now() - idle_from, absl::Seconds(3));
}

// Issue 11, defect 4: stop_at_lsn must fire while an unrelated large transaction is
// open and being streamed: it commits after the server's reported position, so it
// lies beyond the stop whatever happens to it.
TEST_F(StreamingTest, StopAtLsnFiresWhileAnotherTransactionIsBeingStreamed) {
  stream_.reset();  // the slot exists from here on
  std::unique_ptr<internal::PgConnection> session = OpenSession();
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->Exec("BEGIN").ok());
  ASSERT_TRUE(session->Exec(InsertRange(1, 3000)).ok());  // streamed, still open
  Exec("INSERT INTO t VALUES (90001, 'small')");
  // The stop lies past the last published commit: only the server's keepalive can
  // tell that nothing more up to it will come.
  Exec("CREATE TABLE unpublished (x int); INSERT INTO unpublished VALUES (1)");
  const uint64_t stop = CurrentWalLsn();
  StreamOptions options = Options();
  options.streaming = true;
  options.dsn += " options='-c logical_decoding_work_mem=64kB'";
  options.stop_at_lsn = Lsn(stop);
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  std::vector<Change> c = ReadFor(*stream, absl::Seconds(15));
  EXPECT_TRUE(stream->done()) << "stop_at_lsn did not fire";
  EXPECT_THAT(RowIds(c), ::testing::ElementsAre(90001));
  EXPECT_GT(StreamedTransactions(), 0) << "the server did not stream: the test proves nothing";
  ASSERT_TRUE(session->Exec("COMMIT").ok());
}

}  // namespace
}  // namespace pgcdc::testing
