// A private, throw-away PostgreSQL cluster: initdb into a fresh temporary
// directory, start a postmaster on a free port, delete everything on destruction.
// Used by `pgcdc demo` and by every integration test, so that nothing depends on a
// server someone has to install, configure or clean up by hand.
#ifndef PGCDC_EMBEDDED_EMBEDDED_POSTGRES_H_
#define PGCDC_EMBEDDED_EMBEDDED_POSTGRES_H_

#include <sys/types.h>

#include <ios>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pgcdc::internal {

struct EmbeddedOsUser;  // whom initdb/postgres/pg_ctl run as; defined in the .cc

struct EmbeddedPostgresOptions {
  // Directory holding postgres, initdb and pg_ctl. Empty: $PGCDC_PG_BIN_DIR if set,
  // else `pg_config --bindir` if it reports PostgreSQL 15, /usr/lib/postgresql/15/bin,
  // the newest /usr/lib/postgresql/*/bin, then $PATH.
  std::string bin_dir;
  // Extra postgresql.conf lines, applied after the built-in settings (so they win),
  // e.g. "wal_sender_timeout = 2s".
  std::vector<std::string> extra_conf;
  // TCP port on 127.0.0.1. 0: pick a free one (and pick again if it gets taken
  // between the probe and the server's bind).
  int port = 0;
  // Where the temporary directory is created. Empty: $TMPDIR, else /tmp. When the
  // process runs as root the server runs as OS user `postgres`, which must be able
  // to reach this directory.
  std::string parent_dir;
};

// One running cluster. Settings: wal_level=logical, 20 WAL senders and slots,
// fsync/synchronous_commit/full_page_writes off (fast, not crash-safe), trust
// authentication for user `postgres` over the unix socket and 127.0.0.1.
//
// If the owning process dies without running the destructor (crash, SIGKILL,
// Ctrl-C), a watcher process stops the server and deletes the directory.
//
// Dsn/UnixDsn/Exec/Query/LogTail may be called from several threads at once; Stop
// and Restart must not run concurrently with any other method.
class EmbeddedPostgres {
 public:
  using Row = std::vector<std::optional<std::string>>;  // nullopt is SQL NULL

  // Creates <parent_dir>/pgcdc-pg-XXXXXX holding data/, postgres.log and the unix
  // socket, runs initdb and starts the server (about 0.5-0.8 s).
  static absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> Start(
      EmbeddedPostgresOptions options = {});

  EmbeddedPostgres(const EmbeddedPostgres&) = delete;
  EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;
  // Stops the server (fast shutdown, then immediate) and removes the directory.
  // Does nothing in a forked child: only the creating process owns the cluster.
  ~EmbeddedPostgres();

  int port() const { return port_; }
  const std::string& socket_dir() const { return root_dir_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& bin_dir() const { return bin_dir_; }

  // libpq key=value connection strings, over TCP (127.0.0.1) or the unix socket.
  std::string Dsn(std::string_view dbname = "postgres", std::string_view user = "postgres") const;
  std::string UnixDsn(std::string_view dbname = "postgres",
                      std::string_view user = "postgres") const;

  // Stops the server (fast shutdown; immediate after 10 s; or immediate at once, as a
  // crash would: no checkpoint, sessions cut), keeping the data directory. Idempotent.
  enum class ShutdownMode { kFast, kImmediate };
  absl::Status Stop(ShutdownMode mode = ShutdownMode::kFast);
  // Stops the server if it runs, appends `extra_conf` to the configuration (later
  // lines win) and starts it again on the same port.
  absl::Status Restart(std::vector<std::string> extra_conf = {},
                       ShutdownMode mode = ShutdownMode::kFast);

  // Runs `sql` (several statements allowed; they form one implicit transaction)
  // with the simple query protocol on a new connection over the unix socket.
  // A server error is kUnknown "ERROR: <message> (SQLSTATE <code>)[; DETAIL: ..]";
  // failing to connect is kUnavailable.
  absl::Status Exec(std::string_view sql, std::string_view dbname = "postgres") const;
  // Like Exec; returns the rows of the last statement that returned rows.
  absl::StatusOr<std::vector<Row>> Query(std::string_view sql,
                                         std::string_view dbname = "postgres") const;

  // The last `lines` lines of the server log, to attach to failure messages.
  std::string LogTail(int lines = 30) const;

 private:
  EmbeddedPostgres(EmbeddedPostgresOptions options, std::string bin_dir,
                   std::unique_ptr<EmbeddedOsUser> os_user, std::string root_dir);

  absl::Status StartWatcher();
  absl::Status InitDb();
  absl::Status WriteConfig() const;
  absl::Status StartServer();
  absl::Status LaunchOnce(bool* port_taken);
  absl::Status WaitUntilReady(std::streamoff log_start, bool* port_taken);
  bool WaitForServerExit(int seconds);
  void ReleaseWatcher();

  EmbeddedPostgresOptions options_;  // extra_conf grows with each Restart
  std::string bin_dir_;
  std::unique_ptr<EmbeddedOsUser> os_user_;
  std::string root_dir_;  // temp dir; also the unix socket directory
  std::string data_dir_;
  std::string log_path_;
  int port_ = 0;
  pid_t owner_pid_ = -1;
  pid_t server_pid_ = -1;
  pid_t watcher_pid_ = -1;
  int watcher_fd_ = -1;  // our end of the watcher socket; EOF tells it we are gone
};

}  // namespace pgcdc::internal

#endif  // PGCDC_EMBEDDED_EMBEDDED_POSTGRES_H_
