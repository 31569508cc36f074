// Initial snapshot (doc/adr/0004) of what publications select: partitioned tables
// published through their leaves or their root, FOR ALL TABLES, and several
// publications whose row filters PostgreSQL ORs. Each test checks the reads against
// the server's own answer and that later changes stream under the same relations.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"
#include "integration/testing/stream_helpers.h"
#include "internal/strings.h"
#include "pgcdc/pgcdc.h"

namespace pgcdc::testing {
namespace {

using ::testing::HasSubstr;

// "schema.table" of a change.
std::string Relation(const Change& c) {
  return absl::StrCat(internal::Sv(c.schema()), ".", internal::Sv(c.table()));
}

// The column names of a row, in order.
std::string ColumnNames(const Row& row) {
  std::vector<std::string> names;
  for (const Column c : row) names.emplace_back(c.name());
  return absl::StrJoin(names, ",");
}

class SnapshotPublicationsTest : public StreamTest {
 protected:
  StreamOptions SnapshotOptions(SnapshotMode mode, std::vector<std::string> pubs) {
    StreamOptions o = Options(pubs[0]);
    o.publications = std::move(pubs);
    o.snapshot = mode;
    o.create_slot = false;
    o.log_sink = [this](LogLevel, std::string_view message) {
      absl::MutexLock lock(&log_mu_);
      log_.emplace_back(message);
    };
    return o;
  }

  std::string Log() {
    absl::MutexLock lock(&log_mu_);
    return absl::StrJoin(log_, "\n");
  }

  // `sql` (one int column) as a set, from the server.
  std::set<int64_t> Ids(const std::string& sql) {
    std::set<int64_t> ids;
    auto rows = pg().Query(sql, dbname());
    EXPECT_TRUE(rows.ok()) << rows.status() << "\n" << sql;
    if (rows.ok()) {
      for (const auto& r : *rows) ids.insert(std::stoll(r[0].value_or("-1")));
    }
    return ids;
  }

  // Read ids per relation; a failure for any id read twice from the same relation.
  std::map<std::string, std::set<int64_t>> ReadIds(const std::vector<Change>& reads) {
    std::map<std::string, std::set<int64_t>> out;
    for (const Change& c : reads) {
      EXPECT_EQ(c.op(), Operation::kRead);
      const int64_t id = ValueOf(c.new_row(), "id").int_value();
      EXPECT_TRUE(out[Relation(c)].insert(id).second) << Relation(c) << " id " << id << " twice";
    }
    return out;
  }

  // m(id, region, v) by region: eu, asia (attached with another column order), us
  // (itself partitioned by id), and a default partition.
  void CreatePartitionedTable() {
    Exec(
        "CREATE TABLE m (id int NOT NULL, region text NOT NULL, v text, "
        "  PRIMARY KEY (id, region)) PARTITION BY LIST (region);"
        "CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu');"
        "CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us') PARTITION BY RANGE (id);"
        "CREATE TABLE m_us_lo PARTITION OF m_us FOR VALUES FROM (MINVALUE) TO (1000);"
        "CREATE TABLE m_us_hi PARTITION OF m_us FOR VALUES FROM (1000) TO (MAXVALUE);"
        "CREATE TABLE m_asia (v text, region text NOT NULL, id int NOT NULL);"
        "ALTER TABLE m ATTACH PARTITION m_asia FOR VALUES IN ('asia');"
        "CREATE TABLE m_other PARTITION OF m DEFAULT;"
        "INSERT INTO m SELECT i, (ARRAY['eu', 'us', 'asia', 'mars'])[i % 4 + 1], 'v' || i "
        "  FROM generate_series(1, 2000) i;");
  }

  absl::Mutex log_mu_;
  std::vector<std::string> log_;
};

// The leaf that holds a row of m, by the partition bounds above.
std::string LeafOf(int64_t id, const std::string& region) {
  if (region == "eu") return "public.m_eu";
  if (region == "asia") return "public.m_asia";
  if (region == "us") return id < 1000 ? "public.m_us_lo" : "public.m_us_hi";
  return "public.m_other";
}

TEST_F(SnapshotPublicationsTest, PartitionedTablePublishedThroughItsLeaves) {
  CreatePartitionedTable();
  Exec("CREATE PUBLICATION pub FOR TABLE m WITH (publish_via_partition_root = false)");
  absl::StatusOr<ChangeStream> stream =
      ChangeStream::Open(SnapshotOptions(SnapshotMode::kInitial, {"pub"}));
  ASSERT_TRUE(stream.ok()) << stream.status();
  std::vector<Change> reads = DrainAcked(*stream, 2000);
  ASSERT_EQ(reads.size(), 2000u);
  std::map<std::string, std::string> columns_by_leaf;
  for (const Change& c : reads) {
    const int64_t id = ValueOf(c.new_row(), "id").int_value();
    const std::string region(ValueOf(c.new_row(), "region").data());
    EXPECT_EQ(Relation(c), LeafOf(id, region)) << "id " << id;
    columns_by_leaf[Relation(c)] = ColumnNames(c.new_row());
  }
  std::set<int64_t> all;
  for (const auto& [leaf, ids] : ReadIds(reads)) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all, Ids("SELECT id FROM m"));
  ASSERT_EQ(columns_by_leaf.size(), 5u);
  EXPECT_EQ(columns_by_leaf["public.m_asia"], "v,region,id") << "the leaf's own columns";

  Exec(
      "INSERT INTO m VALUES (100001, 'eu', 'x'), (100002, 'asia', 'x'), (100003, 'us', 'x'),"
      "  (500, 'us', 'x'), (100004, 'mars', 'x')");
  std::vector<Change> streamed = DrainAcked(*stream, 5, absl::Seconds(20));
  ASSERT_EQ(streamed.size(), 5u);
  for (const Change& c : streamed) {
    EXPECT_EQ(c.op(), Operation::kInsert);
    const int64_t id = ValueOf(c.new_row(), "id").int_value();
    EXPECT_EQ(Relation(c), LeafOf(id, std::string(ValueOf(c.new_row(), "region").data())));
    EXPECT_EQ(ColumnNames(c.new_row()), columns_by_leaf[Relation(c)])
        << "streamed and read rows of " << Relation(c) << " have the same shape";
  }
}

TEST_F(SnapshotPublicationsTest, PartitionedTablePublishedThroughItsRootWithRowFilter) {
  CreatePartitionedTable();
  // One leaf large enough to be copied in block ranges by both readers.
  Exec(
      "INSERT INTO m SELECT i, 'eu', repeat('p', 200) FROM generate_series(10001, 90000) i;"
      "ANALYZE m_eu;"
      "CREATE PUBLICATION pub FOR TABLE m WHERE (id % 3 <> 0) "
      "  WITH (publish_via_partition_root = true)");
  const std::set<int64_t> expected = Ids("SELECT id FROM m WHERE id % 3 <> 0");
  StreamOptions options = SnapshotOptions(SnapshotMode::kInitial, {"pub"});
  std::vector<TableSnapshotProgress> progress;
  options.on_snapshot_progress = [&](const std::vector<TableSnapshotProgress>& p) { progress = p; };
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(options);
  ASSERT_TRUE(stream.ok()) << stream.status();
  std::vector<Change> reads = DrainAcked(*stream, expected.size());
  ASSERT_EQ(reads.size(), expected.size());
  for (const Change& c : reads) {
    ASSERT_EQ(Relation(c), "public.m") << "every row under the root";
    ASSERT_EQ(ColumnNames(c.new_row()), "id,region,v") << "the root's columns, any leaf";
  }
  std::map<std::string, std::set<int64_t>> ids = ReadIds(reads);
  EXPECT_EQ(ids["public.m"], expected);
  // 5 leaves, the big one in several ranges ("initial snapshot at ...: 1 tables (about
  // N rows) in K chunks with 2 readers").
  EXPECT_THAT(Log(), ::testing::ContainsRegex("1 tables \\(about [0-9]+ rows\\) in "
                                              "([6-9]|[1-9][0-9]) chunks with 2 readers"));

  Exec(
      "INSERT INTO m VALUES (100001, 'eu', 'x'), (100003, 'asia', 'x'), (100004, 'us', 'x'),"
      "  (100007, 'mars', 'x'), (100005, 'us', 'filtered out: 100005 % 3 = 0')");
  std::vector<Change> streamed = DrainAcked(*stream, 4, absl::Seconds(20));
  ASSERT_EQ(streamed.size(), 4u);
  for (const Change& c : streamed) {
    EXPECT_EQ(c.op(), Operation::kInsert);
    EXPECT_EQ(Relation(c), "public.m");
    EXPECT_EQ(ColumnNames(c.new_row()), "id,region,v");
    EXPECT_NE(ValueOf(c.new_row(), "id").int_value(), 100005);
  }
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_TRUE(progress[0].done);
  EXPECT_EQ(progress[0].rows_done, static_cast<int64_t>(expected.size()));
  EXPECT_GT(progress[0].rows_estimate, 70000) << "summed over the leaves";
  EXPECT_GT(progress[0].bytes_estimate, 16 << 20) << "summed over the leaves";
}

// Publications that disagree on publish_via_partition_root: pgoutput publishes the
// partitions as the root (the topmost published ancestor), so the snapshot does too,
// although pg_publication_tables lists the leaves for one and the root for the other.
TEST_F(SnapshotPublicationsTest, MixedPublishViaRootReadsEachRowOnceAsTheRoot) {
  CreatePartitionedTable();
  Exec(
      "CREATE TABLE plain (id int PRIMARY KEY); INSERT INTO plain VALUES (1), (2);"
      "CREATE PUBLICATION leaves FOR TABLE m, plain WITH (publish_via_partition_root = false);"
      "CREATE PUBLICATION root FOR TABLE m WITH (publish_via_partition_root = true);"
      "CREATE PUBLICATION one_leaf FOR TABLE m_eu;");
  absl::StatusOr<ChangeStream> stream =
      ChangeStream::Open(SnapshotOptions(SnapshotMode::kInitial, {"leaves", "root", "one_leaf"}));
  ASSERT_TRUE(stream.ok()) << stream.status();
  std::vector<Change> reads = DrainAcked(*stream, 2002);
  ASSERT_EQ(reads.size(), 2002u);
  std::map<std::string, std::set<int64_t>> ids = ReadIds(reads);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids["public.m"], Ids("SELECT id FROM m"));
  EXPECT_EQ(ids["public.plain"], (std::set<int64_t>{1, 2}));

  Exec(
      "INSERT INTO m VALUES (100001, 'eu', 'x'), (100002, 'asia', 'x'); "
      "INSERT INTO plain VALUES (3)");
  std::vector<Change> streamed = DrainAcked(*stream, 3, absl::Seconds(20));
  ASSERT_EQ(streamed.size(), 3u);
  EXPECT_EQ(Relation(streamed[0]), "public.m") << "the stream agrees";
  EXPECT_EQ(Relation(streamed[1]), "public.m");
  EXPECT_EQ(Relation(streamed[2]), "public.plain");
}

TEST_F(SnapshotPublicationsTest, ForAllTablesCopiesEveryTableOfTheDatabase) {
  CreatePartitionedTable();
  Exec(
      "CREATE SCHEMA other;"
      "CREATE TABLE other.\"Mixed Case\" (id int PRIMARY KEY, note text);"
      "INSERT INTO other.\"Mixed Case\" SELECT i, 'n' FROM generate_series(1, 30) i;"
      "CREATE TABLE nokey (id int); INSERT INTO nokey VALUES (7), (7), (NULL);"
      "CREATE TABLE empty (id int PRIMARY KEY);"
      "CREATE PUBLICATION pub FOR ALL TABLES;");
  absl::StatusOr<ChangeStream> stream =
      ChangeStream::Open(SnapshotOptions(SnapshotMode::kInitialOnly, {"pub"}));
  ASSERT_TRUE(stream.ok()) << stream.status();
  std::vector<Change> reads = DrainAcked(*stream, SIZE_MAX);
  EXPECT_TRUE(stream->done());
  std::map<std::string, int> rows;
  std::set<int64_t> m_ids;
  for (const Change& c : reads) {
    EXPECT_EQ(c.op(), Operation::kRead);
    ++rows[Relation(c)];
    if (c.table().substr(0, 2) == "m_") m_ids.insert(ValueOf(c.new_row(), "id").int_value());
  }
  EXPECT_EQ(rows["other.Mixed Case"], 30);
  EXPECT_EQ(rows["public.nokey"], 3) << "duplicates and NULLs included";
  EXPECT_EQ(rows.count("public.empty"), 0u);
  EXPECT_EQ(rows.count("public.m"), 0u) << "FOR ALL TABLES publishes the leaves by default";
  EXPECT_EQ(rows["public.m_eu"] + rows["public.m_asia"] + rows["public.m_us_lo"] +
                rows["public.m_us_hi"] + rows["public.m_other"],
            2000);
  EXPECT_EQ(m_ids, Ids("SELECT id FROM m"));
  EXPECT_EQ(reads.size(), 2033u);
}

// PostgreSQL ORs the row filters of the publications that publish a table, and a
// publication without a filter for it means every row (pgoutput_row_filter_init).
TEST_F(SnapshotPublicationsTest, TwoPublicationsOrTheirRowFilters) {
  Exec(
      "CREATE TABLE t (id int PRIMARY KEY, a int, b int);"
      "INSERT INTO t SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE i END, i % 20 "
      "  FROM generate_series(1, 300) i;"
      "CREATE TABLE u (id int PRIMARY KEY); INSERT INTO u SELECT generate_series(1, 40);"
      "CREATE TABLE w (id int PRIMARY KEY); INSERT INTO w SELECT generate_series(1, 40);"
      "CREATE PUBLICATION pa FOR TABLE t WHERE (a > 250), u WHERE (id < 10);"
      "CREATE PUBLICATION pb FOR TABLE t WHERE (b < 3 AND a IS NOT NULL), u, "
      "  w WHERE (id % 10 = 0);");
  absl::StatusOr<ChangeStream> stream =
      ChangeStream::Open(SnapshotOptions(SnapshotMode::kInitial, {"pa", "pb"}));
  ASSERT_TRUE(stream.ok()) << stream.status();
  const std::set<int64_t> t = Ids("SELECT id FROM t WHERE (a > 250) OR (b < 3 AND a IS NOT NULL)");
  const std::set<int64_t> u = Ids("SELECT id FROM u");
  const std::set<int64_t> w = Ids("SELECT id FROM w WHERE id % 10 = 0");
  ASSERT_GT(t.size(), 50u);
  ASSERT_LT(t.size(), 150u);
  std::vector<Change> reads = DrainAcked(*stream, t.size() + u.size() + w.size());
  std::map<std::string, std::set<int64_t>> ids = ReadIds(reads);
  EXPECT_EQ(ids["public.t"], t);
  EXPECT_EQ(ids["public.u"], u) << "pb publishes u without a filter";
  EXPECT_EQ(ids["public.w"], w);
  EXPECT_TRUE(ReadFor(*stream, absl::Milliseconds(500)).empty()) << "nothing more was read";

  // The stream applies the same combined filter to later changes.
  Exec(
      "INSERT INTO t VALUES (1001, 251, 19), (1002, 5, 1), (1003, 5, 19), (1004, NULL, 1);"
      "INSERT INTO w VALUES (1005), (1010)");
  std::vector<Change> streamed = DrainAcked(*stream, 3, absl::Seconds(20));
  std::vector<std::string> got;
  for (const Change& c : streamed) {
    got.push_back(absl::StrCat(Relation(c), ":", ValueOf(c.new_row(), "id").int_value()));
  }
  EXPECT_THAT(got, ::testing::ElementsAre("public.t:1001", "public.t:1002", "public.w:1010"));
  EXPECT_TRUE(ReadFor(*stream, absl::Milliseconds(500)).empty());
}

TEST_F(SnapshotPublicationsTest, DifferentColumnListsFailEarlyNamingTableAndPublications) {
  Exec(
      "CREATE TABLE t (id int PRIMARY KEY, a int, b int, g int GENERATED ALWAYS AS (a) STORED);"
      "INSERT INTO t (id, a, b) VALUES (1, 1, 1);"
      "CREATE TABLE same (id int PRIMARY KEY, x int); INSERT INTO same VALUES (1, 1);"
      "CREATE PUBLICATION pa FOR TABLE t (id, a), same (x, id);"
      "CREATE PUBLICATION pb FOR TABLE t (id, b), same (id, x);"
      "CREATE PUBLICATION pc FOR TABLE same, t (id, a, b);"  // every sendable column
      "CREATE PUBLICATION pd FOR TABLE t;");
  absl::StatusOr<ChangeStream> bad =
      ChangeStream::Open(SnapshotOptions(SnapshotMode::kInitialOnly, {"pa", "pb"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kFailedPrecondition) << bad.status();
  EXPECT_THAT(std::string(bad.status().message()),
              ::testing::AllOf(HasSubstr("\"public\".\"t\""), HasSubstr("pa (id, a), pb (id, b)"),
                               HasSubstr("same column list in every publication")));
  // Found before any slot is made: nothing is left holding WAL.
  absl::StatusOr<ChangeStream> initial =
      ChangeStream::Open(SnapshotOptions(SnapshotMode::kInitial, {"pa", "pb"}));
  EXPECT_EQ(initial.status().code(), absl::StatusCode::kFailedPrecondition) << initial.status();
  auto slots = pg().Query("SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE '" +
                          slot_ + "%'");
  ASSERT_TRUE(slots.ok()) << slots.status();
  EXPECT_TRUE(slots->empty()) << "no slot and no marker slot";
  // t: (id, b) against no list (all columns) differs too.
  EXPECT_EQ(
      ChangeStream::Open(SnapshotOptions(SnapshotMode::kInitialOnly, {"pb", "pd"})).status().code(),
      absl::StatusCode::kFailedPrecondition);
  // Lists that name the same columns in another order agree, and so do a list of every
  // column (the generated one can be neither listed nor sent) and no list.
  absl::StatusOr<ChangeStream> ok =
      ChangeStream::Open(SnapshotOptions(SnapshotMode::kInitialOnly, {"pc", "pd"}));
  ASSERT_TRUE(ok.ok()) << ok.status();
  std::vector<Change> reads = DrainAcked(*ok, SIZE_MAX);
  ASSERT_EQ(reads.size(), 2u);
  for (const Change& c : reads) {
    EXPECT_EQ(ColumnNames(c.new_row()), c.table() == "t" ? "id,a,b" : "id,x");
  }
  ok = ChangeStream::Open(SnapshotOptions(SnapshotMode::kInitialOnly, {"pa", "pb", "pc"}));
  EXPECT_FALSE(ok.ok());
  EXPECT_THAT(std::string(ok.status().message()), ::testing::Not(HasSubstr("\"public\".\"same\"")))
      << "only t is named: same (x, id) and (id, x) agree";
}

// What the snapshot refuses, the stream refuses too: pgoutput errors on the first
// change of such a table.
TEST_F(SnapshotPublicationsTest, StreamRejectsDifferentColumnListsToo) {
  Exec(
      "CREATE TABLE t (id int PRIMARY KEY, a int, b int);"
      "CREATE PUBLICATION pa FOR TABLE t (id, a); CREATE PUBLICATION pb FOR TABLE t (id, b);");
  StreamOptions o = Options("pa");
  o.publications = {"pa", "pb"};
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(o);
  ASSERT_TRUE(stream.ok()) << stream.status();
  Exec("INSERT INTO t VALUES (1, 1, 1)");
  absl::Status error = absl::OkStatus();
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (error.ok() && absl::Now() < deadline) {
    absl::StatusOr<std::optional<Change>> next = stream->Poll(absl::Milliseconds(200));
    if (!next.ok()) error = next.status();
    ASSERT_FALSE(next.ok() && *next) << "the server sent the change";
  }
  EXPECT_THAT(std::string(error.message()), HasSubstr("cannot use different column lists"));
}

}  // namespace
}  // namespace pgcdc::testing
