#include "assembly/change_assembler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "internal/status_macros.h"
#include "internal/strings.h"
#include "protocol/pgoutput_decoder.h"
#include "record/row_builder.h"

namespace pgcdc::internal {
namespace {

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

// The messages that become changes (a non-transactional Message is delivered at once
// and never gets here), by name; nullptr for any other.
const char* DataMessageName(const PgoutputMessage& message) {
  if (std::holds_alternative<Insert>(message)) return "Insert";
  if (std::holds_alternative<Update>(message)) return "Update";
  if (std::holds_alternative<Delete>(message)) return "Delete";
  if (std::holds_alternative<Truncate>(message)) return "Truncate";
  if (std::holds_alternative<LogicalMessage>(message)) return "Message";
  return nullptr;
}

bool IsSchemaMessage(const PgoutputMessage& message) {
  return std::holds_alternative<Relation>(message) || std::holds_alternative<Type>(message);
}

// Every change of a transaction carries its position; `ordinal` is its place in it.
void Stamp(const CommitPosition& position, uint32_t ordinal, bool last, ChangeData* change) {
  change->gid = position.gid;
  change->ordinal = ordinal;
  change->commit_lsn = position.commit_lsn;
  change->end_lsn = position.end_lsn;
  change->xid = position.xid;
  change->commit_time_us = position.commit_time_us;
  change->last_in_transaction = last;
}

}  // namespace

struct ChangeAssembler::Replay {
  CommitPosition position;
  FrameStore frames;
  FrameStore::Reader reader{&frames};  // Replay lives behind a pointer: never moves
  uint32_t ordinal = 0;
  std::unique_ptr<ChangeData> held;  // one change of lookahead: is it the last?
  // Streamed: its messages carry xids. Otherwise it is a prepared transaction sent as
  // one block.
  bool streamed = true;
  Overlay overlay = Overlay::kCommit;
};

ChangeAssembler::ChangeAssembler(int proto_version, AssemblerLimits limits,
                                 PreparedDelivery prepared)
    : proto_version_(proto_version), limits_(std::move(limits)), prepared_delivery_(prepared) {}
ChangeAssembler::~ChangeAssembler() = default;

void ChangeAssembler::Reset(int proto_version) {
  proto_version_ = proto_version;
  relations_ = RelationCache(describer_);
  slots_hint_relation_ = 0;
  slots_hint_ = 0;
  open_.reset();
  streams_.Clear();
  prepared_.EndSession();  // prepared transactions stay, holding the slot (hold_lsn)
  replay_.reset();
  accounting_.ClearCurrent();
  prepared_.ForEachStore([this](const FrameStore& store) { accounting_.Recount(store); });
  PublishStats();
}

absl::Status ChangeAssembler::Process(const XLogData& frame, std::deque<Change>* ready) {
  if (replay_) {
    return absl::InternalError("ChangeAssembler::Process while a transaction is replayed");
  }
  absl::StatusOr<PgoutputMessage> message =
      DecodePgoutput(frame.payload, proto_version_, streams_.in_block());
  absl::Status status = message.ok() ? Handle(*message, frame, ready) : message.status();
  PublishStats();
  return status;
}

void ChangeAssembler::PublishStats() {
  // Between messages: a transaction sent whole holds its decoded changes (bounded by
  // Append), streamed and prepared ones their raw messages (bounded by LimitMemory).
  const uint64_t buffered = accounting_.buffered_bytes() + (open_ ? open_->bytes : 0);
  published_buffered_.store(buffered, std::memory_order_relaxed);
  if (buffered > published_peak_.load(std::memory_order_relaxed)) {
    published_peak_.store(buffered, std::memory_order_relaxed);
  }
  published_spill_file_.store(accounting_.spill_file_bytes(), std::memory_order_relaxed);
  published_spilled_total_.store(accounting_.spilled_bytes_total(), std::memory_order_relaxed);
  published_transactions_spilled_.store(accounting_.transactions_spilled(),
                                        std::memory_order_relaxed);
}

AssemblerStats ChangeAssembler::stats() const {
  AssemblerStats stats;
  stats.buffered_bytes = published_buffered_.load(std::memory_order_relaxed);
  stats.peak_buffered_bytes = published_peak_.load(std::memory_order_relaxed);
  stats.spill_file_bytes = published_spill_file_.load(std::memory_order_relaxed);
  stats.spilled_bytes_total = published_spilled_total_.load(std::memory_order_relaxed);
  stats.transactions_spilled = published_transactions_spilled_.load(std::memory_order_relaxed);
  return stats;
}

absl::Status ChangeAssembler::Handle(const PgoutputMessage& message, const XLogData& frame,
                                     std::deque<Change>* ready) {
  if (const auto* m = std::get_if<LogicalMessage>(&message); m && !m->transactional()) {
    return HandleMessage(*m, ready);
  }
  const char* data = DataMessageName(message);
  if ((streams_.in_block() || prepared_.in_block()) &&
      (data != nullptr || IsSchemaMessage(message))) {
    return Buffer(message, frame);
  }
  if (const auto* m = std::get_if<Relation>(&message)) return relations_.Apply(*m, std::nullopt);
  if (const auto* m = std::get_if<Type>(&message)) {
    relations_.Apply(*m, std::nullopt);
    return absl::OkStatus();
  }
  if (data != nullptr) {
    if (!open_) {
      return absl::DataLossError(absl::StrCat("pgoutput ", data, " outside a transaction"));
    }
    BuiltChanges built;
    PGCDC_RETURN_IF_ERROR(BuildChanges(message, frame.data_start, std::nullopt, &built));
    for (auto& change : built) PGCDC_RETURN_IF_ERROR(Append(std::move(change), ready));
    return absl::OkStatus();
  }
  if (const auto* m = std::get_if<Begin>(&message)) return HandleBegin(*m);
  if (const auto* m = std::get_if<Commit>(&message)) return HandleCommit(*m, ready);
  if (std::holds_alternative<Origin>(message)) return absl::OkStatus();
  if (const auto* m = std::get_if<StreamStart>(&message)) return HandleStreamStart(*m);
  if (std::holds_alternative<StreamStop>(message)) return streams_.Stop();
  if (const auto* m = std::get_if<StreamCommit>(&message)) return HandleStreamCommit(*m);
  if (const auto* m = std::get_if<StreamAbort>(&message)) return HandleStreamAbort(*m);
  if (const auto* m = std::get_if<BeginPrepare>(&message)) return HandleBeginPrepare(*m);
  if (const auto* m = std::get_if<StreamPrepare>(&message)) return HandlePrepare(*m, true, ready);
  if (const auto* m = std::get_if<Prepare>(&message)) return HandlePrepare(*m, false, ready);
  if (const auto* m = std::get_if<CommitPrepared>(&message)) {
    return HandleCommitPrepared(*m, ready);
  }
  if (const auto* m = std::get_if<RollbackPrepared>(&message)) {
    return HandleRollbackPrepared(*m, ready);
  }
  return absl::InternalError("unhandled pgoutput message");
}

absl::Status ChangeAssembler::HandleBegin(const Begin& begin) {
  if (open_ || streams_.in_block()) {
    return absl::DataLossError("pgoutput Begin inside an unfinished transaction");
  }
  open_.emplace();
  open_->position.xid = begin.xid;
  open_->position.commit_lsn = begin.final_lsn;
  open_->position.commit_time_us = UnixMicros(begin.commit_time);
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleCommit(const Commit& commit, std::deque<Change>* ready) {
  // (A transaction opened by Begin Prepare ends with Prepare, never with Commit.)
  if (!open_ || open_->position.gid) return absl::DataLossError("pgoutput Commit without Begin");
  if (commit.commit_lsn != open_->position.commit_lsn) {
    return absl::DataLossError(absl::StrCat("pgoutput Commit LSN ", commit.commit_lsn,
                                            " differs from its Begin's ",
                                            open_->position.commit_lsn));
  }
  Transaction txn = std::move(*open_);
  open_.reset();
  txn.position.end_lsn = commit.end_lsn;
  txn.position.commit_time_us = UnixMicros(commit.commit_time);
  Deliver(std::move(txn), ready);
  return absl::OkStatus();
}

void ChangeAssembler::Deliver(Transaction txn, std::deque<Change>* ready) {
  const size_t n = txn.changes.size();
  for (size_t i = 0; i < n; ++i) {
    Stamp(txn.position, txn.delivered + static_cast<uint32_t>(i), i + 1 == n,
          &ChangeData::Mutable(txn.changes[i]));
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
absl::Status ChangeAssembler::Append(std::unique_ptr<ChangeData> change,
                                     std::deque<Change>* ready) {
  Transaction& txn = *open_;
  txn.changes.push_back(ChangeData::Wrap(std::move(change)));
  txn.bytes += txn.changes.back().ByteSize();
  // One budget for this transaction and the buffered messages of streamed and prepared
  // ones: those go to their files first, so this one stays whole as long as it fits.
  if (txn.bytes + accounting_.buffered_bytes() <= limits_.max_buffered_bytes) {
    return absl::OkStatus();
  }
  PGCDC_RETURN_IF_ERROR(LimitMemory());
  if (txn.bytes + accounting_.buffered_bytes() <= limits_.max_buffered_bytes ||
      txn.changes.size() < 2) {
    return absl::OkStatus();
  }
  while (txn.changes.size() > 1) {
    Stamp(txn.position, txn.delivered++, false, &ChangeData::Mutable(txn.changes.front()));
    ready->push_back(std::move(txn.changes.front()));
    txn.changes.pop_front();
  }
  txn.bytes = txn.changes.back().ByteSize();
  return absl::OkStatus();
}

absl::Status ChangeAssembler::BuildChanges(const PgoutputMessage& message, uint64_t lsn,
                                           std::optional<uint32_t> stream_xid, BuiltChanges* out) {
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
    return absl::DataLossError(absl::StrCat("pgoutput ",
                                            kInsert   ? "Insert"
                                            : kUpdate ? "Update"
                                                      : "Delete",
                                            " for relation ", message.relation_id,
                                            " that no Relation message described"));
  }
  const RelationInfo& info = **relation;
  auto change = NewChange(kInsert   ? Operation::kInsert
                          : kUpdate ? Operation::kUpdate
                                    : Operation::kDelete,
                          lsn);
  change->relation = *relation;
  change->relation_oid = info.oid;
  // At most a few hundred slots beyond the columns: a row after one with a huge array
  // must not reserve that much again.
  const size_t slots = info.columns.size() * (kUpdate ? 2 : 1);
  const size_t hint = slots_hint_relation_ == info.oid ? std::min(slots_hint_, slots + 256) : 0;
  change->values.reserve(std::max(slots, hint));
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
      PGCDC_ASSIGN_OR_RETURN(old_row, BuildRow(info, message.old_tuple, key_only, change.get()));
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
  slots_hint_relation_ = info.oid;
  slots_hint_ = change->values.size();
  return change;
}

absl::Status ChangeAssembler::HandleMessage(const LogicalMessage& message,
                                            std::deque<Change>* ready) {
  // Non-transactional: delivered at its WAL position, outside any transaction. Its LSN
  // is the END of the message's WAL record (DecodeLogicalMsg passes buf->endptr), while
  // a restart skips records that START before the confirmed position. So confirming
  // exactly `lsn` skips this message and keeps a transaction whose commit record
  // starts right after it (commit_lsn == lsn).
  BuiltChanges built;
  PGCDC_RETURN_IF_ERROR(BuildChanges(message, message.lsn, std::nullopt, &built));
  ChangeData& change = *built.front();
  change.commit_lsn = message.lsn;
  change.end_lsn = message.lsn;
  change.last_in_transaction = true;
  ready->push_back(ChangeData::Wrap(std::move(built.front())));
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleStreamStart(const StreamStart& start) {
  if (streams_.in_block() || open_) {
    return absl::DataLossError("pgoutput Stream Start inside another block or transaction");
  }
  streams_.Start(start, relations_);
  return absl::OkStatus();
}

absl::Status ChangeAssembler::Buffer(const PgoutputMessage& message, const XLogData& frame) {
  if (streams_.in_block()) {
    PGCDC_RETURN_IF_ERROR(streams_.Append(message, frame));
  } else {
    // A prepared transaction's block is an ordinary one: its Relation and Type messages
    // count for the session at once, and are also kept to decode its rows later.
    if (const auto* m = std::get_if<Relation>(&message)) {
      PGCDC_RETURN_IF_ERROR(relations_.Apply(*m, std::nullopt));
    }
    if (const auto* m = std::get_if<Type>(&message)) relations_.Apply(*m, std::nullopt);
    PGCDC_RETURN_IF_ERROR(prepared_.Append(frame));
  }
  return LimitMemory();
}

// Like the server's reorder buffer: past the limit, the largest transaction spills.
absl::Status ChangeAssembler::LimitMemory() {
  // The transaction being received whole shares the budget (Append).
  const size_t open_bytes = open_ ? open_->bytes : 0;
  while (accounting_.buffered_bytes() + open_bytes > limits_.max_buffered_bytes) {
    FrameStore* largest = nullptr;
    auto consider = [&largest](FrameStore& store) {
      if (largest == nullptr || store.memory_bytes() > largest->memory_bytes()) largest = &store;
    };
    streams_.ForEachStore(consider);
    prepared_.ForEachStore(consider);
    if (largest == nullptr || largest->memory_bytes() == 0) break;
    PGCDC_RETURN_IF_ERROR(
        accounting_.Account(*largest, [&] { return largest->Spill(limits_.spill_dir); }));
  }
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleStreamCommit(const StreamCommit& commit) {
  if (streams_.in_block() || open_) {
    return absl::DataLossError("pgoutput Stream Commit inside a stream block or transaction");
  }
  FrameStore frames = streams_.Take(commit.xid);  // counted until the replay ends
  StartReplay({commit.xid, commit.commit_lsn, commit.end_lsn, UnixMicros(commit.commit_time),
               /*gid=*/nullptr},
              std::move(frames), /*streamed=*/true, Overlay::kCommit);
  return absl::OkStatus();
}

void ChangeAssembler::StartReplay(const CommitPosition& position, FrameStore frames, bool streamed,
                                  Overlay overlay) {
  replay_ = std::make_unique<Replay>();
  replay_->position = position;
  replay_->frames = std::move(frames);
  replay_->streamed = streamed;
  replay_->overlay = overlay;
}

absl::Status ChangeAssembler::Produce(size_t max, std::deque<Change>* ready) {
  size_t produced = 0;
  BuiltChanges built;
  while (replay_ && produced < max) {
    Replay& r = *replay_;
    uint64_t lsn = 0;
    std::string_view payload;
    PGCDC_ASSIGN_OR_RETURN(const bool more, r.reader.Next(&lsn, &payload));
    if (!more) {
      if (r.held) {
        Stamp(r.position, r.ordinal++, /*last=*/true, r.held.get());
        ready->push_back(ChangeData::Wrap(std::move(r.held)));
      }
      if (r.overlay == Overlay::kCommit) relations_.CommitStream(r.position.xid);
      if (r.overlay == Overlay::kDrop) relations_.AbortStream(r.position.xid);
      accounting_.Release(r.frames);
      replay_.reset();
      PublishStats();
      break;
    }
    PGCDC_ASSIGN_OR_RETURN(PgoutputMessage message,
                           DecodePgoutput(payload, proto_version_, r.streamed));
    if (const auto* m = std::get_if<Relation>(&message)) {
      PGCDC_RETURN_IF_ERROR(relations_.Apply(*m, r.position.xid));
      continue;
    }
    if (const auto* m = std::get_if<Type>(&message)) {
      relations_.Apply(*m, r.position.xid);
      continue;
    }
    // The xid keys the relations this transaction described (the stream overlay).
    built.clear();
    PGCDC_RETURN_IF_ERROR(BuildChanges(message, lsn, r.position.xid, &built));
    for (std::unique_ptr<ChangeData>& change : built) {
      if (r.held) {  // not the last: another change follows it
        Stamp(r.position, r.ordinal++, /*last=*/false, r.held.get());
        ready->push_back(ChangeData::Wrap(std::move(r.held)));
        ++produced;
      }
      r.held = std::move(change);
    }
  }
  return absl::OkStatus();
}

absl::Status ChangeAssembler::HandleStreamAbort(const StreamAbort& abort) {
  if (streams_.in_block()) {
    return absl::DataLossError("pgoutput Stream Abort inside a stream block");
  }
  return streams_.Abort(abort, relations_);
}

}  // namespace pgcdc::internal
