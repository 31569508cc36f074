#include "connection/pg_connection.h"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connection/dsn_redaction.h"
#include "internal/logging.h"
#include "internal/status_macros.h"
#include "internal/strings.h"
#include "libpq-fe.h"
#include "pgcdc/status.h"

namespace pgcdc::internal {
namespace {

// pgoutput runs every column's output function inside the walsender with that
// session's settings, so pin the ones that change text output (doc/protocol.md#connection, the
// same set the built-in subscriber pins in libpqrcv_connect, plus TimeZone and
// bytea_output so timestamptz/bytea text is canonical).
// An empty search_path makes reg* values (regclass, regtype) print schema-qualified,
// whatever the role's default is.
constexpr char kPinnedSettings[] =
    "-c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 "
    "-c TimeZone=UTC -c bytea_output=hex -c lc_monetary=C -c search_path=";

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string_view TrimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

// libpq reports connection failures as text only (no SQLSTATE without a result).
absl::Status StatusFromConnectError(std::string_view message) {
  const std::string text = absl::StrCat("cannot connect to PostgreSQL: ", Sv(message));
  if (absl::StrContains(Sv(message), "must be superuser or replication role") ||
      absl::StrContains(Sv(message), "permission denied to start WAL sender")) {
    return absl::PermissionDeniedError(
        absl::StrCat(text,
                     ". The role needs the REPLICATION attribute: ALTER ROLE <role> REPLICATION "
                     "(on Amazon RDS/Aurora: GRANT rds_replication TO <role>)"));
  }
  if (absl::StrContains(Sv(message), "password authentication failed") ||
      absl::StrContains(Sv(message), "no password supplied")) {
    return absl::UnauthenticatedError(
        absl::StrCat(text, ". Check the user and password in the DSN"));
  }
  if (absl::StrContains(Sv(message), "pg_hba.conf") ||
      (absl::StrContains(Sv(message), "role \"") &&
       absl::StrContains(Sv(message), "does not exist"))) {
    return absl::PermissionDeniedError(
        absl::StrCat(text,
                     ". Allow the role in pg_hba.conf (logical replication connections match "
                     "ordinary database lines) and check the user name"));
  }
  if (absl::StrContains(Sv(message), "database \"") &&
      absl::StrContains(Sv(message), "does not exist")) {
    return absl::InvalidArgumentError(absl::StrCat(text, ". Check dbname in the DSN"));
  }
  // TLS: a wrong CA, a name mismatch or a server without TLS do not heal by retrying.
  if (absl::StrContains(Sv(message), "certificate") ||
      absl::StrContains(Sv(message), "does not support SSL")) {
    return absl::FailedPreconditionError(
        absl::StrCat(text,
                     ". Fix the TLS settings: sslmode, sslrootcert (the CA that signed the "
                     "server's certificate) and the host name the certificate was issued for"));
  }
  if (absl::StrContains(Sv(message), "timeout expired")) {
    return absl::DeadlineExceededError(text);
  }
  if (absl::StrContains(Sv(message), "max_wal_senders")) {
    return absl::UnavailableError(absl::StrCat(
        text, ". All WAL senders are busy: raise max_wal_senders or stop another consumer"));
  }
  return absl::UnavailableError(
      absl::StrCat(text, ". Is the server running and reachable at that host and port?"));
}

}  // namespace

absl::Status StatusFromServerError(std::string_view sqlstate, std::string_view message,
                                   std::string_view context) {
  const std::string text =
      absl::StrCat(Sv(context), ": ", Sv(TrimNewline(message)),
                   sqlstate.empty() ? "" : absl::StrCat(" (SQLSTATE ", Sv(sqlstate), ")"));
  absl::Status status;
  if (sqlstate == "55006") {
    status = absl::UnavailableError(
        absl::StrCat(text,
                     ". Another process is using the replication slot: stop it, or wait until "
                     "wal_sender_timeout ends a crashed consumer's session (a session still "
                     "creating the slot is not ended by it: it waits for running and prepared "
                     "transactions, see pg_stat_activity and pg_prepared_xacts). To force it: "
                     "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE "
                     "slot_name = '<slot>'"));
  } else if (sqlstate == "55000" && absl::StrContains(Sv(message), "wal_level")) {
    status = absl::FailedPreconditionError(
        absl::StrCat(text,
                     ". Set wal_level = logical (ALTER SYSTEM SET wal_level = logical) and restart "
                     "the server; on Amazon RDS/Aurora set rds.logical_replication = 1"));
  } else if (sqlstate == "55000" || sqlstate == "58P01") {
    // "can no longer get changes from replication slot", "requested WAL segment ...
    // has already been removed": the slot is invalidated.
    status = absl::FailedPreconditionError(
        absl::StrCat(text,
                     ". If the slot lost WAL it needed, changes are gone: drop and recreate the "
                     "slot and re-snapshot the tables"));
  } else if (sqlstate == "42704" && absl::StrContains(Sv(message), "publication")) {
    status = absl::FailedPreconditionError(
        absl::StrCat(text,
                     ". Create it: CREATE PUBLICATION <name> FOR TABLE <tables>. If it exists now, "
                     "it was created after the slot's position, which the slot cannot decode "
                     "past: drop and recreate the slot"));
  } else if (sqlstate == "42704") {
    status = absl::NotFoundError(text);
  } else if (sqlstate == "42501") {
    status = absl::PermissionDeniedError(text);
  } else if (sqlstate == "28000" || sqlstate == "28P01") {
    status = absl::UnauthenticatedError(text);
  } else if (sqlstate == "53400") {
    status = absl::FailedPreconditionError(
        absl::StrCat(text,
                     ". Raise max_replication_slots, or drop unused slots "
                     "(SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                     "WHERE NOT active AND slot_name = '<unused>')"));
  } else if (sqlstate == "42710") {
    status = absl::AlreadyExistsError(text);
  } else if (sqlstate == "22023" || sqlstate == "42602" || sqlstate == "22P02") {
    status = absl::InvalidArgumentError(text);
  } else if (sqlstate == "57014") {
    status = absl::DeadlineExceededError(text);
  } else if (sqlstate == "0A000") {
    status = absl::FailedPreconditionError(text);
  } else if (absl::StartsWith(Sv(sqlstate), "08") || absl::StartsWith(Sv(sqlstate), "57P") ||
             sqlstate == "53300") {
    status = absl::UnavailableError(text);
  } else {  // includes XX000: a server-side error, not a pgcdc bug (kInternal)
    status = absl::UnknownError(text);
  }
  return WithSqlState(std::move(status), sqlstate);
}

namespace {

absl::Status StatusFromResult(const PGresult* result, std::string_view context) {
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  return StatusFromServerError(sqlstate ? sqlstate : "",
                               message ? message : PQresultErrorMessage(result), context);
}

// Keywords and values for PQconnectdbParams: the user's DSN (URI or key=value, parsed
// by libpq itself) plus what a logical replication session needs.
class ConnInfo {
 public:
  absl::Status Parse(const ConnectParams& params) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(params.dsn.c_str(), &error);
    if (options == nullptr) {
      std::string message(error ? TrimNewline(error) : "out of memory");
      if (error) PQfreemem(error);
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid DSN: ", RedactPasswords(params.dsn, TrimNewline(message), /*dsn_rejected=*/true),
          ". Use a URI (postgresql://user@host:5432/dbname) or key=value pairs "
          "(host=... dbname=... user=...)"));
    }
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (o->val != nullptr && o->val[0] != '\0') Set(o->keyword, o->val);
    }
    PQconninfoFree(options);
    if (params.replication) Set("replication", "database");
    // Setting `options` here would hide PGOPTIONS from the environment: keep it.
    if (Get("options").empty()) {
      if (const char* env = std::getenv("PGOPTIONS"); env != nullptr) Set("options", env);
    }
    Set("options",
        absl::StrCat(Get("options"), Get("options").empty() ? "" : " ", kPinnedSettings));
    Set("client_encoding", "UTF8");
    SetDefault("application_name", params.application_name);
    SetDefault("connect_timeout",
               absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(params.connect_timeout))));
    // Notice a dead peer without waiting for the kernel's 2-hour default.
    SetDefault("keepalives", "1");
    SetDefault("keepalives_idle", "30");
    SetDefault("keepalives_interval", "10");
    SetDefault("keepalives_count", "3");
    if (params.tcp_user_timeout > absl::ZeroDuration()) {
      SetDefault("tcp_user_timeout",
                 absl::StrCat(absl::ToInt64Milliseconds(params.tcp_user_timeout)));
    }
    return absl::OkStatus();
  }

  std::vector<const char*> keywords() const { return Pointers(true); }
  std::vector<const char*> values() const { return Pointers(false); }

 private:
  std::string Get(const std::string& key) const {
    for (const auto& [k, v] : pairs_) {
      if (k == key) return v;
    }
    return "";
  }
  void Set(const std::string& key, std::string value) {
    for (auto& [k, v] : pairs_) {
      if (k == key) {
        v = std::move(value);
        return;
      }
    }
    pairs_.emplace_back(key, std::move(value));
  }
  void SetDefault(const std::string& key, std::string value) {
    if (Get(key).empty()) Set(key, std::move(value));
  }
  std::vector<const char*> Pointers(bool keys) const {
    std::vector<const char*> out;
    for (const auto& [k, v] : pairs_) out.push_back(keys ? k.c_str() : v.c_str());
    out.push_back(nullptr);
    return out;
  }

  std::vector<std::pair<std::string, std::string>> pairs_;
};

// How long the server gets to send the results that follow the end of COPY.
constexpr absl::Duration kEndCopyTimeout = absl::Seconds(10);

int MillisUntil(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now() + absl::Microseconds(999));
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1 << 30));
}

// libpq's notice receiver: a NOTICE or WARNING from the server, with its SQLSTATE,
// detail and hint, to the log (WARNING as a warning, the rest as info).
void ForwardNotice(void* arg, const PGresult* notice) {
  auto field = [notice](int code) -> std::string_view {
    const char* value = PQresultErrorField(notice, code);
    return value ? value : "";
  };
  const std::string_view severity = field(PG_DIAG_SEVERITY_NONLOCALIZED);
  std::string message = absl::StrCat("server ", Sv(severity), " ", Sv(field(PG_DIAG_SQLSTATE)),
                                     ": ", Sv(field(PG_DIAG_MESSAGE_PRIMARY)));
  // The primary message is a phrase; detail and hint are sentences.
  const char* separator = ". ";
  for (std::string_view more : {field(PG_DIAG_MESSAGE_DETAIL), field(PG_DIAG_MESSAGE_HINT)}) {
    if (more.empty()) continue;
    absl::StrAppend(&message, separator, Sv(more));
    separator = " ";
  }
  const LogLevel level = severity == "WARNING"                        ? LogLevel::kWarning
                         : (severity == "DEBUG" || severity == "LOG") ? LogLevel::kDebug
                                                                      : LogLevel::kInfo;
  Log(*static_cast<const LogSink*>(arg), level, message);
}

}  // namespace

PgConnection::PgConnection(pg_conn* conn) : conn_(conn) {}

PgConnection::~PgConnection() { PQfinish(conn_); }

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const ConnectParams& params) {
  ConnInfo info;
  if (absl::Status s = info.Parse(params); !s.ok()) return s;
  std::vector<const char*> keywords = info.keywords();
  std::vector<const char*> values = info.values();
  PGconn* conn = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/0);
  if (conn == nullptr) return absl::ResourceExhaustedError("libpq: out of memory");
  std::unique_ptr<PgConnection> result(new PgConnection(conn));
  result->notices_ = std::make_unique<LogSink>(params.notices);
  PQsetNoticeReceiver(conn, &ForwardNotice, result->notices_.get());
  if (PQstatus(conn) != CONNECTION_OK) {
    return StatusFromConnectError(RedactPasswords(params.dsn, TrimNewline(PQerrorMessage(conn))));
  }
  return result;
}

int PgConnection::server_version() const { return PQserverVersion(conn_); }

bool PgConnection::connected() const { return PQstatus(conn_) == CONNECTION_OK; }

std::string PgConnection::database() const {
  const char* db = PQdb(conn_);
  return db ? db : "";
}

absl::Status PgConnection::StatusFromConnection(std::string_view context) const {
  return absl::UnavailableError(absl::StrCat(
      Sv(context), ": connection to the server lost: ", Sv(TrimNewline(PQerrorMessage(conn_)))));
}

absl::StatusOr<QueryResult> PgConnection::Query(std::string_view sql) {
  return Query(sql, absl::InfiniteFuture());
}

absl::StatusOr<QueryResult> PgConnection::Query(std::string_view sql, absl::Time deadline) {
  if (PQsendQuery(conn_, std::string(sql).c_str()) == 0) return StatusFromConnection(sql);
  // Wait without blocking in libpq so that a deadline can cancel the command.
  while (PQisBusy(conn_)) {
    if (absl::Now() >= deadline) {
      Abandon();
      return absl::DeadlineExceededError(
          absl::StrCat(Sv(sql), ": no answer in time; the connection was given up"));
    }
    pollfd fd = {PQsocket(conn_), POLLIN, 0};
    if (poll(&fd, 1, std::min(MillisUntil(deadline), 1000)) > 0 && PQconsumeInput(conn_) == 0) {
      return StatusFromConnection(sql);
    }
  }
  ResultPtr last;
  while (PGresult* r = PQgetResult(conn_)) last.reset(r);  // the last statement's result
  if (last == nullptr) return StatusFromConnection(sql);
  const ExecStatusType status = PQresultStatus(last.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    if (PQresultErrorField(last.get(), PG_DIAG_SQLSTATE) == nullptr &&
        PQstatus(conn_) != CONNECTION_OK) {
      return StatusFromConnection(sql);
    }
    return StatusFromResult(last.get(), sql);
  }
  QueryResult out;
  const int ncols = PQnfields(last.get());
  for (int c = 0; c < ncols; ++c) out.columns.emplace_back(PQfname(last.get(), c));
  for (int r = 0; r < PQntuples(last.get()); ++r) {
    std::vector<std::optional<std::string>>& row = out.rows.emplace_back();
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(last.get(), r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(last.get(), r, c), PQgetlength(last.get(), r, c)));
      }
    }
  }
  return out;
}

void PgConnection::Abandon() {
  // Any later use fails at once instead of waiting on the silent socket; closing it
  // (PQfinish) only queues a Terminate message, which cannot block.
  (void)shutdown(PQsocket(conn_), SHUT_RDWR);
}

absl::Status PgConnection::Exec(std::string_view sql) { return Query(sql).status(); }

absl::Status PgConnection::CopyOut(std::string_view sql,
                                   absl::FunctionRef<absl::Status(std::string_view)> handler) {
  ResultPtr start(PQexec(conn_, std::string(sql).c_str()));
  if (start == nullptr) return StatusFromConnection(sql);
  if (PQresultStatus(start.get()) != PGRES_COPY_OUT) return StatusFromResult(start.get(), sql);
  absl::Status status = absl::OkStatus();
  for (;;) {
    char* buffer = nullptr;
    const int n = PQgetCopyData(conn_, &buffer, /*async=*/0);
    if (n == -1) break;
    if (n == -2) return StatusFromConnection(sql);
    if (status.ok()) {
      status = handler(std::string_view(buffer, static_cast<size_t>(n)));
      if (!status.ok()) {
        // Ask the server to stop; the rows already on their way are read and dropped.
        if (PGcancel* cancel = PQgetCancel(conn_)) {
          char error[256];
          (void)PQcancel(cancel, error, sizeof error);
          PQfreeCancel(cancel);
        }
      }
    }
    PQfreemem(buffer);
  }
  while (PGresult* r = PQgetResult(conn_)) {
    ResultPtr result(r);
    if (status.ok() && PQresultStatus(r) != PGRES_COMMAND_OK) status = StatusFromResult(r, sql);
  }
  return status;
}

std::string PgConnection::QuoteIdentifier(std::string_view name) const {
  char* quoted = PQescapeIdentifier(conn_, name.data(), name.size());
  std::string out = quoted ? quoted : "";
  PQfreemem(quoted);
  return out;
}

std::string PgConnection::QuoteLiteral(std::string_view value) const {
  char* quoted = PQescapeLiteral(conn_, value.data(), value.size());
  std::string out = quoted ? quoted : "";
  PQfreemem(quoted);
  return out;
}

absl::Status PgConnection::StartCopyBoth(std::string_view command) {
  ResultPtr result(PQexec(conn_, std::string(command).c_str()));
  if (result == nullptr) return StatusFromConnection("START_REPLICATION");
  if (PQresultStatus(result.get()) != PGRES_COPY_BOTH) {
    return StatusFromResult(result.get(), "START_REPLICATION");
  }
  in_copy_ = true;
  // Non-blocking so that a full send buffer never blocks the reader: the walsender
  // may itself be blocked writing to us (doc/protocol.md#copy-both).
  if (PQsetnonblocking(conn_, 1) != 0) return StatusFromConnection("PQsetnonblocking");
  return absl::OkStatus();
}

bool PgConnection::unix_socket() const {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  return getsockname(PQsocket(conn_), reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
         address.ss_family == AF_UNIX;
}

absl::StatusOr<ReceiveResult> PgConnection::Receive(
    absl::Time deadline, int wake_fd, absl::FunctionRef<absl::Status(std::string_view)> handler,
    absl::FunctionRef<bool()> more) {
  bool read_socket = false;
  bool connection_lost = PQstatus(conn_) == CONNECTION_BAD;
  for (;;) {
    int handled = 0;
    for (;;) {
      char* buffer = nullptr;
      int n = PQgetCopyData(conn_, &buffer, /*async=*/1);
      if (n > 0) {
        absl::Status s = handler(std::string_view(buffer, static_cast<size_t>(n)));
        PQfreemem(buffer);
        if (!s.ok()) return s;
        ++handled;
        if (!more()) return ReceiveResult::kData;
        continue;
      }
      if (n == 0 && connection_lost) n = -2;  // nothing more will ever arrive
      if (n == 0) break;
      if (n == -2) {
        return PendingServerErrorOr(StatusFromConnection("reading the replication stream"));
      }
      // -1: the server ended COPY: CopyDone (shutdown) or an ErrorResponse. Its results
      // are collected with a deadline of their own: the caller's may have passed
      // already (Poll(0)), and the server's error must not become a timeout.
      in_copy_ = false;
      PGCDC_RETURN_IF_ERROR(DrainResults(std::max(deadline, absl::Now() + kEndCopyTimeout)));
      return ReceiveResult::kEndOfStream;
    }
    if (handled > 0) return ReceiveResult::kData;
    if (read_socket && absl::Now() >= deadline) return ReceiveResult::kTimeout;

    absl::StatusOr<bool> readable = WaitReadable(deadline, wake_fd);
    if (!readable.ok()) return readable.status();
    if (!*readable) {
      return absl::Now() >= deadline ? ReceiveResult::kTimeout : ReceiveResult::kWoken;
    }
    // A failed read still leaves what arrived before it in libpq's buffer, the
    // server's reason for closing (an ErrorResponse) included: parse it first.
    if (PQconsumeInput(conn_) == 0) connection_lost = true;
    read_socket = true;
  }
}

absl::StatusOr<bool> PgConnection::WaitReadable(absl::Time deadline, int wake_fd) {
  pollfd fds[2] = {{PQsocket(conn_), POLLIN, 0}, {wake_fd, POLLIN, 0}};
  const int nfds = wake_fd >= 0 ? 2 : 1;
  int rc = poll(fds, nfds, 0);
  const bool caught_up = rc == 0;
  if (caught_up) rc = poll(fds, nfds, MillisUntil(deadline));
  if (rc < 0 && errno != EINTR) {
    return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
  }
  if (rc <= 0 || (nfds == 2 && (fds[1].revents & POLLIN))) return false;
  if (caught_up && read_linger_ > absl::ZeroDuration()) {
    // The walsender writes every message separately, and each socket wakeup and read
    // costs the reader more than the message itself: having caught up, let a few
    // messages collect (within the socket buffer, so the server does not block) and
    // read them together. Only the wake fd (Cancel) cuts the wait short.
    const timespec linger = absl::ToTimespec(read_linger_);
    pollfd wake = {wake_fd, POLLIN, 0};
    if (wake_fd >= 0 && ppoll(&wake, 1, &linger, nullptr) > 0) return false;
    if (wake_fd < 0) nanosleep(&linger, nullptr);
  }
  return true;
}

absl::Status PgConnection::DrainResults(absl::Time deadline) {
  absl::Status status = absl::OkStatus();
  // Bounded: a server that answered with COPY IN/OUT would otherwise repeat forever.
  for (int i = 0; i < 16; ++i) {
    // PQgetResult blocks until a whole result arrived; wait for it here instead, so a
    // deadline holds even while the server still sends the rest of a transaction.
    while (PQisBusy(conn_)) {
      if (absl::Now() >= deadline) {
        if (!status.ok()) return status;  // the server's error wins
        return absl::DeadlineExceededError("timed out waiting for the server to end COPY");
      }
      pollfd fd = {PQsocket(conn_), POLLIN, 0};
      if (poll(&fd, 1, std::min(MillisUntil(deadline), 1000)) > 0 && PQconsumeInput(conn_) == 0) {
        // A FATAL error (walsender terminated: 57P01) arrives just before the server
        // closes the socket: libpq holds it as the pending result. It wins over the
        // closed connection.
        if (!status.ok()) return status;
        return PendingServerErrorOr(StatusFromConnection("replication stream"));
      }
    }
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) return status;
    ResultPtr result(r);
    const ExecStatusType type = PQresultStatus(r);
    if (type == PGRES_FATAL_ERROR && status.ok()) {
      // No SQLSTATE: libpq's own report of a closed connection (a server shutdown),
      // which reconnecting fixes.
      status = PQresultErrorField(r, PG_DIAG_SQLSTATE) != nullptr
                   ? StatusFromResult(r, "replication stream")
                   : StatusFromConnection("replication stream");
    } else if (type == PGRES_COPY_IN || type == PGRES_COPY_BOTH) {
      PQputCopyEnd(conn_, nullptr);
      PQflush(conn_);
    }
  }
  return status.ok() ? absl::InternalError("the server kept returning COPY results") : status;
}

absl::Status PgConnection::PendingServerErrorOr(absl::Status fallback) {
  // With the connection broken, PQgetResult does not wait: it returns what libpq has
  // parsed, then the connection error.
  absl::Status status = std::move(fallback);
  for (int i = 0; i < 4; ++i) {
    ResultPtr result(PQgetResult(conn_));
    if (result == nullptr) break;
    if (PQresultStatus(result.get()) == PGRES_FATAL_ERROR &&
        PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) != nullptr) {
      return StatusFromResult(result.get(), "replication stream");
    }
  }
  return status;
}

absl::Status PgConnection::FlushOutput(absl::Time deadline) {
  for (;;) {
    const int rc = PQflush(conn_);
    if (rc == 0) return absl::OkStatus();
    if (rc < 0) return StatusFromConnection("sending to the server");
    if (absl::Now() >= deadline) {
      return absl::UnavailableError("sending to the server: timed out writing to the socket");
    }
    // Read while waiting to write: never block writing while the server blocks
    // writing to us (doc/protocol.md#copy-both). Input stays buffered in libpq.
    pollfd fd = {PQsocket(conn_), POLLIN | POLLOUT, 0};
    if (poll(&fd, 1, std::min(MillisUntil(deadline), 1000)) > 0 && (fd.revents & POLLIN)) {
      if (PQconsumeInput(conn_) == 0) return StatusFromConnection("sending to the server");
    }
  }
}

absl::Status PgConnection::SendCopyData(std::string_view data) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  for (;;) {
    const int rc = PQputCopyData(conn_, data.data(), static_cast<int>(data.size()));
    if (rc == 1) break;
    if (rc < 0) return StatusFromConnection("sending a status update");
    if (absl::Status s = FlushOutput(deadline); !s.ok()) return s;
  }
  return FlushOutput(deadline);
}

absl::Status PgConnection::EndCopyBoth(absl::Duration timeout) {
  if (!in_copy_) return absl::OkStatus();
  const absl::Time deadline = absl::Now() + timeout;
  for (int rc; (rc = PQputCopyEnd(conn_, nullptr)) != 1;) {
    if (rc < 0) return StatusFromConnection("ending replication");
    if (absl::Status s = FlushOutput(deadline); !s.ok()) return s;
  }
  if (absl::Status s = FlushOutput(deadline); !s.ok()) return s;
  // The server answers CopyDone after finishing its current message; what it sends
  // until then was not delivered and is not acknowledged, so it is dropped.
  while (in_copy_) {
    absl::StatusOr<ReceiveResult> r =
        Receive(deadline, -1, [](std::string_view) { return absl::OkStatus(); });
    if (!r.ok()) return r.status();
    if (*r == ReceiveResult::kTimeout || (in_copy_ && absl::Now() >= deadline)) {
      return absl::DeadlineExceededError("timed out waiting for the server to end COPY");
    }
  }
  return absl::OkStatus();
}

absl::Status WithSqlState(absl::Status status, std::string_view sqlstate) {
  if (!sqlstate.empty()) status.SetPayload(kSqlStatePayloadUrl, absl::Cord(Sv(sqlstate)));
  return status;
}

}  // namespace pgcdc::internal
