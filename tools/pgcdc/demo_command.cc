// `pgcdc demo`: the whole pipeline with nothing to set up. Starts a private PostgreSQL
// (temporary directory, wal_level=logical), creates a table and a publication, writes
// a few transactions from a second thread and streams the decoded changes to stdout.
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "args.h"
#include "commands.h"
#include "embedded/embedded_postgres.h"
#include "stream_command.h"

namespace pgcdc::cli {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE public.orders (
  id bigint PRIMARY KEY,
  customer text NOT NULL,
  amount numeric(12,2),
  tags text[],
  details jsonb,
  placed_at timestamptz DEFAULT '2026-11-21 09:30:00.123456+00',
  note text);
ALTER TABLE public.orders ALTER COLUMN note SET STORAGE EXTERNAL;
CREATE PUBLICATION demo_pub FOR TABLE public.orders;
)sql";

// Each string is one transaction.
constexpr const char* kWorkload[] = {
    "INSERT INTO orders (id, customer, amount, tags, details) VALUES "
    "(1, 'Ada', 19.99, '{book,gift}', '{\"priority\": \"high\"}'), "
    "(2, 'Grace', 1234567890.10, '{}', NULL), "
    "(3, 'Edsger', 0.01, '{\"with space\",NULL}', '[1, 2.5, \"x\"]')",
    "UPDATE orders SET amount = amount * 2 WHERE id = 1",
    // A large out-of-line value, then an update that leaves it alone: the server does
    // not resend it, and pgcdc reports it as unchanged rather than NULL.
    "UPDATE orders SET note = repeat('a long note ', 2000) WHERE id = 2",
    "UPDATE orders SET customer = 'Grace Hopper' WHERE id = 2",
    "BEGIN; DELETE FROM orders WHERE id = 3; "
    "SELECT pg_logical_emit_message(true, 'demo', 'order 3 cancelled'); COMMIT",
};

}  // namespace

int RunDemo(int argc, char** argv) {
  absl::StatusOr<Args> args = Args::Parse(argc, argv, FormatFlags());
  if (args.ok() && args->help()) {
    std::cout << Usage("pgcdc demo [--format json|protobuf|debezium]",
                       "Starts a private PostgreSQL (a temporary directory, wal_level=logical, a "
                       "free port), creates a table and a publication, writes a few "
                       "transactions (an insert of three rows, updates, a large TOAST value "
                       "left unchanged, a delete with a logical message) and streams their "
                       "changes to stdout, then stops the server. Needs no set-up.",
                       FormatFlags());
    return 0;
  }
  absl::StatusOr<OutputFormat> format = args.ok() ? ParseFormat(*args) : args.status();
  if (!format.ok()) {
    std::cerr << "pgcdc demo: " << format.status().message() << "\n";
    return 2;
  }
  format->abbreviate_strings = 60;  // the TOAST example's note is 24 kB
  std::cerr << "pgcdc demo: starting a private PostgreSQL (wal_level=logical)...\n";
  absl::StatusOr<std::unique_ptr<internal::EmbeddedPostgres>> pg =
      internal::EmbeddedPostgres::Start();
  if (!pg.ok()) {
    std::cerr << "pgcdc demo: " << pg.status().message() << "\n";
    return 1;
  }
  if (absl::Status s = (*pg)->Exec(kSchema); !s.ok()) {
    std::cerr << "pgcdc demo: " << s.message() << "\n";
    return 1;
  }
  StreamOptions options;
  options.dsn = (*pg)->Dsn();
  options.slot_name = "demo_slot";
  options.publications = {"demo_pub"};
  options.create_slot = true;
  options.idle_timeout = absl::Seconds(2);
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  if (!stream.ok()) {
    std::cerr << "pgcdc demo: " << stream.status().message() << "\n";
    return 1;
  }
  std::cerr << "pgcdc demo: server on port " << (*pg)->port() << ", slot demo_slot, "
            << "publication demo_pub; writing " << std::size(kWorkload)
            << " transactions and streaming them:\n";
  absl::Status write_status;
  std::thread writer([&] {
    for (const char* sql : kWorkload) {
      if (write_status = (*pg)->Exec(sql); !write_status.ok()) return;
    }
  });
  absl::StatusOr<uint64_t> rows = PumpChanges(*stream, *format, stdout, 1);
  writer.join();
  if (!write_status.ok() || !rows.ok()) {
    std::cerr << "pgcdc demo: " << (rows.ok() ? write_status : rows.status()).message() << "\n";
    return 1;
  }
  std::cerr << "pgcdc demo: " << *rows << " row changes streamed, confirmed up to "
            << stream->confirmed_flush_lsn().ToString() << "; stopping the private server.\n";
  return 0;
}

}  // namespace pgcdc::cli
