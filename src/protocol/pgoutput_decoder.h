// Pure decoders: bytes in, structs out. No sockets, no caches.
#ifndef PGCDC_PROTOCOL_PGOUTPUT_DECODER_H_
#define PGCDC_PROTOCOL_PGOUTPUT_DECODER_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "protocol/pgoutput_messages.h"

namespace pgcdc::internal {

// Decodes one pgoutput message (the payload of an XLogData frame). With protocol
// version 2 or later `in_stream` must be true between Stream Start and Stream Stop,
// because transactional messages then carry a leading transaction id that the bytes
// alone cannot reveal. Malformed input (truncated, trailing bytes, unknown type,
// negative lengths, a message not valid for `proto_version`) gives kDataLoss naming
// the message and byte offset. The result points into `payload`.
absl::StatusOr<PgoutputMessage> DecodePgoutput(std::string_view payload, int proto_version,
                                               bool in_stream);

// Decodes one CopyData message of the replication stream ('w' or 'k').
absl::StatusOr<CopyDataMessage> DecodeCopyData(std::string_view data);

// Encodes a Standby Status Update ('r'): written, flushed, applied positions ("last
// byte + 1"), client clock, and whether the server should reply immediately.
std::array<char, 34> EncodeStandbyStatusUpdate(WalPosition written, WalPosition flushed,
                                               WalPosition applied, PgTimestamp client_time,
                                               bool reply_requested);

}  // namespace pgcdc::internal

#endif  // PGCDC_PROTOCOL_PGOUTPUT_DECODER_H_
