#include "model/change_assembler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "internal/status_macros.h"
#include "internal/strings.h"
#include "model/row_builder.h"
#include "protocol/pgoutput_decoder.h"

namespace pgcdc::internal {
namespace {

// PostgreSQL timestamps count microseconds from 2000-01-01; records use the Unix epoch.
constexpr int64_t kPgEpochUnixMicros = 946684800000000;

std::unique_ptr<ChangeData> NewChange(Operation op, uint64_t lsn) {
  auto data = std::make_unique<ChangeData>();
  data->op = op;
  data->lsn = lsn;
  return data;
}

size_t TupleBytes(const TupleData& tuple) {
  size_t bytes = 0;
  for (const TupleColumn& column : tuple.columns) bytes += column.data.size();
  return bytes;
}

// Relation and Type messages of a rolled-back subtransaction stay: the server
// considers them sent for the whole streamed transaction and will not repeat them.
bool IsSchemaMessage(std::string_view payload) {
  return !payload.empty() && (payload[0] == 'R' || payload[0] == 'Y');
}

// Inside a stream block every message carries the xid of the (sub)transaction that
// made it.
std::optional<uint32_t> StreamedMessageXid(const PgoutputMessage& message) {
  if (const auto* m = std::get_if<Insert>(&message)) return m->xid;
  if (const auto* m = std::get_if<Update>(&message)) return m->xid;
  if (const auto* m = std::get_if<Delete>(&message)) return m->xid;
  if (const auto* m = std::get_if<Truncate>(&message)) return m->xid;
  if (const auto* m = std::get_if<LogicalMessage>(&message)) return m->xid;
  if (const auto* m = std::get_if<Relation>(&message)) return m->xid;
  if (const auto* m = std::get_if<Type>(&message)) return m->xid;
  return std::nullopt;
}

}  // namespace

struct ChangeAssembler::Replay {
  uint32_t xid = 0;
  uint64_t commit_lsn = 0;
  uint64_t end_lsn = 0;
  int64_t commit_time_us = 0;
  FrameStore frames;
  FrameStore::Reader reader{&frames};  // Replay lives behind a pointer: never moves
  uint32_t ordinal = 0;
  std::unique_ptr<ChangeData> held;  // one change of lookahead: is it the last?
  // Streamed: its messages carry xids, and its Relation messages count for the
  // session from its commit on. Otherwise (a prepared transaction sent as one block)
  // neither.
  bool streamed = true;
};

ChangeAssembler::ChangeAssembler(int proto_version, AssemblerLimits limits)
    : proto_version_(proto_version), limits_(std::move(limits)) {}
ChangeAssembler::~ChangeAssembler() = default;

uint64_t ChangeAssembler::spilled_bytes() const {
  uint64_t total = 0;
  for (const auto& [xid, store] : streams_) total += store.size_bytes() - store.memory_bytes();
  return total;
}

absl::Status ChangeAssembler::Process(const XLogData& frame, std::deque<Change>* ready) {
  if (replay_) {
    return absl::InternalError("ChangeAssembler::Process while a transaction is replayed");
  }
  PGCDC_ASSIGN_OR_RETURN(PgoutputMessage message,
                         DecodePgoutput(frame.payload, proto_version_, in_stream_));
  return Handle(message, frame, ready);
}

absl::Status ChangeAssembler::Handle(const PgoutputMessage& message, const XLogData& frame,
                                     std::deque<Change>* ready) {
  if (const auto* m = std::get_if<LogicalMessage>(&message); m && !m->transactional()) {
    return HandleMessage(*m, ready);
  }
  if ((in_stream_ || prepare_block_) && (std::holds_alternative<Insert>(message) ||
                     std::holds_alternative<Update>(message) ||
                     std::holds_alternative<Delete>(message) ||
                     std::holds_alternative<Truncate>(message) ||
                     std::holds_alternative<LogicalMessage>(message) ||
                     std::holds_alternative<Relation>(message) ||
                     std::holds_alternative<Type>(message))) {
    return Buffer(message, frame);
  }
  if (const auto* m = std::get_if<Relation>(&message)) {
    relations_.Apply(*m, std::nullopt);
    return absl::OkStatus();
  }
  if (const auto* m = std::get_if<Type>(&message)) {
    relations_.Apply(*m, std::nullopt);
    return absl::OkStatus();
  }
  if (std::holds_alternative<Insert>(message) || std::holds_alternative<Update>(message) ||
      std::holds_alternative<Delete>(message) || std::holds_alternative<Truncate>(message) ||
      std::holds_alternative<LogicalMessage>(message)) {
    if (!open_) {
      const char* what = std::holds_alternative<Insert>(message)   ? "Insert"
                         : std::holds_alternative<Update>(message) ? "Update"
                         : std::holds_alternative<Delete>(message) ? "Delete"
                         : std::holds_alternative<Truncate>(message) ? "Truncate"
                                                                     : "Message";
      return absl::DataLossError(absl::StrCat("pgoutput ", what, " outside a transaction"));
    }
    std::deque<std::unique_ptr<ChangeData>> built;
    PGCDC_RETURN_IF_ERROR(BuildChanges(message, frame.data_start, std::nullopt, &built));
    for (auto& change : built) Append(std::move(change), ready);
    return absl::OkStatus();
  }
  if (const auto* m = std::get_if<Begin>(&message)) return HandleBegin(*m);
  if (const auto* m = std::get_if<Commit>(&message)) return HandleCommit(*m, ready);
  if (std::holds_alternative<Origin>(message)) return absl::OkStatus();
  if (const auto* m = std::get_if<StreamStart>(&message)) return HandleStreamStart(*m);
  if (std::holds_alternative<StreamStop>(message)) {
    if (!in_stream_) return absl::DataLossError("pgoutput Stream Stop outside a stream block");
    in_stream_ = false;
    return absl::OkStatus();
  }
  if (const auto* m = std::get_if<StreamCommit>(&message)) return HandleStreamCommit(*m);
  if (const auto* m = std::get_if<StreamAbort>(&message)) return HandleStreamAbort(*m);
  if (const auto* m = std::get_if<BeginPrepare>(&message)) return HandleBeginPrepare(*m);
  if (const auto* m = std::get_if<StreamPrepare>(&message)) return HandlePrepare(*m, true);
  if (const auto* m = std::get_if<Prepare>(&message)) return HandlePrepare(*m, false);
  if (const auto* m = std::get_if<CommitPrepared>(&message)) return HandleCommitPrepared(*m);
  if (const auto* m = std::get_if<RollbackPrepared>(&message)) {
    return HandleRollbackPrepared(*m);
  }
  return absl::InternalError("unhandled pgoutput message");
}

absl::Status ChangeAssembler::HandleBeginPrepare(const BeginPrepare& begin) {
  if (open_ || in_stream_ || prepare_block_) {
    return absl::DataLossError("pgoutput Begin Prepare inside an unfinished transaction");
  }
  prepare_block_ = std::make_unique<Prepared>();
  prepare_block_->xid = begin.xid;
  prepare_block_->prepare_lsn = begin.prepare_lsn;
  prepare_block_gid_ = begin.gid;
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandlePrepare(const Prepare& prepare, bool streamed) {
  Prepared txn;
  if (streamed) {  // Stream Prepare: the streamed transaction's chunks are complete
    if (in_stream_ || open_ || prepare_block_) {
      return absl::DataLossError("pgoutput Stream Prepare inside a block or transaction");
    }
    txn.streamed = true;
    if (auto it = streams_.find(prepare.xid); it != streams_.end()) {
      txn.frames = std::move(it->second);
      streams_.erase(it);
    }
  } else {
    if (!prepare_block_ || prepare_block_->xid != prepare.xid) {
      return absl::DataLossError("pgoutput Prepare without its Begin Prepare");
    }
    txn = std::move(*prepare_block_);
    prepare_block_.reset();
  }
  txn.xid = prepare.xid;
  txn.prepare_lsn = prepare.prepare_lsn;
  // A gid prepared again (after a restart re-sent it) replaces the stale copy.
  prepared_.insert_or_assign(prepare.gid, std::move(txn));
  return LimitMemory();
}

absl::Status ChangeAssembler::HandleCommitPrepared(const CommitPrepared& commit) {
  auto it = prepared_.find(commit.gid);
  if (it == prepared_.end()) {
    return absl::DataLossError(absl::StrCat(
        "COMMIT PREPARED of \"", commit.gid, "\" arrived but its PREPARE was not received: "
        "the slot was confirmed past the PREPARE by another consumer or without two_phase"));
  }
  replay_ = std::make_unique<Replay>();
  replay_->xid = it->second.xid;
  replay_->commit_lsn = commit.commit_lsn;
  replay_->end_lsn = commit.end_lsn;
  replay_->commit_time_us = commit.commit_time + kPgEpochUnixMicros;
  // A streamed transaction's Relation messages were only stored: apply them for the
  // session once it committed. Otherwise they were applied on arrival already.
  replay_->streamed = it->second.streamed;
  buffered_bytes_ -= it->second.frames.memory_bytes();
  replay_->frames = std::move(it->second.frames);
  prepared_.erase(it);
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleRollbackPrepared(const RollbackPrepared& rollback) {
  if (auto it = prepared_.find(rollback.gid); it != prepared_.end()) {
    buffered_bytes_ -= it->second.frames.memory_bytes();
    if (it->second.streamed) relations_.AbortStream(it->second.xid);
    prepared_.erase(it);
  }
  return absl::OkStatus();
}

std::optional<uint64_t> ChangeAssembler::hold_lsn() const {
  std::optional<uint64_t> hold;
  for (const auto& [gid, txn] : prepared_) {
    if (!hold || txn.prepare_lsn < *hold) hold = txn.prepare_lsn;
  }
  if (prepare_block_ && (!hold || prepare_block_->prepare_lsn < *hold)) {
    hold = prepare_block_->prepare_lsn;
  }
  return hold;
}

absl::Status ChangeAssembler::HandleBegin(const Begin& begin) {
  if (open_ || in_stream_) {
    return absl::DataLossError("pgoutput Begin inside an unfinished transaction");
  }
  open_.emplace();
  open_->xid = begin.xid;
  open_->commit_lsn = begin.final_lsn;
  open_->commit_time = begin.commit_time;
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleCommit(const Commit& commit, std::deque<Change>* ready) {
  if (!open_) return absl::DataLossError("pgoutput Commit without Begin");
  if (commit.commit_lsn != open_->commit_lsn) {
    return absl::DataLossError(absl::StrCat("pgoutput Commit LSN ", commit.commit_lsn,
                                            " differs from its Begin's ", open_->commit_lsn));
  }
  Transaction txn = std::move(*open_);
  open_.reset();
  Deliver(std::move(txn), commit.end_lsn, commit.commit_time, ready);
  return absl::OkStatus();
}

void ChangeAssembler::Deliver(Transaction txn, uint64_t end_lsn, int64_t commit_time,
                              std::deque<Change>* ready) {
  const int64_t commit_time_us = commit_time + kPgEpochUnixMicros;
  const size_t n = txn.changes.size();
  for (size_t i = 0; i < n; ++i) {
    ChangeData& change = ChangeData::Mutable(txn.changes[i]);
    change.ordinal = txn.delivered + static_cast<uint32_t>(i);
    change.commit_lsn = txn.commit_lsn;
    change.end_lsn = end_lsn;
    change.xid = txn.xid;
    change.commit_time_us = commit_time_us;
    change.last_in_transaction = i + 1 == n;
  }
  if (ready->empty()) {
    ready->swap(txn.changes);
    return;
  }
  for (Change& change : txn.changes) ready->push_back(std::move(change));
}

// A transaction larger than the limit is handed out as it arrives, all but its latest
// change (which may turn out to be the last). Its Begin gave the commit LSN, time and
// xid; only the end of the commit record is unknown until the Commit.
void ChangeAssembler::Append(std::unique_ptr<ChangeData> change, std::deque<Change>* ready) {
  Transaction& txn = *open_;
  txn.changes.push_back(ChangeData::Wrap(std::move(change)));
  txn.bytes += txn.changes.back().ByteSize();
  if (txn.bytes <= limits_.max_buffered_bytes || txn.changes.size() < 2) return;
  const int64_t commit_time_us = txn.commit_time + kPgEpochUnixMicros;
  while (txn.changes.size() > 1) {
    ChangeData& data = ChangeData::Mutable(txn.changes.front());
    data.ordinal = txn.delivered++;
    data.commit_lsn = txn.commit_lsn;
    data.xid = txn.xid;
    data.commit_time_us = commit_time_us;
    ready->push_back(std::move(txn.changes.front()));
    txn.changes.pop_front();
  }
  txn.bytes = txn.changes.back().ByteSize();
}

absl::Status ChangeAssembler::BuildChanges(const PgoutputMessage& message, uint64_t lsn,
                                           std::optional<uint32_t> stream_xid,
                                           std::deque<std::unique_ptr<ChangeData>>* out) {
  if (const auto* m = std::get_if<Insert>(&message)) {
    PGCDC_ASSIGN_OR_RETURN(auto change, BuildRowChange(*m, lsn, stream_xid));
    out->push_back(std::move(change));
  } else if (const auto* m = std::get_if<Update>(&message)) {
    PGCDC_ASSIGN_OR_RETURN(auto change, BuildRowChange(*m, lsn, stream_xid));
    out->push_back(std::move(change));
  } else if (const auto* m = std::get_if<Delete>(&message)) {
    PGCDC_ASSIGN_OR_RETURN(auto change, BuildRowChange(*m, lsn, stream_xid));
    out->push_back(std::move(change));
  } else if (const auto* m = std::get_if<Truncate>(&message)) {
    // One record per table: each carries its own schema and table name.
    for (uint32_t relation_id : m->relation_ids) {
      const std::shared_ptr<const RelationInfo>* relation =
          relations_.Find(relation_id, stream_xid);
      if (relation == nullptr) {
        return absl::DataLossError(absl::StrCat("pgoutput Truncate of relation ", relation_id,
                                                " that no Relation message described"));
      }
      auto change = NewChange(Operation::kTruncate, lsn);
      change->relation = *relation;
      change->relation_oid = (*relation)->oid;
      change->truncate_cascade = (m->options & Truncate::kCascade) != 0;
      change->truncate_restart_identity = (m->options & Truncate::kRestartIdentity) != 0;
      out->push_back(std::move(change));
    }
  } else if (const auto* m = std::get_if<LogicalMessage>(&message)) {
    auto change = NewChange(Operation::kMessage, m->lsn);
    change->message_transactional = m->transactional();
    change->message_prefix_size = static_cast<uint32_t>(m->prefix.size());
    change->bytes.reserve(m->prefix.size() + m->content.size());
    change->bytes.append(m->prefix.data(), m->prefix.size());
    change->bytes.append(m->content.data(), m->content.size());
    out->push_back(std::move(change));
  }
  return absl::OkStatus();
}

template <typename RowMessage>
absl::StatusOr<std::unique_ptr<ChangeData>> ChangeAssembler::BuildRowChange(
    const RowMessage& message, uint64_t lsn, std::optional<uint32_t> stream_xid) {
  constexpr bool kInsert = std::is_same_v<RowMessage, Insert>;
  constexpr bool kUpdate = std::is_same_v<RowMessage, Update>;
  const std::shared_ptr<const RelationInfo>* relation =
      relations_.Find(message.relation_id, stream_xid);
  if (relation == nullptr) {
    return absl::DataLossError(absl::StrCat(
        "pgoutput ", kInsert ? "Insert" : kUpdate ? "Update" : "Delete", " for relation ",
        message.relation_id, " that no Relation message described"));
  }
  const RelationInfo& info = **relation;
  auto change = NewChange(kInsert   ? Operation::kInsert
                          : kUpdate ? Operation::kUpdate
                                    : Operation::kDelete,
                          lsn);
  change->relation = *relation;
  change->relation_oid = info.oid;
  change->values.reserve(info.columns.size() * (kUpdate ? 2 : 1));
  // Decoded values are never longer than their text in the message: one allocation.
  size_t text_bytes = 0;
  if constexpr (!kInsert) text_bytes += TupleBytes(message.old_tuple);
  if constexpr (!std::is_same_v<RowMessage, Delete>) text_bytes += TupleBytes(message.new_tuple);
  change->bytes.reserve(text_bytes);
  [[maybe_unused]] RowSlots old_row;
  if constexpr (!kInsert) {
    if (message.old_kind != OldTupleKind::kNone) {
      const bool key_only = message.old_kind == OldTupleKind::kKey;
      change->old_row_kind = key_only ? OldRowKind::kKey : OldRowKind::kFull;
      PGCDC_ASSIGN_OR_RETURN(old_row,
                             BuildRow(info, message.old_tuple, key_only, change.get()));
      change->old_first = old_row.first;
      change->old_size = old_row.size;
    }
  }
  if constexpr (!std::is_same_v<RowMessage, Delete>) {
    PGCDC_ASSIGN_OR_RETURN(RowSlots new_row,
                           BuildRow(info, message.new_tuple, false, change.get()));
    change->new_first = new_row.first;
    change->new_size = new_row.size;
    if constexpr (kUpdate) {
      if (change->old_row_kind == OldRowKind::kFull) {
        FillUnchangedFromOld(old_row, new_row, change.get());
      }
    }
  }
  return change;
}

absl::Status ChangeAssembler::HandleMessage(const LogicalMessage& message,
                                            std::deque<Change>* ready) {
  // Non-transactional: delivered at its WAL position, outside any transaction. Its LSN
  // is the END of the message's WAL record (DecodeLogicalMsg passes buf->endptr), while
  // a restart skips records that START before the confirmed position. So confirming
  // exactly `lsn` skips this message and keeps a transaction whose commit record
  // starts right after it (commit_lsn == lsn).
  std::deque<std::unique_ptr<ChangeData>> built;
  PGCDC_RETURN_IF_ERROR(BuildChanges(message, message.lsn, std::nullopt, &built));
  ChangeData& change = *built.front();
  change.commit_lsn = message.lsn;
  change.end_lsn = message.lsn;
  change.last_in_transaction = true;
  ready->push_back(ChangeData::Wrap(std::move(built.front())));
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleStreamStart(const StreamStart& start) {
  if (in_stream_ || open_) {
    return absl::DataLossError("pgoutput Stream Start inside another block or transaction");
  }
  in_stream_ = true;
  stream_xid_ = start.xid;
  if (start.first_segment) {
    // A first segment after a reconnect re-sends the transaction from its start:
    // anything buffered from the old session is stale (§4.8).
    if (auto it = streams_.find(start.xid); it != streams_.end()) {
      buffered_bytes_ -= it->second.memory_bytes();
      streams_.erase(it);
    }
    relations_.AbortStream(start.xid);
  }
  streams_.try_emplace(start.xid);
  return absl::OkStatus();
}

absl::Status ChangeAssembler::Buffer(const PgoutputMessage& message, const XLogData& frame) {
  uint32_t subxid = 0;
  FrameStore* target = nullptr;
  if (in_stream_) {
    subxid = StreamedMessageXid(message).value_or(stream_xid_);
    target = &streams_[stream_xid_];
  } else {
    // A prepared transaction's block is an ordinary one: its Relation and Type messages
    // count for the session at once, and are also kept to decode its rows later.
    if (const auto* m = std::get_if<Relation>(&message)) relations_.Apply(*m, std::nullopt);
    if (const auto* m = std::get_if<Type>(&message)) relations_.Apply(*m, std::nullopt);
    subxid = prepare_block_->xid;
    target = &prepare_block_->frames;
  }
  FrameStore& store = *target;
  const size_t before = store.memory_bytes();
  PGCDC_RETURN_IF_ERROR(store.Append(frame.data_start, subxid, frame.payload));
  buffered_bytes_ = buffered_bytes_ - before + store.memory_bytes();
  return LimitMemory();
}

// Like the server's reorder buffer: past the limit, the largest transaction spills.
absl::Status ChangeAssembler::LimitMemory() {
  while (buffered_bytes_ > limits_.max_buffered_bytes) {
    FrameStore* largest = nullptr;
    auto consider = [&largest](FrameStore& store) {
      if (largest == nullptr || store.memory_bytes() > largest->memory_bytes()) largest = &store;
    };
    for (auto& [xid, store] : streams_) consider(store);
    for (auto& [gid, txn] : prepared_) consider(txn.frames);
    if (prepare_block_) consider(prepare_block_->frames);
    if (largest == nullptr || largest->memory_bytes() == 0) break;
    const size_t before = largest->memory_bytes();
    PGCDC_RETURN_IF_ERROR(largest->Spill(limits_.spill_dir));
    buffered_bytes_ = buffered_bytes_ - before + largest->memory_bytes();
  }
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleStreamCommit(const StreamCommit& commit) {
  if (in_stream_ || open_) {
    return absl::DataLossError("pgoutput Stream Commit inside a stream block or transaction");
  }
  replay_ = std::make_unique<Replay>();
  replay_->xid = commit.xid;
  replay_->commit_lsn = commit.commit_lsn;
  replay_->end_lsn = commit.end_lsn;
  replay_->commit_time_us = commit.commit_time + kPgEpochUnixMicros;
  replay_->streamed = true;
  if (auto it = streams_.find(commit.xid); it != streams_.end()) {
    buffered_bytes_ -= it->second.memory_bytes();
    replay_->frames = std::move(it->second);
    streams_.erase(it);
  }
  return absl::OkStatus();
}

absl::Status ChangeAssembler::Produce(size_t max, std::deque<Change>* ready) {
  size_t produced = 0;
  std::deque<std::unique_ptr<ChangeData>> built;
  while (replay_ && produced < max) {
    Replay& r = *replay_;
    uint64_t lsn = 0;
    std::string_view payload;
    PGCDC_ASSIGN_OR_RETURN(const bool more, r.reader.Next(&lsn, &payload));
    if (more) {
      PGCDC_ASSIGN_OR_RETURN(PgoutputMessage message,
                             DecodePgoutput(payload, proto_version_, r.streamed));
      if (const auto* m = std::get_if<Relation>(&message)) {
        relations_.Apply(*m, r.xid);
        continue;
      }
      if (const auto* m = std::get_if<Type>(&message)) {
        relations_.Apply(*m, r.xid);
        continue;
      }
      // The xid keys the relations this transaction described (the stream overlay).
      PGCDC_RETURN_IF_ERROR(BuildChanges(message, lsn, r.xid, &built));
    }
    while (!built.empty() || (!more && r.held)) {
      if (r.held) {
        ChangeData& change = *r.held;
        change.ordinal = r.ordinal++;
        change.commit_lsn = r.commit_lsn;
        change.end_lsn = r.end_lsn;
        change.xid = r.xid;
        change.commit_time_us = r.commit_time_us;
        change.last_in_transaction = !more && built.empty();
        ready->push_back(ChangeData::Wrap(std::move(r.held)));
        ++produced;
      }
      if (!built.empty()) {
        r.held = std::move(built.front());
        built.pop_front();
      }
    }
    if (!more) {
      if (r.streamed) {
        relations_.CommitStream(r.xid);
      } else {
        relations_.AbortStream(r.xid);
      }
      replay_.reset();
    }
  }
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleStreamAbort(const StreamAbort& abort) {
  if (in_stream_) return absl::DataLossError("pgoutput Stream Abort inside a stream block");
  auto it = streams_.find(abort.xid);
  if (abort.subxid == abort.xid) {
    if (it != streams_.end()) {
      buffered_bytes_ -= it->second.memory_bytes();
      streams_.erase(it);
    }
    relations_.AbortStream(abort.xid);
    return absl::OkStatus();
  }
  if (it == streams_.end()) return absl::OkStatus();
  // ROLLBACK TO SAVEPOINT: drop from the subtransaction's first message on, which also
  // covers its nested children (what the built-in apply worker does), except schema
  // messages.
  const size_t before = it->second.memory_bytes();
  PGCDC_RETURN_IF_ERROR(it->second.DropFrom(abort.subxid, abort.xid, &IsSchemaMessage));
  buffered_bytes_ = buffered_bytes_ - before + it->second.memory_bytes();
  return absl::OkStatus();
}

}  // namespace pgcdc::internal
