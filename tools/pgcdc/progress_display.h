// The CLI's snapshot progress display: a line on stderr fed by on_snapshot_progress.
// Formatting is a pure function (FormatSnapshotProgress) so that it is unit-tested with
// hand-built progress values; ProgressDisplay only adds the clock, throttling and the
// terminal control characters.
#ifndef PGCDC_TOOLS_PROGRESS_DISPLAY_H_
#define PGCDC_TOOLS_PROGRESS_DISPLAY_H_

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pgcdc/snapshot.h"

namespace pgcdc::cli {

enum class ProgressMode { kAuto, kAlways, kNever };

// "auto" | "always" | "never".
absl::StatusOr<ProgressMode> ParseProgressMode(const std::string& text);

// One line describing `tables` after `elapsed`, at most `width` characters (0: no
// limit). While running: overall percent, rows done of the estimate, COPY bytes, tables
// done, rates and ETA (from the second second on), then the tables being copied with
// their own percent. With `final` (or every table done): totals and average rates. Percentages use
// rows: the byte estimate is the size on disk, which is not comparable to COPY text bytes. A table
// never analyzed has no row estimate (reltuples = -1); it counts as the rows seen so far.
std::string FormatSnapshotProgress(const std::vector<TableSnapshotProgress>& tables,
                                   absl::Duration elapsed, bool final, size_t width = 0);

// Draws FormatSnapshotProgress on `out`: on a terminal one line redrawn in place
// (carriage return, erase to end of line), otherwise one line per update. Redraws at
// most every `min_interval`; the final state is always drawn, followed by a newline.
class ProgressDisplay {
 public:
  ProgressDisplay(FILE* out, bool terminal, absl::Duration min_interval = absl::Milliseconds(100));

  // The on_snapshot_progress callback body.
  void Update(const std::vector<TableSnapshotProgress>& tables);
  // Ends an unfinished line (e.g. the stream failed) so later output starts clean.
  void Finish();

 private:
  void Draw(const std::string& line, bool final);
  size_t Width() const;

  FILE* out_;
  const bool terminal_;
  const absl::Duration min_interval_;
  const absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
  bool line_open_ = false;
  bool finished_ = false;
};

}  // namespace pgcdc::cli

#endif  // PGCDC_TOOLS_PROGRESS_DISPLAY_H_
