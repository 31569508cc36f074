// pgcdc: stream decoded PostgreSQL changes (see `pgcdc help`).
#include "commands.h"

int main(int argc, char** argv) { return pgcdc::cli::Main(argc, argv); }
