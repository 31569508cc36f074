#ifndef PGCDC_TOOLS_STREAM_COMMAND_H_
#define PGCDC_TOOLS_STREAM_COMMAND_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/statusor.h"
#include "pgcdc/pgcdc.h"

namespace pgcdc::cli {

enum class OutputFormat { kJson, kProtobuf };

absl::StatusOr<OutputFormat> ParseFormat(const std::string& text);

// Streams `stream` to `out` until it ends, acknowledging what was written once `out`
// is flushed (at least every `flush_every` changes and whenever the stream waits).
// SIGINT/SIGTERM end it cleanly. Returns the number of row changes written.
absl::StatusOr<uint64_t> PumpChanges(ChangeStream& stream, OutputFormat format, FILE* out,
                                     int flush_every = 4096);

}  // namespace pgcdc::cli

#endif  // PGCDC_TOOLS_STREAM_COMMAND_H_
