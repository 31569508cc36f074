#include "snapshot/snapshot_reader.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "internal/logging.h"
#include "internal/status_macros.h"
#include "internal/strings.h"
#include "record/change_data.h"
#include "record/row_builder.h"
#include "snapshot/copy_text.h"

namespace pgcdc::internal {
namespace {

// A batch is handed to the consumer at this many rows or COPY bytes; the queue holds
// at most kMaxQueueBytes (decoded records take about as much again).
constexpr size_t kBatchRows = 512;
constexpr int64_t kBatchBytes = 256 << 10;
constexpr int64_t kMaxQueueBytes = 16 << 20;

}  // namespace

SnapshotReader::SnapshotReader(const StreamOptions& options)
    : mode_(options.snapshot),
      slot_name_(options.slot_name),
      publications_(options.publications),
      readers_(options.snapshot_readers),
      log_sink_(options.log_sink),
      describe_columns_(options.describe_columns) {
  params_.dsn = options.dsn;
  params_.application_name = options.application_name;
  params_.connect_timeout = options.connect_timeout;
  params_.replication = false;
}

SnapshotReader::~SnapshotReader() {
  Cancel();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::string SnapshotReader::MarkerSlotName(const std::string& slot_name) {
  return absl::StrCat(slot_name, "_snapshot");
}

std::string SnapshotReader::MarkerCondition(const PgConnection& conn, const std::string& marker) {
  return absl::StrCat("slot_name = ", conn.QuoteLiteral(marker),
                      " AND slot_type = 'physical' AND restart_lsn IS NULL AND NOT temporary");
}

absl::StatusOr<bool> SnapshotReader::Prepare(PgConnection& conn, bool slot_exists) {
  if (mode_ == SnapshotMode::kInitialOnly) {
    if (slot_exists) {
      return absl::AlreadyExistsError(absl::StrCat(
          "replication slot \"", slot_name_,
          "\" already exists; snapshot = initial_only "
          "copies the tables through a temporary slot of that name. Use another slot name, "
          "or drop the slot if it is unused: SELECT pg_drop_replication_slot('",
          slot_name_, "')"));
    }
    PGCDC_RETURN_IF_ERROR(CheckColumnLists(conn));
    return true;
  }
  const std::string marker = MarkerSlotName(slot_name_);
  PGCDC_ASSIGN_OR_RETURN(
      QueryResult r,
      conn.Query(absl::StrCat(
          "SELECT ", MarkerCondition(conn, marker),
          " FROM pg_catalog.pg_replication_slots WHERE slot_name = ", conn.QuoteLiteral(marker))));
  const bool unfinished = !r.rows.empty() && r.rows[0][0] == "t";
  if (!r.rows.empty() && !unfinished && !slot_exists) {
    return WithSqlState(
        absl::AlreadyExistsError(absl::StrCat(
            "replication slot \"", marker,
            "\" exists and is not pgcdc's: snapshot = "
            "initial keeps a marker slot of that name while the snapshot runs. Use another "
            "slot_name for pgcdc, or rename the other consumer's slot")),
        "42710");
  }
  if (slot_exists && !unfinished) {
    Log(log_sink_, LogLevel::kInfo,
        absl::StrCat("the initial snapshot of slot ", slot_name_,
                     " finished earlier; resuming the stream (drop the slot to snapshot "
                     "again)"));
    return false;
  }
  // Before any slot is created or dropped; Plan() checks again inside the snapshot.
  PGCDC_RETURN_IF_ERROR(CheckColumnLists(conn));
  if (slot_exists) {
    Log(log_sink_, LogLevel::kWarning,
        absl::StrCat("the initial snapshot of slot ", slot_name_,
                     " was interrupted; dropping the slot and starting the snapshot over"));
    PGCDC_RETURN_IF_ERROR(
        conn.Exec(absl::StrCat("DROP_REPLICATION_SLOT ", conn.QuoteIdentifier(slot_name_))));
  } else if (!unfinished) {
    // A physical slot without reserved WAL holds back nothing; it exists only until
    // the application acknowledged the last snapshot row (Complete()).
    PGCDC_RETURN_IF_ERROR(conn.Exec(
        absl::StrCat("CREATE_REPLICATION_SLOT ", conn.QuoteIdentifier(marker), " PHYSICAL")));
  }
  return true;
}

absl::Status SnapshotReader::Import(const std::string& snapshot_name, uint64_t consistent_point) {
  consistent_point_ = consistent_point;
  for (int i = 0; i < readers_; ++i) {
    PGCDC_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, PgConnection::Connect(params_));
    PGCDC_RETURN_IF_ERROR(conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    PGCDC_RETURN_IF_ERROR(
        conn->Exec(absl::StrCat("SET TRANSACTION SNAPSHOT ", conn->QuoteLiteral(snapshot_name))));
    conns_.push_back(std::move(conn));
  }
  // The replication connection may go on now; planning reads the catalog as of the
  // snapshot on the first reader connection.
  PGCDC_RETURN_IF_ERROR(Plan(*conns_[0]));
  PlanChunks();
  imported_ = true;
  {
    absl::MutexLock lock(&mu_);
    running_ = readers_;
  }
  for (int i = 0; i < readers_; ++i) {
    threads_.emplace_back([this, conn = conns_[i].get()] { ReaderLoop(conn); });
  }
  int64_t rows = 0;
  for (const Table& t : tables_) rows += std::max<int64_t>(0, t.progress.rows_estimate);
  Log(log_sink_, LogLevel::kInfo,
      absl::StrCat("initial snapshot at ", Lsn(consistent_point).ToString(), ": ", tables_.size(),
                   " tables (about ", rows, " rows) in ", chunks_.size(), " chunks with ", readers_,
                   " readers"));
  return absl::OkStatus();
}

void SnapshotReader::ReaderLoop(PgConnection* conn) {
  for (;;) {
    const size_t i = next_chunk_.fetch_add(1);
    if (i >= chunks_.size() || cancelled_.load()) break;
    if (absl::Status s = CopyChunk(*conn, chunks_[i]); !s.ok()) {
      Fail(std::move(s));
      break;
    }
  }
  if (conn == conns_[0].get()) {
    // This connection holds the table locks (LockTables, taken while planning): its
    // transaction ends last, so TRUNCATE stays out until every reader is done.
    absl::MutexLock lock(&mu_);
    auto others_done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return running_ == 1 || cancelled_.load();
    };
    mu_.Await(absl::Condition(&others_done));
  }
  (void)conn->Exec(cancelled_.load() ? "ROLLBACK" : "COMMIT");
  absl::MutexLock lock(&mu_);
  --running_;
}

absl::Status SnapshotReader::CopyChunk(PgConnection& conn, const Chunk& chunk) {
  const Table& table = tables_[chunk.table];
  const RelationInfo& info = *table.relation;
  const size_t ncols = info.columns.size();
  Batch batch{chunk.table, {}, 0, false};
  batch.rows.reserve(kBatchRows);
  TupleData tuple;
  std::string scratch;
  uint64_t row = 0;
  const uint64_t locator_base = static_cast<uint64_t>(chunk.index) << 40;
  absl::Status status = conn.CopyOut(CopyCommand(chunk), [&](std::string_view line) {
    if (cancelled_.load(std::memory_order_relaxed))
      return absl::CancelledError("snapshot canceled");
    PGCDC_RETURN_IF_ERROR(SplitCopyRow(line, ncols, &tuple, &scratch));
    auto data = std::make_unique<ChangeData>();
    data->relation = table.relation;
    data->op = Operation::kRead;
    data->relation_oid = info.oid;
    data->lsn = data->commit_lsn = data->end_lsn = consistent_point_;
    data->row_locator = locator_base | row++;
    data->values.reserve(ncols);
    data->bytes.reserve(line.size());
    PGCDC_ASSIGN_OR_RETURN(RowSlots row, BuildRow(info, tuple, /*key_only=*/false, data.get()));
    data->new_first = row.first;
    data->new_size = row.size;
    batch.rows.push_back(ChangeData::Wrap(std::move(data)));
    batch.bytes += static_cast<int64_t>(line.size());
    if (batch.rows.size() >= kBatchRows || batch.bytes >= kBatchBytes) {
      PGCDC_RETURN_IF_ERROR(Push(std::exchange(batch, Batch{chunk.table, {}, 0, false})));
      batch.rows.reserve(kBatchRows);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("initial snapshot of ", info.schema, ".",
                                                    info.table, ": ", status.message()));
  }
  batch.chunk_end = true;
  return Push(std::move(batch));
}

absl::Status SnapshotReader::Push(Batch batch) {
  absl::MutexLock lock(&mu_);
  auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_bytes_ < kMaxQueueBytes || cancelled_.load();
  };
  mu_.Await(absl::Condition(&room));
  if (cancelled_.load()) return absl::CancelledError("snapshot canceled");
  queue_bytes_ += batch.bytes;
  queue_.push_back(std::move(batch));
  return absl::OkStatus();
}

void SnapshotReader::Fail(absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (status.code() == absl::StatusCode::kCancelled && cancelled_.load()) return;
  if (error_.ok()) error_ = std::move(status);
  cancelled_.store(true);
}

void SnapshotReader::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_.store(true);
}

absl::StatusOr<std::optional<Change>> SnapshotReader::Next(absl::Time deadline) {
  while (!delivered_all_) {
    if (position_ < current_.rows.size()) {
      Change change = std::move(current_.rows[position_++]);
      last_delivered_ = {change.relation_oid(), ChangeData::Of(change).row_locator};
      return std::optional<Change>(std::move(change));
    }
    if (current_.chunk_end) {
      current_.chunk_end = false;
      Table& t = tables_[current_.table];
      t.progress.done = ++t.chunks_done >= t.chunks;
    }
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || !error_.ok() || running_ == 0;
      };
      mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
      if (!error_.ok()) {
        if (error_reported_) return absl::CancelledError("the snapshot failed before");
        error_reported_ = true;
        return error_;
      }
      if (queue_.empty()) {
        if (running_ == 0) {
          delivered_all_ = !cancelled_.load();
          if (!delivered_all_) return absl::CancelledError("the snapshot was canceled");
        }
        return std::optional<Change>();
      }
      current_ = std::move(queue_.front());
      queue_.pop_front();
      queue_bytes_ -= current_.bytes;
    }
    position_ = 0;
    Table& t = tables_[current_.table];
    t.progress.rows_done += static_cast<int64_t>(current_.rows.size());
    t.progress.bytes_done += current_.bytes;
  }
  return std::optional<Change>();
}

std::vector<TableSnapshotProgress> SnapshotReader::Progress() const {
  std::vector<TableSnapshotProgress> out;
  out.reserve(tables_.size());
  for (const Table& t : tables_) out.push_back(t.progress);
  return out;
}

void SnapshotReader::Acked(const Change& change) {
  absl::MutexLock lock(&ack_mu_);
  if (change.op() == Operation::kRead) {
    last_acked_ = {change.relation_oid(), ChangeData::Of(change).row_locator};
  } else {
    acked_past_snapshot_ = true;  // streamed changes come after every snapshot row
  }
}

void SnapshotReader::AckedPosition(uint64_t lsn) {
  absl::MutexLock lock(&ack_mu_);
  if (lsn > consistent_point_) acked_past_snapshot_ = true;
}

bool SnapshotReader::ReadyToComplete() const {
  if (!delivered_all_ || completed_) return false;
  absl::MutexLock lock(&ack_mu_);
  const bool none = last_delivered_ == std::pair<uint32_t, uint64_t>{0, 0};
  return none || acked_past_snapshot_ || last_acked_ == last_delivered_;
}

absl::Status SnapshotReader::Complete() {
  completed_ = true;
  if (mode_ != SnapshotMode::kInitial) return absl::OkStatus();
  PGCDC_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, PgConnection::Connect(params_));
  const std::string marker = MarkerSlotName(slot_name_);
  PGCDC_RETURN_IF_ERROR(conn->Exec(absl::StrCat(
      "SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots "
      "WHERE ",
      MarkerCondition(*conn, marker))));
  Log(log_sink_, LogLevel::kInfo,
      absl::StrCat("initial snapshot of slot ", slot_name_, " complete"));
  return absl::OkStatus();
}

}  // namespace pgcdc::internal
