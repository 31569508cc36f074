#include "connection/preflight.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connection/pg_connection.h"

namespace pgcdc::internal {
namespace {

using Severity = Finding::Severity;

// One row, one column, as text ("" for NULL or no row).
std::string Scalar(PgConnection& conn, const std::string& sql) {
  absl::StatusOr<QueryResult> r = conn.Query(sql);
  if (!r.ok() || r->rows.empty() || r->rows[0].empty() || !r->rows[0][0]) return "";
  return *r->rows[0][0];
}

int64_t IntScalar(PgConnection& conn, const std::string& sql) {
  int64_t v = 0;
  (void)absl::SimpleAtoi(Scalar(conn, sql), &v);
  return v;
}

void CheckWalLevel(PgConnection& conn, std::vector<Finding>* out) {
  const std::string level = Scalar(conn, "SHOW wal_level");
  if (level == "logical") {
    out->push_back({Severity::kOk, "wal_level", "logical", ""});
  } else {
    out->push_back({Severity::kProblem, "wal_level", absl::StrCat(level, " (needs logical)"),
                    "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL "
                    "(Amazon RDS/Aurora: set rds.logical_replication = 1 and reboot)"});
  }
}

void CheckRole(PgConnection& conn, std::vector<Finding>* out) {
  const std::string row =
      Scalar(conn,
             "SELECT rolsuper OR rolreplication OR coalesce((SELECT pg_has_role(current_user, oid, "
             "'member') FROM pg_roles WHERE rolname = 'rds_replication'), false) FROM pg_roles "
             "WHERE rolname = current_user");
  const std::string user = Scalar(conn, "SELECT current_user");
  if (row == "t") {
    out->push_back({Severity::kOk, "replication privilege",
                    absl::StrCat("role ", user, " may start logical replication"), ""});
  } else {
    out->push_back({Severity::kProblem, "replication privilege",
                    absl::StrCat("role ", user, " has neither REPLICATION nor SUPERUSER"),
                    absl::StrCat("ALTER ROLE ", conn.QuoteIdentifier(user),
                                 " REPLICATION; (Amazon RDS/Aurora: GRANT rds_replication TO ",
                                 conn.QuoteIdentifier(user), ")")});
  }
}

void CheckCapacity(PgConnection& conn, std::vector<Finding>* out) {
  const int64_t max_slots = IntScalar(conn, "SHOW max_replication_slots");
  const int64_t slots = IntScalar(conn, "SELECT count(*) FROM pg_replication_slots");
  const int64_t max_senders = IntScalar(conn, "SHOW max_wal_senders");
  const int64_t senders =
      IntScalar(conn, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'");
  const std::string slot_detail = absl::StrCat(slots, " of ", max_slots, " slots in use");
  if (slots < max_slots) {
    out->push_back({Severity::kOk, "replication slots", slot_detail, ""});
  } else {
    out->push_back({Severity::kProblem, "replication slots", slot_detail,
                    "raise max_replication_slots (restart needed) or drop an unused slot: "
                    "SELECT pg_drop_replication_slot('<name>')"});
  }
  const std::string sender_detail = absl::StrCat(senders, " of ", max_senders, " WAL senders busy");
  if (senders < max_senders) {
    out->push_back({Severity::kOk, "WAL senders", sender_detail, ""});
  } else {
    out->push_back({Severity::kProblem, "WAL senders", sender_detail,
                    "raise max_wal_senders (restart needed) or stop another consumer"});
  }
}

void CheckIdleSlots(PgConnection& conn, std::vector<Finding>* out) {
  absl::StatusOr<QueryResult> r = conn.Query(
      "SELECT slot_name, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) "
      "FROM pg_replication_slots WHERE NOT active AND restart_lsn IS NOT NULL "
      "AND pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) > 1073741824");
  if (!r.ok()) return;
  for (const auto& row : r->rows) {
    out->push_back({Severity::kWarning, "idle slot",
                    absl::StrCat("slot ", row[0].value_or(""), " is inactive and retains ",
                                 row[1].value_or(""), " of WAL"),
                    absl::StrCat("resume its consumer, or drop it: SELECT "
                                 "pg_drop_replication_slot('",
                                 row[0].value_or(""), "')")});
  }
}

void CheckPublication(PgConnection& conn, const std::string& pub, std::vector<Finding>* out) {
  const std::string check = absl::StrCat("publication ", pub);
  if (Scalar(conn, absl::StrCat("SELECT 1 FROM pg_publication WHERE pubname = ",
                                conn.QuoteLiteral(pub))) != "1") {
    out->push_back(
        {Severity::kProblem, check, "does not exist",
         absl::StrCat("CREATE PUBLICATION ", conn.QuoteIdentifier(pub), " FOR TABLE <tables>")});
    return;
  }
  // UPDATE/DELETE of a published table without a usable replica identity fail on the
  // primary (doc/protocol.md#old-rows).
  absl::StatusOr<QueryResult> r = conn.Query(absl::StrCat(
      "SELECT format('%I.%I', n.nspname, c.relname), c.relreplident, "
      "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), "
      "p.pubupdate OR p.pubdelete "
      "FROM pg_publication p, pg_publication_tables t, pg_class c, pg_namespace n "
      "WHERE p.pubname = ",
      conn.QuoteLiteral(pub),
      " AND t.pubname = p.pubname "
      "AND n.nspname = t.schemaname AND c.relname = t.tablename AND c.relnamespace = n.oid"));
  if (!r.ok()) return;
  int usable = 0;
  for (const auto& row : r->rows) {
    const std::string ident = row[1].value_or("");
    const bool broken = row[3].value_or("") == "t" &&
                        (ident == "n" || (ident == "d" && row[2].value_or("") != "t"));
    if (!broken) {
      ++usable;
      continue;
    }
    out->push_back({Severity::kProblem, check,
                    absl::StrCat("table ", row[0].value_or(""),
                                 " has no replica identity: its UPDATEs and DELETEs will fail"),
                    absl::StrCat("add a primary key, or ALTER TABLE ", row[0].value_or(""),
                                 " REPLICA IDENTITY FULL")});
  }
  out->push_back({r->rows.empty() ? Severity::kWarning : Severity::kOk, check,
                  absl::StrCat(r->rows.size(), " table(s), ", usable, " with a replica identity"),
                  r->rows.empty() ? "ALTER PUBLICATION ... ADD TABLE <tables>" : ""});
}

}  // namespace

absl::StatusOr<std::vector<Finding>> RunPreflight(const std::string& dsn,
                                                  const std::vector<std::string>& publications) {
  std::vector<Finding> out;
  ConnectParams params;
  params.dsn = dsn;
  params.replication = false;
  params.connect_timeout = absl::Seconds(10);
  absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(params);
  if (!conn.ok()) {
    if (conn.status().code() == absl::StatusCode::kInvalidArgument &&
        absl::StrContains(conn.status().message(), "invalid DSN")) {
      return conn.status();
    }
    out.push_back({Severity::kProblem, "connection", std::string(conn.status().message()), ""});
    return out;
  }
  out.push_back({Severity::kOk, "connection",
                 absl::StrCat("PostgreSQL ", (*conn)->server_version() / 10000, ", database ",
                              (*conn)->database()),
                 ""});
  CheckWalLevel(**conn, &out);
  CheckRole(**conn, &out);
  CheckCapacity(**conn, &out);
  CheckIdleSlots(**conn, &out);
  for (const std::string& pub : publications) CheckPublication(**conn, pub, &out);
  return out;
}

}  // namespace pgcdc::internal
