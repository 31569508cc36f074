// The initial snapshot (doc/adr/0004-initial-snapshot.md): copies the published tables
// as of the exported snapshot of a new slot, on several ordinary connections that each
// import it, and hands the rows out as op kRead records through a bounded queue.
//
// Threads: `snapshot_readers` reader threads each own one connection and copy chunks
// (a whole table, or a block range of a large one) taken from a shared list. The
// consumer (ChangeStreamImpl::Poll, on the caller's thread) takes batches of records
// from the queue. The queue holds at most kMaxQueueBytes of COPY text, so memory stays
// bounded whatever the table sizes.
#ifndef PGCDC_SNAPSHOT_SNAPSHOT_READER_H_
#define PGCDC_SNAPSHOT_SNAPSHOT_READER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connection/pg_connection.h"
#include "connection/replication_setup.h"
#include "pgcdc/change.h"
#include "pgcdc/options.h"
#include "record/relation_cache.h"

namespace pgcdc::internal {

class SnapshotReader final : public SnapshotSetup {
 public:
  explicit SnapshotReader(const StreamOptions& options);
  ~SnapshotReader() override;  // cancels and joins the reader threads

  // SnapshotSetup: decides, from the slot and the marker slot, whether to snapshot;
  // imports the snapshot on every reader connection, plans the chunks, starts reading.
  absl::StatusOr<bool> Prepare(PgConnection& conn, bool slot_exists) override;
  absl::Status Import(const std::string& snapshot_name, uint64_t consistent_point) override;
  bool temporary_slot() const override { return mode_ == SnapshotMode::kInitialOnly; }
  std::string MarkerCondition(const PgConnection& conn) const override {
    return mode_ == SnapshotMode::kInitial ? MarkerCondition(conn, MarkerSlotName(slot_name_)) : "";
  }
  std::string marker_slot() const override {
    return mode_ == SnapshotMode::kInitial ? MarkerSlotName(slot_name_) : "";
  }
  bool start_replication() const override { return mode_ == SnapshotMode::kInitial; }

  bool imported() const { return imported_; }
  uint64_t consistent_point() const { return consistent_point_; }

  // Consumer side (one thread at a time). The next row; nullopt at the deadline or
  // once every row was delivered (then delivered_all()). A reader's error once.
  absl::StatusOr<std::optional<Change>> Next(absl::Time deadline);
  bool delivered_all() const { return delivered_all_; }
  std::vector<TableSnapshotProgress> Progress() const;

  // The application acknowledged `change` (any thread). Acknowledging the last row,
  // or anything streamed after the snapshot, means the whole snapshot was handled.
  void Acked(const Change& change);
  void AckedPosition(uint64_t lsn);
  // Every row delivered and acknowledged, and Complete() not yet run.
  bool ReadyToComplete() const;
  // Marks the snapshot finished on the server (drops the marker slot; kInitial).
  absl::Status Complete();
  bool completed() const { return completed_; }

  void Cancel();

  // The slot that marks a kInitial snapshot as unfinished while it exists.
  static std::string MarkerSlotName(const std::string& slot_name);
  // SQL condition selecting pgcdc's marker slot in pg_replication_slots, and nothing
  // else of that name: pgcdc creates it physical and without reserved WAL, and an
  // unrelated consumer's slot of the same name must never be taken for it (or
  // dropped).
  static std::string MarkerCondition(const PgConnection& conn, const std::string& marker);

 private:
  struct Table {
    std::shared_ptr<const RelationInfo> relation;
    std::string copy_source;  // "ONLY s.t" / "s.t"
    std::string columns;      // quoted, comma-separated
    std::string row_filter;   // empty: none
    char relkind = 'r';
    int64_t block_size = 8192;
    int64_t blocks = 0;
    // A partitioned table (published through its root) is copied leaf by leaf.
    struct Leaf {
      std::string source;  // "ONLY s.leaf"
      char relkind = 'r';
      int64_t blocks = 0;
    };
    std::vector<Leaf> leaves;
    int chunks = 0;
    TableSnapshotProgress progress;  // consumer side
    int chunks_done = 0;             // consumer side
  };
  struct Chunk {
    size_t table = 0;
    uint32_t index = 0;
    int leaf = -1;             // -1: the table itself, else Table::leaves[leaf]
    int64_t first_block = -1;  // -1: the whole table
    int64_t end_block = -1;    // -1: to the end
  };
  struct Batch {
    size_t table = 0;
    std::vector<Change> rows;
    int64_t bytes = 0;
    bool chunk_end = false;
  };

  // Planning (snapshot_plan.cc).
  absl::Status CheckColumnLists(PgConnection& conn);
  absl::Status Plan(PgConnection& conn);
  absl::Status LockTables(PgConnection& conn,
                          const std::vector<std::shared_ptr<RelationInfo>>& relations);
  absl::Status LoadColumns(PgConnection& conn, const std::string& publications,
                           std::vector<std::shared_ptr<RelationInfo>>* relations);
  absl::Status ResolveCustomTypes(PgConnection& conn, const std::vector<uint32_t>& custom_types,
                                  std::vector<std::shared_ptr<RelationInfo>>* relations);
  absl::Status LoadLeaves(PgConnection& conn);
  void PlanChunks();
  void AddChunks(size_t table, int leaf, char relkind, int64_t blocks, uint32_t* index);
  std::string CopyCommand(const Chunk& chunk) const;
  void ReaderLoop(PgConnection* conn);
  absl::Status CopyChunk(PgConnection& conn, const Chunk& chunk);
  absl::Status Push(Batch batch);
  void Fail(absl::Status status);

  const SnapshotMode mode_;
  const std::string slot_name_;
  const std::vector<std::string> publications_;
  const int readers_;
  ConnectParams params_;
  LogSink log_sink_;
  bool describe_columns_;  // StreamOptions::describe_columns

  bool imported_ = false;
  uint64_t consistent_point_ = 0;
  std::vector<Table> tables_;
  std::vector<Chunk> chunks_;
  std::vector<std::unique_ptr<PgConnection>> conns_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_chunk_{0};
  std::atomic<bool> cancelled_{false};

  mutable absl::Mutex mu_;
  std::deque<Batch> queue_ ABSL_GUARDED_BY(mu_);
  int64_t queue_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool error_reported_ = false;

  // Consumer side.
  Batch current_;
  size_t position_ = 0;
  bool delivered_all_ = false;
  std::pair<uint32_t, uint64_t> last_delivered_{0, 0};

  mutable absl::Mutex ack_mu_;
  std::pair<uint32_t, uint64_t> last_acked_ ABSL_GUARDED_BY(ack_mu_){0, 0};
  bool acked_past_snapshot_ ABSL_GUARDED_BY(ack_mu_) = false;
  bool completed_ = false;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_SNAPSHOT_SNAPSHOT_READER_H_
