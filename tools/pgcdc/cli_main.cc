// The `pgcdc` command line (see `pgcdc help`), for the executable (main.cc) and for the
// Python package's `pgcdc` command, which runs it inside the extension module.
#include <cstdio>
#include <cstring>

#include "commands.h"
#include "pgcdc/version.h"

namespace {

constexpr char kUsage[] =
    "pgcdc " PGCDC_VERSION_STRING " - change data capture for PostgreSQL\n"
    "\n"
    "usage:\n"
    "  pgcdc demo      start a private PostgreSQL, write changes, stream them (JSON lines)\n"
    "  pgcdc stream --dsn DSN --slot NAME --publication NAME [--create-slot]\n"
    "               [--table SCHEMA.TABLE ...] [--format json|protobuf|debezium]\n"
    "               with --format debezium, Debezium's records (one {topic,key,value}\n"
    "               per line): [--topic-prefix P] [--debezium-schemas true|false]\n"
    "               [--debezium-decimal precise|string|double]\n"
    "               [--debezium-time adaptive|connect] [--debezium-tombstones true|false]\n"
    "               [--max-duration S] [--idle-timeout S] [--stop-at-lsn LSN]\n"
    "               [--start-lsn LSN] [--status-interval S] [--streaming|--no-streaming]\n"
    "               [--max-buffered-mb N] [--spill-dir DIR] [--two-phase]\n"
    "               [--deliver-prepared commit|prepare]  with --two-phase: prepared\n"
    "               transactions at COMMIT PREPARED (default) or at PREPARE, followed\n"
    "               by a commit_prepared/rollback_prepared record\n"
    "               [--read-linger-us N]  once caught up, wait N us before reading, to\n"
    "               read messages together (default 200 on a unix socket, 2000 on TCP)\n"
    "               [--snapshot never|initial|initial_only] [--snapshot-readers N]\n"
    "               [--progress auto|always|never]  snapshot progress on stderr\n"
    "               (auto: when stderr is a terminal)\n"
    "               [--receive-timeout S]  a connection silent this long is dead\n"
    "               (default 30; 0: off)\n"
    "               [--no-reconnect] [--reconnect-max-attempts N]\n"
    "               [--reconnect-max-elapsed S]  after a fault a retry can heal,\n"
    "               reconnect and resume without repeating a change (default on,\n"
    "               30 attempts, 300 s)\n"
    "               one JSON object per change on stdout; progress is acknowledged\n"
    "               after the output is flushed\n"
    "  pgcdc check --dsn DSN [--publication NAME ...]\n"
    "               preflight: wal_level, privileges, free slots and senders,\n"
    "               replica identity of published tables; exit 1 on any problem\n";

}  // namespace

namespace pgcdc::cli {

int Main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--help") ||
      !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::puts(PGCDC_VERSION_STRING);
    return 0;
  }
  const char* command = argv[1];
  if (!std::strcmp(command, "stream")) return pgcdc::cli::RunStream(argc - 2, argv + 2);
  if (!std::strcmp(command, "check")) return pgcdc::cli::RunCheck(argc - 2, argv + 2);
  if (!std::strcmp(command, "demo")) return pgcdc::cli::RunDemo(argc - 2, argv + 2);
  std::fprintf(stderr, "pgcdc: unknown command \"%s\"\n\n%s", command, kUsage);
  return 2;
}

}  // namespace pgcdc::cli
