// Initial snapshot: the rows already in the published tables, delivered as op kRead
// records before the stream continues from the slot's consistent point
// (doc/adr/0004-initial-snapshot.md).
#ifndef PGCDC_SNAPSHOT_H_
#define PGCDC_SNAPSHOT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace pgcdc {

enum class SnapshotMode {
  // No snapshot: stream changes from the slot's position.
  kNever,
  // A new slot (created with an exported snapshot): the existing rows of the published
  // tables, then every change committed after the slot's consistent point. With an
  // existing slot whose snapshot finished, the snapshot is skipped and the stream
  // resumes; an unfinished one is restarted from scratch with a fresh slot.
  kInitial,
  // The existing rows, then the stream ends cleanly. Uses a temporary slot: nothing is
  // left on the server.
  kInitialOnly,
};

// "never", "initial", "initial_only".
std::string_view SnapshotModeName(SnapshotMode mode);
absl::StatusOr<SnapshotMode> ParseSnapshotMode(std::string_view name);

// Progress of one published table. Rows and bytes (COPY text bytes) count what was
// handed to the application; the estimates are pg_class.reltuples and the table's
// size on disk when the snapshot started (-1 when unknown, e.g. never analyzed).
struct TableSnapshotProgress {
  std::string schema;
  std::string table;
  int64_t rows_done = 0;
  int64_t bytes_done = 0;
  int64_t rows_estimate = -1;
  int64_t bytes_estimate = -1;
  bool done = false;
};

// Called on the caller's thread (inside Next()/Poll()) about once a second while the
// snapshot runs and once when it finished, with every table.
using SnapshotProgressCallback =
    std::function<void(const std::vector<TableSnapshotProgress>& tables)>;

}  // namespace pgcdc

#endif  // PGCDC_SNAPSHOT_H_
