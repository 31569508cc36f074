// Initial snapshot throughput against a plain `COPY orders TO STDOUT` of the same table
// (issue 5 target: >= 0.8x with 2 readers). Starts a private PostgreSQL 15, loads the
// bench table (shared/bench/workload.sql's `orders` generator), then times, in turns:
//   copy       one libpq connection running COPY orders TO STDOUT, rows discarded
//   pgcdc/N    ChangeStream::Open with snapshot = initial_only and N readers, every row
//              decoded into a typed record and drained with Next()
//
//   snapshot_bench [rows=1000000] [rounds=3]
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "embedded/embedded_postgres.h"
#include "libpq-fe.h"
#include "pgcdc/pgcdc.h"

namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE orders (
    id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2) NOT NULL,
    status text NOT NULL, tags text[], payload jsonb, created_at timestamptz NOT NULL,
    note text);
INSERT INTO orders
SELECT g, 1 + (random() * 99999)::int, round((random() * 1000)::numeric, 2),
       (ARRAY['new', 'paid', 'packed', 'shipped', 'delivered'])[1 + (g % 5)::int],
       ARRAY['region-' || (g % 7), 'channel-' || (g % 3), CASE WHEN g % 11 = 0 THEN 'vip' ELSE 'std' END],
       jsonb_build_object('sku', 'SKU-' || lpad((g % 5000)::text, 5, '0'), 'qty', 1 + (g % 4),
           'price', round((random() * 200)::numeric, 2), 'gift', g % 13 = 0,
           'ship', jsonb_build_object('city', 'City ' || (g % 97),
                                      'zip', lpad((g % 99991)::text, 5, '0'), 'express', g % 3 = 0)),
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1.5 seconds',
       CASE WHEN g % 4 = 0 THEN NULL ELSE 'order note ' || md5(g::text) END
FROM generate_series(1, %ROWS%) AS g;
CREATE PUBLICATION bench_pub FOR TABLE orders;
)sql";

struct Run {
  int64_t rows = 0;
  int64_t bytes = 0;
  double seconds = 0;
};

Run PlainCopy(const std::string& dsn) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  Run run;
  const absl::Time start = absl::Now();
  PGresult* r = PQexec(conn, "COPY orders TO STDOUT");
  if (PQresultStatus(r) != PGRES_COPY_OUT) std::cerr << PQerrorMessage(conn);
  PQclear(r);
  char* buffer = nullptr;
  int n;
  while ((n = PQgetCopyData(conn, &buffer, 0)) > 0) {
    ++run.rows;
    run.bytes += n;
    PQfreemem(buffer);
  }
  while ((r = PQgetResult(conn)) != nullptr) PQclear(r);
  run.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  PQfinish(conn);
  return run;
}

Run Snapshot(const std::string& dsn, int readers) {
  pgcdc::StreamOptions options;
  options.dsn = dsn;
  options.slot_name = "snapshot_bench";
  options.publications = {"bench_pub"};
  options.snapshot = pgcdc::SnapshotMode::kInitialOnly;
  options.snapshot_readers = readers;
  Run run;
  const absl::Time start = absl::Now();
  absl::StatusOr<pgcdc::ChangeStream> stream = pgcdc::ChangeStream::Open(options);
  if (!stream.ok()) {
    std::cerr << stream.status() << "\n";
    std::exit(1);
  }
  for (;;) {
    absl::StatusOr<std::optional<pgcdc::Change>> next = stream->Next();
    if (!next.ok()) {
      std::cerr << next.status() << "\n";
      std::exit(1);
    }
    if (!*next) break;
    ++run.rows;
  }
  run.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  (void)stream->Close();
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 1000000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  auto pg = pgcdc::internal::EmbeddedPostgres::Start();
  if (!pg.ok()) {
    std::cerr << pg.status() << "\n";
    return 1;
  }
  std::string schema = kSchema;
  schema.replace(schema.find("%ROWS%"), 6, std::to_string(rows));
  if (absl::Status s = (*pg)->Exec(schema); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  (void)(*pg)->Exec("VACUUM ANALYZE orders");
  const std::string dsn = (*pg)->UnixDsn();
  std::vector<double> copy, one, two;
  int64_t bytes = 0;
  for (int i = 0; i < rounds; ++i) {
    Run c = PlainCopy(dsn);
    Run s1 = Snapshot(dsn, 1);
    Run s2 = Snapshot(dsn, 2);
    if (c.rows != rows || s1.rows != rows || s2.rows != rows) {
      std::cerr << "row counts differ: " << c.rows << " " << s1.rows << " " << s2.rows << "\n";
      return 1;
    }
    bytes = c.bytes;
    copy.push_back(c.seconds);
    one.push_back(s1.seconds);
    two.push_back(s2.seconds);
  }
  auto best = [](std::vector<double> v) { return *std::min_element(v.begin(), v.end()); };
  auto report = [&](const char* name, const std::vector<double>& t) {
    std::cout << absl::StrCat(name, ": best ", best(t), " s (",
                              static_cast<int64_t>(rows / best(t)), " rows/s), all:");
    for (double s : t) std::cout << " " << s;
    std::cout << "\n";
  };
  std::cout << rows << " rows, " << bytes / (1 << 20) << " MiB of COPY text, " << rounds
            << " rounds\n";
  report("COPY TO STDOUT  ", copy);
  report("pgcdc snapshot/1", one);
  report("pgcdc snapshot/2", two);
  std::cout << "ratio (best pgcdc/2 throughput / best COPY): " << best(copy) / best(two) << "\n";
  // This process only (GNU time's maximum covers the server's processes too).
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0)
      std::cout << "peak RSS of the consumer: " << line.substr(6) << "\n";
  }
  return 0;
}
