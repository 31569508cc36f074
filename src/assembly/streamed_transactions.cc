#include "assembly/streamed_transactions.h"

#include <optional>
#include <string_view>
#include <utility>

namespace pgcdc::internal {
namespace {

// Relation and Type messages of a rolled-back subtransaction stay: the server
// considers them sent for the whole streamed transaction and will not repeat them.
bool IsSchemaPayload(std::string_view payload) {
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

void StreamedTransactions::Start(const StreamStart& start, RelationCache& relations) {
  in_block_ = true;
  block_xid_ = start.xid;
  if (start.first_segment) {
    // A first segment after a reconnect re-sends the transaction from its start:
    // anything buffered from the old session is stale (doc/protocol.md#streaming).
    if (auto it = streams_.find(start.xid); it != streams_.end()) {
      accounting_.Release(it->second);
      streams_.erase(it);
    }
    relations.AbortStream(start.xid);
  }
  streams_.try_emplace(start.xid);
}

absl::Status StreamedTransactions::Stop() {
  if (!in_block_) return absl::DataLossError("pgoutput Stream Stop outside a stream block");
  in_block_ = false;
  return absl::OkStatus();
}

absl::Status StreamedTransactions::Append(const PgoutputMessage& message, const XLogData& frame) {
  const uint32_t subxid = StreamedMessageXid(message).value_or(block_xid_);
  FrameStore& store = streams_[block_xid_];
  return accounting_.Account(store,
                             [&] { return store.Append(frame.data_start, subxid, frame.payload); });
}

FrameStore StreamedTransactions::Take(uint32_t xid) {
  FrameStore frames;
  if (auto it = streams_.find(xid); it != streams_.end()) {
    frames = std::move(it->second);
    streams_.erase(it);
  }
  return frames;
}

absl::Status StreamedTransactions::Abort(const StreamAbort& abort, RelationCache& relations) {
  auto it = streams_.find(abort.xid);
  if (abort.subxid == abort.xid) {
    if (it != streams_.end()) {
      accounting_.Release(it->second);
      streams_.erase(it);
    }
    relations.AbortStream(abort.xid);
    return absl::OkStatus();
  }
  if (it == streams_.end()) return absl::OkStatus();
  // ROLLBACK TO SAVEPOINT: drop from the subtransaction's first message on, which also
  // covers its nested children (what the built-in apply worker does), except schema
  // messages.
  FrameStore& store = it->second;
  return accounting_.Account(
      store, [&] { return store.DropFrom(abort.subxid, abort.xid, &IsSchemaPayload); });
}

void StreamedTransactions::Clear() {
  in_block_ = false;
  block_xid_ = 0;
  streams_.clear();  // FrameStore closes its spill file
}

}  // namespace pgcdc::internal
