// The embedded cluster every other integration test stands on: start, SQL, errors,
// restarts, and cleanup, including when the owning process dies without cleaning up.
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "embedded/embedded_postgres.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"

namespace pgcdc::internal {
namespace {

using ::pgcdc::testing::CreateDatabase;
using ::pgcdc::testing::PostgresTest;
using ::pgcdc::testing::ReplicationSlotGuard;
using ::pgcdc::testing::SharedPostgres;
using ::pgcdc::testing::UniqueName;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Optional;
using Rows = std::vector<EmbeddedPostgres::Row>;

// Fails the calling test (never skips) when a cluster cannot start.
std::unique_ptr<EmbeddedPostgres> MustStart(EmbeddedPostgresOptions options = {}) {
  absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg = EmbeddedPostgres::Start(options);
  EXPECT_TRUE(pg.ok()) << pg.status();
  return pg.ok() ? *std::move(pg) : nullptr;
}

std::string Show(const EmbeddedPostgres& pg, const std::string& setting) {
  absl::StatusOr<Rows> rows = pg.Query(absl::StrCat("SHOW ", setting));
  if (!rows.ok()) return rows.status().ToString();
  return rows->at(0).at(0).value_or("NULL");
}

// Matches a non-NULL column value.
::testing::Matcher<const std::optional<std::string>&> Value(const std::string& text) {
  return Optional(text);
}

bool Reachable(const std::string& dsn) {
  return PQping(absl::StrCat(dsn, " connect_timeout=2").c_str()) == PQPING_OK;
}

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

TEST(EmbeddedPostgresTest, StartsWithLogicalReplicationSettings) {
  absl::StatusOr<EmbeddedPostgres*> shared = SharedPostgres();
  ASSERT_TRUE(shared.ok()) << shared.status();
  const EmbeddedPostgres& pg = **shared;
  EXPECT_EQ(Show(pg, "wal_level"), "logical");
  EXPECT_EQ(Show(pg, "port"), absl::StrCat(pg.port()));
  EXPECT_EQ(Show(pg, "max_replication_slots"), "20");
  EXPECT_EQ(Show(pg, "max_wal_senders"), "20");
  EXPECT_EQ(Show(pg, "fsync"), "off");
  EXPECT_EQ(Show(pg, "server_encoding"), "UTF8");
  EXPECT_TRUE(Reachable(pg.Dsn())) << pg.Dsn();
  EXPECT_TRUE(Reachable(pg.UnixDsn())) << pg.UnixDsn();
  EXPECT_TRUE(Exists(absl::StrCat(pg.socket_dir(), "/.s.PGSQL.", pg.port())));
  // PostgreSQL refuses root; as root the files belong to the server's user.
  struct stat st;
  ASSERT_EQ(stat(pg.data_dir().c_str(), &st), 0);
  if (geteuid() == 0) EXPECT_NE(st.st_uid, 0u);
  EXPECT_THAT(pg.LogTail(1000), HasSubstr("ready to accept connections"));
}

TEST(EmbeddedPostgresTest, StartAndStopAreFast) {
  const absl::Time t0 = absl::Now();
  std::unique_ptr<EmbeddedPostgres> pg = MustStart();
  ASSERT_NE(pg, nullptr);
  const absl::Duration start = absl::Now() - t0;
  const absl::Time t1 = absl::Now();
  ASSERT_TRUE(pg->Stop().ok());
  const absl::Duration stop = absl::Now() - t1;
  const absl::Time t2 = absl::Now();
  pg.reset();
  const absl::Duration destroy = absl::Now() - t2;
  std::cout << "Start " << start << ", Stop " << stop << ", destructor " << destroy << "\n";
  RecordProperty("start_ms", absl::StrCat(absl::ToInt64Milliseconds(start)));
  // Generous bounds (machines are shared); typical is ~0.7 s and ~20 ms.
  EXPECT_LT(start, absl::Seconds(10));
  EXPECT_LT(stop, absl::Seconds(5));
}

class EmbeddedPostgresSqlTest : public PostgresTest {};

TEST_F(EmbeddedPostgresSqlTest, ExecAndQueryRoundTripIncludingNull) {
  ASSERT_TRUE(pg().Exec("CREATE TABLE t (id int PRIMARY KEY, name text);"
                        "INSERT INTO t VALUES (1, 'one'), (2, NULL), (3, '')",
                        dbname())
                  .ok());
  absl::StatusOr<Rows> rows = pg().Query("SELECT id, name FROM t ORDER BY id", dbname());
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(*rows, ElementsAre(ElementsAre(Value("1"), Value("one")),
                                 ElementsAre(Value("2"), std::nullopt),
                                 ElementsAre(Value("3"), Value(""))));
  // The rows of the last statement that returned rows.
  absl::StatusOr<Rows> last = pg().Query("SELECT 1; SELECT 'x', NULL; CREATE TABLE u ()", dbname());
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_THAT(*last, ElementsAre(ElementsAre(Value("x"), std::nullopt)));
  absl::StatusOr<Rows> none = pg().Query("CREATE TABLE v ()", dbname());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST_F(EmbeddedPostgresSqlTest, SqlErrorCarriesSqlstateAndServerMessage) {
  const absl::Status missing = pg().Exec("SELECT * FROM no_such_table", dbname());
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(missing.message(),
              AllOf(HasSubstr("relation \"no_such_table\" does not exist"), HasSubstr("42P01")));
  const absl::StatusOr<Rows> syntax = pg().Query("SELEKT 1", dbname());
  EXPECT_THAT(syntax.status().message(), AllOf(HasSubstr("syntax error"), HasSubstr("42601")));
}

TEST_F(EmbeddedPostgresSqlTest, FailingStatementAbortsTheWholeQueryString) {
  // The simple query protocol runs one query string as one implicit transaction.
  const absl::Status status =
      pg().Exec("CREATE TABLE a (); SELECT 1/0; CREATE TABLE b ()", dbname());
  EXPECT_THAT(status.message(), AllOf(HasSubstr("division by zero"), HasSubstr("22012")));
  absl::StatusOr<Rows> tables =
      pg().Query("SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b')", dbname());
  ASSERT_TRUE(tables.ok());
  EXPECT_THAT(*tables, ElementsAre(ElementsAre(Value("0"))));
}

TEST_F(EmbeddedPostgresSqlTest, DsnQuotesNamesWithSpaces) {
  const std::string name = absl::StrCat(UniqueName("dsn"), " with 'quote'");
  ASSERT_TRUE(pg().Exec(absl::StrCat("CREATE DATABASE \"", name, "\"")).ok());
  PGconn* conn = PQconnectdb(pg().Dsn(name).c_str());
  EXPECT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  EXPECT_STREQ(PQdb(conn), name.c_str());
  PQfinish(conn);
  EXPECT_TRUE(pg().Exec("SELECT 1", name).ok());
}

TEST(EmbeddedPostgresTest, TwoClustersRunAtOnce) {
  std::unique_ptr<EmbeddedPostgres> a = MustStart();
  std::unique_ptr<EmbeddedPostgres> b = MustStart();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->port(), b->port());
  EXPECT_NE(a->data_dir(), b->data_dir());
  ASSERT_TRUE(a->Exec("CREATE TABLE only_in_a ()").ok());
  EXPECT_TRUE(a->Exec("SELECT * FROM only_in_a").ok());
  EXPECT_THAT(b->Exec("SELECT * FROM only_in_a").message(), HasSubstr("42P01"));
  EXPECT_EQ(Show(*b, "port"), absl::StrCat(b->port()));
}

TEST(EmbeddedPostgresTest, RestartAppliesExtraConf) {
  EmbeddedPostgresOptions options;
  options.extra_conf = {"work_mem = '5MB'"};
  std::unique_ptr<EmbeddedPostgres> pg = MustStart(options);
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(Show(*pg, "work_mem"), "5MB");
  ASSERT_TRUE(pg->Exec("CREATE TABLE survives (x int); INSERT INTO survives VALUES (42)").ok());
  const int port = pg->port();

  ASSERT_TRUE(pg->Stop().ok());
  EXPECT_EQ(pg->Exec("SELECT 1").code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(pg->Stop().ok()) << "Stop must be idempotent";

  const absl::Status restarted = pg->Restart({"work_mem = '7MB'", "wal_level = replica"});
  ASSERT_TRUE(restarted.ok()) << restarted << pg->LogTail();
  EXPECT_EQ(pg->port(), port);
  EXPECT_EQ(Show(*pg, "work_mem"), "7MB");
  EXPECT_EQ(Show(*pg, "wal_level"), "replica");
  absl::StatusOr<Rows> rows = pg->Query("SELECT x FROM survives");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(*rows, ElementsAre(ElementsAre(Value("42"))));
}

TEST(EmbeddedPostgresTest, DestructorStopsServerAndRemovesDirectory) {
  std::unique_ptr<EmbeddedPostgres> pg = MustStart();
  ASSERT_NE(pg, nullptr);
  const std::string dir = pg->socket_dir();
  const std::string dsn = pg->Dsn();
  ASSERT_TRUE(Exists(pg->data_dir()));
  ASSERT_TRUE(Reachable(dsn));
  pg.reset();
  EXPECT_FALSE(Exists(dir));
  PGconn* conn = PQconnectdb(absl::StrCat(dsn, " connect_timeout=2").c_str());
  EXPECT_NE(PQstatus(conn), CONNECTION_OK);
  PQfinish(conn);
}

TEST(EmbeddedPostgresTest, ExplicitPortInUseFailsWithClearMessage) {
  // Hold a listening socket on a port so that the server cannot bind it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  EmbeddedPostgresOptions options;
  options.port = ntohs(addr.sin_port);
  absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg = EmbeddedPostgres::Start(options);
  close(fd);
  ASSERT_FALSE(pg.ok());
  EXPECT_THAT(pg.status().message(), AllOf(HasSubstr(absl::StrCat("port ", options.port)),
                                           HasSubstr("Address already in use")));
}

TEST(EmbeddedPostgresTest, BadConfigFailsWithServerLog) {
  EmbeddedPostgresOptions options;
  options.extra_conf = {"wal_level = bogus"};
  absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg = EmbeddedPostgres::Start(options);
  ASSERT_FALSE(pg.ok());
  EXPECT_THAT(pg.status().message(), AllOf(HasSubstr("exited during startup"),
                                           HasSubstr("wal_level"), HasSubstr("bogus")));
}

TEST(EmbeddedPostgresTest, MissingBinDirFailsWithClearMessage) {
  EmbeddedPostgresOptions options;
  options.bin_dir = "/nonexistent/pg/bin";
  absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg = EmbeddedPostgres::Start(options);
  ASSERT_FALSE(pg.ok());
  EXPECT_THAT(pg.status().message(), AllOf(HasSubstr("/nonexistent/pg/bin"), HasSubstr("initdb")));
}

// How the owning process goes away without running the destructor.
enum class Death { kExit, kSigkill };

class WatcherTest : public ::testing::TestWithParam<Death> {};

// The child starts a cluster, reports "<port> <dir>" and dies; nothing may remain.
TEST_P(WatcherTest, ServerStopsAndDirectoryVanishesWhenOwnerDies) {
  // Both ways: the child reports "<port> <dir>", then waits for the parent's verdict.
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    alarm(60);  // in case the parent never gets to release or kill us
    absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg = EmbeddedPostgres::Start();
    const std::string report = pg.ok() ? absl::StrCat((*pg)->port(), " ", (*pg)->socket_dir(), "\n")
                                       : absl::StrCat("error ", pg.status().ToString(), "\n");
    char go;
    if (write(fds[1], report.data(), report.size()) < 0 || read(fds[1], &go, 1) < 0) _exit(2);
    _exit(0);  // no destructors, like a crash
  }
  close(fds[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; !absl::StrContains(report, "\n") && (n = read(fds[0], buf, sizeof(buf))) > 0;) {
    report.append(buf, n);
  }
  // No ASSERT before the child is released or killed: it would wait for 60 s.
  const std::vector<std::string> parts = absl::StrSplit(report, absl::MaxSplits(' ', 1));
  int port = 0;
  const bool parsed = parts.size() == 2 && absl::SimpleAtoi(parts[0], &port);
  const std::string dir(parsed ? absl::StripTrailingAsciiWhitespace(parts[1]) : "");
  const std::string dsn =
      absl::StrCat("host=127.0.0.1 port=", port, " dbname=postgres user=postgres");
  EXPECT_TRUE(parsed && Reachable(dsn)) << report;
  if (GetParam() == Death::kSigkill) kill(child, SIGKILL);
  close(fds[0]);  // releases the child in the kExit case
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(parsed) << report;

  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((Reachable(dsn) || Exists(dir)) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_FALSE(Reachable(dsn)) << "server on port " << port << " still runs";
  EXPECT_FALSE(Exists(dir)) << dir << " still exists";
}

INSTANTIATE_TEST_SUITE_P(OwnerDeath, WatcherTest, ::testing::Values(Death::kExit, Death::kSigkill),
                         [](const ::testing::TestParamInfo<Death>& info) {
                           return info.param == Death::kExit ? "Exit" : "Sigkill";
                         });

TEST(PostgresFixtureTest, UniqueNameIsUniqueAndAValidIdentifier) {
  const std::string a = UniqueName("My-Prefix");
  const std::string b = UniqueName("My-Prefix");
  EXPECT_NE(a, b);
  EXPECT_THAT(a, MatchesRegex(absl::StrCat("pgcdc_test_my_prefix_[0-9]+_", getpid())));
  EXPECT_LE(UniqueName(std::string(100, 'x')).size(), 63u);
}

TEST(PostgresFixtureTest, CreateDatabaseGivesFreshDatabases) {
  absl::StatusOr<std::string> a = CreateDatabase();
  absl::StatusOr<std::string> b = CreateDatabase();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(*a, *b);
  EmbeddedPostgres& pg = **SharedPostgres();
  ASSERT_TRUE(pg.Exec("CREATE TABLE mine (x int)", *a).ok());
  EXPECT_TRUE(pg.Exec("CREATE TABLE mine (x int)", *b).ok()) << "databases must not share tables";
}

class SlotGuardTest : public PostgresTest {
 protected:
  std::optional<int64_t> SlotCount(const std::string& prefix) {
    absl::StatusOr<Rows> rows = pg().Query(absl::StrCat(
        "SELECT count(*) FROM pg_replication_slots WHERE starts_with(slot_name::text, '", prefix,
        "')"));
    int64_t n = 0;
    if (!rows.ok() || !absl::SimpleAtoi(rows->at(0).at(0).value_or(""), &n)) return std::nullopt;
    return n;
  }
};

TEST_F(SlotGuardTest, DropsInactiveAndActiveSlotsWithThePrefixOnly) {
  const std::string prefix = UniqueName("slot");
  const std::string other = UniqueName("other");
  // One statement per Exec: a slot cannot be created in a transaction that wrote.
  for (const std::string& sql :
       {std::string("CREATE PUBLICATION pub FOR ALL TABLES"),
        absl::StrCat("SELECT pg_create_logical_replication_slot('", prefix, "_idle', 'pgoutput')"),
        absl::StrCat("SELECT pg_create_logical_replication_slot('", prefix, "_busy', 'pgoutput')"),
        absl::StrCat("SELECT pg_create_logical_replication_slot('", other, "', 'pgoutput')")}) {
    const absl::Status status = pg().Exec(sql, dbname());
    ASSERT_TRUE(status.ok()) << status;
  }
  // A walsender streaming from the busy slot makes it active.
  PGconn* stream = PQconnectdb(absl::StrCat(pg().Dsn(dbname()), " replication=database").c_str());
  ASSERT_EQ(PQstatus(stream), CONNECTION_OK) << PQerrorMessage(stream);
  PGresult* res = PQexec(stream, absl::StrCat("START_REPLICATION SLOT ", prefix,
                                              "_busy LOGICAL 0/0 (proto_version '1', "
                                              "publication_names 'pub')")
                                     .c_str());
  EXPECT_EQ(PQresultStatus(res), PGRES_COPY_BOTH) << PQresultErrorMessage(res);
  PQclear(res);
  EXPECT_EQ(SlotCount(prefix), 2);
  { ReplicationSlotGuard guard(prefix); }
  EXPECT_EQ(SlotCount(prefix), 0);
  EXPECT_EQ(SlotCount(other), 1) << "slots of other tests must survive";
  PQfinish(stream);
  ReplicationSlotGuard cleanup(other);
}

}  // namespace
}  // namespace pgcdc::internal
