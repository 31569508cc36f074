#include "embedded/embedded_postgres.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <locale.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "internal/status_macros.h"

extern char** environ;

namespace pgcdc::internal {

// PostgreSQL refuses to run as root, so a root process runs the server tools as
// OS user `postgres`; anyone else runs them as themselves.
struct EmbeddedOsUser {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

namespace {

constexpr int kMaxPortAttempts = 5;
constexpr absl::Duration kStartTimeout = absl::Seconds(60);

// Everything a child needs between fork() and exec(), built before fork(): the
// parent may have other threads, so the child may only make async-signal-safe calls.
class ChildSpec {
 public:
  ChildSpec(std::vector<std::string> args, const EmbeddedOsUser& user, std::string cwd)
      : args_(std::move(args)), user_(user), cwd_(std::move(cwd)) {
    for (std::string& a : args_) argv_.push_back(a.data());
    argv_.push_back(nullptr);
    // PG* variables (PGDATA, PGPORT, PGHOST, ...) would point the tools elsewhere.
    for (char** e = environ; *e != nullptr; ++e) {
      if (!absl::StartsWith(*e, "PG")) envp_.push_back(*e);
    }
    envp_.push_back(nullptr);
  }
  ChildSpec(const ChildSpec&) = delete;
  ChildSpec& operator=(const ChildSpec&) = delete;

  char* const* argv() const { return argv_.data(); }
  char* const* envp() const { return envp_.data(); }
  const EmbeddedOsUser& user() const { return user_; }
  const char* cwd() const { return cwd_.c_str(); }

 private:
  std::vector<std::string> args_;
  std::vector<char*> argv_;
  std::vector<char*> envp_;
  const EmbeddedOsUser& user_;
  std::string cwd_;
};

struct SpawnFlags {
  bool new_session = false;      // detach from the owner's terminal signals
  bool die_with_parent = false;  // SIGKILL when the spawning thread goes away
};

// The system call itself, not glibc's close_range() (2.34): the portable wheels are built
// against glibc 2.31 (scripts/wheel.sh) and the call exists in every kernel since 5.9.
void CloseFdsFrom(int first) {
#ifdef __NR_close_range
  if (syscall(__NR_close_range, first, ~0U, 0) == 0) return;
#endif
  for (int fd = first; fd < 65536; ++fd) close(fd);  // kernels before 5.9
}

// strerrordesc_np is async-signal-safe (strerror is not) but needs glibc 2.32; against an
// older glibc (the portable wheels) the message carries the errno number.
const char* ErrnoText(int err, char (&buf)[24]) {
#if __GLIBC_PREREQ(2, 32)
  if (const char* desc = strerrordesc_np(err)) return desc;
#endif
  char* p = buf + sizeof buf;
  *--p = '\0';
  unsigned v = err < 0 ? 0u : static_cast<unsigned>(err);
  do {
    *--p = static_cast<char>('0' + v % 10);
  } while ((v /= 10) != 0);
  p -= 6;
  std::memcpy(p, "errno ", 6);
  return p;
}

[[noreturn]] void ChildFail(const char* what) {
  char buf[24];
  const char* reason = ErrnoText(errno, buf);
  for (const char* s : {"pgcdc embedded postgres: ", what, ": ", reason, "\n"}) {
    if (write(STDERR_FILENO, s, strlen(s)) < 0) break;
  }
  _exit(127);
}

// Runs in the child after fork(): async-signal-safe calls only.
[[noreturn]] void ExecChild(const ChildSpec& spec, int in_fd, int out_fd, SpawnFlags flags,
                            pid_t parent) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Ignored signals stay ignored across exec; the tools expect defaults.
  for (int sig : {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD}) signal(sig, SIG_DFL);
  if (flags.new_session) setsid();
  if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
      dup2(out_fd, STDERR_FILENO) < 0) {
    ChildFail("dup2");
  }
  CloseFdsFrom(3);  // e.g. the watcher socket, which must close when the owner dies
  const EmbeddedOsUser& user = spec.user();
  if (user.switch_user && (setgroups(user.groups.size(), user.groups.data()) != 0 ||
                           setgid(user.gid) != 0 || setuid(user.uid) != 0)) {
    ChildFail("cannot switch to OS user postgres");
  }
  // After setuid(): a credential change clears the parent-death signal.
  if (flags.die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl()
  }
  if (chdir(spec.cwd()) != 0) ChildFail(spec.cwd());
  execve(spec.argv()[0], spec.argv(), spec.envp());
  ChildFail(spec.argv()[0]);
}

absl::StatusOr<pid_t> Spawn(const ChildSpec& spec, int in_fd, int out_fd, SpawnFlags flags) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, "fork");
  if (pid == 0) ExecChild(spec, in_fd, out_fd, flags, parent);
  return pid;
}

// waitpid() has no timeout, so poll; 5 ms keeps Stop() fast without spinning.
// Returns the wait status, or nullopt if `pid` still runs at the deadline.
std::optional<int> WaitPidFor(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    // ECHILD: already reaped (SIGCHLD ignored by the application): it is gone.
    if (r < 0 && errno == ECHILD) return 0;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exit code ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("killed by ", strsignal(WTERMSIG(wait_status)));
  return absl::StrCat("wait status ", wait_status);
}

struct CommandResult {
  int wait_status = 0;
  std::string output;  // stdout and stderr interleaved
  bool ok() const { return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0; }
};

absl::StatusOr<CommandResult> RunCommand(std::vector<std::string> args, const EmbeddedOsUser& user,
                                         std::string cwd) {
  const ChildSpec spec(std::move(args), user, std::move(cwd));
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Blocking here means the spawning thread outlives the child, as PDEATHSIG needs.
  absl::StatusOr<pid_t> pid = Spawn(spec, devnull, fds[1], {false, true});
  close(fds[1]);
  close(devnull);
  CommandResult result;
  char buf[4096];
  for (ssize_t n; pid.ok() && (n = read(fds[0], buf, sizeof(buf))) != 0;) {
    if (n > 0) result.output.append(buf, n);
    if (n < 0 && errno != EINTR) break;
  }
  close(fds[0]);
  if (!pid.ok()) return pid.status();
  while (waitpid(*pid, &result.wait_status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

bool HasServerBinaries(const std::string& dir) {
  if (dir.empty()) return false;
  for (const char* tool : {"postgres", "initdb", "pg_ctl"}) {
    if (access(absl::StrCat(dir, "/", tool).c_str(), X_OK) != 0) return false;
  }
  return true;
}

// The bindir reported by the first pg_config on $PATH, if it is PostgreSQL 15.
std::optional<std::string> PgConfigBinDir(const std::vector<std::string>& path) {
  for (const std::string& dir : path) {
    const std::string pg_config = absl::StrCat(dir, "/pg_config");
    if (access(pg_config.c_str(), X_OK) != 0) continue;
    absl::StatusOr<CommandResult> r =
        RunCommand({pg_config, "--version", "--bindir"}, EmbeddedOsUser{}, "/");
    if (!r.ok() || !r->ok()) return std::nullopt;
    std::vector<std::string> lines = absl::StrSplit(r->output, '\n', absl::SkipEmpty());
    if (lines.size() != 2 || !absl::StartsWith(lines[0], "PostgreSQL 15")) return std::nullopt;
    return lines[1];
  }
  return std::nullopt;
}

std::vector<std::string> CandidateBinDirs() {
  const char* path_env = std::getenv("PATH");
  const std::vector<std::string> path =
      absl::StrSplit(path_env ? path_env : "", ':', absl::SkipEmpty());
  std::vector<std::string> dirs;
  if (std::optional<std::string> dir = PgConfigBinDir(path)) dirs.push_back(*dir);
  dirs.push_back("/usr/lib/postgresql/15/bin");
  std::vector<int> versions;  // Debian/Ubuntu layout: /usr/lib/postgresql/<major>/bin
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
      versions.push_back(std::atoi(name.c_str()));
    }
  }
  std::sort(versions.rbegin(), versions.rend());
  for (int v : versions) dirs.push_back(absl::StrCat("/usr/lib/postgresql/", v, "/bin"));
  dirs.insert(dirs.end(), path.begin(), path.end());
  return dirs;
}

absl::StatusOr<std::string> FindBinDir(std::string requested) {
  // One setting for every harness (the C++ tests, pytest through pgcdc-test-server,
  // the demo, the benchmarks): which PostgreSQL the private servers run.
  if (const char* env = std::getenv("PGCDC_PG_BIN_DIR"); requested.empty() && env && *env) {
    requested = env;
  }
  if (!requested.empty()) {
    if (HasServerBinaries(requested)) return requested;
    return absl::NotFoundError(
        absl::StrCat("PostgreSQL bin directory '", requested,
                     "' (EmbeddedPostgresOptions::bin_dir, else $PGCDC_PG_BIN_DIR) lacks postgres, "
                     "initdb or pg_ctl; point it at the PostgreSQL server binaries (e.g. "
                     "/usr/lib/postgresql/15/bin) or leave it empty to autodetect"));
  }
  const std::vector<std::string> dirs = CandidateBinDirs();
  for (const std::string& dir : dirs) {
    if (HasServerBinaries(dir)) return dir;
  }
  return absl::NotFoundError(
      absl::StrCat("PostgreSQL server binaries (postgres, initdb, pg_ctl) not found (looked in ",
                   absl::StrJoin(dirs, ", "),
                   "); install them: apt-get install postgresql-15 (or set "
                   "EmbeddedPostgresOptions::bin_dir / PGCDC_PG_BIN_DIR)"));
}

absl::StatusOr<EmbeddedOsUser> ResolveOsUser() {
  EmbeddedOsUser user;
  if (geteuid() != 0) return user;
  std::vector<char> buf(1 << 16);
  passwd pw;
  passwd* found = nullptr;
  getpwnam_r("postgres", &pw, buf.data(), buf.size(), &found);
  if (found == nullptr) {
    return absl::FailedPreconditionError(
        "running as root, but PostgreSQL refuses to run as root and there is no OS user "
        "'postgres' to run it as; create one (useradd --system --user-group postgres) or "
        "run as a non-root user");
  }
  user.switch_user = true;
  user.uid = pw.pw_uid;
  user.gid = pw.pw_gid;
  int count = 64;
  do {
    user.groups.resize(count);
  } while (getgrouplist(pw.pw_name, pw.pw_gid, user.groups.data(), &count) < 0);
  user.groups.resize(count);
  return user;
}

absl::StatusOr<std::string> MakeRootDir(const std::string& parent, const EmbeddedOsUser& user) {
  std::string dir = parent;
  if (dir.empty()) dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "";
  if (dir.empty()) dir = "/tmp";
  dir = absl::StrCat(dir, "/pgcdc-pg-XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot create temporary directory ", dir,
                                                   "; set EmbeddedPostgresOptions::parent_dir"));
  }
  // The server's socket file lives here; sun_path is only ~108 bytes.
  if (dir.size() + sizeof("/.s.PGSQL.65535") > sizeof(sockaddr_un::sun_path)) {
    rmdir(dir.c_str());
    return absl::InvalidArgumentError(absl::StrCat(
        "temporary directory path ", dir,
        " is too long for a unix socket path; set "
        "EmbeddedPostgresOptions::parent_dir (or TMPDIR) to a shorter directory such as /tmp"));
  }
  if (user.switch_user && chown(dir.c_str(), user.uid, user.gid) != 0) {
    const int err = errno;
    rmdir(dir.c_str());
    return absl::ErrnoToStatus(err, absl::StrCat("chown ", dir, " to user postgres"));
  }
  return dir;
}

absl::Status WriteFile(const std::string& path, std::string_view text, bool append,
                       const EmbeddedOsUser& user) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  if (user.switch_user && chown(path.c_str(), user.uid, user.gid) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("chown ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int err = errno;
  close(fd);
  if (!ok) return absl::ErrnoToStatus(err, "cannot find a free TCP port on 127.0.0.1");
  return ntohs(addr.sin_port);
}

// Single-quotes a libpq connection-string value when it needs it.
std::string ConnValue(std::string_view v) {
  const std::string value(v);
  if (!value.empty() && value.find_first_of(" '\\") == std::string::npos) return value;
  return absl::StrCat("'", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"'", "\\'"}}), "'");
}

// The watcher: a forked process that blocks until the owner either sends a byte
// ("I cleaned up myself") or vanishes (EOF: crash, SIGKILL, exit without destructor),
// then stops the server and deletes the directory.
[[noreturn]] void RunWatcher(int sock, const ChildSpec& stop, const std::string& pid_file,
                             const std::string& root_dir) {
  setsid();  // a Ctrl-C meant for the owner's process group must not kill us too
  prctl(PR_SET_NAME, "pgcdc-pg-watch");  // recognizable in ps/top
  // The owner's signal handlers make no sense here; terminal signals are ignored.
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const int high = fcntl(sock, F_DUPFD, 10);
  const int devnull = open("/dev/null", O_RDWR);
  for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) dup2(devnull, fd);
  dup2(high, 3);
  CloseFdsFrom(4);  // e.g. other clusters' watcher sockets and the owner's connections
  char byte;
  ssize_t n;
  while ((n = read(3, &byte, 1)) < 0 && errno == EINTR) {
  }
  if (n == 1) _exit(0);
  // Twice: a postmaster spawned just before the owner died may not have written its
  // pid file at the first look.
  for (int pass = 0; pass < 2; ++pass) {
    if (pass > 0) usleep(200 * 1000);
    if (access(pid_file.c_str(), F_OK) != 0) continue;
    const pid_t pid = fork();
    if (pid == 0) ExecChild(stop, STDIN_FILENO, STDOUT_FILENO, {}, 0);
    while (pid > 0 && waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(root_dir, ec);
  _exit(0);
}

// The last `lines` lines of `path`, looking only at bytes from `from` on.
std::string FileTail(const std::string& path, std::streamoff from, int lines) {
  constexpr std::streamoff kMaxBytes = 256 * 1024;  // the log of a long demo can be large
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "(no server log)";
  in.seekg(std::max<std::streamoff>(from, static_cast<std::streamoff>(in.tellg()) - kMaxBytes));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<absl::string_view> all = absl::StrSplit(text, '\n', absl::SkipEmpty());
  const size_t keep = std::min(all.size(), static_cast<size_t>(std::max(lines, 0)));
  return absl::StrJoin(all.end() - keep, all.end(), "\n");
}

using ConnPtr = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// One line: "ERROR: <message> (SQLSTATE <code>)[; DETAIL: ...][; HINT: ...]".
absl::Status ServerError(const PGresult* res) {
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  if (primary == nullptr) {  // raised by libpq itself, e.g. a lost connection
    return absl::UnavailableError(absl::StripTrailingAsciiWhitespace(PQresultErrorMessage(res)));
  }
  const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char* sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  std::string message = absl::StrCat(severity ? severity : "ERROR", ": ", primary, " (SQLSTATE ",
                                     sqlstate ? sqlstate : "?", ")");
  for (const auto& [field, label] : {std::pair{PG_DIAG_MESSAGE_DETAIL, "; DETAIL: "},
                                     std::pair{PG_DIAG_MESSAGE_HINT, "; HINT: "}}) {
    if (const char* text = PQresultErrorField(res, field)) absl::StrAppend(&message, label, text);
  }
  return absl::UnknownError(message);
}

absl::StatusOr<std::vector<EmbeddedPostgres::Row>> RunSql(const std::string& dsn,
                                                          std::string_view sql) {
  ConnPtr conn(PQconnectdb(absl::StrCat(dsn, " connect_timeout=10").c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat("cannot connect to embedded PostgreSQL (", dsn,
                                               "): ", PQerrorMessage(conn.get())));
  }
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);  // keep stderr clean
  if (!PQsendQuery(conn.get(), std::string(sql).c_str())) {
    return absl::UnavailableError(PQerrorMessage(conn.get()));
  }
  std::vector<EmbeddedPostgres::Row> rows;
  absl::Status status;
  while (PGresult* raw = PQgetResult(conn.get())) {
    ResultPtr res(raw, &PQclear);
    const ExecStatusType type = PQresultStatus(raw);
    if (type == PGRES_TUPLES_OK) {
      rows.assign(PQntuples(raw), EmbeddedPostgres::Row(PQnfields(raw)));
      for (int r = 0; r < PQntuples(raw); ++r) {
        for (int c = 0; c < PQnfields(raw); ++c) {
          if (PQgetisnull(raw, r, c)) continue;
          rows[r][c].emplace(PQgetvalue(raw, r, c), PQgetlength(raw, r, c));
        }
      }
    } else if (type == PGRES_COPY_IN || type == PGRES_COPY_OUT || type == PGRES_COPY_BOTH) {
      return absl::InvalidArgumentError("Exec/Query do not support COPY or replication");
    } else if (type != PGRES_COMMAND_OK && type != PGRES_EMPTY_QUERY && status.ok()) {
      status = ServerError(raw);
    }
  }
  if (!status.ok()) return status;
  return rows;
}

}  // namespace

EmbeddedPostgres::EmbeddedPostgres(EmbeddedPostgresOptions options, std::string bin_dir,
                                   std::unique_ptr<EmbeddedOsUser> os_user, std::string root_dir)
    : options_(std::move(options)),
      bin_dir_(std::move(bin_dir)),
      os_user_(std::move(os_user)),
      root_dir_(std::move(root_dir)),
      data_dir_(root_dir_ + "/data"),
      log_path_(root_dir_ + "/postgres.log"),
      port_(options_.port),
      owner_pid_(getpid()) {}

absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> EmbeddedPostgres::Start(
    EmbeddedPostgresOptions options) {
  PGCDC_ASSIGN_OR_RETURN(std::string bin_dir, FindBinDir(options.bin_dir));
  PGCDC_ASSIGN_OR_RETURN(EmbeddedOsUser user, ResolveOsUser());
  PGCDC_ASSIGN_OR_RETURN(std::string root_dir, MakeRootDir(options.parent_dir, user));
  // From here on the destructor removes whatever a failing step leaves behind.
  std::unique_ptr<EmbeddedPostgres> pg(
      new EmbeddedPostgres(std::move(options), std::move(bin_dir),
                           std::make_unique<EmbeddedOsUser>(std::move(user)), std::move(root_dir)));
  PGCDC_RETURN_IF_ERROR(pg->StartWatcher());
  PGCDC_RETURN_IF_ERROR(pg->InitDb());
  PGCDC_RETURN_IF_ERROR(pg->StartServer());
  return pg;
}

EmbeddedPostgres::~EmbeddedPostgres() {
  if (getpid() != owner_pid_) return;  // a forked child: the cluster is the parent's
  Stop().IgnoreError();
  std::error_code ec;
  std::filesystem::remove_all(root_dir_, ec);
  ReleaseWatcher();
}

absl::Status EmbeddedPostgres::StartWatcher() {
  // pg_ctl rather than a bare signal: it reads the current postmaster pid (Restart
  // changes it) and waits for the exit. Prepared here, before fork().
  const ChildSpec stop(
      {bin_dir_ + "/pg_ctl", "stop", "-D", data_dir_, "-m", "immediate", "-w", "-t", "10"},
      *os_user_, root_dir_);
  const std::string pid_file = data_dir_ + "/postmaster.pid";
  // A socket pair rather than a pipe: send(MSG_NOSIGNAL) cannot raise SIGPIPE.
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::ErrnoToStatus(errno, "socketpair");
  }
  const pid_t pid = fork();
  if (pid == 0) RunWatcher(fds[1], stop, pid_file, root_dir_);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return absl::ErrnoToStatus(errno, "fork (cluster watcher)");
  }
  watcher_pid_ = pid;
  watcher_fd_ = fds[0];
  return absl::OkStatus();
}

void EmbeddedPostgres::ReleaseWatcher() {
  if (watcher_fd_ < 0) return;
  send(watcher_fd_, "x", 1, MSG_NOSIGNAL);  // everything is gone already: just exit
  close(watcher_fd_);
  watcher_fd_ = -1;
  WaitPidFor(watcher_pid_, absl::Seconds(5));
}

absl::Status EmbeddedPostgres::InitDb() {
  // C.UTF-8 gives UTF-8 character classes with byte-order collation; fall back to C
  // where the locale is not installed.
  const locale_t c_utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", nullptr);
  if (c_utf8 != nullptr) freelocale(c_utf8);
  PGCDC_ASSIGN_OR_RETURN(CommandResult r,
                         RunCommand({bin_dir_ + "/initdb", "-D", data_dir_, "-A", "trust", "-E",
                                     "UTF8", c_utf8 != nullptr ? "--locale=C.UTF-8" : "--locale=C",
                                     "-U", "postgres", "--no-sync"},
                                    *os_user_, root_dir_));
  if (!r.ok()) {
    return absl::InternalError(absl::StrCat(
        "initdb failed (", DescribeExit(r.wait_status), ")",
        os_user_->switch_user ? " [running as OS user postgres, which must be able to reach "
                                "the parent directory; see EmbeddedPostgresOptions::parent_dir]"
                              : "",
        ":\n", r.output));
  }
  PGCDC_RETURN_IF_ERROR(WriteFile(data_dir_ + "/pg_hba.conf",
                                  "local all all trust\n"
                                  "local replication all trust\n"
                                  "host all all 127.0.0.1/32 trust\n"
                                  "host replication all 127.0.0.1/32 trust\n",
                                  /*append=*/false, *os_user_));
  // Our settings live in their own file, rewritten on every start; initdb's
  // postgresql.conf keeps its locale and time zone choices.
  return WriteFile(data_dir_ + "/postgresql.conf", "\ninclude 'pgcdc.conf'\n",
                   /*append=*/true, *os_user_);
}

absl::Status EmbeddedPostgres::WriteConfig() const {
  std::vector<std::string> lines = {
      "listen_addresses = '127.0.0.1'", absl::StrCat("port = ", port_),
      absl::StrCat("unix_socket_directories = '", absl::StrReplaceAll(root_dir_, {{"'", "''"}}),
                   "'"),
      "wal_level = logical", "max_wal_senders = 20", "max_replication_slots = 20",
      "max_prepared_transactions = 10",  // two-phase tests
      // Throw-away cluster: durability buys nothing and costs seconds per test binary.
      "fsync = off", "synchronous_commit = off", "full_page_writes = off", "shared_buffers = 128MB",
      "max_connections = 100",
      "autovacuum = off",  // no background activity racing with tests
      "log_min_messages = warning",
      "logging_collector = off",  // stderr already goes to postgres.log
  };
  lines.insert(lines.end(), options_.extra_conf.begin(), options_.extra_conf.end());
  return WriteFile(data_dir_ + "/pgcdc.conf", absl::StrCat(absl::StrJoin(lines, "\n"), "\n"),
                   /*append=*/false, *os_user_);
}

absl::Status EmbeddedPostgres::StartServer() {
  const bool auto_port = options_.port == 0;
  absl::Status status;
  for (int attempt = 0; attempt < kMaxPortAttempts; ++attempt) {
    if (auto_port && (attempt > 0 || port_ == 0)) {
      PGCDC_ASSIGN_OR_RETURN(port_, PickFreePort());
    }
    bool port_taken = false;
    status = LaunchOnce(&port_taken);
    // Another process may bind the probed port before the server does: pick again.
    if (status.ok() || !port_taken || !auto_port) return status;
  }
  return status;
}

absl::Status EmbeddedPostgres::LaunchOnce(bool* port_taken) {
  PGCDC_RETURN_IF_ERROR(WriteConfig());
  const int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", log_path_));
  if (os_user_->switch_user && fchown(log_fd, os_user_->uid, os_user_->gid) != 0) {
    close(log_fd);
    return absl::ErrnoToStatus(errno, absl::StrCat("chown ", log_path_));
  }
  // Only this attempt's log lines tell why this attempt failed.
  const std::streamoff log_start = lseek(log_fd, 0, SEEK_END);
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Spawned directly rather than via pg_ctl: no 100 ms polling, and as our child its
  // exit during startup is seen at once. Its own session (as pg_ctl does) keeps a
  // terminal Ctrl-C away from it; the watcher stops it if we die.
  const ChildSpec spec({bin_dir_ + "/postgres", "-D", data_dir_}, *os_user_, root_dir_);
  absl::StatusOr<pid_t> pid = Spawn(spec, devnull, log_fd, {true, false});
  close(log_fd);
  close(devnull);
  if (!pid.ok()) return pid.status();
  server_pid_ = *pid;
  return WaitUntilReady(log_start, port_taken);
}

absl::Status EmbeddedPostgres::WaitUntilReady(std::streamoff log_start, bool* port_taken) {
  // The unix socket is private to this cluster: a ping cannot reach another server
  // that happens to own our TCP port.
  const std::string dsn = absl::StrCat(UnixDsn(), " connect_timeout=5");
  const absl::Time deadline = absl::Now() + kStartTimeout;
  while (absl::Now() < deadline) {
    if (std::optional<int> status = WaitPidFor(server_pid_, absl::ZeroDuration())) {
      server_pid_ = -1;
      const std::string log = FileTail(log_path_, log_start, 15);
      *port_taken = absl::StrContains(log, "Address already in use");
      return absl::InternalError(absl::StrFormat(
          "PostgreSQL server (%s/postgres) exited during startup on port %d (%s); %s:\n%s",
          bin_dir_, port_, DescribeExit(*status), log_path_, log));
    }
    if (PQping(dsn.c_str()) == PQPING_OK) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(10));
  }
  const std::string log = FileTail(log_path_, log_start, 15);
  Stop().IgnoreError();
  return absl::DeadlineExceededError(
      absl::StrCat("PostgreSQL server did not accept connections within ",
                   absl::FormatDuration(kStartTimeout), "; ", log_path_, ":\n", log));
}

bool EmbeddedPostgres::WaitForServerExit(int seconds) {
  if (!WaitPidFor(server_pid_, absl::Seconds(seconds))) return false;
  server_pid_ = -1;
  return true;
}

absl::Status EmbeddedPostgres::Stop(ShutdownMode mode) {
  if (server_pid_ <= 0) return absl::OkStatus();
  if (getpid() != owner_pid_) {
    return absl::FailedPreconditionError("only the process that started the cluster can stop it");
  }
  // The server is our child, so signal it directly (what pg_ctl would do) and reap
  // it. SIGINT = "fast": roll back sessions, checkpoint. SIGQUIT = "immediate".
  if (mode == ShutdownMode::kFast) {
    kill(server_pid_, SIGINT);
    if (WaitForServerExit(10)) return absl::OkStatus();
  }
  kill(server_pid_, SIGQUIT);
  if (WaitForServerExit(5)) return absl::OkStatus();
  kill(server_pid_, SIGKILL);
  WaitForServerExit(5);
  return absl::DeadlineExceededError(absl::StrCat(
      "PostgreSQL ignored fast and immediate shutdown and was killed; log:\n", LogTail()));
}

absl::Status EmbeddedPostgres::Restart(std::vector<std::string> extra_conf, ShutdownMode mode) {
  PGCDC_RETURN_IF_ERROR(Stop(mode));
  options_.extra_conf.insert(options_.extra_conf.end(), extra_conf.begin(), extra_conf.end());
  return StartServer();
}

std::string EmbeddedPostgres::Dsn(std::string_view dbname, std::string_view user) const {
  return absl::StrFormat("host=127.0.0.1 port=%d dbname=%s user=%s", port_, ConnValue(dbname),
                         ConnValue(user));
}

std::string EmbeddedPostgres::UnixDsn(std::string_view dbname, std::string_view user) const {
  return absl::StrFormat("host=%s port=%d dbname=%s user=%s", ConnValue(root_dir_), port_,
                         ConnValue(dbname), ConnValue(user));
}

absl::Status EmbeddedPostgres::Exec(std::string_view sql, std::string_view dbname) const {
  return RunSql(UnixDsn(dbname), sql).status();
}

absl::StatusOr<std::vector<EmbeddedPostgres::Row>> EmbeddedPostgres::Query(
    std::string_view sql, std::string_view dbname) const {
  return RunSql(UnixDsn(dbname), sql);
}

std::string EmbeddedPostgres::LogTail(int lines) const { return FileTail(log_path_, 0, lines); }

}  // namespace pgcdc::internal
