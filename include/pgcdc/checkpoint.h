#ifndef PGCDC_CHECKPOINT_H_
#define PGCDC_CHECKPOINT_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pgcdc/lsn.h"

namespace pgcdc {

struct Checkpoint {
  std::string slot_name;
  // Everything at or before this position was acknowledged by the application; after
  // the callback returns OK the server's slot is moved here, and a restart resumes
  // after it.
  Lsn flush_lsn;
  absl::Time time;
};

// Runs on the thread that called Next(), Poll() or Close(), just before `flush_lsn`
// is sent to the server. A non-OK result keeps the server's position unchanged and
// ends the stream with that status (code kAborted).
using CheckpointCallback = std::function<absl::Status(const Checkpoint&)>;

}  // namespace pgcdc

#endif  // PGCDC_CHECKPOINT_H_
