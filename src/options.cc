#include "pgcdc/options.h"

#include "absl/strings/str_cat.h"
#include "internal/strings.h"

namespace pgcdc {
namespace {

// Slot names: lower-case letters, digits and underscores, at most NAMEDATALEN - 1
// bytes (ReplicationSlotValidateName in slot.c).
absl::Status ValidateSlotName(const std::string& name) {
  if (name.empty()) {
    return absl::InvalidArgumentError("slot_name is required");
  }
  if (name.size() > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat("slot_name \"", name, "\" is longer than 63 bytes"));
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "slot_name \"", name, "\" may contain only lower-case letters, digits and underscores"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSnapshot(const StreamOptions& options) {
  if (options.snapshot_readers < 1 || options.snapshot_readers > 64) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot_readers is ", options.snapshot_readers,
                                                   "; use 1 to 64 connections"));
  }
  if (options.snapshot == SnapshotMode::kNever) return absl::OkStatus();
  if (options.start_lsn) {
    return absl::InvalidArgumentError(
        "start_lsn cannot be combined with a snapshot: the stream continues from the "
        "consistent point of the slot the snapshot creates. Unset one of them");
  }
  // kInitial marks an unfinished snapshot with a second slot "<slot_name>_snapshot".
  if (options.snapshot == SnapshotMode::kInitial && options.slot_name.size() > 54) {
    return absl::InvalidArgumentError(absl::StrCat(
        "slot_name \"", options.slot_name,
        "\" is longer than 54 bytes, the limit with "
        "snapshot = initial (pgcdc keeps a marker slot \"<slot_name>_snapshot\" while the "
        "snapshot runs)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view PreparedDeliveryName(PreparedDelivery when) {
  return when == PreparedDelivery::kAtPrepare ? "prepare" : "commit";
}

absl::StatusOr<PreparedDelivery> ParsePreparedDelivery(std::string_view name) {
  for (PreparedDelivery when : {PreparedDelivery::kAtCommit, PreparedDelivery::kAtPrepare}) {
    if (name == PreparedDeliveryName(when)) return when;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("deliver_prepared \"", internal::Sv(name), "\" is not one of commit, prepare"));
}

absl::Status Validate(const StreamOptions& options) {
  if (absl::Status s = ValidateSlotName(options.slot_name); !s.ok()) return s;
  if (options.publications.empty()) {
    return absl::InvalidArgumentError(
        "publications is required: name at least one publication (CREATE PUBLICATION)");
  }
  for (const std::string& pub : options.publications) {
    if (pub.empty()) return absl::InvalidArgumentError("empty publication name");
  }
  if (!options.publication_tables.empty() && options.publications.size() != 1) {
    return absl::InvalidArgumentError("publication_tables needs exactly one publication to create");
  }
  if (options.proto_version < 0 || options.proto_version > 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("proto_version ", options.proto_version, " is not 0 (auto) or 1..4"));
  }
  if (options.status_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("status_interval must be positive");
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.create_slot_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout and create_slot_timeout must be positive");
  }
  if (options.read_linger && (*options.read_linger < absl::ZeroDuration() ||
                              *options.read_linger > absl::Milliseconds(100))) {
    return absl::InvalidArgumentError("read_linger must be between 0 and 100 ms");
  }
  if (options.max_duration && *options.max_duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("max_duration must not be negative");
  }
  if (options.idle_timeout && *options.idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("idle_timeout must be positive");
  }
  if (options.receive_timeout < absl::ZeroDuration() ||
      (options.receive_timeout > absl::ZeroDuration() &&
       options.receive_timeout < absl::Milliseconds(500))) {
    return absl::InvalidArgumentError(
        "receive_timeout must be 0 (off) or at least 0.5 s: the server needs time to answer");
  }
  if (options.reconnect.max_attempts < 1 || options.reconnect.max_elapsed <= absl::ZeroDuration() ||
      options.reconnect.initial_backoff <= absl::ZeroDuration() ||
      options.reconnect.max_backoff < options.reconnect.initial_backoff) {
    return absl::InvalidArgumentError(
        "reconnect: max_attempts and max_elapsed must be positive and "
        "0 < initial_backoff <= max_backoff (to stop reconnecting, set enabled = false)");
  }
  if (options.deliver_prepared == PreparedDelivery::kAtPrepare && !options.two_phase) {
    return absl::InvalidArgumentError(
        "delivering prepared transactions at PREPARE (deliver_prepared) needs two_phase: "
        "without it the server sends a prepared transaction only at COMMIT PREPARED. "
        "Turn two_phase on");
  }
  return ValidateSnapshot(options);
}

}  // namespace pgcdc
