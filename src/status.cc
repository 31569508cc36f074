#include "pgcdc/status.h"

namespace pgcdc {

std::optional<std::string> SqlState(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kSqlStatePayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

bool IsRetryable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

}  // namespace pgcdc
