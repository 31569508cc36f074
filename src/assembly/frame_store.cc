#include "assembly/frame_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace pgcdc::internal {
namespace {

constexpr size_t kHeader = sizeof(uint64_t) + sizeof(uint32_t);
// Memory is allocated in chunks of this size; in file mode, this much collects in
// memory before one write.
constexpr size_t kChunk = 1 << 20;
constexpr size_t kReadChunk = 4 << 20;

absl::Status Errno(const char* what, const char* where) {
  return absl::InternalError(absl::StrCat(what, " ", where, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, uint64_t offset, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ResourceExhaustedError(absl::StrCat(
          "writing a spill file of a large transaction: ", std::strerror(errno),
          "; give spill_dir a file system with more space or raise max_buffered_bytes"));
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

FrameStore::FrameStore(FrameStore&& other) noexcept
    : chunks_(std::move(other.chunks_)),
      memory_bytes_(std::exchange(other.memory_bytes_, 0)),
      fd_(std::exchange(other.fd_, -1)),
      file_size_(std::exchange(other.file_size_, 0)),
      bytes_written_(std::exchange(other.bytes_written_, 0)),
      end_(std::exchange(other.end_, 0)),
      subxact_start_(std::move(other.subxact_start_)) {}

FrameStore& FrameStore::operator=(FrameStore&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    chunks_ = std::move(other.chunks_);
    memory_bytes_ = std::exchange(other.memory_bytes_, 0);
    fd_ = std::exchange(other.fd_, -1);
    file_size_ = std::exchange(other.file_size_, 0);
    bytes_written_ = std::exchange(other.bytes_written_, 0);
    end_ = std::exchange(other.end_, 0);
    subxact_start_ = std::move(other.subxact_start_);
  }
  return *this;
}

FrameStore::~FrameStore() {
  if (fd_ >= 0) close(fd_);
}

absl::Status FrameStore::Append(uint64_t lsn, uint32_t subxid, std::string_view payload) {
  subxact_start_.try_emplace(subxid, end_);
  const auto length = static_cast<uint32_t>(payload.size());
  const size_t record = kHeader + payload.size();
  if (chunks_.empty() || chunks_.back().data.size() + record > chunks_.back().data.capacity()) {
    Chunk& chunk = chunks_.emplace_back(Chunk{end_, {}});
    chunk.data.reserve(std::max(kChunk, record));
  }
  std::string& data = chunks_.back().data;
  char header[kHeader];
  std::memcpy(header, &lsn, sizeof lsn);
  std::memcpy(header + sizeof lsn, &length, sizeof length);
  data.append(header, kHeader);
  data.append(payload.data(), payload.size());
  memory_bytes_ += record;
  end_ += record;
  if (fd_ >= 0 && memory_bytes_ >= kChunk) return Flush();
  return absl::OkStatus();
}

absl::Status FrameStore::Flush() {
  for (const Chunk& chunk : chunks_) {
    if (absl::Status s = WriteAll(fd_, chunk.start, chunk.data); !s.ok()) return s;
    bytes_written_ += chunk.data.size();
  }
  file_size_ = end_;
  chunks_.clear();
  memory_bytes_ = 0;
  return absl::OkStatus();
}

absl::Status FrameStore::Spill(const std::string& dir) {
  if (fd_ >= 0) return Flush();
  std::string path = dir + "/pgcdc-spill-XXXXXX";
  fd_ = mkstemp(path.data());
  if (fd_ < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create a spill file for a large transaction in ", dir, ": ",
                     std::strerror(errno), "; set spill_dir to a writable directory"));
  }
  // Unlinked at once: the file lives as long as the descriptor, even after a crash.
  unlink(path.c_str());
  return Flush();
}

const FrameStore::Chunk* FrameStore::ChunkAt(uint64_t offset) const {
  auto it = std::upper_bound(chunks_.begin(), chunks_.end(), offset,
                             [](uint64_t o, const Chunk& c) { return o < c.start; });
  return it == chunks_.begin() ? nullptr : &*std::prev(it);
}

absl::Status FrameStore::DropFrom(uint32_t subxid, uint32_t top_xid,
                                  bool (*keep)(std::string_view)) {
  auto it = subxact_start_.find(subxid);
  if (it == subxact_start_.end()) return absl::OkStatus();
  const uint64_t start = it->second;
  std::vector<std::pair<uint64_t, std::string>> kept;
  Reader reader(this, start);
  uint64_t lsn = 0;
  std::string_view payload;
  for (;;) {
    absl::StatusOr<bool> more = reader.Next(&lsn, &payload);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (keep(payload)) kept.emplace_back(lsn, std::string(payload));
  }
  if (absl::Status s = Truncate(start); !s.ok()) return s;
  for (const auto& [kept_lsn, kept_payload] : kept) {
    if (absl::Status s = Append(kept_lsn, top_xid, kept_payload); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status FrameStore::Truncate(uint64_t offset) {
  if (offset >= file_size_) {
    while (!chunks_.empty() && chunks_.back().start > offset) {
      memory_bytes_ -= chunks_.back().data.size();
      chunks_.pop_back();
    }
    if (!chunks_.empty()) {
      Chunk& last = chunks_.back();
      const size_t keep = static_cast<size_t>(offset - last.start);
      if (keep < last.data.size()) {
        memory_bytes_ -= last.data.size() - keep;
        last.data.resize(keep);
      }
    }
  } else {
    if (ftruncate(fd_, static_cast<off_t>(offset)) != 0) return Errno("ftruncate", "spill file");
    file_size_ = offset;
    chunks_.clear();
    memory_bytes_ = 0;
  }
  end_ = offset;
  for (auto it = subxact_start_.begin(); it != subxact_start_.end();) {
    if (it->second >= offset) {
      subxact_start_.erase(it++);
    } else {
      ++it;
    }
  }
  return absl::OkStatus();
}

absl::Status FrameStore::Reader::FillFromFile(size_t need) {
  if (offset_ >= buffer_start_ && offset_ + need <= buffer_start_ + buffer_.size()) {
    return absl::OkStatus();
  }
  if (offset_ + need > store_->file_size_) return absl::DataLossError("a spill file ended early");
  const size_t n = static_cast<size_t>(
      std::min<uint64_t>(std::max(need, kReadChunk), store_->file_size_ - offset_));
  buffer_.resize(n);
  buffer_start_ = offset_;
  size_t done = 0;
  while (done < n) {
    const ssize_t r =
        pread(store_->fd_, buffer_.data() + done, n - done, static_cast<off_t>(offset_ + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Errno("reading", "a spill file");
    done += static_cast<size_t>(r);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> FrameStore::Reader::Next(uint64_t* lsn, std::string_view* payload) {
  if (offset_ >= store_->end_) return false;
  const char* record = nullptr;
  if (offset_ < store_->file_size_) {
    if (absl::Status s = FillFromFile(kHeader); !s.ok()) return s;
    record = buffer_.data() + (offset_ - buffer_start_);
  } else {
    const Chunk* chunk = store_->ChunkAt(offset_);
    if (chunk == nullptr) return absl::InternalError("FrameStore: no chunk at a record");
    record = chunk->data.data() + (offset_ - chunk->start);
  }
  uint32_t length = 0;
  std::memcpy(lsn, record, sizeof *lsn);
  std::memcpy(&length, record + sizeof *lsn, sizeof length);
  if (offset_ < store_->file_size_) {
    if (absl::Status s = FillFromFile(kHeader + length); !s.ok()) return s;
    record = buffer_.data() + (offset_ - buffer_start_);
  }
  *payload = std::string_view(record + kHeader, length);
  offset_ += kHeader + length;
  return true;
}

}  // namespace pgcdc::internal
