// A PostgreSQL WAL position (log sequence number).
#ifndef PGCDC_LSN_H_
#define PGCDC_LSN_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pgcdc {

// Example:
//   absl::StatusOr<Lsn> lsn = Lsn::Parse("16/B374D848");
//   lsn->ToString();  // "16/B374D848"
class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  // Accepts PostgreSQL's "%X/%X" form (hex, either half optionally zero-padded).
  static absl::StatusOr<Lsn> Parse(std::string_view text);

  constexpr uint64_t value() const { return value_; }
  constexpr bool valid() const { return value_ != 0; }
  std::string ToString() const;

  friend constexpr bool operator==(Lsn a, Lsn b) { return a.value_ == b.value_; }
  friend constexpr bool operator!=(Lsn a, Lsn b) { return a.value_ != b.value_; }
  friend constexpr bool operator<(Lsn a, Lsn b) { return a.value_ < b.value_; }
  friend constexpr bool operator<=(Lsn a, Lsn b) { return a.value_ <= b.value_; }
  friend constexpr bool operator>(Lsn a, Lsn b) { return a.value_ > b.value_; }
  friend constexpr bool operator>=(Lsn a, Lsn b) { return a.value_ >= b.value_; }

 private:
  uint64_t value_ = 0;
};

}  // namespace pgcdc

#endif  // PGCDC_LSN_H_
