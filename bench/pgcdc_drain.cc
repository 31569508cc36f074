// A consumer for ../shared/bench/drain: streams $SLOT through pgcdc::ChangeStream with
// every change decoded into a typed record, acknowledges each one, stops at $ENDPOS (or
// on SIGINT/SIGTERM when ENDPOS is empty) and prints the number of row changes.
//
//   ./drain --socket unix recvlogical-pgoutput \
//       --cmd pgcdc pgoutput '/path/to/build/bench/pgcdc_drain'
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "absl/strings/numbers.h"
#include "pgcdc/pgcdc.h"

namespace {

pgcdc::ChangeStream* g_stream = nullptr;
void OnSignal(int) {
  if (g_stream) g_stream->Cancel();
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

int main() {
  pgcdc::StreamOptions options;
  options.dsn = Env("DSN");
  options.slot_name = Env("SLOT");
  options.publications = {Env("PUBLICATION")};
  options.application_name = "pgcdc_drain";
  if (std::string endpos = Env("ENDPOS"); !endpos.empty()) {
    absl::StatusOr<pgcdc::Lsn> lsn = pgcdc::Lsn::Parse(endpos);
    if (!lsn.ok()) {
      std::cerr << lsn.status() << "\n";
      return 2;
    }
    options.stop_at_lsn = *lsn;
  }
  double feedback = 1;
  if (std::string f = Env("FEEDBACK_S"); !f.empty()) (void)absl::SimpleAtod(f, &feedback);
  options.status_interval = absl::Seconds(feedback);
  // The memory for not-yet-committed transactions (default 64 MB), to measure its
  // effect on peak RSS with the bigtx workload.
  if (std::string mb = Env("PGCDC_MAX_BUFFERED_MB"); !mb.empty()) {
    int value = 0;
    if (absl::SimpleAtoi(mb, &value) && value > 0) {
      options.max_buffered_bytes = static_cast<size_t>(value) << 20;
    }
  }

  // The wait before reading once caught up (StreamOptions::read_linger), to compare
  // its CPU and throughput effect in one run.
  if (std::string us = Env("PGCDC_READ_LINGER_US"); !us.empty()) {
    int value = 0;
    if (absl::SimpleAtoi(us, &value) && value >= 0) options.read_linger = absl::Microseconds(value);
  }

  absl::StatusOr<pgcdc::ChangeStream> stream = pgcdc::ChangeStream::Open(options);
  if (!stream.ok()) {
    std::cerr << stream.status() << "\n";
    return 1;
  }
  g_stream = &*stream;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  uint64_t rows = 0;
  while (true) {
    absl::StatusOr<std::optional<pgcdc::Change>> change = stream->Next();
    if (!change.ok()) {
      std::cerr << change.status() << "\n";
      return 1;
    }
    if (!*change) break;
    const pgcdc::Operation op = (*change)->op();
    rows += op == pgcdc::Operation::kInsert || op == pgcdc::Operation::kUpdate ||
            op == pgcdc::Operation::kDelete;
    stream->Ack(**change);
  }
  if (absl::Status s = stream->Close(); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  std::cout << rows << std::endl;
  return 0;
}
