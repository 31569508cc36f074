// The one definition of the stream options (pgcdc/option_table.h). Defaults are not
// written here: they are what a default-constructed StreamOptions holds.
#include "option_fields.h"

namespace pgcdc {
namespace internal {
namespace {

// A reference to a StreamOptions member, as a plain function pointer of the member's
// type (a captureless lambda, converted with unary +).
#define PGCDC_FIELD(path) +[](StreamOptions& o) -> decltype((o.path)) { return o.path; }

using T = OptionType;

const std::vector<OptionEntry>& Entries() {
  static const auto* entries = new std::vector<OptionEntry>{
      {{"dsn", "dsn", "dsn", T::kString, "",
        "libpq connection string, URI (postgresql://cdc@db/app) or key=value. pgcdc adds "
        "replication=database and pins the output settings (DateStyle, TimeZone, ...)."},
       PGCDC_FIELD(dsn)},
      {{"slot", "slot", "slot_name", T::kString, "",
        "Required. The logical replication slot: lower-case letters, digits and "
        "underscores, at most 63 bytes."},
       PGCDC_FIELD(slot_name)},
      {{"publications", "publication", "publications", T::kStringList, "",
        "Required, at least one. The publications whose changes are streamed."},
       PGCDC_FIELD(publications)},
      {{"create_slot", "create-slot", "create_slot", T::kBool, "",
        "Create the slot (pgoutput) if it does not exist; otherwise a missing slot is an "
        "error (not found)."},
       PGCDC_FIELD(create_slot)},
      {{"publication_tables", "table", "publication_tables", T::kStringList, "",
        "When given and the (single) publication does not exist, create it FOR TABLE "
        "these tables (schema.table or table). An existing publication is used as it is."},
       PGCDC_FIELD(publication_tables)},
      {{"start_lsn", "start-lsn", "start_lsn", T::kLsn, "",
        "Resume here instead of at the slot's confirmed position."},
       PGCDC_FIELD(start_lsn)},
      {{"stop_at_lsn", "stop-at-lsn", "stop_at_lsn", T::kLsn, "",
        "Stop once every transaction committed up to this position was delivered (or the "
        "server reports it has nothing more up to it); later transactions are not "
        "delivered."},
       PGCDC_FIELD(stop_at_lsn)},
      {{"max_duration", "max-duration", "max_duration", T::kOptionalDuration, "",
        "End the stream cleanly this long after it opened (e.g. a Lambda's time budget)."},
       PGCDC_FIELD(max_duration)},
      {{"idle_timeout", "idle-timeout", "idle_timeout", T::kOptionalDuration, "",
        "End the stream cleanly after this long without a change."},
       PGCDC_FIELD(idle_timeout)},
      {{"snapshot", "snapshot", "snapshot", T::kChoice, "never|initial|initial_only",
        "initial: a new slot first delivers the rows already in the published tables (op "
        "read), then the changes after them; initial_only: the rows, then the end (a "
        "temporary slot). Both create the slot themselves and exclude start_lsn."},
       PGCDC_FIELD(snapshot)},
      {{"snapshot_readers", "snapshot-readers", "snapshot_readers", T::kCount, "",
        "Connections copying tables in parallel during a snapshot (large tables are split "
        "by block ranges); 1 to 64."},
       PGCDC_FIELD(snapshot_readers)},
      {{"streaming", "streaming", "streaming", T::kOptionalBool, "",
        "Let the server stream transactions larger than its logical_decoding_work_mem while "
        "they are in progress (PostgreSQL 14+) instead of decoding them to its own disk. "
        "Transactions are still delivered whole, in commit order. Unset (auto): on when "
        "the server supports it; true: an error if it does not."},
       PGCDC_FIELD(streaming)},
      {{"max_buffered_bytes", "max-buffered-bytes", "max_buffered_bytes", T::kBytes, "",
        "Memory for transactions not yet delivered, all together. Streamed and prepared "
        "transactions beyond it spill to unlinked files in spill_dir, the largest first; a "
        "transaction sent whole after its commit is delivered as it arrives once it alone "
        "exceeds it (its changes before the last then have end_lsn 0). Peak RSS is about "
        "this plus 11 MB: 48MiB keeps a process under 64 MB."},
       PGCDC_FIELD(max_buffered_bytes)},
      {{"spill_dir", "spill-dir", "spill_dir", T::kString, "",
        "Where spilled transactions go. Empty: $TMPDIR, else /tmp (in AWS Lambda, /tmp is "
        "the writable disk). The files are removed on commit, abort, close, and by the OS "
        "if the process dies."},
       PGCDC_FIELD(spill_dir)},
      {{"two_phase", "two-phase", "two_phase", T::kBool, "",
        "Decode prepared transactions (PREPARE TRANSACTION; PostgreSQL 15+): delivered at "
        "COMMIT PREPARED, dropped at ROLLBACK PREPARED; the slot is not moved past a "
        "pending PREPARE. The slot must have been created with two_phase (create_slot "
        "does it when this is set)."},
       PGCDC_FIELD(two_phase)},
      {{"deliver_prepared", "deliver-prepared", "deliver_prepared", T::kChoice, "commit|prepare",
        "With two_phase: commit delivers a prepared transaction at COMMIT PREPARED; "
        "prepare delivers its changes at PREPARE, marked with its gid, then its outcome as "
        "a record of op commit_prepared or rollback_prepared."},
       PGCDC_FIELD(deliver_prepared)},
      {{"describe_columns", "describe-columns", "describe_columns", T::kBool, "",
        "Read each table's NOT NULL flags, defaults, enum labels and primary key from the "
        "catalog when its Relation message arrives (a second, ordinary connection), for "
        "ColumnInfo and Debezium records; pgoutput does not send them. The catalog is read "
        "when the change is decoded, so a backlog shows the current definition, as "
        "Debezium's does."},
       PGCDC_FIELD(describe_columns)},
      {{"proto_version", "proto-version", "proto_version", T::kCount, "",
        "pgoutput protocol version; 0 picks the highest the server supports (v1 before "
        "PostgreSQL 14, v2 on 14, v3 on 15, v4 on 16+)."},
       PGCDC_FIELD(proto_version)},
      {{"read_linger", "read-linger", "read_linger", T::kOptionalDuration, "",
        "Once caught up, wait this long after data arrives before reading it, so that "
        "messages are read together: a quarter to half less CPU per change of a busy "
        "stream for at most this much latency (doc/adr/0006). Unset: 200us over a unix "
        "socket, whose small buffer would otherwise block the server, 2ms over TCP; 0 "
        "reads at once; at most 100ms."},
       PGCDC_FIELD(read_linger)},
      {{"status_interval", "status-interval", "status_interval", T::kDuration, "",
        "How often acknowledged progress is reported to the server (after on_checkpoint)."},
       PGCDC_FIELD(status_interval)},
      {{"connect_timeout", "connect-timeout", "connect_timeout", T::kDuration, "",
        "Give up connecting after this long."},
       PGCDC_FIELD(connect_timeout)},
      {{"create_slot_timeout", "create-slot-timeout", "create_slot_timeout", T::kDuration, "",
        "Creating a slot waits until every transaction holding a transaction id has ended "
        "(long-running or forgotten prepared transactions block it): give up after this "
        "long."},
       PGCDC_FIELD(create_slot_timeout)},
      {{"receive_timeout", "receive-timeout", "receive_timeout", T::kDuration, "",
        "Liveness, as PostgreSQL's wal_receiver_timeout: after half of this without a "
        "message while waiting for one, ask the server for a reply; after all of it, "
        "consider the connection dead (a silent network partition sends no reset) and "
        "reconnect. Time the application spends between calls does not count. Also sets "
        "libpq's tcp_user_timeout unless the DSN does. 0: off; otherwise at least 500ms."},
       PGCDC_FIELD(receive_timeout)},
      {{"reconnect", "reconnect", "reconnect.enabled", T::kBool, "",
        "After a fault a retry can heal (walsender terminated, server restart or failover, "
        "network cut, receive_timeout), reconnect with exponential backoff and jitter and "
        "resume; changes already delivered are not delivered again. Off: the first such "
        "error ends the stream."},
       PGCDC_FIELD(reconnect.enabled)},
      {{"reconnect_max_attempts", "reconnect-max-attempts", "reconnect.max_attempts", T::kCount, "",
        "Attempts per fault (each failed connect, or a session that fails again before "
        "delivering anything, counts one)."},
       PGCDC_FIELD(reconnect.max_attempts)},
      {{"reconnect_max_elapsed", "reconnect-max-elapsed", "reconnect.max_elapsed", T::kDuration, "",
        "Time per fault, from the error to a working session; never past max_duration."},
       PGCDC_FIELD(reconnect.max_elapsed)},
      {{"reconnect_initial_backoff", "reconnect-initial-backoff", "reconnect.initial_backoff",
        T::kDuration, "",
        "The first wait between attempts; each next one doubles, up to "
        "reconnect_max_backoff, and is drawn uniformly from [half, all] of that (jitter)."},
       PGCDC_FIELD(reconnect.initial_backoff)},
      {{"reconnect_max_backoff", "reconnect-max-backoff", "reconnect.max_backoff", T::kDuration, "",
        "The longest wait between reconnect attempts."},
       PGCDC_FIELD(reconnect.max_backoff)},
      {{"application_name", "application-name", "application_name", T::kString, "",
        "The application_name the server shows in pg_stat_replication."},
       PGCDC_FIELD(application_name)},
  };
  return *entries;
}

#undef PGCDC_FIELD

}  // namespace

absl::Span<const OptionEntry> OptionEntries() { return Entries(); }

}  // namespace internal

absl::Span<const OptionInfo> StreamOptionTable() {
  static const auto* infos = [] {
    auto* v = new std::vector<OptionInfo>;
    for (const internal::OptionEntry& e : internal::OptionEntries()) v->push_back(e.info);
    return v;
  }();
  return *infos;
}

}  // namespace pgcdc
