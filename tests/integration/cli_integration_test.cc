// The pgcdc command line and the installed C++ package, run as a user would.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"
#include "integration/testing/stream_helpers.h"
#include "pgcdc/pgcdc.h"

namespace pgcdc::testing {
namespace {

using ::testing::HasSubstr;

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout (stderr too when merged)
};

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class CliTest : public StreamTest {
 protected:
};

TEST_F(CliTest, StreamWritesJsonLinesAndStopsAtLsn) {
  Exec(
      "CREATE TABLE t (id int PRIMARY KEY, amount numeric, note text);"
      "CREATE PUBLICATION pub FOR TABLE t;");
  const std::string base = absl::StrCat(PGCDC_CLI_PATH, " stream --dsn ", Quote(pg().Dsn(dbname())),
                                        " --slot ", slot_, " --publication pub");
  // Create the slot first (an idle stream ends after 0.2 s), then write, then drain.
  ASSERT_EQ(RunCommand(base + " --create-slot --idle-timeout 0.2").exit_code, 0);
  Exec("INSERT INTO t VALUES (1, 12345678901234567890.123456789, 'he said \"hi\"\n')");
  Exec("UPDATE t SET amount = 'NaN' WHERE id = 1");
  const uint64_t stop = CurrentWalLsn();
  Exec("DELETE FROM t WHERE id = 1");
  CommandResult r = RunCommand(base + " --stop-at-lsn " + Lsn(stop).ToString());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> lines = absl::StrSplit(r.output, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.output;
  EXPECT_THAT(lines[0], HasSubstr("\"op\":\"insert\""));
  EXPECT_THAT(lines[0], HasSubstr("\"schema\":\"public\",\"table\":\"t\""));
  EXPECT_THAT(lines[0], HasSubstr("\"amount\":\"12345678901234567890.123456789\""));
  EXPECT_THAT(lines[0], HasSubstr("\"note\":\"he said \\\"hi\\\"\\n\""));
  EXPECT_THAT(lines[1], HasSubstr("\"op\":\"update\""));
  EXPECT_THAT(lines[1], HasSubstr("\"amount\":\"NaN\""));
  // Everything printed was acknowledged: the delete comes next time.
  CommandResult rest = RunCommand(base + " --idle-timeout 1");
  ASSERT_EQ(rest.exit_code, 0);
  EXPECT_THAT(rest.output, HasSubstr("\"op\":\"delete\""));
  EXPECT_THAT(rest.output, ::testing::Not(HasSubstr("\"op\":\"insert\"")));
}

TEST_F(CliTest, StreamReportsConfigurationErrors) {
  CommandResult r =
      RunCommand(absl::StrCat(PGCDC_CLI_PATH, " stream --dsn ", Quote(pg().Dsn(dbname())),
                              " --slot ", slot_, " --publication missing 2>&1"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("publication \"missing\" does not exist"));
  r = RunCommand(absl::StrCat(PGCDC_CLI_PATH, " stream --slot x 2>&1"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--dsn is required"));
  r = RunCommand(absl::StrCat(PGCDC_CLI_PATH, " stream --dsn ", Quote(pg().Dsn(dbname())),
                              " --slot ", slot_, " --publication p --read-linger 200ms 2>&1"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("read_linger must be between 0 and 100 ms"));
}

// --progress=always draws the snapshot progress on stderr even when it is not a
// terminal (one line per update then), ending with the complete state.
TEST_F(CliTest, SnapshotProgressOnStderr) {
  Exec(
      "CREATE TABLE t (id int PRIMARY KEY, v text); CREATE TABLE e (id int PRIMARY KEY);"
      "INSERT INTO t SELECT i, repeat('x', 100) FROM generate_series(1, 3000) i;"
      "ANALYZE t; CREATE PUBLICATION pub FOR TABLE t, e;");
  const std::string base =
      absl::StrCat(PGCDC_CLI_PATH, " stream --dsn ", Quote(pg().Dsn(dbname())), " --slot ", slot_,
                   " --publication pub --snapshot initial_only");
  // stderr into the pipe, stdout (the records) discarded.
  CommandResult r = RunCommand(base + " --progress=always 2>&1 >/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> lines = absl::StrSplit(r.output, '\n', absl::SkipEmpty());
  std::vector<std::string> progress;
  for (const std::string& line : lines) {
    if (line.rfind("snapshot ", 0) == 0) progress.push_back(line);
  }
  ASSERT_FALSE(progress.empty()) << r.output;
  EXPECT_THAT(progress.back(), ::testing::StartsWith("snapshot 100%  3000 rows  "));
  EXPECT_THAT(progress.back(), HasSubstr("  2/2 tables  in "));
  EXPECT_THAT(progress.back(), HasSubstr(" rows/s"));
  EXPECT_EQ(r.output.find('\r'), std::string::npos) << "no redrawing when not a terminal";
  EXPECT_EQ(r.output.find("\x1b["), std::string::npos);
  // auto (the default) and never: nothing drawn when stderr is not a terminal.
  for (const char* mode : {"", " --progress never"}) {
    CommandResult quiet = RunCommand(base + mode + " 2>&1 >/dev/null");
    ASSERT_EQ(quiet.exit_code, 0) << quiet.output;
    EXPECT_THAT(quiet.output, ::testing::Not(HasSubstr("snapshot "))) << mode;
  }
  CommandResult bad = RunCommand(base + " --progress=sometimes 2>&1 >/dev/null");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.output, HasSubstr("--progress must be auto, always or never"));
}

TEST_F(CliTest, CheckFindsTablesWithoutReplicaIdentity) {
  Exec(
      "CREATE TABLE good (id int PRIMARY KEY); CREATE TABLE bad (v int);"
      "CREATE PUBLICATION okpub FOR TABLE good; CREATE PUBLICATION badpub FOR TABLE good, bad;");
  const std::string base = absl::StrCat(PGCDC_CLI_PATH, " check --dsn ", Quote(pg().Dsn(dbname())));
  CommandResult ok = RunCommand(base + " --publication okpub");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_THAT(ok.output, HasSubstr("wal_level: logical"));
  EXPECT_THAT(ok.output, HasSubstr("ready for logical replication"));
  CommandResult bad = RunCommand(base + " --publication badpub --publication nopub");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("public.bad has no replica identity"));
  EXPECT_THAT(bad.output, HasSubstr("REPLICA IDENTITY FULL"));
  EXPECT_THAT(bad.output, HasSubstr("publication nopub: does not exist"));
  EXPECT_THAT(bad.output, HasSubstr("2 problem(s) found"));
}

TEST_F(CliTest, CheckFindsMissingReplicationPrivilege) {
  const std::string role = UniqueName("plain");
  Exec("CREATE ROLE " + role + " LOGIN");
  CommandResult r =
      RunCommand(absl::StrCat(PGCDC_CLI_PATH, " check --dsn ", Quote(pg().Dsn(dbname(), role))));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("has neither REPLICATION nor SUPERUSER"));
  EXPECT_THAT(r.output, HasSubstr("REPLICATION;"));
}

TEST(CliDemoTest, DemoStreamsDecodedChangesFromPrivateServer) {
  CommandResult r = RunCommand(absl::StrCat(PGCDC_CLI_PATH, " demo 2>/dev/null"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> lines = absl::StrSplit(r.output, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 8u) << r.output;
  EXPECT_THAT(lines[0], HasSubstr("\"amount\":\"19.99\""));
  EXPECT_THAT(lines[0], HasSubstr("\"tags\":[\"book\",\"gift\"]"));
  EXPECT_THAT(lines[0], HasSubstr("\"details\":{\"priority\": \"high\"}"));
  EXPECT_THAT(lines[2], HasSubstr("\"tags\":[\"with space\",null]"));
  // The update that left the large note alone reports it as unchanged, not as null.
  EXPECT_THAT(lines[5], HasSubstr("\"customer\":\"Grace Hopper\""));
  EXPECT_THAT(lines[5], HasSubstr("\"unchanged\":[\"note\"]"));
  EXPECT_THAT(lines[6], HasSubstr("\"op\":\"delete\""));
  EXPECT_THAT(lines[7], HasSubstr("\"op\":\"message\""));
}

// `examples/cpp` built with find_package(pgcdc) against an installed copy, then run.
TEST_F(CliTest, InstalledPackageBuildsAndRunsTheExample) {
  const std::string prefix = absl::StrCat(PGCDC_BINARY_DIR, "/install-test/prefix");
  const std::string build = absl::StrCat(PGCDC_BINARY_DIR, "/install-test/example");
  const std::string cmake = PGCDC_CMAKE_COMMAND;
  CommandResult install = RunCommand(
      absl::StrCat(cmake, " --install ", PGCDC_BINARY_DIR, " --prefix ", prefix, " 2>&1"));
  ASSERT_EQ(install.exit_code, 0) << install.output;
  CommandResult configure =
      RunCommand(absl::StrCat(cmake, " -S ", PGCDC_SOURCE_DIR, "/examples/cpp -B ", build,
                              " -DCMAKE_PREFIX_PATH=", prefix, " -DCMAKE_BUILD_TYPE=Release 2>&1"));
  ASSERT_EQ(configure.exit_code, 0) << configure.output;
  CommandResult compile = RunCommand(absl::StrCat(cmake, " --build ", build, " 2>&1"));
  ASSERT_EQ(compile.exit_code, 0) << compile.output;

  Exec("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;");
  const std::string run =
      absl::StrCat(build, "/tail_changes ", Quote(pg().Dsn(dbname())), " ", slot_, " pub 2");
  ASSERT_EQ(RunCommand(run + " 2>&1").exit_code, 0);  // creates the slot, idles out
  Exec("INSERT INTO t VALUES (41); INSERT INTO t VALUES (42)");
  CommandResult r = RunCommand(run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"new\":{\"id\":41}"));
  EXPECT_THAT(r.output, HasSubstr("\"new\":{\"id\":42}"));
}

}  // namespace
}  // namespace pgcdc::testing
