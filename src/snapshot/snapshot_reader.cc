#include "snapshot/snapshot_reader.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "internal/logging.h"
#include "internal/status_macros.h"
#include "internal/strings.h"
#include "model/change_data.h"
#include "model/row_builder.h"
#include "model/value_decoder.h"
#include "snapshot/copy_text.h"

namespace pgcdc::internal {
namespace {

// A batch is handed to the consumer at this many rows or COPY bytes; the queue holds
// at most kMaxQueueBytes (decoded records take about as much again).
constexpr size_t kBatchRows = 512;
constexpr int64_t kBatchBytes = 256 << 10;
constexpr int64_t kMaxQueueBytes = 16 << 20;
// Tables from kSplitBlocks on are copied in block ranges of at least kMinChunkBlocks
// (8 kB blocks: 16 MB and 8 MB), about four per reader, so readers share big tables.
constexpr int64_t kSplitBlocks = 2048;
constexpr int64_t kMinChunkBlocks = 1024;

int64_t ToInt64(const std::optional<std::string>& text, int64_t fallback) {
  int64_t value = fallback;
  if (text && !absl::SimpleAtoi(*text, &value)) value = fallback;
  return value;
}

}  // namespace

SnapshotReader::SnapshotReader(const StreamOptions& options)
    : mode_(options.snapshot),
      slot_name_(options.slot_name),
      publications_(options.publications),
      readers_(options.snapshot_readers),
      log_sink_(options.log_sink) {
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

absl::StatusOr<bool> SnapshotReader::Prepare(PgConnection& conn, bool slot_exists) {
  if (mode_ == SnapshotMode::kInitialOnly) {
    if (slot_exists) {
      return absl::AlreadyExistsError(absl::StrCat(
          "replication slot \"", slot_name_, "\" already exists; snapshot = initial_only "
          "copies the tables through a temporary slot of that name. Use another slot name, "
          "or drop the slot if it is unused: SELECT pg_drop_replication_slot('", slot_name_,
          "')"));
    }
    return true;
  }
  const std::string marker = MarkerSlotName(slot_name_);
  PGCDC_ASSIGN_OR_RETURN(QueryResult r,
                         conn.Query(absl::StrCat("SELECT 1 FROM pg_replication_slots WHERE "
                                                 "slot_name = ",
                                                 conn.QuoteLiteral(marker))));
  const bool unfinished = !r.rows.empty();
  if (slot_exists && !unfinished) {
    Log(log_sink_, LogLevel::kInfo,
        absl::StrCat("the initial snapshot of slot ", slot_name_,
                     " finished earlier; resuming the stream (drop the slot to snapshot "
                     "again)"));
    return false;
  }
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

absl::Status SnapshotReader::Import(const std::string& snapshot_name,
                                    uint64_t consistent_point) {
  consistent_point_ = consistent_point;
  for (int i = 0; i < readers_; ++i) {
    PGCDC_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, PgConnection::Connect(params_));
    PGCDC_RETURN_IF_ERROR(conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    PGCDC_RETURN_IF_ERROR(conn->Exec(
        absl::StrCat("SET TRANSACTION SNAPSHOT ", conn->QuoteLiteral(snapshot_name))));
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
      absl::StrCat("initial snapshot at ", Lsn(consistent_point).ToString(), ": ",
                   tables_.size(), " tables (about ", rows, " rows) in ", chunks_.size(),
                   " chunks with ", readers_, " readers"));
  return absl::OkStatus();
}

absl::Status SnapshotReader::Plan(PgConnection& conn) {
  std::vector<std::string> literals;
  for (const std::string& p : publications_) literals.push_back(conn.QuoteLiteral(p));
  const std::string pubs = absl::StrJoin(literals, ",");
  // Row filters (PG15) are OR-ed across publications; a publication without one for
  // the table (or FOR ALL TABLES / TABLES IN SCHEMA) means no filter (pgoutput.md §11).
  const bool pg15 = conn.server_version() >= 150000;
  PGCDC_ASSIGN_OR_RETURN(
      QueryResult r,
      conn.Query(absl::StrCat(
          "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relreplident, "
          "c.reltuples::bigint, pg_catalog.pg_relation_size(c.oid), "
          "current_setting('block_size')::bigint, "
          "pg_catalog.has_table_privilege(c.oid, 'SELECT'), ",
          pg15 ? "bool_or(pt.rowfilter IS NULL), "
                 "string_agg('(' || pt.rowfilter || ')', ' OR ') "
               : "true, NULL ",
          "FROM pg_catalog.pg_publication_tables pt "
          "JOIN pg_catalog.pg_namespace n ON n.nspname = pt.schemaname "
          "JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename "
          "WHERE pt.pubname IN (", pubs, ") GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 7 DESC, 1")));
  std::vector<uint32_t> oids;
  std::vector<std::string> denied;
  std::vector<std::shared_ptr<RelationInfo>> relations;
  for (const auto& row : r.rows) {
    auto info = std::make_shared<RelationInfo>();
    info->oid = static_cast<uint32_t>(ToInt64(row[0], 0));
    info->schema = row[1].value_or("");
    info->table = row[2].value_or("");
    info->replica_identity = row[4].value_or("d")[0];
    const std::string quoted =
        absl::StrCat(conn.QuoteIdentifier(info->schema), ".", conn.QuoteIdentifier(info->table));
    if (row[8].value_or("f") != "t") denied.push_back(quoted);
    Table& t = tables_.emplace_back();
    t.relkind = row[3].value_or("r")[0];
    t.copy_source = t.relkind == 'p' ? quoted : absl::StrCat("ONLY ", quoted);
    if (row[9].value_or("t") != "t") t.row_filter = row[10].value_or("");
    const int64_t block_size = std::max<int64_t>(1, ToInt64(row[7], 8192));
    const int64_t bytes = ToInt64(row[6], -1);
    t.blocks = bytes < 0 ? 0 : (bytes + block_size - 1) / block_size;
    t.progress.schema = info->schema;
    t.progress.table = info->table;
    t.progress.rows_estimate = ToInt64(row[5], -1);
    t.progress.bytes_estimate = t.relkind == 'p' ? -1 : bytes;
    oids.push_back(info->oid);
    relations.push_back(std::move(info));
  }
  if (!denied.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the initial snapshot needs SELECT on the published tables ",
        absl::StrJoin(denied, ", "), ": GRANT SELECT ON ", absl::StrJoin(denied, ", "),
        " TO <the role in the DSN>"));
  }
  if (oids.empty()) return absl::OkStatus();
  // Like pg_dump: TRUNCATE and ALTER TABLE are not MVCC-safe, so keep them out until the
  // snapshot ends (the lock lasts as long as this reader's transaction).
  std::vector<std::string> names;
  for (const auto& rel : relations) {
    names.push_back(
        absl::StrCat(conn.QuoteIdentifier(rel->schema), ".", conn.QuoteIdentifier(rel->table)));
  }
  PGCDC_RETURN_IF_ERROR(
      conn.Exec(absl::StrCat("LOCK TABLE ", absl::StrJoin(names, ", "), " IN ACCESS SHARE MODE")));
  PGCDC_RETURN_IF_ERROR(LoadColumns(conn, oids, pubs, &relations));
  for (size_t i = 0; i < tables_.size(); ++i) {
    std::vector<std::string> names;
    for (const RelationInfo::Column& c : relations[i]->columns) {
      names.push_back(conn.QuoteIdentifier(c.name));
    }
    tables_[i].columns = absl::StrJoin(names, ", ");
    tables_[i].relation = std::move(relations[i]);
  }
  return absl::OkStatus();
}

absl::Status SnapshotReader::LoadColumns(PgConnection& conn, const std::vector<uint32_t>& oids,
                                         const std::string& pubs,
                                         std::vector<std::shared_ptr<RelationInfo>>* relations) {
  // The columns pgoutput sends: not dropped, not generated, in the publications'
  // column lists (attnames lists every column when a publication has no list); the
  // key flag as in its Relation message: replica identity columns, all for FULL.
  const bool pg15 = conn.server_version() >= 150000;
  PGCDC_ASSIGN_OR_RETURN(
      QueryResult r,
      conn.Query(absl::StrCat(
          "SELECT a.attrelid, a.attname, a.atttypid, "
          "coalesce(c.relreplident = 'f' OR a.attnum = ANY(i.indkey), false) "
          "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
          "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
          "LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND "
          "((c.relreplident = 'd' AND i.indisprimary) OR "
          "(c.relreplident = 'i' AND i.indisreplident)) "
          "WHERE a.attrelid IN (", absl::StrJoin(oids, ","), ") AND a.attnum > 0 AND NOT "
          "a.attisdropped AND a.attgenerated = '' ",
          pg15 ? absl::StrCat("AND EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables pt "
                              "WHERE pt.pubname IN (", pubs, ") AND pt.schemaname = n.nspname "
                              "AND pt.tablename = c.relname AND a.attname = ANY(pt.attnames)) ")
               : "",
          "ORDER BY a.attrelid, a.attnum")));
  std::vector<uint32_t> custom_types;
  for (const auto& row : r.rows) {
    const uint32_t oid = static_cast<uint32_t>(ToInt64(row[0], 0));
    const uint32_t type = static_cast<uint32_t>(ToInt64(row[2], 0));
    for (auto& rel : *relations) {
      if (rel->oid != oid) continue;
      // OIDs below 10000 are built-in types, decoded by their own OID (as the stream).
      rel->columns.push_back({row[1].value_or(""), type, type < 10000 ? type : 0,
                              row[3].value_or("f") == "t"});
      if (type >= 10000) custom_types.push_back(type);
    }
  }
  if (custom_types.empty()) return absl::OkStatus();
  // A domain is decoded as its (built-in) base type, like the stream does with the
  // Type message pgoutput sends for it; other user types stay text.
  PGCDC_ASSIGN_OR_RETURN(
      QueryResult types,
      conn.Query(absl::StrCat(
          "WITH RECURSIVE b(oid, base, depth) AS (SELECT oid, oid, 0 FROM pg_catalog.pg_type "
          "WHERE oid IN (", absl::StrJoin(custom_types, ","), ") UNION ALL SELECT b.oid, "
          "t.typbasetype, b.depth + 1 FROM b JOIN pg_catalog.pg_type t ON t.oid = b.base "
          "WHERE t.typtype = 'd' AND b.depth < 32) "
          "SELECT DISTINCT ON (b.oid) b.oid, t.typnamespace = 'pg_catalog'::regnamespace, "
          "t.typname FROM b JOIN pg_catalog.pg_type t ON t.oid = b.base "
          "ORDER BY b.oid, b.depth DESC")));
  for (const auto& row : types.rows) {
    const uint32_t type = static_cast<uint32_t>(ToInt64(row[0], 0));
    uint32_t decode = 0;
    if (row[1].value_or("f") == "t") decode = BuiltinTypeOidByName(row[2].value_or("")).value_or(0);
    for (auto& rel : *relations) {
      for (RelationInfo::Column& c : rel->columns) {
        if (c.type_oid == type) c.decode_oid = decode;
      }
    }
  }
  return absl::OkStatus();
}

void SnapshotReader::PlanChunks() {
  // Largest tables first (Plan sorted them): their chunks start early, small tables
  // fill in at the end, so readers finish at about the same time.
  for (size_t i = 0; i < tables_.size(); ++i) {
    Table& t = tables_[i];
    const bool split = t.relkind == 'r' && readers_ > 1 && t.blocks >= kSplitBlocks;
    if (!split) {
      chunks_.push_back({i, 0, -1, -1});
      t.chunks = 1;
      continue;
    }
    const int64_t per_chunk =
        std::max(kMinChunkBlocks, (t.blocks + readers_ * 4 - 1) / (readers_ * 4));
    uint32_t index = 0;
    for (int64_t first = 0; first < t.blocks; first += per_chunk) {
      // The last range is open: the table may have grown since its size was read
      // (rows there are invisible to the snapshot, but cost nothing to skip).
      const int64_t end = first + per_chunk >= t.blocks ? -1 : first + per_chunk;
      chunks_.push_back({i, index++, first, end});
    }
    t.chunks = static_cast<int>(index);
  }
}

std::string SnapshotReader::CopyCommand(const Chunk& chunk) const {
  const Table& t = tables_[chunk.table];
  std::vector<std::string> where;
  // PG14+ scans `ctid >= '(a,0)' AND ctid < '(b,0)'` with a TID range scan.
  if (chunk.first_block >= 0) where.push_back(absl::StrCat("ctid >= '(", chunk.first_block, ",0)'"));
  if (chunk.end_block >= 0) where.push_back(absl::StrCat("ctid < '(", chunk.end_block, ",0)'"));
  if (!t.row_filter.empty()) where.push_back(absl::StrCat("(", t.row_filter, ")"));
  if (where.empty() && t.relkind == 'r') {
    // The plain form is the fastest: no executor between the heap and COPY.
    return absl::StrCat("COPY ", t.copy_source.substr(5), " (", t.columns, ") TO STDOUT");
  }
  return absl::StrCat("COPY (SELECT ", t.columns, " FROM ", t.copy_source,
                      where.empty() ? "" : " WHERE ", absl::StrJoin(where, " AND "),
                      ") TO STDOUT");
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
    if (cancelled_.load(std::memory_order_relaxed)) return absl::CancelledError("snapshot canceled");
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
      "WHERE slot_name = ", conn->QuoteLiteral(marker))));
  Log(log_sink_, LogLevel::kInfo,
      absl::StrCat("initial snapshot of slot ", slot_name_, " complete"));
  return absl::OkStatus();
}

}  // namespace pgcdc::internal
