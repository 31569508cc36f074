// The CLI's snapshot progress line (tools/pgcdc/progress_display.*): exact text for
// hand-built progress values, and the throttled drawing on a stream.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "progress_display.h"

namespace pgcdc::cli {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TableSnapshotProgress Table(const std::string& name, int64_t rows, int64_t bytes,
                            int64_t rows_estimate, bool done) {
  TableSnapshotProgress t;
  t.schema = "public";
  t.table = name;
  t.rows_done = rows;
  t.bytes_done = bytes;
  t.rows_estimate = rows_estimate;
  t.bytes_estimate = -1;
  t.done = done;
  return t;
}

constexpr int64_t kMiB = 1 << 20;

TEST(FormatSnapshotProgressTest, RunningShowsTotalsRatesEtaAndActiveTables) {
  const std::vector<TableSnapshotProgress> tables = {
      Table("orders", 1200000, 150 * kMiB, 2500000, false),
      Table("items", 30000, 3 * kMiB, 30000, true),
      Table("fresh", 0, 0, -1, false),             // not started, never analyzed
      Table("notes", 4100, 400 << 10, -1, false),  // never analyzed: counts what was seen
  };
  // 1234100 of 2534100 expected rows (48%); 41.1k rows/s over 30 s; 1.3M rows to go.
  EXPECT_EQ(FormatSnapshotProgress(tables, absl::Seconds(30), false),
            "snapshot  48%  1234100/~2.53M rows  153.4 MiB  1/4 tables  41.1k rows/s  "
            "5.1 MiB/s  ETA 31s  | public.orders 48% of ~2.50M, public.notes 4100 rows");
}

TEST(FormatSnapshotProgressTest, NoRateOrEtaInTheFirstSecond) {
  EXPECT_EQ(
      FormatSnapshotProgress({Table("t", 500, 2048, 1000, false)}, absl::Milliseconds(900), false),
      "snapshot  50%  500/~1000 rows  2.0 KiB  0/1 tables  | public.t 50% of ~1000");
  EXPECT_EQ(FormatSnapshotProgress({Table("t", 500, 2048, 1000, false)}, absl::Seconds(1), false),
            "snapshot  50%  500/~1000 rows  2.0 KiB  0/1 tables  500 rows/s  2.0 KiB/s  ETA 1s  "
            "| public.t 50% of ~1000");
}

TEST(FormatSnapshotProgressTest, FinalShowsExactTotalsAndAverageRates) {
  const std::vector<TableSnapshotProgress> tables = {
      Table("orders", 2500000, 300 * kMiB, 2400000, true),
      Table("items", 30000, 3 * kMiB, 30000, true),
      Table("fresh", 0, 0, -1, true),
      Table("notes", 4100, 400 << 10, -1, true),
  };
  const std::string expected =
      "snapshot 100%  2534100 rows  303.4 MiB  4/4 tables  in 1m07s  37.8k rows/s  4.5 MiB/s";
  EXPECT_EQ(FormatSnapshotProgress(tables, absl::Seconds(67), true), expected);
  // Every table done is final, whoever asks.
  EXPECT_EQ(FormatSnapshotProgress(tables, absl::Seconds(67), false), expected);
}

TEST(FormatSnapshotProgressTest, LowEstimateStaysBelowHundredUntilDone) {
  // reltuples said 100, 150 rows came and the table is not finished.
  EXPECT_EQ(FormatSnapshotProgress({Table("t", 150, 0, 100, false)}, absl::ZeroDuration(), false),
            "snapshot  99%  150/~150 rows  0 B  0/1 tables  | public.t 99% of ~100");
}

TEST(FormatSnapshotProgressTest, NoTablesAndUnitBoundaries) {
  EXPECT_EQ(FormatSnapshotProgress({}, absl::ZeroDuration(), true),
            "snapshot 100%  0 rows  0 B  0/0 tables  in 0s");
  // Just below 10000 rows, 1 KiB, 1 GiB; hours in the duration.
  EXPECT_EQ(FormatSnapshotProgress(
                {Table("a", 9999, 1023, 9999, true), Table("b", 1, int64_t{1} << 30, 1, true)},
                absl::Hours(2) + absl::Minutes(3) + absl::Seconds(4), true),
            "snapshot 100%  10000 rows  1.00 GiB  2/2 tables  in 2h03m  1 rows/s  142.0 KiB/s");
}

TEST(FormatSnapshotProgressTest, TruncatesToWidthOnCharacterBoundaries) {
  const std::vector<TableSnapshotProgress> tables = {Table("\xC3\xA9t\xC3\xA9", 5, 0, -1, false)};
  const std::string full = FormatSnapshotProgress(tables, absl::ZeroDuration(), false);
  EXPECT_EQ(full, "snapshot  99%  5/~5 rows  0 B  0/1 tables  | public.\xC3\xA9t\xC3\xA9 5 rows");
  EXPECT_EQ(FormatSnapshotProgress(tables, absl::ZeroDuration(), false, 13), "snapshot  99%");
  // Widths count characters: 53 of them end right after the first two-byte one (54
  // bytes), 52 right before it; a cut never splits a character.
  EXPECT_EQ(FormatSnapshotProgress(tables, absl::ZeroDuration(), false, 53),
            "snapshot  99%  5/~5 rows  0 B  0/1 tables  | public.\xC3\xA9");
  EXPECT_EQ(FormatSnapshotProgress(tables, absl::ZeroDuration(), false, 52),
            "snapshot  99%  5/~5 rows  0 B  0/1 tables  | public.");
  EXPECT_EQ(FormatSnapshotProgress(tables, absl::ZeroDuration(), false, 500), full);
}

TEST(ParseProgressModeTest, KnownAndUnknown) {
  EXPECT_EQ(*ParseProgressMode("auto"), ProgressMode::kAuto);
  EXPECT_EQ(*ParseProgressMode("always"), ProgressMode::kAlways);
  EXPECT_EQ(*ParseProgressMode("never"), ProgressMode::kNever);
  absl::StatusOr<ProgressMode> bad = ParseProgressMode("sometimes");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("auto, always or never"));
}

// A FILE* whose contents the test can read back.
class MemoryFile {
 public:
  MemoryFile() : file_(open_memstream(&data_, &size_)) {}
  ~MemoryFile() {
    std::fclose(file_);
    std::free(data_);
  }
  FILE* get() { return file_; }
  std::string contents() {
    std::fflush(file_);
    return std::string(data_, size_);
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  FILE* file_;
};

TEST(ProgressDisplayTest, NotATerminalOneLinePerDrawThrottledFinalAlwaysDrawn) {
  MemoryFile out;
  ProgressDisplay display(out.get(), /*terminal=*/false, absl::Hours(1));
  display.Update({Table("t", 1, 10, 3, false)});
  display.Update({Table("t", 2, 20, 3, false)});  // within the interval: skipped
  display.Update({Table("t", 3, 30, 3, true)});   // final: drawn regardless
  display.Update({Table("t", 3, 30, 3, true)});   // after the final line: nothing
  display.Finish();
  const std::string text = out.contents();
  EXPECT_THAT(text, StartsWith("snapshot  33%  1/~3 rows  10 B  0/1 tables"));
  EXPECT_THAT(text, HasSubstr("\nsnapshot 100%  3 rows  30 B  1/1 tables  in "));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("2/~3")));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_THAT(text, EndsWith("\n"));
}

TEST(ProgressDisplayTest, TerminalRedrawsInPlaceAndEndsWithNewline) {
  MemoryFile out;
  ProgressDisplay display(out.get(), /*terminal=*/true, absl::ZeroDuration());
  display.Update({Table("t", 1, 10, 3, false)});
  display.Update({Table("t", 2, 20, 3, false)});
  display.Update({Table("t", 3, 30, 3, true)});
  const std::string text = out.contents();
  EXPECT_THAT(text, StartsWith("\rsnapshot  33%  1/~3 rows"));
  EXPECT_THAT(text, HasSubstr("\x1b[K\rsnapshot  66%  2/~3 rows"));
  EXPECT_THAT(text, HasSubstr("\x1b[K\rsnapshot 100%  3 rows"));
  EXPECT_THAT(text, EndsWith("\x1b[K\n"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  display.Finish();  // the line already ended: no second newline
  EXPECT_EQ(out.contents(), text);
}

TEST(ProgressDisplayTest, FinishEndsAnInterruptedLine) {
  MemoryFile out;
  ProgressDisplay display(out.get(), /*terminal=*/true, absl::ZeroDuration());
  display.Update({Table("t", 1, 10, 3, false)});
  display.Finish();
  EXPECT_THAT(out.contents(), EndsWith("\x1b[K\n"));
}

}  // namespace
}  // namespace pgcdc::cli
