// Bounds-checked reader for the big-endian integers and strings of the PostgreSQL
// wire protocol.
#ifndef PGCDC_PROTOCOL_WIRE_READER_H_
#define PGCDC_PROTOCOL_WIRE_READER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "absl/base/attributes.h"
#include "absl/base/config.h"
#include "absl/base/optimization.h"
#include "absl/status/status.h"

namespace pgcdc::internal {

// Reads a borrowed buffer front to back. Every read is bounds-checked and the error
// is sticky: the first read that does not fit records where it happened (offset,
// bytes needed, bytes left), the reader is then exhausted, and every later read
// returns zero / empty. A decoder can therefore read a whole fixed layout and check
// ok() once, the way the server reads messages with pq_getmsg* (which longjmps
// instead). Only values that steer control flow (a tag byte, a count) need an ok()
// check before use.
//
// The hot path is inline and never allocates; building the error text is cold.
//
// Example:
//   WireReader r(payload, "pgoutput Begin");
//   r.ReadU8();  // type byte
//   uint64_t final_lsn = r.ReadU64();
//   if (!r.ok()) return r.status();  // "pgoutput Begin: truncated at byte 1 (need 8, have 3)"
class WireReader {
 public:
  // `context` prefixes every error message (e.g. "pgoutput Insert"); it must outlive
  // the reader (a string literal in practice).
  explicit WireReader(std::string_view data, std::string_view context = {}) noexcept
      : data_(data), context_(context) {}

  uint8_t ReadU8() { return ReadBigEndian<uint8_t>(); }
  int16_t ReadI16() { return ReadBigEndian<int16_t>(); }
  uint16_t ReadU16() { return ReadBigEndian<uint16_t>(); }
  int32_t ReadI32() { return ReadBigEndian<int32_t>(); }
  uint32_t ReadU32() { return ReadBigEndian<uint32_t>(); }
  int64_t ReadI64() { return ReadBigEndian<int64_t>(); }
  uint64_t ReadU64() { return ReadBigEndian<uint64_t>(); }

  // `n` raw bytes, pointing into the buffer.
  std::string_view ReadBytes(size_t n) {
    if (!Require(n)) return {};
    const std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }

  // A NUL-terminated string (the protocol's String type) without its NUL, pointing
  // into the buffer. A missing NUL is an error, not "the rest of the buffer".
  std::string_view ReadCString() {
    const size_t avail = data_.size() - pos_;
    const void* nul = avail == 0 ? nullptr : std::memchr(data_.data() + pos_, '\0', avail);
    if (ABSL_PREDICT_FALSE(nul == nullptr)) {
      FailUnterminated();
      return {};
    }
    const size_t len = static_cast<size_t>(static_cast<const char*>(nul) - (data_.data() + pos_));
    const std::string_view out = data_.substr(pos_, len);
    pos_ += len + 1;
    return out;
  }

  size_t remaining() const { return data_.size() - pos_; }
  size_t offset() const { return pos_; }  // bytes consumed so far
  std::string_view context() const { return context_; }
  bool ok() const { return error_ == Error::kNone; }

  // OK, or kDataLoss describing the first failed read, e.g.
  // "pgoutput Insert: truncated at byte 17 (need 4, have 2)".
  absl::Status status() const;

  // status(), and additionally kDataLoss when bytes are left over: every layout in
  // the protocol is exact, so leftovers mean we and the sender disagree on it.
  absl::Status Finish() const;

  // kDataLoss "<context>: <what> at byte <at>" for a value that was read fine but is
  // not valid (a bad tag, a negative length).
  absl::Status MalformedAt(size_t at, std::string_view what) const;

 private:
  enum class Error : uint8_t { kNone, kTruncated, kUnterminatedString };

  bool Require(size_t n) {
    if (ABSL_PREDICT_TRUE(n <= data_.size() - pos_)) return true;
    FailTruncated(n);
    return false;
  }

  template <typename T>
  T ReadBigEndian() {
    using U = std::make_unsigned_t<T>;
    if (!Require(sizeof(U))) return 0;
    U v;
    std::memcpy(&v, data_.data() + pos_, sizeof(U));
    pos_ += sizeof(U);
    return static_cast<T>(FromBigEndian(v));
  }

  template <typename U>
  static U FromBigEndian(U v) {
#if defined(ABSL_IS_LITTLE_ENDIAN)
    if constexpr (sizeof(U) == 2) return __builtin_bswap16(v);
    if constexpr (sizeof(U) == 4) return __builtin_bswap32(v);
    if constexpr (sizeof(U) == 8) return __builtin_bswap64(v);
#endif
    return v;
  }

  ABSL_ATTRIBUTE_NOINLINE void FailTruncated(size_t need);
  ABSL_ATTRIBUTE_NOINLINE void FailUnterminated();

  std::string_view data_;
  std::string_view context_;
  size_t pos_ = 0;
  Error error_ = Error::kNone;
  size_t error_offset_ = 0;
  size_t error_need_ = 0;
  size_t error_have_ = 0;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_PROTOCOL_WIRE_READER_H_
