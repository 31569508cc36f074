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
    return "INSERT INTO t SELECT i, repeat('p', 100) FROM generate_series(" +
           std::to_string(from) + ", " + std::to_string(to) + ") i;";
  }
  int64_t StreamedTransactions() {
    auto rows = pg().Query("SELECT stream_txns FROM pg_stat_replication_slots WHERE slot_name = '" +
                               slot_ + "'",
                           dbname());
    if (!rows.ok() || rows->empty() || !(*rows)[0][0]) return -1;
    return std::stoll(*(*rows)[0][0]);
  }

  std::unique_ptr<ChangeStream> stream_;
};

TEST_F(StreamingTest, LargeTransactionWithRolledBackSavepointArrivesWhole) {
  Exec("BEGIN;" + InsertRange(1, 2000) + "SAVEPOINT a;" + InsertRange(2001, 3000) +
       "SAVEPOINT b;" + InsertRange(3001, 3500) + "ROLLBACK TO a;" + InsertRange(4001, 5000) +
       "COMMIT;");
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

TEST_F(StreamingTest, AbortedLargeTransactionIsNeverDelivered) {
  Exec("BEGIN;" + InsertRange(1, 3000) + "ROLLBACK;");
  Exec("INSERT INTO t VALUES (99999, 'after')");
  std::vector<Change> c = ReadChanges(*stream_, 1);
  EXPECT_THAT(RowIds(c), ::testing::ElementsAre(99999));
  EXPECT_GT(StreamedTransactions(), 0);
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

}  // namespace
}  // namespace pgcdc::testing
