// FrameStore: streamed messages kept in memory or in an unlinked spill file, read back
// in order, and truncated at a rolled-back subtransaction.
#include "assembly/frame_store.h"

#include <dirent.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace pgcdc::internal {
namespace {

std::vector<std::pair<uint64_t, std::string>> ReadAll(const FrameStore& store) {
  std::vector<std::pair<uint64_t, std::string>> out;
  FrameStore::Reader reader(&store);
  uint64_t lsn = 0;
  std::string_view payload;
  for (;;) {
    absl::StatusOr<bool> more = reader.Next(&lsn, &payload);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    out.emplace_back(lsn, std::string(payload));
  }
  return out;
}

bool KeepSchema(std::string_view payload) { return payload[0] == 'R'; }

class FrameStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pgcdc-frame-store-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { rmdir(dir_.c_str()); }  // fails (harmlessly) if not empty

  size_t FilesInDir() const {
    size_t n = 0;
    DIR* d = opendir(dir_.c_str());
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
    return n;
  }

  std::string dir_;
};

TEST_F(FrameStoreTest, SpilledAndInMemoryMessagesReadBackInOrder) {
  FrameStore store;
  std::vector<std::pair<uint64_t, std::string>> expected;
  for (int i = 0; i < 3000; ++i) {
    // Varying sizes, some larger than the reader's and writer's chunks.
    std::string payload(i % 500 == 7 ? (5 << 20) : 1 + i % 300, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(store.Append(100 + i, 9, payload).ok());
    expected.emplace_back(100 + i, payload);
    if (i == 1000) {
      ASSERT_TRUE(store.Spill(dir_).ok());
      EXPECT_EQ(store.memory_bytes(), 0u);
      EXPECT_TRUE(store.spilled());
    }
  }
  EXPECT_LT(store.memory_bytes(), 7u << 20);  // the unwritten tail only
  EXPECT_EQ(FilesInDir(), 0u) << "spill files are unlinked at once";
  EXPECT_EQ(ReadAll(store), expected);
}

TEST_F(FrameStoreTest, RolledBackSubtransactionIsDroppedButSchemaMessagesStay) {
  for (bool spill : {false, true}) {
    SCOPED_TRACE(spill ? "spilled" : "in memory");
    FrameStore store;
    ASSERT_TRUE(store.Append(1, 10, "I-top").ok());
    if (spill) ASSERT_TRUE(store.Spill(dir_).ok());
    ASSERT_TRUE(store.Append(2, 11, "I-sub").ok());
    ASSERT_TRUE(store.Append(3, 11, "R-sub-relation").ok());
    ASSERT_TRUE(store.Append(4, 12, "I-nested").ok());
    ASSERT_TRUE(store.DropFrom(11, 10, &KeepSchema).ok());
    ASSERT_TRUE(store.Append(5, 10, "I-after").ok());
    const std::vector<std::pair<uint64_t, std::string>> expected = {
        {1, "I-top"}, {3, "R-sub-relation"}, {5, "I-after"}};
    EXPECT_EQ(ReadAll(store), expected);
    // Dropping an unknown (or already dropped) subtransaction changes nothing.
    ASSERT_TRUE(store.DropFrom(12, 10, &KeepSchema).ok());
    EXPECT_EQ(ReadAll(store), expected);
  }
}

// The counters behind StreamStats: bytes in the file now, and bytes ever written.
TEST_F(FrameStoreTest, FileBytesAndBytesWrittenFollowSpillsAndTruncation) {
  FrameStore store;
  ASSERT_TRUE(store.Append(1, 10, "I-top").ok());
  EXPECT_EQ(store.file_bytes(), 0u);
  EXPECT_EQ(store.bytes_written(), 0u);
  ASSERT_TRUE(store.Spill(dir_).ok());
  EXPECT_TRUE(store.spilled());
  EXPECT_EQ(store.memory_bytes(), 0u);
  EXPECT_EQ(store.file_bytes(), store.size_bytes());
  EXPECT_EQ(store.bytes_written(), store.size_bytes());
  const uint64_t first = store.size_bytes();
  // After a spill, appends collect in memory until a chunk is full.
  ASSERT_TRUE(store.Append(2, 11, std::string(2 << 20, 's')).ok());
  EXPECT_EQ(store.memory_bytes(), 0u);
  EXPECT_EQ(store.file_bytes(), store.size_bytes());
  const uint64_t written = store.bytes_written();
  EXPECT_EQ(written, store.size_bytes());
  // ROLLBACK TO SAVEPOINT shrinks the file; what was written stays written.
  ASSERT_TRUE(store.DropFrom(11, 10, &KeepSchema).ok());
  EXPECT_EQ(store.file_bytes(), first);
  EXPECT_EQ(store.bytes_written(), written);
  FrameStore moved = std::move(store);
  EXPECT_EQ(moved.bytes_written(), written);
  EXPECT_EQ(store.bytes_written(), 0u);  // NOLINT(bugprone-use-after-move): reset on move
  EXPECT_EQ(store.file_bytes(), 0u);     // NOLINT(bugprone-use-after-move)
}

TEST_F(FrameStoreTest, UnwritableSpillDirectoryNamesTheFix) {
  FrameStore store;
  ASSERT_TRUE(store.Append(1, 1, "x").ok());
  const absl::Status s = store.Spill("/nonexistent/pgcdc");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(s.message()).find("spill_dir"), std::string::npos) << s;
}

}  // namespace
}  // namespace pgcdc::internal
