#ifndef PGCDC_OPTIONS_H_
#define PGCDC_OPTIONS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pgcdc/checkpoint.h"
#include "pgcdc/logging.h"
#include "pgcdc/lsn.h"

namespace pgcdc {

struct StreamOptions {
  // libpq connection string, URI ("postgresql://cdc@db/app") or key=value. pgcdc adds
  // replication=database and pins the output settings (DateStyle, TimeZone, ...).
  std::string dsn;
  // REQUIRED. The logical replication slot ([a-z0-9_], at most 63 bytes).
  std::string slot_name;
  // REQUIRED, non-empty. Publications whose changes are streamed.
  std::vector<std::string> publications;

  // Create the slot (pgoutput) if it does not exist. If false, a missing slot is
  // kNotFound.
  bool create_slot = false;
  // When non-empty and the (single) publication does not exist, create it
  // FOR TABLE these tables ("schema.table" or "table"). An existing publication is
  // used as it is.
  std::vector<std::string> publication_tables;

  // Unset: resume at the slot's confirmed position.
  std::optional<Lsn> start_lsn;
  // pgoutput protocol version; 0 picks the highest the server supports (v1 before
  // PostgreSQL 14, v2 on 14, v3 on 15, v4 on 16+).
  int proto_version = 0;
  // Ask the server to stream transactions larger than its logical_decoding_work_mem
  // while they are in progress (PostgreSQL 14+, protocol v2+) instead of spilling them
  // to its own disk. pgcdc still delivers whole transactions in commit order and
  // drops aborted (sub)transactions; the chunks are buffered in memory until commit.
  bool streaming = false;

  // How often acknowledged progress is reported to the server (after on_checkpoint).
  absl::Duration status_interval = absl::Seconds(10);
  // Give up connecting after this long.
  absl::Duration connect_timeout = absl::Seconds(30);
  // Creating a slot waits until every transaction that holds a transaction id has
  // ended (long-running or forgotten prepared transactions block it): give up then.
  absl::Duration create_slot_timeout = absl::Minutes(2);

  // Stop conditions. Reaching one ends the stream cleanly (Next() returns nullopt).
  std::optional<absl::Duration> max_duration;  // e.g. the Lambda time budget
  std::optional<absl::Duration> idle_timeout;  // no change for this long
  // Stop once every transaction committed up to this position was delivered (or the
  // server reports it has nothing more up to it); later transactions are not delivered.
  std::optional<Lsn> stop_at_lsn;

  CheckpointCallback on_checkpoint;  // may be empty
  LogSink log_sink;                  // may be empty: warnings and errors go to stderr
  std::string application_name = "pgcdc";
};

// Checks the options without connecting; kInvalidArgument names the bad field.
absl::Status Validate(const StreamOptions& options);

}  // namespace pgcdc

#endif  // PGCDC_OPTIONS_H_
