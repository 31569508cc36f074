// The only place that includes libpq-fe.h: a replication=database connection that
// runs simple-protocol SQL/replication commands, then streams COPY BOTH data.
#ifndef PGCDC_CONNECTION_PG_CONNECTION_H_
#define PGCDC_CONNECTION_PG_CONNECTION_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pgcdc/logging.h"

struct pg_conn;

namespace pgcdc::internal {

struct ConnectParams {
  std::string dsn;
  std::string application_name = "pgcdc";
  absl::Duration connect_timeout = absl::Seconds(30);
  // libpq's tcp_user_timeout unless the DSN sets it: the kernel ends a connection
  // whose sent data stays unacknowledged this long. Zero: the kernel's default.
  absl::Duration tcp_user_timeout = absl::ZeroDuration();
  bool replication = true;  // replication=database (logical walsender)
  // Where the server's notices and warnings go (a walsender reports some problems only
  // so: PostgreSQL 18 skips a publication that does not exist with a WARNING). Empty:
  // warnings to stderr, as pgcdc's own.
  LogSink notices;
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// Reads CopyData messages until the deadline or until a batch was consumed.
enum class ReceiveResult { kData, kTimeout, kWoken, kEndOfStream };

class PgConnection {
 public:
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(const ConnectParams& params);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  int server_version() const;  // e.g. 150004
  bool unix_socket() const;    // connected through a unix-domain socket (not TCP)
  bool in_copy() const { return in_copy_; }
  bool connected() const;
  std::string database() const;

  // Simple query protocol (the walsender rejects the extended protocol).
  absl::StatusOr<QueryResult> Query(std::string_view sql);
  // At `deadline` gives the connection up (kDeadlineExceeded; drop it): a cancel
  // request would have to cross the same network that stopped answering.
  absl::StatusOr<QueryResult> Query(std::string_view sql, absl::Time deadline);
  absl::Status Exec(std::string_view sql);
  // Runs `sql` (a COPY ... TO STDOUT) and hands every row (one CopyData message, with
  // its newline) to `handler`. An error from `handler` cancels the COPY on the server
  // and is returned.
  absl::Status CopyOut(std::string_view sql,
                       absl::FunctionRef<absl::Status(std::string_view)> handler);
  std::string QuoteIdentifier(std::string_view name) const;
  std::string QuoteLiteral(std::string_view value) const;

  // Sends START_REPLICATION (or any command entering COPY BOTH) and switches to
  // non-blocking mode.
  absl::Status StartCopyBoth(std::string_view command);

  // Hands every CopyData message already read to `handler`; if there was none, waits
  // for the socket (or `wake_fd`, when >= 0, becoming readable) until `deadline`, then
  // reads what arrived. Bounded work per call: at most one socket read, and no more
  // messages once `more()` says false (the rest stays in libpq's buffer).
  absl::StatusOr<ReceiveResult> Receive(
      absl::Time deadline, int wake_fd, absl::FunctionRef<absl::Status(std::string_view)> handler,
      absl::FunctionRef<bool()> more = [] { return true; });

  // Once the stream has caught up, wait this long after data arrives before reading it
  // (see StreamOptions::read_linger). Zero: read at once.
  void set_read_linger(absl::Duration linger) { read_linger_ = linger; }

  // Queues `data` as one CopyData message and flushes without blocking forever (waits
  // for the socket to drain, reading input meanwhile, as the protocol requires).
  absl::Status SendCopyData(std::string_view data);

  // Ends COPY BOTH politely (CopyDone) and drains the results.
  absl::Status EndCopyBoth(absl::Duration timeout);

 private:
  explicit PgConnection(pg_conn* conn);
  absl::Status FlushOutput(absl::Time deadline);
  // Collects the results that follow the end of COPY; the first error wins.
  absl::Status DrainResults(absl::Time deadline);
  absl::Status StatusFromConnection(std::string_view context) const;
  // The server's error (with its SQLSTATE) if libpq received one before the
  // connection broke, else `fallback`.
  absl::Status PendingServerErrorOr(absl::Status fallback);
  void Abandon();
  // Waits for the socket or `wake_fd`; true when the socket is readable.
  absl::StatusOr<bool> WaitReadable(absl::Time deadline, int wake_fd);

  pg_conn* conn_;
  std::unique_ptr<LogSink> notices_;  // the notice receiver's argument: a stable address
  bool in_copy_ = false;
  absl::Duration read_linger_ = absl::ZeroDuration();
};

// Error text from the server or libpq mapped to the pgcdc status contract (see
// pgcdc/status.h), with the SQLSTATE as payload and a hint naming the fix.
absl::Status StatusFromServerError(std::string_view sqlstate, std::string_view message,
                                   std::string_view context);

// `status` with `sqlstate` attached as the server would have reported it: errors pgcdc
// detects itself carry the SQLSTATE of the server's own error for the same problem,
// so callers can handle both alike.
absl::Status WithSqlState(absl::Status status, std::string_view sqlstate);

}  // namespace pgcdc::internal

#endif  // PGCDC_CONNECTION_PG_CONNECTION_H_
