// The `pgcdc` command line (see `pgcdc help`), for the executable (main.cc) and for the
// Python package's `pgcdc` command, which runs it inside the extension module.
#include <cstdio>
#include <cstring>

#include "commands.h"
#include "pgcdc/version.h"

namespace {

constexpr char kUsage[] =
    "pgcdc " PGCDC_VERSION_STRING
    " - change data capture for PostgreSQL\n"
    "\n"
    "usage:\n"
    "  pgcdc demo      start a private PostgreSQL, write changes, stream them (JSON lines)\n"
    "  pgcdc stream --dsn DSN --slot NAME --publication NAME [options]\n"
    "                  stream a slot's changes to stdout (JSON lines, protobuf, or\n"
    "                  Debezium's records); acknowledged after the output is flushed\n"
    "  pgcdc check --dsn DSN [--publication NAME ...]\n"
    "                  preflight: wal_level, privileges, free slots and senders,\n"
    "                  replica identity of published tables; exit 1 on any problem\n"
    "  pgcdc --version\n"
    "\n"
    "pgcdc COMMAND --help lists a command's options (the stream options: doc/options.md).\n";

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
