// libFuzzer target for the pure replication decoders.
//
// Input: byte 0 selects the decoder state (bits 0-1: proto_version 1..4, bit 7:
// in_stream), the rest is a pgoutput payload. The same bytes are also decoded as a
// replication CopyData frame, and an XLogData frame's payload as pgoutput.
//
// Beyond "no crash, no over-read" (ASan/UBSan), it checks two contracts of the
// decoder: errors are kDataLoss unless the arguments themselves are inconsistent,
// and every string_view handed out points into the decoded buffer.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "absl/status/status.h"
#include "protocol/pgoutput_decoder.h"
#include "protocol/pgoutput_messages.h"

namespace pgcdc::internal {
namespace {

void CheckInside(std::string_view view, std::string_view buffer) {
  if (view.empty()) return;
  if (view.data() < buffer.data() || view.data() + view.size() > buffer.data() + buffer.size()) {
    __builtin_trap();
  }
}

void CheckTuple(const TupleData& tuple, std::string_view buffer) {
  for (const TupleColumn& col : tuple.columns) CheckInside(col.data, buffer);
}

struct ViewChecker {
  std::string_view buffer;
  void operator()(const Insert& m) const { CheckTuple(m.new_tuple, buffer); }
  void operator()(const Update& m) const {
    CheckTuple(m.old_tuple, buffer);
    CheckTuple(m.new_tuple, buffer);
  }
  void operator()(const Delete& m) const { CheckTuple(m.old_tuple, buffer); }
  void operator()(const LogicalMessage& m) const {
    CheckInside(m.prefix, buffer);
    CheckInside(m.content, buffer);
  }
  template <typename T>
  void operator()(const T&) const {}
};

void FuzzPgoutput(std::string_view payload, int proto_version, bool in_stream) {
  const absl::StatusOr<PgoutputMessage> m = DecodePgoutput(payload, proto_version, in_stream);
  if (m.ok()) {
    std::visit(ViewChecker{payload}, *m);
    return;
  }
  const bool bad_arguments = in_stream && proto_version < 2;
  if (!bad_arguments && m.status().code() != absl::StatusCode::kDataLoss) __builtin_trap();
}

void FuzzCopyData(std::string_view data, int proto_version, bool in_stream) {
  const absl::StatusOr<CopyDataMessage> m = DecodeCopyData(data);
  if (!m.ok()) {
    if (m.status().code() != absl::StatusCode::kDataLoss) __builtin_trap();
    return;
  }
  if (const auto* x = std::get_if<XLogData>(&*m)) {
    CheckInside(x->payload, data);
    FuzzPgoutput(x->payload, proto_version, in_stream);
  }
}

}  // namespace
}  // namespace pgcdc::internal

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int proto_version = 1 + (data[0] & 0x03);
  const bool in_stream = (data[0] & 0x80) != 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  pgcdc::internal::FuzzPgoutput(rest, proto_version, in_stream);
  pgcdc::internal::FuzzCopyData(rest, proto_version, in_stream);
  return 0;
}
