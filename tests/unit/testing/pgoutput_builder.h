// Test-only builder for replication-protocol bytes (pgoutput messages, CopyData
// frames, binary values): big-endian integers, C strings and TupleData columns.
//
//   std::string insert = PgoutputBuilder()
//                            .Byte('I').U32(16384)
//                            .Byte('N').U16(3).Text("42").Null().Unchanged()
//                            .str();
//
// Every method appends and returns *this; nothing is validated, so malformed input
// is as easy to build as good input.
#ifndef PGCDC_TESTS_UNIT_TESTING_PGOUTPUT_BUILDER_H_
#define PGCDC_TESTS_UNIT_TESTING_PGOUTPUT_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace pgcdc::internal {

class PgoutputBuilder {
 public:
  PgoutputBuilder() = default;

  // One raw byte: a message type, a tuple marker ('N', 'K', 'O') or a column kind.
  PgoutputBuilder& Byte(char c) {
    out_.push_back(c);
    return *this;
  }
  PgoutputBuilder& U8(uint8_t v) { return BigEndian(v, 1); }
  PgoutputBuilder& U16(uint16_t v) { return BigEndian(v, 2); }
  PgoutputBuilder& I16(int16_t v) { return BigEndian(static_cast<uint16_t>(v), 2); }
  PgoutputBuilder& U32(uint32_t v) { return BigEndian(v, 4); }
  PgoutputBuilder& I32(int32_t v) { return BigEndian(static_cast<uint32_t>(v), 4); }
  PgoutputBuilder& U64(uint64_t v) { return BigEndian(v, 8); }
  PgoutputBuilder& I64(int64_t v) { return BigEndian(static_cast<uint64_t>(v), 8); }
  // LSN and TimestampTz spelled as the protocol names them.
  PgoutputBuilder& Lsn(uint64_t v) { return U64(v); }
  PgoutputBuilder& Timestamp(int64_t v) { return I64(v); }

  // A protocol String: the bytes, then a NUL.
  PgoutputBuilder& CString(std::string_view s) {
    out_.append(s.data(), s.size());
    out_.push_back('\0');
    return *this;
  }
  // Raw bytes with no length and no terminator.
  PgoutputBuilder& Bytes(std::string_view s) {
    out_.append(s.data(), s.size());
    return *this;
  }

  // TupleData columns.
  PgoutputBuilder& Null() { return Byte('n'); }
  PgoutputBuilder& Unchanged() { return Byte('u'); }
  PgoutputBuilder& Text(std::string_view s) { return Column('t', s); }
  PgoutputBuilder& Binary(std::string_view s) { return Column('b', s); }

  // Appends another builder's bytes (e.g. a pgoutput message into an XLogData frame).
  PgoutputBuilder& Append(const PgoutputBuilder& other) { return Bytes(other.out_); }

  size_t size() const { return out_.size(); }
  const std::string& str() const& { return out_; }
  std::string str() && { return std::move(out_); }

 private:
  PgoutputBuilder& BigEndian(uint64_t v, int width) {
    for (int shift = 8 * (width - 1); shift >= 0; shift -= 8) {
      out_.push_back(static_cast<char>((v >> shift) & 0xFF));
    }
    return *this;
  }
  PgoutputBuilder& Column(char kind, std::string_view s) {
    Byte(kind);
    I32(static_cast<int32_t>(s.size()));
    return Bytes(s);
  }

  std::string out_;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_TESTS_UNIT_TESTING_PGOUTPUT_BUILDER_H_
