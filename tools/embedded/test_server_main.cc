// pgcdc-test-server: one private PostgreSQL (EmbeddedPostgres) for test harnesses in
// other languages, so that pytest runs exactly the cluster the C++ tests and
// `pgcdc demo` run. Not installed.
//
//   pgcdc-test-server [--conf 'name = value' ...]
//
// Prints "key=value" lines (port, socket_dir, data_dir, bin_dir, log) and then
// "ready", and keeps the server until its standard input closes (the harness ends
// or dies), then stops it and removes its directory. Exit 1 when it cannot start.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "embedded/embedded_postgres.h"

int main(int argc, char** argv) {
  pgcdc::internal::EmbeddedPostgresOptions options;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--conf") && i + 1 < argc) {
      options.extra_conf.push_back(argv[++i]);
    } else {
      std::cerr << "usage: pgcdc-test-server [--conf 'name = value' ...]\n";
      return 2;
    }
  }
  auto pg = pgcdc::internal::EmbeddedPostgres::Start(options);
  if (!pg.ok()) {
    std::cerr << "pgcdc-test-server: " << pg.status().message() << "\n";
    return 1;
  }
  std::cout << "port=" << (*pg)->port() << "\nsocket_dir=" << (*pg)->socket_dir()
            << "\ndata_dir=" << (*pg)->data_dir() << "\nbin_dir=" << (*pg)->bin_dir()
            << "\nlog=" << (*pg)->socket_dir() << "/postgres.log\nready" << std::endl;
  char buffer[256];
  while (read(STDIN_FILENO, buffer, sizeof buffer) > 0) {
  }
  return 0;  // the destructor stops the server and removes its directory
}
