// Delivery guarantees across restarts: acknowledged progress, redelivery with identical
// ids after a crash, checkpoint callback semantics, keepalive-driven slot advance,
// slow consumers, stop conditions.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/strings/str_split.h"
#include "connection/pg_connection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"
#include "integration/testing/stream_helpers.h"
#include "pgcdc/pgcdc.h"

namespace pgcdc::testing {
namespace {

class ResumeTest : public StreamTest {
 protected:
  void SetUp() override {
    StreamTest::SetUp();
    Exec("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE PUBLICATION pub FOR TABLE t;");
  }

  ChangeStream OpenStream(StreamOptions options) {
    absl::StatusOr<ChangeStream> stream = ChangeStream::Open(std::move(options));
    EXPECT_TRUE(stream.ok()) << stream.status();
    return std::move(stream).value();
  }

  // Ten single-row transactions, ids 1..10.
  void InsertTen() {
    for (int i = 1; i <= 10; ++i) Exec("INSERT INTO t VALUES (" + std::to_string(i) + ", 'v')");
  }
};

TEST_F(ResumeTest, AckHalfThenReopenDeliversExactlyTheRest) {
  { ChangeStream create = OpenStream(Options()); }  // creates the slot
  InsertTen();
  {
    ChangeStream stream = OpenStream(Options());
    std::vector<Change> c = ReadChanges(stream, 10);
    ASSERT_EQ(c.size(), 10u);
    stream.Ack(c[4]);
    ASSERT_TRUE(stream.Close().ok());
    EXPECT_EQ(stream.confirmed_flush_lsn().value(), c[4].end_lsn().value());
  }
  EXPECT_EQ(ConfirmedFlushLsn(slot_) > 0, true);
  ChangeStream again = OpenStream(Options());
  std::vector<Change> rest = ReadChanges(again, 5);
  EXPECT_THAT(RowIds(rest), ::testing::ElementsAre(6, 7, 8, 9, 10));
  EXPECT_TRUE(ReadFor(again, absl::Milliseconds(300)).empty());
}

TEST_F(ResumeTest, AckInsideTransactionRedeliversThatTransactionWhole) {
  { ChangeStream create = OpenStream(Options()); }
  Exec("INSERT INTO t VALUES (1, 'a')");
  Exec("BEGIN; INSERT INTO t VALUES (2, 'b'); INSERT INTO t VALUES (3, 'c'); COMMIT");
  std::vector<std::string> first_ids;
  {
    ChangeStream stream = OpenStream(Options());
    std::vector<Change> c = ReadChanges(stream, 3);
    ASSERT_EQ(c.size(), 3u);
    for (const Change& change : c) first_ids.push_back(change.id());
    stream.Ack(c[1]);  // the first change of the two-row transaction
    ASSERT_TRUE(stream.Close().ok());
  }
  ChangeStream again = OpenStream(Options());
  std::vector<Change> rest = ReadChanges(again, 2);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_THAT(RowIds(rest), ::testing::ElementsAre(2, 3));
  EXPECT_EQ(rest[0].id(), first_ids[1]);
  EXPECT_EQ(rest[1].id(), first_ids[2]);
}

// pg_logical_emit_message() reports the END of its WAL record as the message LSN; the
// next record (here the commit of the same transaction) starts exactly there.
// Acknowledging the message must not skip that transaction on restart.
TEST_F(ResumeTest, AckOfNonTransactionalMessageDoesNotSkipTheNextTransaction) {
  { ChangeStream create = OpenStream(Options()); }
  Exec(
      "BEGIN; INSERT INTO t VALUES (1, 'a'); "
      "SELECT pg_logical_emit_message(false, 'p', 'x'); COMMIT");
  {
    ChangeStream stream = OpenStream(Options());
    std::vector<Change> c = ReadChanges(stream, 2);
    ASSERT_EQ(c.size(), 2u);
    ASSERT_EQ(c[0].op(), Operation::kMessage);
    EXPECT_EQ(c[0].lsn(), c[1].commit_lsn()) << "the message ends where the commit starts";
    stream.Ack(c[0]);  // only the message
    ASSERT_TRUE(stream.Close().ok());
  }
  ChangeStream again = OpenStream(Options());
  std::vector<Change> rest = ReadChanges(again, 1);
  EXPECT_THAT(RowIds(rest), ::testing::ElementsAre(1));
  EXPECT_TRUE(ReadFor(again, absl::Milliseconds(300)).empty()) << "the message came again";
}

TEST_F(ResumeTest, CheckpointCallbackGatesTheSlot) {
  { ChangeStream create = OpenStream(Options()); }
  const uint64_t initial = ConfirmedFlushLsn(slot_);
  InsertTen();
  StreamOptions options = Options();
  std::vector<Lsn> seen;
  options.on_checkpoint = [&](const Checkpoint& cp) {
    seen.push_back(cp.flush_lsn);
    return absl::UnavailableError("sink is down");
  };
  ChangeStream stream = OpenStream(options);
  std::vector<Change> c = ReadChanges(stream, 10);
  ASSERT_EQ(c.size(), 10u);
  stream.Ack(c.back());
  absl::Status closed = stream.Close();
  EXPECT_EQ(closed.code(), absl::StatusCode::kAborted) << closed;
  EXPECT_THAT(std::string(closed.message()), ::testing::HasSubstr("sink is down"));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), c.back().end_lsn());
  EXPECT_EQ(ConfirmedFlushLsn(slot_), initial);  // the slot did not move
  // Everything comes again.
  ChangeStream again = OpenStream(Options());
  EXPECT_EQ(ReadChanges(again, 10).size(), 10u);
}

TEST_F(ResumeTest, CheckpointCallbackErrorEndsStreamAndSlotStays) {
  { ChangeStream create = OpenStream(Options()); }
  const uint64_t initial = ConfirmedFlushLsn(slot_);
  InsertTen();
  StreamOptions options = Options();
  options.status_interval = absl::Milliseconds(50);
  options.on_checkpoint = [](const Checkpoint&) { return absl::InternalError("no"); };
  ChangeStream stream = OpenStream(options);
  absl::Status error;
  for (int i = 0; i < 1000 && error.ok(); ++i) {
    absl::StatusOr<std::optional<Change>> next = stream.Poll(absl::Milliseconds(20));
    if (!next.ok())
      error = next.status();
    else if (*next)
      stream.Ack(**next);
  }
  EXPECT_EQ(error.code(), absl::StatusCode::kAborted) << error;
  EXPECT_TRUE(stream.done());
  EXPECT_EQ(ConfirmedFlushLsn(slot_), initial);
}

TEST_F(ResumeTest, SlotNeverMovesBeyondWhatWasAcknowledged) {
  { ChangeStream create = OpenStream(Options()); }
  InsertTen();
  ChangeStream stream = OpenStream(Options());
  std::vector<Change> c = ReadChanges(stream, 10);
  ASSERT_EQ(c.size(), 10u);
  stream.Ack(c[2]);
  stream.Ack(c[1]);                                // never backwards
  stream.Ack(Lsn(c[9].end_lsn().value() + 1000));  // not past what was delivered
  EXPECT_EQ(stream.acked_lsn().value(), c[9].end_lsn().value());
  ASSERT_TRUE(stream.Close().ok());
  EXPECT_EQ(ConfirmedFlushLsn(slot_), c[9].end_lsn().value());
}

TEST_F(ResumeTest, IdlePublicationStillAdvancesSlotWhileOtherTablesAreBusy) {
  Exec("CREATE TABLE other (id int, pad text)");
  StreamOptions options = Options();
  ChangeStream stream = OpenStream(options);
  const uint64_t before = ConfirmedFlushLsn(slot_);
  Exec("INSERT INTO other SELECT i, repeat('x', 200) FROM generate_series(1, 50000) i");
  const uint64_t after_writes = CurrentWalLsn();
  // Nothing is published, so nothing is delivered; keepalives carry the position.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline && ConfirmedFlushLsn(slot_) < after_writes) {
    EXPECT_TRUE(ReadFor(stream, absl::Milliseconds(300)).empty());
  }
  EXPECT_GE(ConfirmedFlushLsn(slot_), after_writes);
  EXPECT_GT(ConfirmedFlushLsn(slot_), before + 50000 * 200);
}

TEST_F(ResumeTest, NoKeepaliveAdvanceWhileChangesAreUnacknowledged) {
  Exec("CREATE TABLE other (id int)");
  ChangeStream stream = OpenStream(Options());
  const uint64_t before = ConfirmedFlushLsn(slot_);
  Exec("INSERT INTO t VALUES (1, 'x')");
  ASSERT_EQ(ReadChanges(stream, 1).size(), 1u);  // delivered, not acknowledged
  Exec("INSERT INTO other SELECT generate_series(1, 20000)");
  ReadFor(stream, absl::Seconds(2));
  EXPECT_EQ(ConfirmedFlushLsn(slot_), before);
}

TEST_F(ResumeTest, SlowConsumerSurvivesShortWalSenderTimeout) {
  StreamOptions options = Options();
  options.dsn += " options='-c wal_sender_timeout=2s'";
  ChangeStream stream = OpenStream(options);
  InsertTen();
  std::vector<Change> got = ReadChanges(stream, 1);
  // Busy for three timeouts between calls: the internal guard keeps the session alive.
  absl::SleepFor(absl::Seconds(6));
  std::vector<Change> rest = ReadChanges(stream, 9);
  EXPECT_EQ(rest.size(), 9u);
  stream.Ack(rest.back());
  EXPECT_TRUE(stream.Close().ok());
  EXPECT_EQ(ConfirmedFlushLsn(slot_), rest.back().end_lsn().value());
}

TEST_F(ResumeTest, StopAtLsnEndsCleanlyAfterThatTransaction) {
  { ChangeStream create = OpenStream(Options()); }
  for (int i = 1; i <= 3; ++i) Exec("INSERT INTO t VALUES (" + std::to_string(i) + ", 'a')");
  const uint64_t stop = CurrentWalLsn();
  for (int i = 4; i <= 6; ++i) Exec("INSERT INTO t VALUES (" + std::to_string(i) + ", 'b')");
  StreamOptions options = Options();
  options.stop_at_lsn = Lsn(stop);
  ChangeStream stream = OpenStream(options);
  std::vector<Change> c = ReadFor(stream, absl::Seconds(10));
  EXPECT_TRUE(stream.done());
  EXPECT_THAT(RowIds(c), ::testing::ElementsAre(1, 2, 3));
}

// The stop position lies after the last transaction (as with pg_recvlogical --endpos
// after a CHECKPOINT): only a keepalive can tell that it was reached, and it may arrive
// together with the last transaction, before that is delivered.
TEST_F(ResumeTest, StopAtLsnReachedThroughKeepaliveEndsPromptly) {
  { ChangeStream create = OpenStream(Options()); }
  for (int i = 1; i <= 20; ++i) Exec("INSERT INTO t VALUES (" + std::to_string(i) + ", 'a')");
  Exec("CHECKPOINT");
  const uint64_t stop = CurrentWalLsn();
  StreamOptions options = Options();
  options.stop_at_lsn = Lsn(stop);
  ChangeStream stream = OpenStream(options);
  const absl::Time start = absl::Now();
  size_t n = 0;
  while (!stream.done() && absl::Now() - start < absl::Seconds(10)) {
    absl::StatusOr<std::optional<Change>> next = stream.Poll(absl::Seconds(1));
    ASSERT_TRUE(next.ok()) << next.status();
    if (*next) {
      ++n;
      stream.Ack(**next);
    }
  }
  EXPECT_TRUE(stream.done());
  EXPECT_EQ(n, 20u);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_TRUE(stream.Close().ok());
  EXPECT_GE(ConfirmedFlushLsn(slot_), stop);
}

TEST_F(ResumeTest, IdleTimeoutAndMaxDurationEndTheStream) {
  StreamOptions options = Options();
  options.idle_timeout = absl::Milliseconds(300);
  ChangeStream idle = OpenStream(options);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::optional<Change>> next = idle.Next();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->has_value());
  EXPECT_TRUE(idle.done());
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_TRUE(idle.Close().ok());

  options.idle_timeout.reset();
  options.max_duration = absl::Milliseconds(400);
  ChangeStream bounded = OpenStream(options);
  next = bounded.Next();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(700));
}

TEST_F(ResumeTest, PollWithZeroTimeoutStillReadsTheSocket) {
  ChangeStream stream = OpenStream(Options());
  Exec("INSERT INTO t VALUES (1, 'a')");
  std::optional<Change> got;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!got && absl::Now() < deadline) {
    absl::StatusOr<std::optional<Change>> next = stream.Poll(absl::ZeroDuration());
    ASSERT_TRUE(next.ok()) << next.status();
    got = std::move(*next);
  }
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(ValueOf(got->new_row(), "id").int_value(), 1);
}

TEST_F(ResumeTest, CancelStopsInsideABufferedTransaction) {
  ChangeStream stream = OpenStream(Options());
  Exec("INSERT INTO t SELECT i, 'x' FROM generate_series(1, 100) i");
  ASSERT_EQ(ReadChanges(stream, 1).size(), 1u);
  stream.Cancel();
  absl::StatusOr<std::optional<Change>> next = stream.Poll(absl::Seconds(1));
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value()) << "the other 99 changes must not be handed out";
  EXPECT_TRUE(stream.done());
}

TEST_F(ResumeTest, SlowCheckpointCallbackDoesNotGetTheSessionKilled) {
  StreamOptions options = Options();
  options.dsn += " options='-c wal_sender_timeout=2s'";
  options.status_interval = absl::Milliseconds(100);
  int calls = 0;
  options.on_checkpoint = [&](const Checkpoint&) {
    if (calls++ == 0) absl::SleepFor(absl::Seconds(5));  // a slow sink: 2.5 timeouts
    return absl::OkStatus();
  };
  ChangeStream stream = OpenStream(options);
  Exec("INSERT INTO t VALUES (1, 'a')");
  std::vector<Change> first = ReadChanges(stream, 1);
  ASSERT_EQ(first.size(), 1u);
  stream.Ack(first[0]);
  Exec("INSERT INTO t VALUES (2, 'b')");
  std::vector<Change> second = ReadChanges(stream, 1);  // runs the slow checkpoint
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(ValueOf(second[0].new_row(), "id").int_value(), 2);
  EXPECT_GE(calls, 1);
  stream.Ack(second[0]);
  EXPECT_TRUE(stream.Close().ok());
  EXPECT_EQ(ConfirmedFlushLsn(slot_), second[0].end_lsn().value());
}

TEST_F(ResumeTest, MovedFromStreamFailsCleanlyAndTheMovedToOneWorks) {
  ChangeStream a = OpenStream(Options());
  ChangeStream b = std::move(a);
  EXPECT_EQ(a.Next().status().code(), absl::StatusCode::kFailedPrecondition);  // NOLINT
  EXPECT_TRUE(a.done());                                                       // NOLINT
  Exec("INSERT INTO t VALUES (1, 'a')");
  EXPECT_EQ(ReadChanges(b, 1).size(), 1u);
}

TEST_F(ResumeTest, CancelFromAnotherThreadEndsBlockingNext) {
  ChangeStream stream = OpenStream(Options());
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(300));
    stream.Cancel();
  });
  absl::StatusOr<std::optional<Change>> next = stream.Next();
  canceller.join();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_TRUE(stream.done());
}

TEST_F(ResumeTest, ReadLingerWaitsBeforeReadingOnceCaughtUp) {
  StreamOptions options = Options();
  options.read_linger = absl::Milliseconds(100);
  ChangeStream stream = OpenStream(options);
  absl::Time committed;
  std::thread writer([&] {  // commits while the stream waits on an idle socket
    absl::SleepFor(absl::Milliseconds(300));
    // A commit that flushes WAL wakes the walsender at once (the test server runs
    // with synchronous_commit off, which would delay sending by up to 200 ms).
    Exec("SET synchronous_commit = on; INSERT INTO t VALUES (1, 'a')");
    committed = absl::Now();
  });
  std::vector<Change> got = ReadChanges(stream, 1);
  const absl::Time delivered = absl::Now();
  writer.join();
  ASSERT_EQ(got.size(), 1u);
  // Without the linger the change arrives within a few milliseconds of its commit,
  // usually before Exec() has even returned.
  EXPECT_GE(delivered - committed, absl::Milliseconds(50));
}

// The default read_linger depends on it (200 us on a unix socket, 2 ms over TCP).
TEST_F(ResumeTest, ConnectionKnowsWhetherItUsesAUnixSocket) {
  internal::ConnectParams params;
  params.replication = false;
  params.dsn = pg().UnixDsn(dbname());
  absl::StatusOr<std::unique_ptr<internal::PgConnection>> local =
      internal::PgConnection::Connect(params);
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_TRUE((*local)->unix_socket());
  params.dsn = pg().Dsn(dbname());
  absl::StatusOr<std::unique_ptr<internal::PgConnection>> tcp =
      internal::PgConnection::Connect(params);
  ASSERT_TRUE(tcp.ok()) << tcp.status();
  EXPECT_FALSE((*tcp)->unix_socket());
}

// Opens a stream, retrying while the server still holds the slot for a consumer that
// just died (its walsender exits once it notices the closed socket).
absl::StatusOr<ChangeStream> OpenWhenSlotFree(const StreamOptions& options) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
    if (stream.ok() || !IsRetryable(stream.status()) || absl::Now() > deadline) return stream;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

// A consumer process killed with SIGKILL before acknowledging anything: the next
// consumer receives every change again, with identical ids.
TEST_F(ResumeTest, KilledConsumerWithoutAckGetsEverythingAgainWithSameIds) {
  { ChangeStream create = OpenStream(Options()); }
  InsertTen();
  int ids_pipe[2];
  ASSERT_EQ(pipe(ids_pipe), 0);
  const StreamOptions options = Options();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The consumer: reads everything, reports the ids, never acknowledges.
    close(ids_pipe[0]);
    absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
    if (!stream.ok()) _exit(2);
    for (int n = 0; n < 10;) {
      absl::StatusOr<std::optional<Change>> next = stream->Next();
      if (!next.ok() || !*next) _exit(3);
      const std::string line = (**next).id() + "\n";
      if (write(ids_pipe[1], line.data(), line.size()) < 0) _exit(4);
      ++n;
    }
    pause();
    _exit(0);
  }
  close(ids_pipe[1]);
  FILE* lines = fdopen(ids_pipe[0], "r");
  std::vector<std::string> first;
  char buffer[256];
  while (first.size() < 10 && fgets(buffer, sizeof buffer, lines) != nullptr) {
    first.emplace_back(std::string(buffer, strcspn(buffer, "\n")));
  }
  absl::SleepFor(absl::Milliseconds(300));  // several status intervals: nothing acked
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  fclose(lines);
  ASSERT_EQ(first.size(), 10u);

  absl::StatusOr<ChangeStream> again = OpenWhenSlotFree(Options());
  ASSERT_TRUE(again.ok()) << again.status();
  std::vector<Change> c = ReadChanges(*again, 10);
  ASSERT_EQ(c.size(), 10u);
  for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(c[i].id(), first[i]);
  EXPECT_THAT(RowIds(c), ::testing::ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
}

}  // namespace
}  // namespace pgcdc::testing
