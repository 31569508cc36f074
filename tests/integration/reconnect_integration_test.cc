// Faults a retry can heal, against a real server: a silent network partition (a TCP
// relay that drops every byte), a terminated walsender mid-transaction and between
// transactions, and server restarts (fast and immediate). With reconnect on (the
// default), each heals without losing or repeating a change; with it off, each ends
// the stream with a retryable error. Each test counts deliveries, duplicates and
// losses and prints the time to resume.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"
#include "integration/testing/stream_helpers.h"
#include "integration/testing/tcp_relay.h"
#include "pgcdc/pgcdc.h"

namespace pgcdc::testing {
namespace {

using ::testing::HasSubstr;

// What a run delivered: every id once, none missing.
struct Tally {
  std::vector<int64_t> ids;
  std::vector<std::string> change_ids;
  size_t id_not_null = 0;  // changes whose `id` column the catalog described as NOT NULL

  void Add(const Change& c) {
    ids.push_back(ValueOf(c.new_row(), "id").int_value());
    change_ids.push_back(c.id());
    for (const ColumnInfo& col : c.columns()) id_not_null += col.name == "id" && !col.nullable;
  }
  size_t Duplicates() const {
    std::vector<std::string> sorted = change_ids;
    std::sort(sorted.begin(), sorted.end());
    return sorted.size() - (std::unique(sorted.begin(), sorted.end()) - sorted.begin());
  }
  size_t Missing(int64_t from, int64_t to) const {
    size_t missing = 0;
    for (int64_t i = from; i <= to; ++i) missing += std::count(ids.begin(), ids.end(), i) == 0;
    return missing;
  }
};

class ReconnectTest : public StreamTest {
 protected:
  void SetUp() override {
    StreamTest::SetUp();
    Exec("CREATE TABLE t (id int PRIMARY KEY, pad text); CREATE PUBLICATION pub FOR TABLE t;");
  }
  // Reads (acknowledging every change) until `count` changes arrived, recording them.
  void ReadInto(ChangeStream& stream, size_t count, Tally* tally,
                absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    size_t got = 0;
    while (got < count && absl::Now() < deadline) {
      absl::StatusOr<std::optional<Change>> next = stream.Poll(absl::Milliseconds(200));
      ASSERT_TRUE(next.ok()) << "after " << got << " changes: " << next.status();
      if (!*next) continue;
      tally->Add(**next);
      stream.Ack(**next);
      ++got;
    }
    ASSERT_EQ(got, count) << "changes received before the timeout";
  }
  void Insert(int from, int to) {
    Exec(absl::StrCat("INSERT INTO t SELECT i, 'p' FROM generate_series(", from, ", ", to, ") i"));
  }
  void TerminateWalsender() {
    Exec("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '" +
         slot_ + "'");
  }
};

// A partition sends no reset: without a receive timeout the stream waited forever.
TEST_F(ReconnectTest, SilentPartitionEndsWithARetryableErrorWhenReconnectIsOff) {
  absl::StatusOr<std::unique_ptr<TcpRelay>> relay = TcpRelay::Start(pg().port());
  ASSERT_TRUE(relay.ok()) << relay.status();
  StreamOptions options = Options();
  options.dsn += absl::StrCat(" port=", (*relay)->port());
  options.receive_timeout = absl::Seconds(2);
  options.reconnect.enabled = false;
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  Insert(1, 1);
  Tally tally;
  ReadInto(*stream, 1, &tally);
  (*relay)->Partition();
  const absl::Time cut = absl::Now();
  absl::Status error;
  while (error.ok() && absl::Now() - cut < absl::Seconds(20)) {
    error = stream->Poll(absl::Milliseconds(200)).status();
  }
  const absl::Duration noticed = absl::Now() - cut;
  EXPECT_EQ(error.code(), absl::StatusCode::kUnavailable) << error;
  EXPECT_THAT(std::string(error.message()), HasSubstr("receive_timeout"));
  EXPECT_TRUE(IsRetryable(error));
  EXPECT_GE(noticed, absl::Milliseconds(1500));
  EXPECT_LT(noticed, absl::Seconds(6));
  std::cerr << "partition noticed after " << noticed << "\n";
}

TEST_F(ReconnectTest, SilentPartitionHealsByReconnectingWithoutDuplicates) {
  absl::StatusOr<std::unique_ptr<TcpRelay>> relay = TcpRelay::Start(pg().port());
  ASSERT_TRUE(relay.ok()) << relay.status();
  StreamOptions options = Options();
  // The walsender of the partitioned session must give up on it before the slot is
  // free for the next one.
  options.dsn += absl::StrCat(" port=", (*relay)->port(), " options='-c wal_sender_timeout=3s'");
  options.receive_timeout = absl::Seconds(2);
  options.connect_timeout = absl::Seconds(2);
  // The catalog connection goes through the same relay: its read after the reconnect
  // (the new session's Relation message) must not hang in the partition either.
  options.describe_columns = true;
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  Insert(1, 100);
  Insert(101, 200);
  Tally tally;
  ReadInto(*stream, 150, &tally);  // into the second transaction
  (*relay)->Partition();
  Insert(201, 300);
  const absl::Time cut = absl::Now();
  std::thread healer([&] {
    absl::SleepFor(absl::Seconds(4));
    (*relay)->Heal();
  });
  ReadInto(*stream, 150, &tally);
  const absl::Duration resumed = absl::Now() - cut;
  healer.join();
  EXPECT_EQ(tally.Duplicates(), 0u);
  EXPECT_EQ(tally.Missing(1, 300), 0u);
  std::vector<int64_t> expected(300);
  for (int i = 0; i < 300; ++i) expected[i] = i + 1;
  EXPECT_EQ(tally.ids, expected) << "in commit order, each once";
  EXPECT_EQ(tally.id_not_null, tally.ids.size()) << "the catalog read healed too";
  EXPECT_TRUE(ReadFor(*stream, absl::Milliseconds(500)).empty());
  const StreamStats stats = stream->stats();
  EXPECT_GE(stats.reconnects, 1u);
  std::cerr << "deliveries " << tally.ids.size() << ", duplicates " << tally.Duplicates()
            << ", lost " << tally.Missing(1, 300) << ", reconnects " << stats.reconnects
            << ", skipped re-sent " << stats.redelivered_skipped << ", resumed after " << resumed
            << " (partition healed after 4 s)\n";
}

TEST_F(ReconnectTest, WalsenderTerminatedMidTransactionAndBetweenTransactions) {
  // A 1 MB buffer hands out the large transaction as it arrives, so the walsender is
  // still sending it (blocked on the socket) when it is terminated.
  StreamOptions options = Options();
  options.max_buffered_bytes = 1 << 20;
  options.streaming = false;
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  constexpr int kBig = 100000;
  Exec(absl::StrCat("INSERT INTO t SELECT i, repeat('p', 100) FROM generate_series(1, ", kBig,
                    ") i"));
  Insert(kBig + 1, kBig + 10);
  Tally tally;
  ReadInto(*stream, 5000, &tally);  // inside the first transaction
  TerminateWalsender();
  absl::Time cut = absl::Now();
  ReadInto(*stream, kBig + 10 - 5000, &tally);
  std::cerr << "mid-transaction: the rest delivered " << absl::Now() - cut << " after the cut\n";
  EXPECT_EQ(stream->stats().reconnects, 1u);
  TerminateWalsender();  // between transactions
  absl::SleepFor(absl::Milliseconds(300));
  Insert(kBig + 11, kBig + 20);
  cut = absl::Now();
  ReadInto(*stream, 10, &tally);
  std::cerr << "between transactions: the next delivered " << absl::Now() - cut << " later\n";
  EXPECT_EQ(tally.Duplicates(), 0u);
  EXPECT_EQ(tally.Missing(1, kBig + 20), 0u);
  EXPECT_EQ(tally.ids.size(), kBig + 20u);
  const StreamStats stats = stream->stats();
  EXPECT_EQ(stats.reconnects, 2u);
  EXPECT_GE(stats.redelivered_skipped, 1u) << "the server re-sent nothing: the test proves less";
  std::cerr << "deliveries " << tally.ids.size() << ", duplicates 0, reconnects "
            << stats.reconnects << ", skipped re-sent " << stats.redelivered_skipped << "\n";
  // The slot moves on as before.
  EXPECT_TRUE(stream->Close().ok());
}

TEST_F(ReconnectTest, ServerRestartsFastAndImmediate) {
  using Mode = internal::EmbeddedPostgres::ShutdownMode;
  absl::StatusOr<std::unique_ptr<internal::EmbeddedPostgres>> own =
      internal::EmbeddedPostgres::Start();
  ASSERT_TRUE(own.ok()) << own.status();
  internal::EmbeddedPostgres& server = **own;
  ASSERT_TRUE(server
                  .Exec("CREATE TABLE t (id int PRIMARY KEY, pad text);"
                        "CREATE PUBLICATION pub FOR TABLE t")
                  .ok());
  StreamOptions options = MakeOptions(server.Dsn(), "s", "pub");
  options.status_interval = absl::Milliseconds(200);
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  Tally tally;
  int next = 1;
  for (Mode mode : {Mode::kFast, Mode::kImmediate}) {
    ASSERT_TRUE(server
                    .Exec(absl::StrCat("INSERT INTO t SELECT i, 'p' FROM generate_series(", next,
                                       ", ", next + 999, ") i"))
                    .ok());
    ReadInto(*stream, 600, &tally);
    ASSERT_TRUE(server.Restart({}, mode).ok());
    const absl::Time restarted = absl::Now();
    // Written after the restart: only a new session can deliver these.
    ASSERT_TRUE(server
                    .Exec(absl::StrCat("INSERT INTO t SELECT i, 'p' FROM generate_series(",
                                       next + 1000, ", ", next + 1999, ") i"))
                    .ok());
    ReadInto(*stream, 1400, &tally);
    std::cerr << (mode == Mode::kFast ? "fast" : "immediate") << " restart: all delivered "
              << absl::Now() - restarted << " after the server was back\n";
    next += 2000;
  }
  EXPECT_EQ(tally.Duplicates(), 0u);
  EXPECT_EQ(tally.Missing(1, 4000), 0u);
  EXPECT_EQ(tally.ids.size(), 4000u);
  EXPECT_EQ(stream->stats().reconnects, 2u);
  EXPECT_TRUE(stream->Close().ok());
}

// Issue 11: Close() after a lost connection says that acknowledged progress was not
// reported (it used to return OK).
TEST_F(ReconnectTest, CloseAfterALostConnectionReportsUnreportedProgress) {
  StreamOptions options = Options();
  options.reconnect.enabled = false;
  options.status_interval = absl::Seconds(60);  // nothing confirmed before the fault
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  Insert(1, 1);
  Tally tally;
  ReadInto(*stream, 1, &tally);
  TerminateWalsender();
  absl::Status error;
  for (int i = 0; i < 100 && error.ok(); ++i)
    error = stream->Poll(absl::Milliseconds(100)).status();
  ASSERT_FALSE(error.ok());
  absl::Status closed = stream->Close();
  EXPECT_EQ(closed.code(), absl::StatusCode::kUnavailable) << closed;
  EXPECT_THAT(std::string(closed.message()), HasSubstr("lost before acknowledged progress"));
  EXPECT_TRUE(IsRetryable(closed));
}

// A multi-host DSN: libpq tries the hosts in order, on open and on every reconnect.
TEST_F(ReconnectTest, ReconnectGoesThroughTheDsnsHostList) {
  StreamOptions options = Options();
  // The first host has nothing listening; the second is the server.
  options.dsn = absl::StrCat("host=127.0.0.1,127.0.0.1 port=1,", pg().port(), " dbname=", dbname(),
                             " user=postgres target_session_attrs=read-write");
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  Insert(1, 10);
  Tally tally;
  ReadInto(*stream, 5, &tally);
  TerminateWalsender();
  Insert(11, 20);
  ReadInto(*stream, 15, &tally);
  EXPECT_EQ(tally.Duplicates(), 0u);
  EXPECT_EQ(tally.Missing(1, 20), 0u);
  EXPECT_EQ(stream->stats().reconnects, 1u);
}

TEST_F(ReconnectTest, GivesUpWhenThePolicyIsExhaustedWithTheCause) {
  absl::StatusOr<std::unique_ptr<internal::EmbeddedPostgres>> own =
      internal::EmbeddedPostgres::Start();
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_TRUE(
      (*own)->Exec("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t").ok());
  StreamOptions options = MakeOptions((*own)->Dsn(), "s", "pub");
  options.reconnect.max_attempts = 3;
  options.reconnect.initial_backoff = absl::Milliseconds(50);
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE((*own)->Stop().ok());
  absl::Status error;
  const absl::Time stopped = absl::Now();
  while (error.ok() && absl::Now() - stopped < absl::Seconds(30)) {
    error = stream->Poll(absl::Milliseconds(100)).status();
  }
  EXPECT_EQ(error.code(), absl::StatusCode::kUnavailable) << error;
  EXPECT_TRUE(IsRetryable(error));
  EXPECT_THAT(std::string(error.message()), HasSubstr("gave up reconnecting after 3 attempts"));
  EXPECT_TRUE(stream->done());
}

}  // namespace
}  // namespace pgcdc::testing
