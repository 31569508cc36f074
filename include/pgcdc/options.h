#ifndef PGCDC_OPTIONS_H_
#define PGCDC_OPTIONS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pgcdc/checkpoint.h"
#include "pgcdc/logging.h"
#include "pgcdc/lsn.h"
#include "pgcdc/snapshot.h"

namespace pgcdc {

// When the changes of a prepared transaction (PREPARE TRANSACTION, two_phase) reach
// the application.
enum class PreparedDelivery {
  // At COMMIT PREPARED, as one committed transaction; nothing at ROLLBACK PREPARED.
  kAtCommit,
  // At PREPARE, before the outcome is known: each change carries the transaction's
  // gid() and the PREPARE's positions (commit_lsn() is where the PREPARE record
  // starts, end_lsn() where it ends, commit_time_us() the prepare time). The outcome
  // follows later as a record of its own, op kCommitPrepared or kRollbackPrepared
  // with the same gid() and xid(), also when the PREPARE was delivered in an earlier
  // session. Acknowledging the prepared transaction's last change lets the slot move
  // past the PREPARE: the server then sends only the outcome for it.
  kAtPrepare,
};

// "commit", "prepare" (the CLI's --deliver-prepared, Python's deliver_prepared=).
std::string_view PreparedDeliveryName(PreparedDelivery when);
absl::StatusOr<PreparedDelivery> ParsePreparedDelivery(std::string_view name);

// What a stream does after a fault that a retry can heal (pgcdc::IsRetryable: the
// walsender terminated, the server restarting or failing over, the network cut, the
// slot still held by the dying session): reconnect, with exponential backoff and
// jitter, and resume where it was. Changes already returned are not returned again
// (the server re-sends from the confirmed position; pgcdc skips what it handed out),
// so a transient fault causes no duplicates and no losses. Each reconnect is logged
// (warning, with the cause) and counted in StreamStats::reconnects. Only when the
// policy is exhausted does the error reach the application.
// The fields are the reconnect* options of doc/options.md.
struct ReconnectPolicy {
  bool enabled = true;    // false: the first retryable error ends the stream
  int max_attempts = 30;  // per fault
  absl::Duration max_elapsed = absl::Minutes(5);             // per fault
  absl::Duration initial_backoff = absl::Milliseconds(100);  // doubling, with jitter
  absl::Duration max_backoff = absl::Seconds(10);
};

// What a stream reads and how. Each field is an option of the table in
// pgcdc/option_table.h, documented once in doc/options.md (generated from it) under
// its C++, Python and CLI names, with its default: the initializers below. A test
// fails when a field here is missing from the table.
struct StreamOptions {
  // Where: the server, the slot, the publications.
  std::string dsn;                              // libpq URI or key=value
  std::string slot_name;                        // REQUIRED
  std::vector<std::string> publications;        // REQUIRED, non-empty
  bool create_slot = false;                     // else a missing slot is kNotFound
  std::vector<std::string> publication_tables;  // create the publication FOR these
  std::optional<Lsn> start_lsn;                 // unset: the slot's confirmed position
  int proto_version = 0;                        // 0: the highest the server has

  // Transactions: large ones, prepared ones, memory.
  std::optional<bool> streaming;         // unset: when the server can
  size_t max_buffered_bytes = 64 << 20;  // then spill to spill_dir
  std::string spill_dir;                 // empty: $TMPDIR, else /tmp
  bool two_phase = false;
  PreparedDelivery deliver_prepared = PreparedDelivery::kAtCommit;  // needs two_phase

  // The initial snapshot (pgcdc/snapshot.h).
  SnapshotMode snapshot = SnapshotMode::kNever;
  int snapshot_readers = 2;
  SnapshotProgressCallback on_snapshot_progress;  // may be empty

  // Reading, liveness and faults.
  std::optional<absl::Duration> read_linger;           // unset: 200 us (unix socket), 2 ms (TCP)
  absl::Duration receive_timeout = absl::Seconds(30);  // zero: off
  ReconnectPolicy reconnect;
  absl::Duration status_interval = absl::Seconds(10);
  absl::Duration connect_timeout = absl::Seconds(30);
  absl::Duration create_slot_timeout = absl::Minutes(2);

  // Stop conditions: reaching one ends the stream cleanly (Next() returns nullopt).
  std::optional<absl::Duration> max_duration;  // e.g. the Lambda time budget
  std::optional<absl::Duration> idle_timeout;  // no change for this long
  std::optional<Lsn> stop_at_lsn;              // every commit up to it delivered

  // Column details from the catalog (a second connection): ColumnInfo::nullable,
  // defaults, enum labels, primary key, and Debezium records (pgcdc/debezium.h).
  bool describe_columns = false;
  CheckpointCallback on_checkpoint;  // may be empty
  LogSink log_sink;                  // may be empty: warnings and errors go to stderr
  std::string application_name = "pgcdc";
};

// Checks the options without connecting; kInvalidArgument names the bad field.
absl::Status Validate(const StreamOptions& options);

}  // namespace pgcdc

#endif  // PGCDC_OPTIONS_H_
