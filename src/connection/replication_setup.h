// Opening a replication session: connect, check the server and the slot, create what
// the options ask for, and enter COPY BOTH with the best pgoutput options.
#ifndef PGCDC_CONNECTION_REPLICATION_SETUP_H_
#define PGCDC_CONNECTION_REPLICATION_SETUP_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connection/pg_connection.h"
#include "pgcdc/options.h"

namespace pgcdc::internal {

struct ReplicationSession {
  std::unique_ptr<PgConnection> conn;
  int server_version = 0;
  int proto_version = 1;
  // 0 when the server never times out a silent client.
  absl::Duration wal_sender_timeout = absl::Seconds(60);
  uint64_t confirmed_flush_lsn = 0;  // the slot's position when we started
  bool slot_created = false;
  bool streaming = false;  // in-progress transactions requested (protocol v2+)
};

// How an initial snapshot takes part in opening the session (src/snapshot/).
class SnapshotSetup {
 public:
  virtual ~SnapshotSetup() = default;
  // After the slot was checked: whether a new slot with an exported snapshot is needed.
  // May drop the existing slot (of an unfinished snapshot); false: stream as usual.
  virtual absl::StatusOr<bool> Prepare(PgConnection& conn, bool slot_exists) = 0;
  // Right after CREATE_REPLICATION_SLOT, before the replication connection issues any
  // other command (only until then can the snapshot be imported).
  virtual absl::Status Import(const std::string& snapshot_name, uint64_t consistent_point) = 0;
  virtual bool temporary_slot() const = 0;
  // The slot marking the snapshot unfinished ("" if none); dropped with the new slot
  // when Import() fails.
  virtual std::string marker_slot() const = 0;
  // The SQL condition on pg_replication_slots that selects that marker and nothing
  // else of its name ("" if none).
  virtual std::string MarkerCondition(const PgConnection& conn) const = 0;
  // false: return the session without START_REPLICATION (the snapshot is all).
  virtual bool start_replication() const = 0;
};

absl::StatusOr<ReplicationSession> OpenReplicationSession(const StreamOptions& options,
                                                          SnapshotSetup* snapshot = nullptr);

// The highest pgoutput protocol version a server supports (1: PG10-13 ... 4: PG16+).
int MaxProtoVersion(int server_version);

// "START_REPLICATION SLOT ..." for these options (exposed for tests).
std::string StartReplicationCommand(const PgConnection& conn, const std::string& slot,
                                    uint64_t start_lsn, int proto_version, int server_version,
                                    const std::vector<std::string>& publications, bool streaming,
                                    bool two_phase = false);

}  // namespace pgcdc::internal

#endif  // PGCDC_CONNECTION_REPLICATION_SETUP_H_
