#ifndef PGCDC_TOOLS_STREAM_COMMAND_H_
#define PGCDC_TOOLS_STREAM_COMMAND_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "args.h"
#include "pgcdc/debezium.h"
#include "pgcdc/pgcdc.h"

namespace pgcdc::cli {

// What `pgcdc stream` and `pgcdc demo` write for each change.
struct OutputFormat {
  enum Kind { kJson, kProtobuf, kDebezium };
  Kind kind = kJson;
  DebeziumOptions debezium;       // kDebezium
  bool tombstones = true;         // kDebezium: a tombstone after each delete record
  size_t abbreviate_strings = 0;  // kJson, for people (the demo): AbbreviateJsonStrings
};

// --format json|protobuf|debezium, and for debezium --topic-prefix, --debezium-schemas,
// --debezium-decimal, --debezium-time, --debezium-tombstones.
absl::StatusOr<OutputFormat> ParseFormat(const Args& args);
// The flags ParseFormat reads.
const std::vector<FlagSpec>& FormatFlags();

// Streams `stream` to `out` until it ends, acknowledging what was written once `out`
// is flushed (at least every `flush_every` changes and whenever the stream waits).
// SIGINT/SIGTERM end it cleanly. Returns the number of row changes written.
absl::StatusOr<uint64_t> PumpChanges(ChangeStream& stream, const OutputFormat& format, FILE* out,
                                     int flush_every = 4096);

}  // namespace pgcdc::cli

#endif  // PGCDC_TOOLS_STREAM_COMMAND_H_
