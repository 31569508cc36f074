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
struct ReconnectPolicy {
  bool enabled = true;  // false: the first retryable error ends the stream
  // Attempts per fault (each failed connect, or a session that fails again before
  // delivering anything, counts one).
  int max_attempts = 30;
  // Time per fault, from the error to a working session; never past max_duration.
  absl::Duration max_elapsed = absl::Minutes(5);
  // Waits between attempts: initial_backoff, doubling up to max_backoff, each drawn
  // uniformly from [half, all] of that (jitter).
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
};

struct StreamOptions {
  // libpq connection string, URI ("postgresql://cdc@db/app") or key=value. pgcdc adds
  // replication=database and pins the output settings (DateStyle, TimeZone, ...).
  std::string dsn;
  // REQUIRED. The logical replication slot ([a-z0-9_], at most 63 bytes).
  std::string slot_name;
  // REQUIRED, non-empty. Publications whose changes are streamed.
  std::vector<std::string> publications;

  // Create the slot (pgoutput) if it does not exist. If false, a missing slot is
  // kNotFound.
  bool create_slot = false;
  // When non-empty and the (single) publication does not exist, create it
  // FOR TABLE these tables ("schema.table" or "table"). An existing publication is
  // used as it is.
  std::vector<std::string> publication_tables;

  // Unset: resume at the slot's confirmed position.
  std::optional<Lsn> start_lsn;
  // pgoutput protocol version; 0 picks the highest the server supports (v1 before
  // PostgreSQL 14, v2 on 14, v3 on 15, v4 on 16+).
  int proto_version = 0;
  // Ask the server to stream transactions larger than its logical_decoding_work_mem
  // while they are in progress (PostgreSQL 14+, protocol v2+) instead of decoding them
  // to its own disk first. pgcdc still delivers whole transactions in commit order and
  // drops aborted (sub)transactions. Unset: on when the server supports it; true: an
  // error if it does not; false: off.
  std::optional<bool> streaming;
  // Memory for transactions not yet delivered, all together. Streamed (and prepared)
  // transactions beyond it spill to anonymous files in `spill_dir` (removed on commit,
  // abort, close, and by the OS if the process dies), the largest first; a transaction
  // sent whole after its commit is delivered as it arrives once it alone exceeds it
  // (its changes before the last then have end_lsn 0). Peak RSS is about this plus
  // 11 MB: 48 MB keeps a process under 64 MB.
  size_t max_buffered_bytes = 64 << 20;
  // Empty: $TMPDIR, else /tmp (in AWS Lambda, /tmp is the writable disk).
  std::string spill_dir;
  // Decode prepared transactions (PREPARE TRANSACTION; PostgreSQL 15+, protocol v3).
  // A prepared transaction is delivered when its COMMIT PREPARED arrives and dropped
  // at ROLLBACK PREPARED; until then the slot is not moved past its PREPARE. The slot
  // must have been created with two_phase (create_slot does it when this is set).
  // Off: the server sends a prepared transaction at COMMIT PREPARED, as an ordinary one.
  bool two_phase = false;
  // With two_phase: deliver prepared transactions at COMMIT PREPARED (the default) or
  // at PREPARE, followed by their outcome (see PreparedDelivery). kAtPrepare requires
  // two_phase.
  PreparedDelivery deliver_prepared = PreparedDelivery::kAtCommit;

  // Initial snapshot of the published tables (pgcdc/snapshot.h). kInitial and
  // kInitialOnly create the slot themselves (whatever create_slot says) and cannot be
  // combined with start_lsn.
  SnapshotMode snapshot = SnapshotMode::kNever;
  // Connections copying tables in parallel (large tables are split by block ranges).
  int snapshot_readers = 2;
  SnapshotProgressCallback on_snapshot_progress;  // may be empty

  // Once the stream has caught up with the server, wait this long after new data
  // arrives before reading it. The server writes each change as its own message, and
  // waking up and reading costs more than decoding one; reading a few together cuts
  // the CPU per change of a busy stream by a quarter to a half (doc/adr/0006) for at
  // most this much added latency. Unset: 200 us over a unix socket, whose small buffer
  // would otherwise fill and block the server, and 2 ms over TCP. Zero: read at once.
  // At most 100 ms.
  std::optional<absl::Duration> read_linger;

  // Liveness, as PostgreSQL's walreceiver does it (wal_receiver_timeout): after half
  // of this without any message from the server while the stream waits for one, ask
  // the server for a reply; after all of it, consider the connection dead (a silent
  // network partition sends no reset) and end it with a retryable kUnavailable, which
  // `reconnect` then heals. Time the application spends between calls does not count.
  // Also sets libpq's tcp_user_timeout to it unless the DSN sets one. Zero: off.
  absl::Duration receive_timeout = absl::Seconds(30);
  ReconnectPolicy reconnect;

  // How often acknowledged progress is reported to the server (after on_checkpoint).
  absl::Duration status_interval = absl::Seconds(10);
  // Give up connecting after this long.
  absl::Duration connect_timeout = absl::Seconds(30);
  // Creating a slot waits until every transaction that holds a transaction id has
  // ended (long-running or forgotten prepared transactions block it): give up then.
  absl::Duration create_slot_timeout = absl::Minutes(2);

  // Stop conditions. Reaching one ends the stream cleanly (Next() returns nullopt).
  std::optional<absl::Duration> max_duration;  // e.g. the Lambda time budget
  std::optional<absl::Duration> idle_timeout;  // no change for this long
  // Stop once every transaction committed up to this position was delivered (or the
  // server reports it has nothing more up to it); later transactions are not delivered.
  std::optional<Lsn> stop_at_lsn;

  // Read each table's NOT NULL flags, column defaults and enum labels from the catalog
  // when its Relation message arrives (on a second, ordinary connection with the same
  // DSN), for ColumnInfo::nullable and Debezium records (pgcdc/debezium.h). pgoutput
  // does not send them. The catalog is read when the change is decoded, so a column
  // altered since (a backlog) shows its current definition, as Debezium's does.
  // Off by default, as it costs a second connection; a read that the network leaves
  // unanswered counts as a lost connection (healed by reconnecting, as the stream's).
  bool describe_columns = false;
  CheckpointCallback on_checkpoint;  // may be empty
  LogSink log_sink;                  // may be empty: warnings and errors go to stderr
  std::string application_name = "pgcdc";
};

// Checks the options without connecting; kInvalidArgument names the bad field.
absl::Status Validate(const StreamOptions& options);

}  // namespace pgcdc

#endif  // PGCDC_OPTIONS_H_
