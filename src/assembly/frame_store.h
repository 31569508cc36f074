// The raw pgoutput messages of one streamed, uncommitted transaction (protocol v2+,
// doc/protocol.md#streaming), in arrival order: in memory until the stream's memory limit
// makes it spill, then in an anonymous file (created and unlinked at once, so that
// nothing is left behind when the process dies). Messages are decoded only when the
// transaction commits, one at a time, so memory stays bounded for any size.
#ifndef PGCDC_ASSEMBLY_FRAME_STORE_H_
#define PGCDC_ASSEMBLY_FRAME_STORE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pgcdc::internal {

class FrameStore {
 public:
  FrameStore() = default;
  FrameStore(FrameStore&& other) noexcept;
  FrameStore& operator=(FrameStore&& other) noexcept;
  FrameStore(const FrameStore&) = delete;
  FrameStore& operator=(const FrameStore&) = delete;
  ~FrameStore();

  // Appends one message received at `lsn` from (sub)transaction `subxid`.
  absl::Status Append(uint64_t lsn, uint32_t subxid, std::string_view payload);
  // ROLLBACK TO SAVEPOINT: drops everything from the subtransaction's first message
  // on, which also covers its nested children, except the messages `keep` accepts:
  // they are appended again, in order, as messages of `top_xid`.
  absl::Status DropFrom(uint32_t subxid, uint32_t top_xid, bool (*keep)(std::string_view));
  // Moves the buffered messages to an anonymous file in `dir`; later ones follow them.
  absl::Status Spill(const std::string& dir);

  size_t memory_bytes() const { return memory_bytes_; }
  uint64_t size_bytes() const { return end_; }
  bool spilled() const { return fd_ >= 0; }
  // Bytes in the spill file now (0 until it spilled), and all bytes ever written to
  // it (a rolled-back subtransaction shrinks the file, not this).
  uint64_t file_bytes() const { return file_size_; }
  uint64_t bytes_written() const { return bytes_written_; }

  // Reads the messages back in order (after the transaction committed).
  class Reader {
   public:
    explicit Reader(const FrameStore* store, uint64_t offset = 0)
        : store_(store), offset_(offset) {}
    // False at the end. `payload` is valid until the next call.
    absl::StatusOr<bool> Next(uint64_t* lsn, std::string_view* payload);

   private:
    absl::Status FillFromFile(size_t need);
    const FrameStore* store_;
    uint64_t offset_ = 0;  // next record
    std::string buffer_;   // file bytes [buffer_start_, buffer_start_ + size)
    uint64_t buffer_start_ = 0;
  };

 private:
  friend class Reader;
  absl::Status Truncate(uint64_t offset);
  absl::Status Flush();

  // Records (u64 lsn, u32 length, payload) at logical offsets [0, end_): the file holds
  // [0, file_size_), the chunks the rest (all of it until the store spills). Chunks of
  // about 1 MB, each holding whole records: memory grows without reallocating.
  struct Chunk {
    uint64_t start;  // logical offset of data[0]
    std::string data;
  };
  const Chunk* ChunkAt(uint64_t offset) const;

  std::vector<Chunk> chunks_;
  size_t memory_bytes_ = 0;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  uint64_t bytes_written_ = 0;
  uint64_t end_ = 0;
  absl::flat_hash_map<uint32_t, uint64_t> subxact_start_;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_ASSEMBLY_FRAME_STORE_H_
