// Any transaction size in bounded memory (issue 4): a 2,000,000-row transaction,
// streamed by the server (logical_decoding_work_mem=64kB) or sent whole, drained by
// the pgcdc CLI in a child process whose peak RSS is measured.
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"
#include "integration/testing/stream_helpers.h"
#include "pgcdc/pgcdc.h"

namespace pgcdc::testing {
namespace {

// Under AddressSanitizer the child's RSS is mostly shadow memory and the quarantine of
// freed blocks (hundreds of MB): the bound is checked in the plain build only.
#if defined(__SANITIZE_ADDRESS__)
constexpr long kMaxRssKb = 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr long kMaxRssKb = 0;
#else
constexpr long kMaxRssKb = 64 * 1024;
#endif
#else
constexpr long kMaxRssKb = 64 * 1024;
#endif

void ExpectBoundedRss(long peak_rss_kb) {
  if (kMaxRssKb > 0) EXPECT_LT(peak_rss_kb, kMaxRssKb) << "peak RSS of the consumer";
}

struct ChildResult {
  int exit_code = -1;
  long peak_rss_kb = 0;
  std::string stderr_text;
};

// Runs argv with stdout to /dev/null; returns its exit code, peak RSS and stderr.
ChildResult RunChild(const std::vector<std::string>& args) {
  ChildResult result;
  int err_pipe[2];
  if (pipe(err_pipe) != 0) return result;
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(err_pipe[1]);
  char buffer[4096];
  ssize_t n;
  while ((n = read(err_pipe[0], buffer, sizeof buffer)) > 0) result.stderr_text.append(buffer, n);
  close(err_pipe[0]);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.peak_rss_kb = usage.ru_maxrss;
  return result;
}

class LargeTransactionTest : public StreamTest {
 protected:
  static constexpr int kRows = 2000000;

  // Creates the slot, commits one kRows-row transaction, and drains it with the CLI.
  ChildResult Drain(const std::vector<std::string>& extra_args) {
    Exec("CREATE TABLE big (id int PRIMARY KEY, pad text); CREATE PUBLICATION pub FOR TABLE big;");
    { absl::StatusOr<ChangeStream> create = ChangeStream::Open(Options()); }
    Exec(absl::StrCat("INSERT INTO big SELECT i, 'row ' || i FROM generate_series(1, ", kRows,
                      ") i"));
    const std::string stop = Lsn(CurrentWalLsn()).ToString();
    std::vector<std::string> args = {
        PGCDC_CLI_PATH,   "stream",
        "--dsn",          pg().Dsn(dbname()) + " options='-c logical_decoding_work_mem=64kB'",
        "--slot",         slot_,
        "--publication",  "pub",
        "--stop-at-lsn",  stop,
        "--max-duration", "240"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return RunChild(args);
  }
};

TEST_F(LargeTransactionTest, StreamedTwoMillionRowsArriveOnceInBoundedMemory) {
  const std::string spill_dir = ::testing::TempDir();
  // A 16 MB buffer: the transaction (~60 MB of messages) must spill to disk.
  const ChildResult r = Drain({"--max-buffered-bytes", "16MiB", "--spill-dir", spill_dir});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, ::testing::HasSubstr(absl::StrCat(kRows, " row changes")));
  ExpectBoundedRss(r.peak_rss_kb);
  RecordProperty("peak_rss_kb", std::to_string(r.peak_rss_kb));
}

TEST_F(LargeTransactionTest, UnstreamedTwoMillionRowsAreDeliveredAsTheyArrive) {
  const ChildResult r = Drain({"--no-streaming", "--max-buffered-bytes", "16MiB"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, ::testing::HasSubstr(absl::StrCat(kRows, " row changes")));
  ExpectBoundedRss(r.peak_rss_kb);
  RecordProperty("peak_rss_kb", std::to_string(r.peak_rss_kb));
}

// SIGKILL while a large transaction is being streamed (and spilled): nothing of it was
// delivered, no spill file is left, and the next consumer gets all of it exactly once.
TEST_F(LargeTransactionTest, ConsumerKilledDuringAStreamedTransactionGetsItWholeAfterRestart) {
  constexpr int kTxnRows = 100000;
  Exec("CREATE TABLE t (id int PRIMARY KEY, pad text); CREATE PUBLICATION pub FOR TABLE t;");
  char dir_template[] = "/tmp/pgcdc-spill-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string spill_dir = dir_template;
  StreamOptions options = Options();
  options.dsn += " options='-c logical_decoding_work_mem=64kB'";
  options.max_buffered_bytes = 1 << 20;
  options.spill_dir = spill_dir;
  { absl::StatusOr<ChangeStream> create = ChangeStream::Open(options); }

  std::unique_ptr<internal::PgConnection> writer = OpenSession();
  ASSERT_NE(writer, nullptr);
  auto exec = [&](const std::string& sql) { return writer->Exec(sql).ok(); };
  ASSERT_TRUE(exec("BEGIN"));
  ASSERT_TRUE(exec(absl::StrCat("INSERT INTO t SELECT i, repeat('x', 100) FROM ",
                                "generate_series(1, ", kTxnRows, ") i")));

  int ids_pipe[2];
  ASSERT_EQ(pipe(ids_pipe), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // reports whatever it is given; it should be given nothing
    close(ids_pipe[0]);
    absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
    if (!stream.ok()) _exit(2);
    for (;;) {
      absl::StatusOr<std::optional<Change>> next = stream->Poll(absl::Seconds(1));
      if (!next.ok()) _exit(3);
      if (*next && write(ids_pipe[1], "x", 1) < 0) _exit(4);
    }
  }
  close(ids_pipe[1]);
  // Wait until the server has streamed the transaction to the child.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  int64_t streamed = 0;
  while (absl::Now() < deadline && streamed < 1000000) {
    absl::SleepFor(absl::Milliseconds(200));
    absl::StatusOr<std::vector<std::vector<std::optional<std::string>>>> rows = pg().Query(
        "SELECT stream_bytes FROM pg_stat_replication_slots WHERE slot_name = '" + slot_ + "'");
    if (rows.ok() && !rows->empty() && (*rows)[0][0]) streamed = std::stoll(*(*rows)[0][0]);
  }
  EXPECT_GE(streamed, 1000000) << "the server did not stream the transaction";
  absl::SleepFor(absl::Milliseconds(500));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  char byte;
  EXPECT_EQ(read(ids_pipe[0], &byte, 1), 0) << "a change of an uncommitted transaction";
  close(ids_pipe[0]);
  DIR* d = opendir(spill_dir.c_str());
  size_t files = 0;
  while (dirent* e = readdir(d)) files += e->d_name[0] != '.';
  closedir(d);
  EXPECT_EQ(files, 0u) << "spill files left in " << spill_dir;
  rmdir(spill_dir.c_str());

  ASSERT_TRUE(exec("COMMIT"));
  writer.reset();
  options.spill_dir.clear();
  absl::StatusOr<ChangeStream> again = absl::UnavailableError("not opened");
  for (const absl::Time until = absl::Now() + absl::Seconds(10); absl::Now() < until;) {
    again = ChangeStream::Open(options);  // the killed session may hold the slot briefly
    if (again.ok() || !IsRetryable(again.status())) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(again.ok()) << again.status();
  std::vector<Change> c = ReadChanges(*again, kTxnRows, absl::Seconds(60));
  ASSERT_EQ(c.size(), static_cast<size_t>(kTxnRows));
  for (int i = 0; i < kTxnRows; ++i) {
    ASSERT_EQ(c[i].ordinal(), static_cast<uint32_t>(i));
    ASSERT_EQ(ValueOf(c[i].new_row(), "id").int_value(), i + 1);
  }
  EXPECT_TRUE(c.back().last_in_transaction());
  EXPECT_TRUE(ReadFor(*again, absl::Milliseconds(500)).empty());
}

}  // namespace
}  // namespace pgcdc::testing
