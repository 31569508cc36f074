#include "progress_display.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace pgcdc::cli {
namespace {

// 950 -> "950", 41234 -> "41.2k", 2750000 -> "2.75M".
std::string HumanCount(double n) {
  if (n < 10000) return absl::StrFormat("%.0f", n);
  if (n < 1e6) return absl::StrFormat("%.1fk", n / 1e3);
  if (n < 1e9) return absl::StrFormat("%.2fM", n / 1e6);
  return absl::StrFormat("%.2fG", n / 1e9);
}

std::string HumanBytes(double b) {
  if (b < 1024) return absl::StrFormat("%.0f B", b);
  if (b < 1024.0 * 1024) return absl::StrFormat("%.1f KiB", b / 1024);
  if (b < 1024.0 * 1024 * 1024) return absl::StrFormat("%.1f MiB", b / (1024.0 * 1024));
  return absl::StrFormat("%.2f GiB", b / (1024.0 * 1024 * 1024));
}

// 37s, 1m07s, 2h03m.
std::string HumanDuration(absl::Duration d) {
  const int64_t s = std::max<int64_t>(0, absl::ToInt64Seconds(d));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

// The rows a table will have in the end, as far as known now: exact once done; else
// reltuples (never below what was seen), or what was seen when it was never analyzed.
int64_t RowsExpected(const TableSnapshotProgress& t) {
  if (t.done || t.rows_estimate < 0) return t.rows_done;
  return std::max(t.rows_estimate, t.rows_done);
}

struct Totals {
  int64_t rows = 0;
  int64_t bytes = 0;
  int64_t expected = 0;
  size_t done = 0;
};

Totals Sum(const std::vector<TableSnapshotProgress>& tables) {
  Totals t;
  for (const TableSnapshotProgress& p : tables) {
    t.rows += p.rows_done;
    t.bytes += p.bytes_done;
    t.expected += RowsExpected(p);
    t.done += p.done ? 1 : 0;
  }
  return t;
}

// Whole percent, 100 only when everything is done (estimates can be low).
int Percent(int64_t done, int64_t expected, bool all_done) {
  if (all_done) return 100;
  if (expected <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(99, done * 100 / expected));
}

// The tables being copied right now: "public.orders 52% of ~1.20M".
std::string ActiveTables(const std::vector<TableSnapshotProgress>& tables) {
  std::vector<std::string> active;
  for (const TableSnapshotProgress& t : tables) {
    if (t.done || t.rows_done == 0) continue;
    std::string name = absl::StrCat(t.schema, ".", t.table, " ");
    if (t.rows_estimate > 0) {
      absl::StrAppend(&name, Percent(t.rows_done, RowsExpected(t), false), "% of ~",
                      HumanCount(static_cast<double>(t.rows_estimate)));
    } else {
      absl::StrAppend(&name, t.rows_done, " rows");
    }
    active.push_back(std::move(name));
  }
  return absl::StrJoin(active, ", ");
}

// Cuts `line` to `width` characters (UTF-8 code points, not bytes).
void Truncate(std::string* line, size_t width) {
  size_t chars = 0;
  for (size_t i = 0; i < line->size(); ++i) {
    if ((static_cast<unsigned char>((*line)[i]) & 0xC0) == 0x80) continue;
    if (++chars > width) {
      line->resize(i);
      return;
    }
  }
}

}  // namespace

absl::StatusOr<ProgressMode> ParseProgressMode(const std::string& text) {
  if (text == "auto") return ProgressMode::kAuto;
  if (text == "always") return ProgressMode::kAlways;
  if (text == "never") return ProgressMode::kNever;
  return absl::InvalidArgumentError(
      absl::StrCat("--progress must be auto, always or never, not \"", text, "\""));
}

std::string FormatSnapshotProgress(const std::vector<TableSnapshotProgress>& tables,
                                   absl::Duration elapsed, bool final, size_t width) {
  const Totals t = Sum(tables);
  const bool all_done = final || t.done == tables.size();
  const double seconds = absl::ToDoubleSeconds(elapsed);
  std::string line = absl::StrFormat("snapshot %3d%%  ", Percent(t.rows, t.expected, all_done));
  if (all_done) {
    absl::StrAppend(&line, t.rows, " rows  ", HumanBytes(static_cast<double>(t.bytes)), "  ",
                    t.done, "/", tables.size(), " tables  in ", HumanDuration(elapsed));
  } else {
    absl::StrAppend(&line, t.rows, "/~", HumanCount(static_cast<double>(t.expected)), " rows  ",
                    HumanBytes(static_cast<double>(t.bytes)), "  ", t.done, "/", tables.size(),
                    " tables");
  }
  // Rates from the first instants are noise (connections, slot creation): running
  // lines show them after a second.
  if (seconds >= (all_done ? 0.001 : 1.0)) {
    const double rate = static_cast<double>(t.rows) / seconds;
    absl::StrAppend(&line, "  ", HumanCount(rate), " rows/s  ",
                    HumanBytes(static_cast<double>(t.bytes) / seconds), "/s");
    if (!all_done && rate > 0 && t.expected > t.rows) {
      absl::StrAppend(
          &line, "  ETA ",
          HumanDuration(absl::Seconds(static_cast<double>(t.expected - t.rows) / rate)));
    }
  }
  if (!all_done) {
    if (std::string active = ActiveTables(tables); !active.empty()) {
      absl::StrAppend(&line, "  | ", active);
    }
  }
  if (width > 0) Truncate(&line, width);
  return line;
}

ProgressDisplay::ProgressDisplay(FILE* out, bool terminal, absl::Duration min_interval)
    : out_(out), terminal_(terminal), min_interval_(min_interval), start_(absl::Now()) {}

void ProgressDisplay::Update(const std::vector<TableSnapshotProgress>& tables) {
  if (finished_) return;
  bool all_done = true;
  for (const TableSnapshotProgress& t : tables) all_done = all_done && t.done;
  const absl::Time now = absl::Now();
  if (!all_done && now - last_draw_ < min_interval_) return;
  last_draw_ = now;
  Draw(FormatSnapshotProgress(tables, now - start_, all_done, Width()), all_done);
}

void ProgressDisplay::Finish() {
  if (line_open_) std::fputc('\n', out_);
  line_open_ = false;
  finished_ = true;
  std::fflush(out_);
}

void ProgressDisplay::Draw(const std::string& line, bool final) {
  if (terminal_) {
    // Back to the start of the line, draw, erase what is left of a longer old line.
    std::fprintf(out_, "\r%s\x1b[K", line.c_str());
    line_open_ = true;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  if (final) Finish();
  std::fflush(out_);
}

size_t ProgressDisplay::Width() const {
  if (!terminal_) return 0;
  struct winsize ws {};
  // One column less than the terminal: writing the last column wraps on some terminals.
  if (ioctl(fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1) return ws.ws_col - 1;
  return 79;
}

}  // namespace pgcdc::cli
