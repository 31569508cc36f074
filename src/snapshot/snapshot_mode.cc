#include "absl/strings/str_cat.h"
#include "internal/strings.h"
#include "pgcdc/snapshot.h"

namespace pgcdc {

std::string_view SnapshotModeName(SnapshotMode mode) {
  switch (mode) {
    case SnapshotMode::kNever:
      return "never";
    case SnapshotMode::kInitial:
      return "initial";
    case SnapshotMode::kInitialOnly:
      return "initial_only";
  }
  return "never";
}

absl::StatusOr<SnapshotMode> ParseSnapshotMode(std::string_view name) {
  for (SnapshotMode mode :
       {SnapshotMode::kNever, SnapshotMode::kInitial, SnapshotMode::kInitialOnly}) {
    if (name == SnapshotModeName(mode)) return mode;
  }
  return absl::InvalidArgumentError(absl::StrCat("snapshot mode \"", internal::Sv(name),
                                                 "\" is not one of never, initial, initial_only"));
}

}  // namespace pgcdc
