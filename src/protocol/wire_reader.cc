#include "protocol/wire_reader.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace pgcdc::internal {
namespace {

// Debian's abseil is built with its own absl::string_view, which StrCat wants.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Prefix(std::string_view context) {
  return context.empty() ? std::string() : absl::StrCat(AbslView(context), ": ");
}

}  // namespace

void WireReader::FailTruncated(size_t need) {
  if (error_ == Error::kNone) {
    error_ = Error::kTruncated;
    error_offset_ = pos_;
    error_need_ = need;
    error_have_ = data_.size() - pos_;
  }
  // Exhaust the reader so that later, smaller reads cannot succeed past the hole.
  pos_ = data_.size();
}

void WireReader::FailUnterminated() {
  if (error_ == Error::kNone) {
    error_ = Error::kUnterminatedString;
    error_offset_ = pos_;
    error_have_ = data_.size() - pos_;
  }
  pos_ = data_.size();
}

absl::Status WireReader::status() const {
  switch (error_) {
    case Error::kNone:
      return absl::OkStatus();
    case Error::kTruncated:
      return absl::DataLossError(absl::StrCat(Prefix(context_), "truncated at byte ", error_offset_,
                                              " (need ", error_need_, ", have ", error_have_, ")"));
    case Error::kUnterminatedString:
      return absl::DataLossError(absl::StrCat(Prefix(context_), "unterminated string at byte ",
                                              error_offset_, " (no NUL in the remaining ",
                                              error_have_, " bytes)"));
  }
  return absl::InternalError("WireReader: corrupt error state");
}

absl::Status WireReader::Finish() const {
  if (!ok()) return status();
  if (remaining() != 0) {
    return absl::DataLossError(absl::StrCat(Prefix(context_), remaining(),
                                            " trailing bytes at byte ", pos_, " (message is ",
                                            data_.size(), " bytes)"));
  }
  return absl::OkStatus();
}

absl::Status WireReader::MalformedAt(size_t at, std::string_view what) const {
  return absl::DataLossError(absl::StrCat(Prefix(context_), AbslView(what), " at byte ", at));
}

}  // namespace pgcdc::internal
