#include "pgcdc/change_stream.h"

#include <utility>

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

absl::StatusOr<std::optional<Change>> ChangeStream::Next() {
  return impl_->Poll(absl::InfiniteFuture());
}

absl::StatusOr<std::optional<Change>> ChangeStream::Poll(absl::Duration timeout) {
  return impl_->Poll(absl::Now() + timeout);
}

bool ChangeStream::done() const { return impl_->done(); }
void ChangeStream::Ack(const Change& change) { impl_->Ack(change); }
void ChangeStream::Ack(Lsn lsn) { impl_->Ack(lsn); }
absl::Status ChangeStream::Close() { return impl_->Close(); }
void ChangeStream::Cancel() { impl_->Cancel(); }
Lsn ChangeStream::acked_lsn() const { return impl_->acked_lsn(); }
Lsn ChangeStream::confirmed_flush_lsn() const { return impl_->confirmed_flush_lsn(); }

}  // namespace pgcdc
