#include "pgcdc/change_stream.h"

#include <utility>
#include <vector>

#include "stream/change_stream_impl.h"

namespace pgcdc {

absl::StatusOr<ChangeStream> ChangeStream::Open(StreamOptions options) {
  absl::StatusOr<std::unique_ptr<internal::ChangeStreamImpl>> impl =
      internal::ChangeStreamImpl::Open(std::move(options));
  if (!impl.ok()) return impl.status();
  return ChangeStream(*std::move(impl));
}

ChangeStream::ChangeStream(std::unique_ptr<internal::ChangeStreamImpl> impl)
    : impl_(std::move(impl)) {}
ChangeStream::ChangeStream(ChangeStream&&) noexcept = default;
ChangeStream& ChangeStream::operator=(ChangeStream&&) noexcept = default;
ChangeStream::~ChangeStream() = default;

namespace {
absl::Status MovedFrom() {
  return absl::FailedPreconditionError("this ChangeStream was moved from");
}
}  // namespace

absl::StatusOr<std::optional<Change>> ChangeStream::Next() {
  return Poll(absl::InfiniteDuration());
}

absl::StatusOr<std::optional<Change>> ChangeStream::Poll(absl::Duration timeout) {
  if (!impl_) return MovedFrom();
  // absl::Now() + InfiniteDuration() is InfiniteFuture().
  absl::StatusOr<std::optional<Change>> change = impl_->Poll(absl::Now() + timeout);
  if (change.ok() && change->has_value()) impl_->CountDelivered(**change);
  return change;
}

absl::Status ChangeStream::PollBatch(absl::Duration timeout, size_t max_changes,
                                     std::vector<Change>* out) {
  if (!impl_) return MovedFrom();
  const size_t first = out->size();
  absl::Status status = impl_->PollBatch(absl::Now() + timeout, max_changes, out);
  for (size_t i = first; i < out->size(); ++i) impl_->CountDelivered((*out)[i]);
  return status;
}

bool ChangeStream::done() const { return !impl_ || impl_->done(); }
void ChangeStream::Ack(const Change& change) {
  if (impl_) impl_->Ack(change);
}
void ChangeStream::Ack(Lsn lsn) {
  if (impl_) impl_->Ack(lsn);
}
absl::Status ChangeStream::Close() { return impl_ ? impl_->Close() : absl::OkStatus(); }
void ChangeStream::Cancel() {
  if (impl_) impl_->Cancel();
}
Lsn ChangeStream::acked_lsn() const { return impl_ ? impl_->acked_lsn() : Lsn(); }
Lsn ChangeStream::confirmed_flush_lsn() const {
  return impl_ ? impl_->confirmed_flush_lsn() : Lsn();
}
StreamStats ChangeStream::stats() const { return impl_ ? impl_->stats() : StreamStats(); }

}  // namespace pgcdc
