// The shortest text that reads back as the same double, as std::to_chars(first, last,
// value) writes it: the digits of the shortest round trip, in fixed or exponent
// notation, whichever is shorter (fixed on a tie). GCC 10's standard library, which the
// portable wheels are built with (scripts/wheel.sh), has no floating-point to_chars; there
// the digits come from fmt and only the notation is chosen here.
#ifndef PGCDC_INTERNAL_SHORTEST_DOUBLE_H_
#define PGCDC_INTERNAL_SHORTEST_DOUBLE_H_

#include <string>

namespace pgcdc::internal {

// Appends a finite `value`.
void AppendShortestDouble(double value, std::string* out);

// The fmt-based spelling, compiled everywhere so that the tests compare it with
// std::to_chars wherever the standard library has the latter.
void AppendShortestDoubleFromFmt(double value, std::string* out);

}  // namespace pgcdc::internal

#endif  // PGCDC_INTERNAL_SHORTEST_DOUBLE_H_
