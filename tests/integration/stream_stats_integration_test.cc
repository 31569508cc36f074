// ChangeStream::stats() against a real server: a streamed transaction larger than
// max_buffered_bytes spills (64 kB logical_decoding_work_mem makes the server stream
// it), memory stays within the limit, and the spill file is gone after the commit.
#include <future>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"
#include "integration/testing/stream_helpers.h"
#include "pgcdc/pgcdc.h"

namespace pgcdc::testing {
namespace {

constexpr size_t kLimit = 256 << 10;
constexpr uint64_t kChunk = 1 << 20;  // FrameStore's chunk: the most a spill may lag

class StreamStatsTest : public StreamTest {
 protected:
  void SetUp() override {
    StreamTest::SetUp();
    Exec("CREATE TABLE t (id int PRIMARY KEY, pad text); CREATE PUBLICATION pub FOR TABLE t;");
  }
  StreamOptions SpillingOptions() const {
    StreamOptions options = Options();
    options.streaming = true;
    options.dsn += " options='-c logical_decoding_work_mem=64kB'";
    options.max_buffered_bytes = kLimit;
    options.spill_dir = ::testing::TempDir();
    return options;
  }
};

TEST_F(StreamStatsTest, SpilledTransactionIsCountedAndItsFileReleasedAfterCommit) {
  absl::StatusOr<ChangeStream> opened = ChangeStream::Open(SpillingOptions());
  ASSERT_TRUE(opened.ok()) << opened.status();
  ChangeStream& stream = *opened;
  EXPECT_EQ(stream.stats().changes_delivered, 0u);

  // The transaction stays open while the server streams it: it must spill meanwhile.
  std::unique_ptr<internal::PgConnection> writer = OpenSession();
  ASSERT_NE(writer, nullptr);
  auto exec = [&](const std::string& sql) { return writer->Exec(sql).ok(); };
  constexpr int kRows = 20000;  // about 2.5 MB of messages
  ASSERT_TRUE(exec("BEGIN"));
  ASSERT_TRUE(exec(absl::StrCat("INSERT INTO t SELECT i, repeat('x', 100) FROM ",
                                "generate_series(1, ", kRows, ") i")));
  StreamStats during;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline && during.spill_file_bytes == 0) {
    absl::StatusOr<std::optional<Change>> next = stream.Poll(absl::Milliseconds(50));
    ASSERT_TRUE(next.ok()) << next.status();
    ASSERT_FALSE(next->has_value()) << "delivered before its commit";
    during = stream.stats();
  }
  EXPECT_GT(during.spill_file_bytes, 0u) << "nothing spilled: the test proves nothing";
  EXPECT_EQ(during.transactions_spilled, 1u);
  EXPECT_GE(during.spilled_bytes_total, during.spill_file_bytes);
  EXPECT_LE(during.buffered_bytes, kLimit + kChunk);
  ASSERT_TRUE(exec("COMMIT"));
  writer.reset();

  std::vector<Change> c = ReadChanges(stream, kRows);
  ASSERT_EQ(c.size(), static_cast<size_t>(kRows));
  const StreamStats after = stream.stats();
  EXPECT_EQ(after.spill_file_bytes, 0u);
  EXPECT_EQ(after.buffered_bytes, 0u);
  EXPECT_GT(after.spilled_bytes_total, 0u);
  EXPECT_GE(after.spilled_bytes_total, during.spilled_bytes_total);
  EXPECT_EQ(after.transactions_spilled, 1u);
  EXPECT_GT(after.peak_buffered_bytes, 0u);
  EXPECT_LE(after.peak_buffered_bytes, kLimit + kChunk);
  EXPECT_EQ(after.changes_delivered, static_cast<uint64_t>(kRows));
  EXPECT_EQ(after.transactions_delivered, 1u);
}

// stats() takes no lock: it answers while Next() blocks in another thread.
TEST_F(StreamStatsTest, StatsDoNotWaitForABlockedNext) {
  absl::StatusOr<ChangeStream> opened = ChangeStream::Open(Options());
  ASSERT_TRUE(opened.ok()) << opened.status();
  ChangeStream& stream = *opened;
  std::thread reader([&stream] {
    absl::StatusOr<std::optional<Change>> next = stream.Next();
    EXPECT_TRUE(next.ok()) << next.status();
  });
  absl::SleepFor(absl::Milliseconds(200));  // Next() is now waiting for the server
  std::future<StreamStats> stats =
      std::async(std::launch::async, [&stream] { return stream.stats(); });
  const bool answered = stats.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  Exec("INSERT INTO t VALUES (1, 'x')");  // lets Next() return either way
  reader.join();
  ASSERT_TRUE(answered) << "stats() waited for Next()";
  EXPECT_EQ(stats.get().changes_delivered, 0u);
  EXPECT_EQ(stream.stats().changes_delivered, 1u);
  EXPECT_EQ(stream.stats().transactions_delivered, 1u);
}

}  // namespace
}  // namespace pgcdc::testing
