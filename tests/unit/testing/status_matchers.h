// abseil 20220623 (Debian 12) has no status matchers; this is the subset the tests use.
#ifndef PGCDC_TESTS_UNIT_TESTING_STATUS_MATCHERS_H_
#define PGCDC_TESTS_UNIT_TESTING_STATUS_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace pgcdc::internal {

inline absl::Status ToStatus(const absl::Status& s) { return s; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// EXPECT_THAT(Decode(...), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("Insert")));
MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + absl::StatusCodeToString(code) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher, negation)) {
  const absl::Status s = ToStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

}  // namespace pgcdc::internal

#endif  // PGCDC_TESTS_UNIT_TESTING_STATUS_MATCHERS_H_
