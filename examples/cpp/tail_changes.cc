// Prints every committed change of a publication as JSON and acknowledges it.
//
//   tail_changes "host=localhost dbname=app user=cdc" orders_slot orders_pub [max_changes]
#include <pgcdc/pgcdc.h>

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: tail_changes DSN SLOT PUBLICATION [MAX_CHANGES]\n";
    return 2;
  }
  pgcdc::StreamOptions options;
  options.dsn = argv[1];
  options.slot_name = argv[2];
  options.publications = {argv[3]};
  options.create_slot = true;
  options.idle_timeout = absl::Seconds(5);
  const long max_changes = argc > 4 ? std::atol(argv[4]) : -1;

  absl::StatusOr<pgcdc::ChangeStream> stream = pgcdc::ChangeStream::Open(options);
  if (!stream.ok()) {
    std::cerr << stream.status() << "\n";
    return 1;
  }
  for (long n = 0; n != max_changes; ++n) {
    absl::StatusOr<std::optional<pgcdc::Change>> change = stream->Next();
    if (!change.ok()) {
      std::cerr << change.status() << "\n";
      return 1;
    }
    if (!change->has_value()) break;  // idle for 5 s
    std::cout << pgcdc::ToJson(**change) << std::endl;
    stream->Ack(**change);  // printed and flushed: handled
  }
  absl::Status closed = stream->Close();  // reports the acknowledged position
  if (!closed.ok()) {
    std::cerr << closed << "\n";
    return 1;
  }
  return 0;
}
