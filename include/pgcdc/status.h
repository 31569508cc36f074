// The error contract. Every public function reports failure as an absl::Status with
// one of these codes (tests/unit/status_codes_test.cc fails when the library returns a
// code that is not listed here; Python raises the pgcdc.errors class for each):
//
//   kInvalidArgument     bad options, DSN or LSN text                  (do not retry)
//   kFailedPrecondition  server set-up: wal_level, publication, slot plugin, slot
//                        limits (fix, then retry)
//   kNotFound            the slot does not exist and create_slot is false
//   kAlreadyExists       a slot pgcdc must create exists already (snapshot =
//                        initial_only, the snapshot marker slot), or the server reports
//                        a duplicate object (42710)
//   kPermissionDenied    role lacks REPLICATION / privileges, pg_hba.conf rejects it
//   kUnauthenticated     bad password
//   kUnavailable         connection refused or lost, server shutting down, too many
//                        connections, slot in use by another process (55006)  (retry)
//   kDeadlineExceeded    connect or slot-creation timeout, statement canceled (retry)
//   kResourceExhausted   a spill file could not be written (disk full), or libpq ran
//                        out of memory
//   kDataLoss            malformed server bytes or an undecodable value
//   kAborted             the on_checkpoint callback returned an error
//   kCancelled           the snapshot was canceled (Cancel()/Close()) before it ended
//   kInternal            a bug in pgcdc
//   kUnknown             any other server error (with its SQLSTATE)
//
// Statuses that come from the server carry its SQLSTATE (see SqlState()).
#ifndef PGCDC_STATUS_H_
#define PGCDC_STATUS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"

namespace pgcdc {

// The payload URL under which a status stores the server's SQLSTATE.
inline constexpr char kSqlStatePayloadUrl[] = "pgcdc.dev/sqlstate";

// The server's SQLSTATE ("55006"), if the error came from the server.
std::optional<std::string> SqlState(const absl::Status& status);

// Whether repeating the operation (reconnecting and resuming) can succeed.
bool IsRetryable(const absl::Status& status);

}  // namespace pgcdc

#endif  // PGCDC_STATUS_H_
