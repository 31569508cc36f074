// Bad configuration gives a clear error that names the problem and the fix.
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"
#include "integration/testing/stream_helpers.h"
#include "libpq-fe.h"
#include "pgcdc/pgcdc.h"

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
  EXPECT_THAT(Message(stream.status()), AllOf(HasSubstr("wal_level = replica"),
                                              HasSubstr("ALTER SYSTEM SET wal_level = logical")));
  EXPECT_FALSE(IsRetryable(stream.status()));
  EXPECT_EQ(SqlState(stream.status()), "55000");  // as the server reports it
}

TEST_F(ErrorsTest, MissingPublication) {
  StreamOptions options = Options();
  options.publications = {"nope"};
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(stream.status()), AllOf(HasSubstr("publication \"nope\" does not exist"),
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
  EXPECT_THAT(Message(stream.status()), AllOf(HasSubstr("REPLICATION"), HasSubstr("ALTER ROLE")));
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
  auto rows =
      pg().Query("SELECT count(*) FROM pg_publication WHERE pubname = 'late_pub'", dbname());
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0][0], "0");
}

TEST_F(ErrorsTest, ServerShutdownIsRetryable) {
  absl::StatusOr<std::unique_ptr<internal::EmbeddedPostgres>> own =
      internal::EmbeddedPostgres::Start();
  ASSERT_TRUE(own.ok()) << own.status();
  ASSERT_TRUE(
      (*own)->Exec("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t").ok());
  StreamOptions options = MakeOptions((*own)->Dsn(), "s", "pub");
  options.reconnect.enabled = false;  // reconnect_integration_test: the default heals it
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE((*own)->Stop().ok());
  absl::Status error;
  for (int i = 0; i < 100 && error.ok(); ++i)
    error = stream->Poll(absl::Milliseconds(100)).status();
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

// Before PostgreSQL 18 the walsender ends with the error. PostgreSQL 18's pgoutput skips
// a publication that does not exist with a WARNING ("skipped loading
// publication") instead: the server's warning reaches the log sink, and nothing of the
// dropped publication is delivered.
TEST_F(ErrorsTest, PublicationDroppedWhileStreamingKeepsTheServersError) {
  auto lines = std::make_shared<std::vector<std::pair<LogLevel, std::string>>>();
  auto mu = std::make_shared<absl::Mutex>();
  StreamOptions options = Options();
  options.log_sink = [lines, mu](LogLevel level, std::string_view message) {
    absl::MutexLock lock(mu.get());
    lines->emplace_back(level, std::string(message));
  };
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  Exec("DROP PUBLICATION pub; INSERT INTO t VALUES (1)");
  if (ServerVersionNum() >= 180000) {
    EXPECT_TRUE(ReadFor(*stream, absl::Seconds(2)).empty());
    absl::MutexLock lock(mu.get());
    EXPECT_THAT(
        *lines,
        ::testing::Contains(::testing::Pair(
            LogLevel::kWarning,
            AllOf(HasSubstr("server WARNING"),
                  HasSubstr(
                      "skipped loading publication \"pub\". The publication does not exist")))));
    return;
  }
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
  auto rows =
      pg().Query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot_ + "'");
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
  ASSERT_TRUE(
      pg().Exec("SELECT pg_create_logical_replication_slot('" + slot_ + "', 'test_decoding')",
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
  ASSERT_TRUE(
      pg().Exec("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;", *other)
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

// Issue 11: bad inputs and misconfigurations, each with an actionable message and the
// right retry verdict (the server-side ones above test the SQLSTATE too).
struct BadInput {
  const char* name;
  std::function<void(StreamOptions&, const std::string& dsn)> apply;
  absl::StatusCode code;
  const char* says;  // names the problem or the fix
  bool retryable;
};

std::vector<BadInput> BadInputs() {
  using C = absl::StatusCode;
  auto set = [](auto f) { return std::function<void(StreamOptions&, const std::string&)>(f); };
  return {
      {"empty slot name", set([](StreamOptions& o, auto&) { o.slot_name = ""; }),
       C::kInvalidArgument, "slot_name is required", false},
      {"upper-case slot name", set([](StreamOptions& o, auto&) { o.slot_name = "Orders"; }),
       C::kInvalidArgument, "lower-case letters, digits and underscores", false},
      {"slot name over 63 bytes",
       set([](StreamOptions& o, auto&) { o.slot_name = std::string(64, 'a'); }),
       C::kInvalidArgument, "longer than 63 bytes", false},
      {"no publication", set([](StreamOptions& o, auto&) { o.publications.clear(); }),
       C::kInvalidArgument, "CREATE PUBLICATION", false},
      {"empty publication name", set([](StreamOptions& o, auto&) { o.publications = {""}; }),
       C::kInvalidArgument, "empty publication name", false},
      {"protocol version 9", set([](StreamOptions& o, auto&) { o.proto_version = 9; }),
       C::kInvalidArgument, "proto_version 9", false},
      {"zero status interval",
       set([](StreamOptions& o, auto&) { o.status_interval = absl::ZeroDuration(); }),
       C::kInvalidArgument, "status_interval must be positive", false},
      {"read linger of a second",
       set([](StreamOptions& o, auto&) { o.read_linger = absl::Seconds(1); }), C::kInvalidArgument,
       "read_linger must be between 0 and 100 ms", false},
      {"zero idle timeout",
       set([](StreamOptions& o, auto&) { o.idle_timeout = absl::ZeroDuration(); }),
       C::kInvalidArgument, "idle_timeout must be positive", false},
      {"negative max duration",
       set([](StreamOptions& o, auto&) { o.max_duration = absl::Seconds(-1); }),
       C::kInvalidArgument, "max_duration must not be negative", false},
      {"receive timeout too short",
       set([](StreamOptions& o, auto&) { o.receive_timeout = absl::Milliseconds(100); }),
       C::kInvalidArgument, "receive_timeout must be 0 (off) or at least 0.5 s", false},
      {"reconnect without attempts",
       set([](StreamOptions& o, auto&) { o.reconnect.max_attempts = 0; }), C::kInvalidArgument,
       "set enabled = false", false},
      {"deliver at PREPARE without two_phase",
       set([](StreamOptions& o, auto&) { o.deliver_prepared = PreparedDelivery::kAtPrepare; }),
       C::kInvalidArgument, "Turn two_phase on", false},
      {"snapshot with a start position", set([](StreamOptions& o, auto&) {
         o.snapshot = SnapshotMode::kInitial;
         o.start_lsn = Lsn(1);
       }),
       C::kInvalidArgument, "start_lsn cannot be combined with a snapshot", false},
      {"no snapshot readers", set([](StreamOptions& o, auto&) {
         o.snapshot = SnapshotMode::kInitial;
         o.snapshot_readers = 0;
       }),
       C::kInvalidArgument, "use 1 to 64 connections", false},
      {"tables for two publications", set([](StreamOptions& o, auto&) {
         o.publications = {"a", "b"};
         o.publication_tables = {"t"};
       }),
       C::kInvalidArgument, "exactly one publication", false},
      {"unknown DSN keyword",
       set([](StreamOptions& o, const std::string& dsn) { o.dsn = dsn + " nonsense_key=1"; }),
       C::kInvalidArgument, "invalid DSN", false},
      {"nothing listening",
       set([](StreamOptions& o, auto&) { o.dsn = "postgresql://postgres@127.0.0.1:1/postgres"; }),
       C::kUnavailable, "Is the server running and reachable", true},
      {"TLS required, server without TLS",
       set([](StreamOptions& o, const std::string& dsn) { o.dsn = dsn + " sslmode=require"; }),
       C::kFailedPrecondition, "Fix the TLS settings", false},
      {"unknown database",
       set([](StreamOptions& o, const std::string& dsn) { o.dsn = dsn + " dbname=nope_db"; }),
       C::kInvalidArgument, "Check dbname in the DSN", false},
      {"unknown role",
       set([](StreamOptions& o, const std::string& dsn) { o.dsn = dsn + " user=nope_role"; }),
       C::kPermissionDenied, "check the user name", false},
      {"missing publication", set([](StreamOptions& o, auto&) { o.publications = {"nope"}; }),
       C::kFailedPrecondition, "CREATE PUBLICATION", false},
      {"missing slot without create_slot",
       set([](StreamOptions& o, auto&) { o.create_slot = false; }), C::kNotFound, "create_slot",
       false},
      {"two_phase on a slot without it", set([](StreamOptions& o, auto&) {
         o.slot_name += "_existing";
         o.two_phase = true;
       }),
       C::kFailedPrecondition, "created without two_phase", false},
      {"slot in use", set([](StreamOptions& o, auto&) { o.slot_name += "_busy"; }), C::kUnavailable,
       "pg_terminate_backend", true},
  };
}

TEST_F(ErrorsTest, TwentyFiveBadInputsEachNameTheProblemAndTheRetryVerdict) {
  // Slots for the cases that need one: an existing one without two_phase, one in use.
  StreamOptions existing = Options();
  existing.slot_name += "_existing";
  ASSERT_TRUE(ChangeStream::Open(existing).ok());
  StreamOptions busy_options = Options();
  busy_options.slot_name += "_busy";
  absl::StatusOr<ChangeStream> busy = ChangeStream::Open(busy_options);
  ASSERT_TRUE(busy.ok()) << busy.status();
  const std::vector<BadInput> cases = BadInputs();
  ASSERT_GE(cases.size(), 25u);
  for (const BadInput& bad : cases) {
    StreamOptions options = Options();
    bad.apply(options, pg().Dsn(dbname()));
    absl::Status status = ChangeStream::Open(options).status();
    EXPECT_EQ(status.code(), bad.code) << bad.name << ": " << status;
    EXPECT_THAT(Message(status), HasSubstr(bad.says)) << bad.name;
    EXPECT_EQ(IsRetryable(status), bad.retryable) << bad.name << ": " << status;
  }
}

// Runs `command` with /bin/sh; false (and a test failure) unless it exits 0.
bool Shell(const std::string& command) {
  const int rc = std::system(command.c_str());
  EXPECT_EQ(rc, 0) << command;
  return rc == 0;
}

// Issue 11: a CA that did not sign the server's certificate cannot be healed by
// retrying (it was classified retryable). The right CA connects (the control).
TEST_F(ErrorsTest, WrongCertificateAuthorityIsNotRetryable) {
  absl::StatusOr<std::unique_ptr<internal::EmbeddedPostgres>> own =
      internal::EmbeddedPostgres::Start();
  ASSERT_TRUE(own.ok()) << own.status();
  internal::EmbeddedPostgres& server = **own;
  ASSERT_TRUE(
      server.Exec("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t").ok());
  const std::string dir = server.data_dir();
  const std::string ca_dir = server.socket_dir();
  // A self-signed server certificate for 127.0.0.1, and an unrelated CA.
  ASSERT_TRUE(
      Shell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
            "-addext subjectAltName=IP:127.0.0.1 -keyout " +
            dir + "/server.key -out " + dir + "/server.crt 2>/dev/null"));
  ASSERT_TRUE(
      Shell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other-ca "
            "-keyout " +
            ca_dir + "/other.key -out " + ca_dir + "/other.crt 2>/dev/null"));
  // The server reads its key only if it owns it, mode 0600 (it runs as the data
  // directory's owner).
  ASSERT_TRUE(Shell("chown --reference=" + dir + " " + dir + "/server.key " + dir +
                    "/server.crt && chmod 600 " + dir + "/server.key"));
  ASSERT_TRUE(Shell("cp " + dir + "/server.crt " + ca_dir + "/right.crt && chmod 644 " + ca_dir +
                    "/right.crt " + ca_dir + "/other.crt"));
  ASSERT_TRUE(
      server.Restart({"ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"})
          .ok());
  StreamOptions options = MakeOptions(server.Dsn(), "s", "pub");
  options.reconnect.enabled = false;
  options.dsn += " sslmode=verify-full sslrootcert=" + ca_dir + "/other.crt";
  absl::Status wrong = ChangeStream::Open(options).status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kFailedPrecondition) << wrong;
  EXPECT_THAT(Message(wrong), AllOf(HasSubstr("certificate"), HasSubstr("sslrootcert")));
  EXPECT_FALSE(IsRetryable(wrong));
  options = MakeOptions(server.Dsn(), "s", "pub");
  options.dsn += " sslmode=verify-full sslrootcert=" + ca_dir + "/right.crt";
  absl::StatusOr<ChangeStream> right = ChangeStream::Open(options);
  EXPECT_TRUE(right.ok()) << right.status();
}

}  // namespace
}  // namespace pgcdc::testing
