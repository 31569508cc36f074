// Bad configuration gives a clear error that names the problem and the fix.
#include "gmock/gmock.h"
#include "libpq-fe.h"
#include "gtest/gtest.h"
#include "pgcdc/pgcdc.h"
#include "integration/testing/postgres_fixture.h"
#include "integration/testing/stream_helpers.h"

namespace pgcdc::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class ErrorsTest : public StreamTest {
 protected:
  void SetUp() override {
    StreamTest::SetUp();
    ASSERT_TRUE(pg().Exec("CREATE TABLE t (id int PRIMARY KEY); "
                          "CREATE PUBLICATION pub FOR TABLE t;",
                          dbname())
                    .ok());
  }
};

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST_F(ErrorsTest, WalLevelNotLogical) {
  internal::EmbeddedPostgresOptions pg_options;
  pg_options.extra_conf = {"wal_level = replica"};
  absl::StatusOr<std::unique_ptr<internal::EmbeddedPostgres>> replica =
      internal::EmbeddedPostgres::Start(pg_options);
  ASSERT_TRUE(replica.ok()) << replica.status();
  StreamOptions options = MakeOptions((*replica)->Dsn(), "s", "pub");
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(stream.status()),
              AllOf(HasSubstr("wal_level = replica"), HasSubstr("ALTER SYSTEM SET wal_level = logical")));
  EXPECT_FALSE(IsRetryable(stream.status()));
  EXPECT_EQ(SqlState(stream.status()), "55000");  // as the server reports it
}

TEST_F(ErrorsTest, MissingPublication) {
  StreamOptions options = Options();
  options.publications = {"nope"};
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(stream.status()),
              AllOf(HasSubstr("publication \"nope\" does not exist"),
                    HasSubstr("CREATE PUBLICATION")));
  // pgoutput's own SQLSTATE for a publication dropped while streaming.
  EXPECT_EQ(SqlState(stream.status()), "42704");
}

TEST_F(ErrorsTest, RoleWithoutReplicationPrivilege) {
  const std::string role = UniqueName("plain");
  ASSERT_TRUE(pg().Exec("CREATE ROLE " + role + " LOGIN", dbname()).ok());
  StreamOptions options = Options();
  options.dsn = pg().Dsn(dbname(), role);
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kPermissionDenied) << stream.status();
  EXPECT_THAT(Message(stream.status()),
              AllOf(HasSubstr("REPLICATION"), HasSubstr("ALTER ROLE")));
}

TEST_F(ErrorsTest, SlotAlreadyInUse) {
  absl::StatusOr<ChangeStream> first = ChangeStream::Open(Options());
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<ChangeStream> second = ChangeStream::Open(Options());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(second.status()),
              AllOf(HasSubstr("in use by process"), HasSubstr("pg_terminate_backend")));
  EXPECT_EQ(SqlState(second.status()), "55006");
  EXPECT_TRUE(IsRetryable(second.status()));
}

TEST_F(ErrorsTest, PublicationIsNotCreatedForAnExistingSlot) {
  { absl::StatusOr<ChangeStream> create = ChangeStream::Open(Options()); }
  StreamOptions options = Options();
  options.publications = {"late_pub"};
  options.publication_tables = {"t"};
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(stream.status()), AllOf(HasSubstr("late_pub"), HasSubstr("recreate slot")));
  auto rows = pg().Query("SELECT count(*) FROM pg_publication WHERE pubname = 'late_pub'", dbname());
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0][0], "0");
}

TEST_F(ErrorsTest, ServerShutdownIsRetryable) {
  absl::StatusOr<std::unique_ptr<internal::EmbeddedPostgres>> own =
      internal::EmbeddedPostgres::Start();
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_TRUE((*own)->Exec("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t").ok());
  StreamOptions options = MakeOptions((*own)->Dsn(), "s", "pub");
  options.reconnect.enabled = false;  // reconnect_integration_test: the default heals it
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE((*own)->Stop().ok());
  absl::Status error;
  for (int i = 0; i < 100 && error.ok(); ++i) error = stream->Poll(absl::Milliseconds(100)).status();
  EXPECT_EQ(error.code(), absl::StatusCode::kUnavailable) << error;
  EXPECT_TRUE(IsRetryable(error));
  EXPECT_TRUE(stream->done());
}

// Issue 11, defect 7: the server's error and SQLSTATE win over what pgcdc notices
// later (the closed socket, a deadline).
absl::Status PollUntilError(ChangeStream& stream, absl::Duration each) {
  for (int i = 0; i < 200; ++i) {
    absl::Status s = stream.Poll(each).status();
    if (!s.ok()) return s;
    if (each == absl::ZeroDuration()) absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::OkStatus();
}

TEST_F(ErrorsTest, PublicationDroppedWhileStreamingKeepsTheServersError) {
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(Options());
  ASSERT_TRUE(stream.ok()) << stream.status();
  Exec("DROP PUBLICATION pub; INSERT INTO t VALUES (1)");
  // Poll(0), as a busy loop or PollBatch after its first change would: the server's
  // error must not turn into "timed out waiting for the server to end COPY".
  absl::Status error = PollUntilError(*stream, absl::ZeroDuration());
  EXPECT_EQ(error.code(), absl::StatusCode::kFailedPrecondition) << error;
  EXPECT_THAT(Message(error), HasSubstr("publication \"pub\" does not exist"));
  EXPECT_EQ(SqlState(error), "42704");
  EXPECT_FALSE(IsRetryable(error));
}

TEST_F(ErrorsTest, TerminatedWalsenderKeepsItsSqlState) {
  for (absl::Duration each : {absl::Milliseconds(100), absl::ZeroDuration()}) {
    StreamOptions options = Options();
    options.reconnect.enabled = false;  // the error reaches the application
    absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
    ASSERT_TRUE(stream.ok()) << stream.status();
    Exec("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '" +
         slot_ + "'");
    absl::Status error = PollUntilError(*stream, each);
    EXPECT_EQ(error.code(), absl::StatusCode::kUnavailable) << error;
    EXPECT_EQ(SqlState(error), "57P01") << error;
    EXPECT_THAT(Message(error), HasSubstr("administrator command"));
    EXPECT_TRUE(IsRetryable(error));
  }
}

TEST_F(ErrorsTest, SlotCreationBlockedByOpenTransactionTimesOutWithTheQueryToFindIt) {
  // A session holding a transaction id: slot creation waits for it to end.
  PGconn* blocker = PQconnectdb(pg().Dsn(dbname()).c_str());
  ASSERT_EQ(PQstatus(blocker), CONNECTION_OK);
  PQclear(PQexec(blocker, "BEGIN; SELECT txid_current();"));
  StreamOptions options = Options();
  options.create_slot_timeout = absl::Seconds(1);
  const absl::Time start = absl::Now();
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kDeadlineExceeded) << stream.status();
  EXPECT_THAT(Message(stream.status()),
              AllOf(HasSubstr("backend_xid IS NOT NULL"), HasSubstr("pg_prepared_xacts")));
  PQfinish(blocker);
  // Nothing was left behind: the canceled creation leaves no slot holding WAL.
  auto rows = pg().Query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                         slot_ + "'");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0][0], "0");
  EXPECT_TRUE(ChangeStream::Open(Options()).ok());
}

TEST_F(ErrorsTest, MissingSlotWithoutCreate) {
  StreamOptions options = Options();
  options.create_slot = false;
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(SqlState(stream.status()), "42704");  // as START_REPLICATION reports it
  EXPECT_THAT(Message(stream.status()), HasSubstr("create_slot"));
}

TEST_F(ErrorsTest, SlotWithAnotherPlugin) {
  ASSERT_TRUE(pg().Exec("SELECT pg_create_logical_replication_slot('" + slot_ +
                            "', 'test_decoding')",
                        dbname())
                  .ok());
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(Options());
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(stream.status()), HasSubstr("test_decoding"));
}

TEST_F(ErrorsTest, SlotOfAnotherDatabase) {
  ASSERT_TRUE(ChangeStream::Open(Options()).ok());  // creates the slot in this database
  absl::StatusOr<std::string> other = CreateDatabase("other");
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(pg().Exec("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;",
                        *other)
                  .ok());
  StreamOptions options = Options();
  options.dsn = pg().Dsn(*other);
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(stream.status()),
              AllOf(HasSubstr("belongs to database \"" + dbname() + "\""), HasSubstr(*other)));
}

TEST_F(ErrorsTest, BadDsnAndUnreachableServer) {
  StreamOptions options = Options();
  options.dsn = "host=127.0.0.1 nonsense_key=1";
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(stream.status()), HasSubstr("invalid DSN"));

  options.dsn = "postgresql://postgres@127.0.0.1:1/postgres";
  stream = ChangeStream::Open(options);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(stream.status()), HasSubstr("Is the server running"));
}

TEST_F(ErrorsTest, InvalidOptionsAreRejectedBeforeConnecting) {
  StreamOptions options = Options();
  options.slot_name = "Bad-Name";
  EXPECT_EQ(ChangeStream::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = Options();
  options.publications.clear();
  EXPECT_EQ(ChangeStream::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
  for (absl::Duration linger : {absl::Microseconds(-1), absl::Milliseconds(101)}) {  // NOLINT
    options = Options();
    options.read_linger = linger;
    absl::Status status = ChangeStream::Open(options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(status), HasSubstr("read_linger"));
  }
}

}  // namespace
}  // namespace pgcdc::testing
