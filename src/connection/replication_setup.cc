#include "connection/replication_setup.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "internal/status_macros.h"
#include "internal/strings.h"
#include "pgcdc/lsn.h"
#include "pgcdc/status.h"

namespace pgcdc::internal {
namespace {

absl::StatusOr<std::string> ShowSetting(PgConnection& conn, std::string_view name) {
  PGCDC_ASSIGN_OR_RETURN(QueryResult r, conn.Query(absl::StrCat("SHOW ", Sv(name))));
  if (r.rows.size() != 1 || r.rows[0].empty() || !r.rows[0][0]) {
    return absl::InternalError(absl::StrCat("SHOW ", Sv(name), " returned no value"));
  }
  return *r.rows[0][0];
}

absl::Status CheckWalLevel(PgConnection& conn) {
  PGCDC_ASSIGN_OR_RETURN(std::string wal_level, ShowSetting(conn, "wal_level"));
  if (wal_level != "logical") {
    // 55000: what the server itself reports for logical decoding without it.
    return WithSqlState(
        absl::FailedPreconditionError(absl::StrCat(
            "the server runs with wal_level = ", wal_level,
            "; logical replication needs wal_level = logical. Fix: ALTER SYSTEM SET "
            "wal_level = logical; then restart PostgreSQL (on Amazon RDS/Aurora set the "
            "parameter rds.logical_replication = 1 and reboot)")),
        "55000");
  }
  return absl::OkStatus();
}

// A snapshot that could not start (no SELECT privilege, a reader that cannot connect)
// must not leave a new slot behind: it would hold WAL until someone drops it. The
// marker goes too, so the next Open() starts clean.
absl::Status DropSnapshotSlots(PgConnection& conn, const std::string& slot,
                               const SnapshotSetup& snapshot, absl::Status cause) {
  const std::string marker = snapshot.marker_slot();
  for (const std::string& name : {slot, marker}) {
    if (name.empty()) continue;
    // The marker only as pgcdc made it, never another consumer's slot of its name.
    absl::StatusOr<QueryResult> r =
        conn.Query(absl::StrCat("SELECT 1 FROM pg_catalog.pg_replication_slots WHERE ",
                                name == slot ? absl::StrCat("slot_name = ", conn.QuoteLiteral(name))
                                             : snapshot.MarkerCondition(conn)));
    absl::Status dropped =
        !r.ok() ? r.status()
        : r->rows.empty()
            ? absl::OkStatus()
            : conn.Exec(absl::StrCat("DROP_REPLICATION_SLOT ", conn.QuoteIdentifier(name)));
    if (!dropped.ok()) {
      return absl::Status(cause.code(),
                          absl::StrCat(cause.message(), " (and dropping the new slot ", name,
                                       " failed: ", dropped.message(), "; drop it by hand)"));
    }
  }
  return cause;
}

absl::StatusOr<absl::Duration> WalSenderTimeout(PgConnection& conn) {
  PGCDC_ASSIGN_OR_RETURN(QueryResult r, conn.Query("SELECT setting::bigint FROM pg_settings "
                                                   "WHERE name = 'wal_sender_timeout'"));
  int64_t ms = 60000;
  if (!r.rows.empty() && r.rows[0][0]) (void)absl::SimpleAtoi(*r.rows[0][0], &ms);
  return absl::Milliseconds(ms);
}

// Creates missing publications only together with a new slot: pgoutput reads
// publications with the catalog as of each change's WAL position, so a slot cannot
// decode past the point where a publication it uses did not exist yet (PG <= 17
// errors there on every restart).
absl::Status EnsurePublications(PgConnection& conn, const StreamOptions& options, bool new_slot) {
  std::vector<std::string> literals;
  for (const std::string& p : options.publications) literals.push_back(conn.QuoteLiteral(p));
  PGCDC_ASSIGN_OR_RETURN(QueryResult r,
                         conn.Query(absl::StrCat("SELECT pubname FROM pg_publication WHERE pubname "
                                                 "IN (",
                                                 absl::StrJoin(literals, ","), ")")));
  for (const std::string& p : options.publications) {
    bool found = false;
    for (const auto& row : r.rows) found = found || (row[0] && *row[0] == p);
    if (found) continue;
    if (options.publication_tables.empty() || !new_slot) {
      // 42704 (undefined_object), as pgoutput reports a missing publication.
      return WithSqlState(
          absl::FailedPreconditionError(absl::StrCat(
              "publication \"", p, "\" does not exist in database \"", conn.database(),
              "\". Create it: CREATE PUBLICATION ", conn.QuoteIdentifier(p), " FOR TABLE <tables>;",
              new_slot ? " (or pass the tables to publish so pgcdc creates it)"
                       : absl::StrCat(" then drop and recreate slot \"", options.slot_name,
                                      "\": the slot cannot use a publication created after "
                                      "its position"))),
          "42704");
    }
    std::vector<std::string> tables;
    for (const std::string& t : options.publication_tables) {
      const size_t dot = t.find('.');
      tables.push_back(dot == std::string::npos
                           ? conn.QuoteIdentifier(t)
                           : absl::StrCat(conn.QuoteIdentifier(t.substr(0, dot)), ".",
                                          conn.QuoteIdentifier(t.substr(dot + 1))));
    }
    PGCDC_RETURN_IF_ERROR(conn.Exec(absl::StrCat("CREATE PUBLICATION ", conn.QuoteIdentifier(p),
                                                 " FOR TABLE ", absl::StrJoin(tables, ", "))));
  }
  return absl::OkStatus();
}

struct SlotState {
  bool exists = false;
  uint64_t confirmed_flush_lsn = 0;
};

absl::StatusOr<SlotState> CheckSlot(PgConnection& conn, const StreamOptions& options) {
  // wal_status exists from PostgreSQL 13 on.
  const char* wal_status = conn.server_version() >= 130000 ? "wal_status" : "NULL";
  const char* two_phase = conn.server_version() >= 140000 ? "two_phase" : "false";
  PGCDC_ASSIGN_OR_RETURN(
      QueryResult r,
      conn.Query(absl::StrCat(
          "SELECT plugin, slot_type, database, active_pid, confirmed_flush_lsn, ", wal_status, ", ",
          two_phase,
          " FROM pg_replication_slots WHERE slot_name = ", conn.QuoteLiteral(options.slot_name))));
  SlotState state;
  if (r.rows.empty()) return state;
  state.exists = true;
  const auto& row = r.rows[0];
  const std::string& slot = options.slot_name;
  if (row[1].value_or("") != "logical" || row[0].value_or("") != "pgoutput") {
    return absl::FailedPreconditionError(absl::StrCat(
        "replication slot \"", slot, "\" uses plugin \"", row[0].value_or("(physical)"),
        "\"; pgcdc needs a logical slot with pgoutput. Use another slot name, or drop it: "
        "SELECT pg_drop_replication_slot('",
        slot, "')"));
  }
  // PQdb() is the name as given in the DSN; the server's own name is authoritative.
  PGCDC_ASSIGN_OR_RETURN(QueryResult db, conn.Query("SELECT current_database()"));
  const std::string database = db.rows.empty() ? "" : db.rows[0][0].value_or("");
  if (row[2].value_or("") != database) {
    return absl::FailedPreconditionError(
        absl::StrCat("replication slot \"", slot, "\" belongs to database \"", row[2].value_or(""),
                     "\", not \"", database, "\": connect to that database or use another slot"));
  }
  if (row[5] && *row[5] == "lost") {
    return absl::FailedPreconditionError(absl::StrCat(
        "replication slot \"", slot,
        "\" is invalidated (wal_status = lost: the WAL it needed "
        "was removed, see max_slot_wal_keep_size). Changes were lost; drop and recreate the "
        "slot and re-snapshot the tables"));
  }
  if (options.two_phase && row[6].value_or("f") != "t") {
    return absl::FailedPreconditionError(
        absl::StrCat("replication slot \"", slot,
                     "\" was created without two_phase, so prepared "
                     "transactions cannot be decoded from it. Use a new slot (create_slot with "
                     "two_phase), or turn two_phase off"));
  }
  if (row[3]) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat("replication slot \"", slot, "\" is in use by process ", *row[3],
                     ". Only one consumer can use a slot: stop the other one, or wait until "
                     "wal_sender_timeout ends a crashed consumer's session (to force it: SELECT "
                     "pg_terminate_backend(",
                     *row[3], "))"));
    return WithSqlState(std::move(status), "55006");  // object_in_use, as the server says
  }
  if (row[4]) {
    PGCDC_ASSIGN_OR_RETURN(Lsn lsn, Lsn::Parse(*row[4]));
    state.confirmed_flush_lsn = lsn.value();
  }
  return state;
}

struct CreatedSlot {
  uint64_t consistent_point = 0;
  std::string snapshot_name;  // empty unless exported
};

absl::StatusOr<CreatedSlot> CreateSlot(PgConnection& conn, const StreamOptions& options,
                                       int server_version, SnapshotSetup* setup) {
  // Without a snapshot streaming starts at the consistent point. With one, the slot
  // exports the snapshot whose rows are exactly those committed before the consistent
  // point (doc/protocol.md#snapshot). PG15 introduced the parenthesized option syntax.
  const bool exported = setup != nullptr;
  const std::string snapshot =
      server_version >= 150000
          ? absl::StrCat("(", options.two_phase ? "TWO_PHASE true, " : "",
                         exported ? "SNAPSHOT 'export')" : "SNAPSHOT 'nothing')")
          : (exported ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
  const char* temporary = exported && setup->temporary_slot() ? " TEMPORARY" : "";
  absl::StatusOr<QueryResult> r =
      conn.Query(absl::StrCat("CREATE_REPLICATION_SLOT ", conn.QuoteIdentifier(options.slot_name),
                              temporary, " LOGICAL pgoutput ", snapshot),
                 absl::Now() + options.create_slot_timeout);
  if (r.status().code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::DeadlineExceededError(absl::StrCat(
        "creating replication slot \"", options.slot_name, "\" did not finish within ",
        absl::FormatDuration(options.create_slot_timeout),
        ": it waits until every transaction that holds a transaction id has ended. Find them "
        "with SELECT pid, xact_start, state, query FROM pg_stat_activity WHERE backend_xid IS "
        "NOT NULL; and SELECT * FROM pg_prepared_xacts; then retry"));
  }
  if (!r.ok()) return r.status();
  if (r->rows.empty() || !r->rows[0][1]) {
    return absl::InternalError("CREATE_REPLICATION_SLOT returned no consistent point");
  }
  PGCDC_ASSIGN_OR_RETURN(Lsn lsn, Lsn::Parse(*r->rows[0][1]));
  CreatedSlot created{lsn.value(), r->rows[0].size() > 2 ? r->rows[0][2].value_or("") : ""};
  if (exported && created.snapshot_name.empty()) {
    return absl::InternalError("CREATE_REPLICATION_SLOT exported no snapshot");
  }
  return created;
}

}  // namespace

int MaxProtoVersion(int server_version) {
  if (server_version >= 160000) return 4;
  if (server_version >= 150000) return 3;
  if (server_version >= 140000) return 2;
  return 1;
}

std::string StartReplicationCommand(const PgConnection& conn, const std::string& slot,
                                    uint64_t start_lsn, int proto_version, int server_version,
                                    const std::vector<std::string>& publications, bool streaming,
                                    bool two_phase) {
  std::vector<std::string> quoted;
  for (const std::string& p : publications) quoted.push_back(conn.QuoteIdentifier(p));
  std::string command =
      absl::StrCat("START_REPLICATION SLOT ", conn.QuoteIdentifier(slot), " LOGICAL ",
                   Lsn(start_lsn).ToString(), " (proto_version '", proto_version,
                   "', publication_names ", conn.QuoteLiteral(absl::StrJoin(quoted, ",")));
  // The server rejects options it does not know, so send each only where it exists.
  if (server_version >= 140000) absl::StrAppend(&command, ", messages 'true'");
  if (streaming) absl::StrAppend(&command, ", streaming 'on'");
  if (two_phase) absl::StrAppend(&command, ", two_phase 'on'");
  command.push_back(')');
  return command;
}

absl::StatusOr<ReplicationSession> OpenReplicationSession(const StreamOptions& options,
                                                          SnapshotSetup* snapshot) {
  PGCDC_RETURN_IF_ERROR(Validate(options));
  ReplicationSession session;
  ConnectParams params;
  params.dsn = options.dsn;
  params.application_name = options.application_name;
  params.connect_timeout = options.connect_timeout;
  params.tcp_user_timeout = options.receive_timeout;
  params.notices = options.log_sink;
  PGCDC_ASSIGN_OR_RETURN(session.conn, PgConnection::Connect(params));
  PgConnection& conn = *session.conn;
  session.server_version = conn.server_version();
  PGCDC_RETURN_IF_ERROR(CheckWalLevel(conn));
  PGCDC_RETURN_IF_ERROR(conn.Exec("IDENTIFY_SYSTEM"));
  PGCDC_ASSIGN_OR_RETURN(session.wal_sender_timeout, WalSenderTimeout(conn));
  const int max_version = MaxProtoVersion(session.server_version);
  session.proto_version = options.proto_version == 0 ? max_version : options.proto_version;
  if (session.proto_version > max_version) {
    return absl::FailedPreconditionError(
        absl::StrCat("proto_version ", session.proto_version, " needs a newer server; this one (",
                     session.server_version, ") supports up to ", max_version));
  }
  const bool can_stream = session.server_version >= 140000 && session.proto_version >= 2;
  session.streaming = options.streaming.value_or(can_stream);
  if (options.two_phase && (session.server_version < 150000 || session.proto_version < 3)) {
    return absl::FailedPreconditionError(
        absl::StrCat("two_phase needs PostgreSQL 15+ and protocol v3+; this server is ",
                     session.server_version, ", protocol v", session.proto_version));
  }
  if (session.streaming && !can_stream) {
    return absl::FailedPreconditionError(absl::StrCat(
        "streaming in-progress transactions needs PostgreSQL 14+ and protocol v2+; this "
        "server is ",
        session.server_version, ", protocol v", session.proto_version));
  }

  PGCDC_ASSIGN_OR_RETURN(SlotState slot, CheckSlot(conn, options));
  if (snapshot != nullptr) {
    // It may drop the slot of an unfinished snapshot, or decide there is nothing to do.
    PGCDC_ASSIGN_OR_RETURN(const bool needed, snapshot->Prepare(conn, slot.exists));
    if (!needed) snapshot = nullptr;
    if (needed) slot.exists = false;
  }
  PGCDC_RETURN_IF_ERROR(EnsurePublications(conn, options, /*new_slot=*/!slot.exists));
  if (!slot.exists) {
    if (!options.create_slot && snapshot == nullptr) {
      return WithSqlState(  // 42704, as START_REPLICATION reports a missing slot
          absl::NotFoundError(
              absl::StrCat("replication slot \"", options.slot_name,
                           "\" does not exist in database \"", conn.database(),
                           "\". Create it (create_slot = true / --create-slot) or check "
                           "the name")),
          "42704");
    }
    PGCDC_ASSIGN_OR_RETURN(CreatedSlot created,
                           CreateSlot(conn, options, session.server_version, snapshot));
    slot.confirmed_flush_lsn = created.consistent_point;
    session.slot_created = true;
    if (snapshot != nullptr) {
      // The exported snapshot can be imported only until this connection's next
      // command: the readers import it now, before START_REPLICATION.
      if (absl::Status s = snapshot->Import(created.snapshot_name, created.consistent_point);
          !s.ok()) {
        return DropSnapshotSlots(conn, options.slot_name, *snapshot, std::move(s));
      }
      if (!snapshot->start_replication()) {
        session.confirmed_flush_lsn = created.consistent_point;
        return session;
      }
    }
  }
  session.confirmed_flush_lsn = slot.confirmed_flush_lsn;
  const uint64_t start = options.start_lsn ? options.start_lsn->value() : 0;
  PGCDC_RETURN_IF_ERROR(conn.StartCopyBoth(StartReplicationCommand(
      conn, options.slot_name, start, session.proto_version, session.server_version,
      options.publications, session.streaming, options.two_phase)));
  return session;
}

}  // namespace pgcdc::internal
