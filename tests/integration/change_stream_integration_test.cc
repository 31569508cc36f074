// Row changes through ChangeStream against a real PostgreSQL: operations, replica
// identity, TOAST, schema changes, truncate, messages, ordering, identifiers.
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"
#include "integration/testing/stream_helpers.h"
#include "pgcdc/pgcdc.h"

namespace pgcdc::testing {
namespace {

using ::testing::ElementsAre;

class ChangeStreamTest : public StreamTest {
 protected:
  // Runs `setup` (tables, publication "pub"), then opens a stream with a new slot.
  ChangeStream Open(const std::string& setup, const std::string& publication = "pub") {
    EXPECT_TRUE(pg().Exec(setup, dbname()).ok());
    absl::StatusOr<ChangeStream> stream = ChangeStream::Open(Options(publication));
    EXPECT_TRUE(stream.ok()) << stream.status();
    return std::move(stream).value();
  }
};

std::vector<std::string> Ops(const std::vector<Change>& changes) {
  std::vector<std::string> ops;
  for (const Change& c : changes) ops.emplace_back(OperationName(c.op()));
  return ops;
}

TEST_F(ChangeStreamTest, InsertUpdateDeleteWithDefaultReplicaIdentity) {
  ChangeStream stream = Open(
      "CREATE TABLE t (id int PRIMARY KEY, name text, score numeric(6,2));"
      "CREATE PUBLICATION pub FOR TABLE t;");
  Exec("INSERT INTO t VALUES (1, 'a', 1.50)");
  Exec("UPDATE t SET name = 'b' WHERE id = 1");
  Exec("UPDATE t SET id = 2 WHERE id = 1");
  Exec("DELETE FROM t WHERE id = 2");
  std::vector<Change> c = ReadChanges(stream, 4);
  ASSERT_EQ(c.size(), 4u);
  EXPECT_THAT(Ops(c), ElementsAre("insert", "update", "update", "delete"));
  EXPECT_EQ(c[0].schema(), "public");
  EXPECT_EQ(c[0].table(), "t");
  EXPECT_EQ(ValueOf(c[0].new_row(), "id").int_value(), 1);
  EXPECT_EQ(ValueOf(c[0].new_row(), "name").text_value(), "a");
  EXPECT_EQ(ValueOf(c[0].new_row(), "score").numeric_value(), "1.50");
  // A non-key update carries no old row; a key update carries the old key only.
  EXPECT_EQ(c[1].old_row_kind(), OldRowKind::kNone);
  EXPECT_EQ(ValueOf(c[1].new_row(), "name").text_value(), "b");
  EXPECT_EQ(c[2].old_row_kind(), OldRowKind::kKey);
  ASSERT_EQ(c[2].old_row().size(), 1u);
  EXPECT_EQ(ValueOf(c[2].old_row(), "id").int_value(), 1);
  EXPECT_EQ(ValueOf(c[2].new_row(), "id").int_value(), 2);
  EXPECT_EQ(c[3].old_row_kind(), OldRowKind::kKey);
  EXPECT_EQ(ValueOf(c[3].old_row(), "id").int_value(), 2);
  EXPECT_FALSE(HasColumn(c[3].old_row(), "name"));
  EXPECT_EQ(c[3].new_row().size(), 0u);
  for (const Change& change : c) {
    EXPECT_TRUE(change.last_in_transaction());
    EXPECT_GT(change.end_lsn(), change.commit_lsn());
    EXPECT_GE(change.commit_lsn(), change.lsn());
    EXPECT_GT(change.xid(), 0u);
    EXPECT_GT(change.commit_time_us(), absl::ToUnixMicros(absl::Now() - absl::Minutes(5)));
  }
  EXPECT_LT(c[0].end_lsn(), c[1].commit_lsn());
  EXPECT_TRUE(stream.Close().ok());
}

TEST_F(ChangeStreamTest, ReplicaIdentityFullSendsWholeOldRow) {
  ChangeStream stream = Open(
      "CREATE TABLE t (id int PRIMARY KEY, name text, n int);"
      "ALTER TABLE t REPLICA IDENTITY FULL;"
      "CREATE PUBLICATION pub FOR TABLE t;");
  Exec("INSERT INTO t VALUES (1, 'a', 10)");
  Exec("UPDATE t SET n = 11 WHERE id = 1");
  Exec("DELETE FROM t WHERE id = 1");
  std::vector<Change> c = ReadChanges(stream, 3);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[1].old_row_kind(), OldRowKind::kFull);
  EXPECT_EQ(ValueOf(c[1].old_row(), "n").int_value(), 10);
  EXPECT_EQ(ValueOf(c[1].old_row(), "name").text_value(), "a");
  EXPECT_EQ(ValueOf(c[1].new_row(), "n").int_value(), 11);
  EXPECT_EQ(c[2].old_row_kind(), OldRowKind::kFull);
  EXPECT_EQ(ValueOf(c[2].old_row(), "name").text_value(), "a");
  EXPECT_EQ(ValueOf(c[2].old_row(), "n").int_value(), 11);
}

TEST_F(ChangeStreamTest, UnchangedToastIsExplicitNotNull) {
  ChangeStream stream = Open(
      "CREATE TABLE t (id int PRIMARY KEY, big text, n int, gone text);"
      "ALTER TABLE t ALTER COLUMN big SET STORAGE EXTERNAL;"
      "CREATE PUBLICATION pub FOR TABLE t;");
  // ~200 kB of random hex: stored out of line (EXTERNAL = never compressed).
  Exec(
      "INSERT INTO t SELECT 1, string_agg(md5(random()::text), '') , 1, NULL "
      "FROM generate_series(1, 6400)");
  Exec("UPDATE t SET n = 2 WHERE id = 1");
  std::vector<Change> c = ReadChanges(stream, 2);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(ValueOf(c[0].new_row(), "big").text_value().size(), 6400u * 32);
  EXPECT_TRUE(ValueOf(c[1].new_row(), "big").is_unchanged_toast());
  EXPECT_TRUE(ValueOf(c[1].new_row(), "gone").is_null());
  EXPECT_EQ(ValueOf(c[1].new_row(), "n").int_value(), 2);
}

TEST_F(ChangeStreamTest, UnchangedToastIsFilledFromFullOldRow) {
  ChangeStream stream = Open(
      "CREATE TABLE t (id int PRIMARY KEY, big text, n int);"
      "ALTER TABLE t ALTER COLUMN big SET STORAGE EXTERNAL;"
      "ALTER TABLE t REPLICA IDENTITY FULL;"
      "CREATE PUBLICATION pub FOR TABLE t;");
  Exec("INSERT INTO t SELECT 1, string_agg(md5(i::text), ''), 1 FROM generate_series(1, 6400) i");
  Exec("UPDATE t SET n = 2 WHERE id = 1");
  std::vector<Change> c = ReadChanges(stream, 2);
  ASSERT_EQ(c.size(), 2u);
  const std::string_view inserted = ValueOf(c[0].new_row(), "big").text_value();
  EXPECT_EQ(inserted.size(), 6400u * 32);
  EXPECT_EQ(ValueOf(c[1].new_row(), "big").text_value(), inserted);
  EXPECT_EQ(ValueOf(c[1].old_row(), "big").text_value(), inserted);
}

TEST_F(ChangeStreamTest, SchemaChangesBetweenAndInsideTransactions) {
  ChangeStream stream = Open(
      "CREATE TABLE t (id int PRIMARY KEY, a text);"
      "CREATE PUBLICATION pub FOR TABLE t;");
  Exec("INSERT INTO t VALUES (1, 'x')");
  Exec("ALTER TABLE t ADD COLUMN b int DEFAULT 7");
  Exec("INSERT INTO t VALUES (2, 'y', 8)");
  Exec(
      "BEGIN; INSERT INTO t VALUES (3, 'z', 9); ALTER TABLE t DROP COLUMN a;"
      "ALTER TABLE t ADD COLUMN c date; INSERT INTO t VALUES (4, 10, '2024-02-29'); COMMIT");
  std::vector<Change> c = ReadChanges(stream, 4);
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].new_row().size(), 2u);
  EXPECT_EQ(ValueOf(c[1].new_row(), "b").int_value(), 8);
  EXPECT_EQ(ValueOf(c[2].new_row(), "a").text_value(), "z");
  EXPECT_EQ(c[3].new_row().size(), 3u);
  EXPECT_FALSE(HasColumn(c[3].new_row(), "a"));
  EXPECT_EQ(ValueOf(c[3].new_row(), "b").int_value(), 10);
  EXPECT_EQ(ValueOf(c[3].new_row(), "c").kind(), ValueKind::kDate);
  EXPECT_EQ(ValueOf(c[3].new_row(), "c").date_value().days, 19782);  // 2024-02-29
  // The two changes of the last transaction share it and are ordered.
  EXPECT_EQ(c[2].commit_lsn(), c[3].commit_lsn());
  EXPECT_EQ(c[2].ordinal(), 0u);
  EXPECT_EQ(c[3].ordinal(), 1u);
  EXPECT_FALSE(c[2].last_in_transaction());
  EXPECT_TRUE(c[3].last_in_transaction());
  EXPECT_NE(c[2].id(), c[3].id());
}

TEST_F(ChangeStreamTest, TruncateOneRecordPerTable) {
  ChangeStream stream = Open(
      "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);"
      "CREATE PUBLICATION pub FOR TABLE a, b;");
  Exec("INSERT INTO a VALUES (1)");
  Exec("TRUNCATE a, b RESTART IDENTITY");
  std::vector<Change> c = ReadChanges(stream, 3);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_THAT(Ops(c), ElementsAre("insert", "truncate", "truncate"));
  EXPECT_EQ(c[1].table(), "a");
  EXPECT_EQ(c[2].table(), "b");
  EXPECT_TRUE(c[1].truncate_restart_identity());
  EXPECT_FALSE(c[1].truncate_cascade());
  EXPECT_EQ(c[1].commit_lsn(), c[2].commit_lsn());
}

TEST_F(ChangeStreamTest, LogicalMessagesTransactionalAndNot) {
  ChangeStream stream =
      Open("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;");
  Exec("SELECT pg_logical_emit_message(false, 'audit', 'outside')");
  Exec(
      "BEGIN; INSERT INTO t VALUES (1);"
      "SELECT pg_logical_emit_message(true, 'audit', convert_to('inside ✓', 'UTF8')); COMMIT");
  Exec("BEGIN; SELECT pg_logical_emit_message(true, 'audit', 'rolled back'); ROLLBACK");
  std::vector<Change> c = ReadChanges(stream, 3);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_THAT(Ops(c), ElementsAre("message", "insert", "message"));
  EXPECT_FALSE(c[0].message_transactional());
  EXPECT_EQ(c[0].message_prefix(), "audit");
  EXPECT_EQ(c[0].message_content(), "outside");
  EXPECT_TRUE(c[2].message_transactional());
  EXPECT_EQ(c[2].message_content(), "inside ✓");
  EXPECT_EQ(c[1].commit_lsn(), c[2].commit_lsn());
  EXPECT_TRUE(ReadFor(stream, absl::Milliseconds(500)).empty());
}

TEST_F(ChangeStreamTest, ConcurrentTransactionsArriveInCommitOrder) {
  ChangeStream stream =
      Open("CREATE TABLE t (id int PRIMARY KEY, who text); CREATE PUBLICATION pub FOR TABLE t;");
  // Two sessions interleave; the first to begin commits last.
  std::thread first([&] {
    Exec(
        "BEGIN; INSERT INTO t VALUES (1, 'first'); SELECT pg_sleep(0.6);"
        "INSERT INTO t VALUES (2, 'first'); COMMIT");
  });
  absl::SleepFor(absl::Milliseconds(200));
  Exec("BEGIN; INSERT INTO t VALUES (3, 'second'); INSERT INTO t VALUES (4, 'second'); COMMIT");
  first.join();
  std::vector<Change> c = ReadChanges(stream, 4);
  ASSERT_EQ(c.size(), 4u);
  std::vector<int64_t> ids;
  for (const Change& change : c) ids.push_back(ValueOf(change.new_row(), "id").int_value());
  EXPECT_THAT(ids, ElementsAre(3, 4, 1, 2));
  EXPECT_LT(c[1].end_lsn(), c[2].commit_lsn());
}

TEST_F(ChangeStreamTest, PollBatchDeliversWhatPollWouldInBoundedBatches) {
  ChangeStream stream =
      Open("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;");
  // Transactions of 5, 1 and 7 rows.
  Exec("INSERT INTO t SELECT g FROM generate_series(1, 5) g");
  Exec("INSERT INTO t VALUES (6)");
  Exec("INSERT INTO t SELECT g FROM generate_series(7, 13) g");
  std::vector<Change> all;
  std::vector<size_t> sizes;
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (all.size() < 13 && absl::Now() < give_up) {
    const size_t before = all.size();
    ASSERT_TRUE(stream.PollBatch(absl::Seconds(1), 4, &all).ok());
    if (all.size() > before) sizes.push_back(all.size() - before);
  }
  std::vector<int64_t> expected_ids;
  for (int64_t id = 1; id <= 13; ++id) expected_ids.push_back(id);
  EXPECT_EQ(RowIds(all), expected_ids);
  for (size_t size : sizes) EXPECT_LE(size, 4u);
  // The first transaction is ready whole when its commit arrives: a full batch.
  ASSERT_FALSE(sizes.empty());
  EXPECT_EQ(sizes[0], 4u);
  std::vector<size_t> last_positions;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].last_in_transaction()) last_positions.push_back(i);
    EXPECT_EQ(all[i].ordinal(), i < 5 ? i : i < 6 ? 0 : i - 6) << i;
  }
  EXPECT_THAT(last_positions, ElementsAre(4u, 5u, 12u));
  EXPECT_EQ(stream.stats().changes_delivered, 13u);
  EXPECT_EQ(stream.stats().transactions_delivered, 3u);

  // Nothing more: the wait is bounded by the timeout and appends nothing.
  const size_t before = all.size();
  const absl::Time start = absl::Now();
  ASSERT_TRUE(stream.PollBatch(absl::Milliseconds(300), 4, &all).ok());
  EXPECT_EQ(all.size(), before);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(250));
  EXPECT_FALSE(stream.done());
}

TEST_F(ChangeStreamTest, PollBatchHonoursStopLsnAndCancel) {
  Exec("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION pub FOR TABLE t;");
  {
    absl::StatusOr<ChangeStream> stream = ChangeStream::Open(Options());
    ASSERT_TRUE(stream.ok()) << stream.status();
    Exec("INSERT INTO t SELECT g FROM generate_series(1, 5) g");
    Exec("INSERT INTO t VALUES (6)");
    const uint64_t stop = CurrentWalLsn();
    Exec("INSERT INTO t SELECT g FROM generate_series(7, 13) g");
    // Not acknowledged: a second stream on the slot sees the same changes.
    std::vector<Change> first = ReadChanges(*stream, 13);
    ASSERT_EQ(first.size(), 13u);
    ASSERT_TRUE(stream->Close().ok());

    StreamOptions options = Options();
    options.stop_at_lsn = Lsn(stop);
    absl::StatusOr<ChangeStream> stopping = ChangeStream::Open(options);
    ASSERT_TRUE(stopping.ok()) << stopping.status();
    std::vector<Change> got;
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (!stopping->done() && absl::Now() < give_up) {
      ASSERT_TRUE(stopping->PollBatch(absl::Seconds(1), 100, &got).ok());
    }
    EXPECT_TRUE(stopping->done());
    EXPECT_THAT(RowIds(got), ElementsAre(1, 2, 3, 4, 5, 6));
  }
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(Options());
  ASSERT_TRUE(stream.ok()) << stream.status();
  stream->Cancel();
  std::vector<Change> got;
  ASSERT_TRUE(stream->PollBatch(absl::Seconds(5), 100, &got).ok());
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(stream->done());
}

TEST_F(ChangeStreamTest, QuotedAndUnicodeIdentifiers) {
  ChangeStream stream = Open(
      "CREATE SCHEMA \"Sales Ünit\";"
      "CREATE TABLE \"Sales Ünit\".\"Order \"\"Items\"\"\" (\"ID\" int PRIMARY KEY, "
      "\"naïve column\" text, \"a,b\" int);"
      "CREATE PUBLICATION \"Pub Ü\" FOR TABLE \"Sales Ünit\".\"Order \"\"Items\"\"\";",
      "Pub Ü");
  Exec("INSERT INTO \"Sales Ünit\".\"Order \"\"Items\"\"\" VALUES (1, 'ünïcödé ✓', 2)");
  std::vector<Change> c = ReadChanges(stream, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].schema(), "Sales Ünit");
  EXPECT_EQ(c[0].table(), "Order \"Items\"");
  EXPECT_EQ(ValueOf(c[0].new_row(), "ID").int_value(), 1);
  EXPECT_EQ(ValueOf(c[0].new_row(), "naïve column").text_value(), "ünïcödé ✓");
  EXPECT_EQ(ValueOf(c[0].new_row(), "a,b").int_value(), 2);
}

TEST_F(ChangeStreamTest, RegclassValuesAreSchemaQualifiedWhateverTheSearchPath) {
  ChangeStream stream = Open(
      "CREATE TABLE t (id int PRIMARY KEY, rel regclass, typ regtype);"
      "CREATE PUBLICATION pub FOR TABLE t;");
  Exec("INSERT INTO t VALUES (1, 'public.t', 'int4')");
  std::vector<Change> c = ReadChanges(stream, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(ValueOf(c[0].new_row(), "rel").text_value(), "public.t");
  EXPECT_EQ(ValueOf(c[0].new_row(), "typ").text_value(), "integer");
}

TEST_F(ChangeStreamTest, CreatesPublicationForNamedTables) {
  Exec("CREATE TABLE t1 (id int PRIMARY KEY); CREATE TABLE t2 (id int PRIMARY KEY)");
  StreamOptions options = Options("made_pub");
  options.publication_tables = {"public.t1"};
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  Exec("INSERT INTO t2 VALUES (1); INSERT INTO t1 VALUES (2)");
  std::vector<Change> c = ReadChanges(*stream, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].table(), "t1");
  EXPECT_TRUE(ReadFor(*stream, absl::Milliseconds(300)).empty());
}

}  // namespace
}  // namespace pgcdc::testing
