// SnapshotReader's planning (doc/adr/0004): which tables, columns, row filters and
// COPY chunks the snapshot has, read from the catalog as of the exported snapshot, so
// that every row arrives exactly once under the relation the stream uses for it.
#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connection/column_details.h"
#include "internal/status_macros.h"
#include "snapshot/snapshot_reader.h"
#include "values/value_decoder.h"

namespace pgcdc::internal {
namespace {

// Tables (or leaf partitions) from kSplitBlocks on are copied in block ranges of at
// least kMinChunkBlocks (8 kB blocks: 16 MB and 8 MB), about four per reader, so
// readers share big tables.
constexpr int64_t kSplitBlocks = 2048;
constexpr int64_t kMinChunkBlocks = 1024;

int64_t ToInt64(const std::optional<std::string>& text, int64_t fallback) {
  int64_t value = fallback;
  if (text && !absl::SimpleAtoi(*text, &value)) value = fallback;
  return value;
}

// The published relations with the publications' row filters and column lists. PG15's
// pg_publication_tables (one publication at a time) lists a partitioned table's leaves
// or the root itself, by publish_via_partition_root; its rowfilter is already NULL
// where pgoutput applies none (FOR ALL TABLES, TABLES IN SCHEMA, a leaf published
// through its root), and attnames lists every column when there is no column list.
// When publications disagree on publish_via_partition_root, a partition can be listed
// besides an ancestor; pgoutput then publishes it as the topmost published ancestor
// (get_rel_sync_entry in pgoutput.c), so such partitions are left out (PG16's
// pg_get_publication_tables does the same). `cols` are the columns pgoutput would send
// per publication (generated ones never are in PG15), to find conflicting lists.
// Before PG15 there are neither row filters nor column lists.
std::string PublishedSql(const std::string& pubs, bool pg15) {
  return absl::StrCat(
      "WITH listed AS (SELECT c.oid, pt.pubname, ",
      pg15 ? "pt.rowfilter, pt.attnames " : "NULL::text AS rowfilter, NULL::name[] AS attnames ",
      "FROM pg_catalog.pg_publication_tables pt "
      "JOIN pg_catalog.pg_namespace n ON n.nspname = pt.schemaname "
      "JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename "
      "WHERE pt.pubname IN (",
      pubs,
      ")), "
      "published AS (SELECT l.*, ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a "
      "WHERE a.attrelid = l.oid AND a.attnum > 0 AND NOT a.attisdropped AND "
      "a.attgenerated = '' AND (l.attnames IS NULL OR a.attname = ANY(l.attnames)) "
      "ORDER BY a.attnum) AS cols "
      "FROM listed l WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_partition_ancestors(l.oid) "
      "a WHERE a.relid <> l.oid AND a.relid IN (SELECT oid FROM listed))) ");
}

// Size estimates: a partitioned table has no storage and reltuples -1 unless analyzed
// itself (autovacuum never does), so its leaves are summed.
constexpr char kEstimatesSql[] =
    "CROSS JOIN LATERAL (SELECT "
    "CASE WHEN c.relkind <> 'p' THEN c.reltuples ELSE (SELECT CASE WHEN bool_and(lc.reltuples "
    "< 0) THEN -1 ELSE sum(greatest(lc.reltuples, 0)) END FROM "
    "pg_catalog.pg_partition_tree(c.oid) pt JOIN pg_catalog.pg_class lc ON lc.oid = pt.relid "
    "WHERE pt.isleaf) END::bigint AS rows, "
    "CASE WHEN c.relkind <> 'p' THEN pg_catalog.pg_relation_size(c.oid) ELSE (SELECT "
    "sum(pg_catalog.pg_relation_size(pt.relid)) FROM pg_catalog.pg_partition_tree(c.oid) pt "
    "WHERE pt.isleaf) END::bigint AS bytes) est ";

// pgoutput_column_list_init refuses such a table at its first change; say so at Open().
absl::Status ColumnListConflict(const std::string& table, const std::string& lists) {
  return absl::FailedPreconditionError(absl::StrCat(
      "table ", table, " has different column lists in the publications: ", lists,
      "; PostgreSQL cannot stream it (\"cannot use different column lists for table ... in "
      "different publications\"). Give the table the same column list in every publication "
      "(ALTER PUBLICATION <name> DROP TABLE ",
      table, "; ALTER PUBLICATION <name> ADD TABLE ", table,
      " (<columns>)), or stream these publications through separate slots"));
}

}  // namespace

absl::Status SnapshotReader::Plan(PgConnection& conn) {
  std::vector<std::string> literals;
  for (const std::string& p : publications_) literals.push_back(conn.QuoteLiteral(p));
  const std::string pubs = absl::StrJoin(literals, ",");
  const bool pg15 = conn.server_version() >= 150000;
  // Row filters are OR-ed across publications; one publication without a filter for
  // the table means no filter (pgoutput_row_filter_init; doc/protocol.md#publications).
  PGCDC_ASSIGN_OR_RETURN(
      QueryResult r,
      conn.Query(absl::StrCat(
          PublishedSql(pubs, pg15),
          "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relreplident, est.rows, est.bytes, "
          "current_setting('block_size')::bigint, "
          "pg_catalog.has_table_privilege(c.oid, 'SELECT'), bool_or(p.rowfilter IS NULL), "
          "string_agg('(' || p.rowfilter || ')', ' OR ' ORDER BY p.pubname), "
          "count(DISTINCT p.cols) > 1, string_agg(p.pubname || ' (' || "
          "array_to_string(p.cols, ', ') || ')', ', ' ORDER BY p.pubname) "
          "FROM published p JOIN pg_catalog.pg_class c ON c.oid = p.oid "
          "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ",
          kEstimatesSql, "GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 7 DESC, 1")));
  std::vector<std::string> denied;
  std::vector<std::shared_ptr<RelationInfo>> relations;
  for (const auto& row : r.rows) {
    auto info = std::make_shared<RelationInfo>();
    info->oid = static_cast<uint32_t>(ToInt64(row[0], 0));
    info->schema = row[1].value_or("");
    info->table = row[2].value_or("");
    info->replica_identity = row[4].value_or("d")[0];
    const std::string quoted =
        absl::StrCat(conn.QuoteIdentifier(info->schema), ".", conn.QuoteIdentifier(info->table));
    if (row[11].value_or("f") == "t") return ColumnListConflict(quoted, row[12].value_or(""));
    if (row[8].value_or("f") != "t") denied.push_back(quoted);
    Table& t = tables_.emplace_back();
    t.relkind = row[3].value_or("r")[0];
    t.copy_source = t.relkind == 'p' ? quoted : absl::StrCat("ONLY ", quoted);
    if (row[9].value_or("t") != "t") t.row_filter = row[10].value_or("");
    t.block_size = std::max<int64_t>(1, ToInt64(row[7], 8192));
    const int64_t bytes = ToInt64(row[6], -1);
    t.blocks = bytes < 0 ? 0 : (bytes + t.block_size - 1) / t.block_size;
    t.progress.schema = info->schema;
    t.progress.table = info->table;
    t.progress.rows_estimate = ToInt64(row[5], -1);
    t.progress.bytes_estimate = bytes;
    relations.push_back(std::move(info));
  }
  if (!denied.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the initial snapshot needs SELECT on the published tables ", absl::StrJoin(denied, ", "),
        ": GRANT SELECT ON ", absl::StrJoin(denied, ", "), " TO <the role in the DSN>"));
  }
  if (relations.empty()) return absl::OkStatus();
  PGCDC_RETURN_IF_ERROR(LockTables(conn, relations));
  PGCDC_RETURN_IF_ERROR(LoadColumns(conn, pubs, &relations));
  for (size_t i = 0; i < tables_.size(); ++i) {
    std::vector<std::string> names;
    for (const RelationInfo::Column& c : relations[i]->columns) {
      names.push_back(conn.QuoteIdentifier(c.name));
    }
    tables_[i].columns = absl::StrJoin(names, ", ");
    tables_[i].relation = std::move(relations[i]);
  }
  return LoadLeaves(conn);
}

absl::Status SnapshotReader::CheckColumnLists(PgConnection& conn) {
  std::vector<std::string> literals;
  for (const std::string& p : publications_) literals.push_back(conn.QuoteLiteral(p));
  if (conn.server_version() < 150000) return absl::OkStatus();  // no column lists
  PGCDC_ASSIGN_OR_RETURN(
      QueryResult r, conn.Query(absl::StrCat(
                         PublishedSql(absl::StrJoin(literals, ","), true),
                         "SELECT n.nspname, c.relname, string_agg(p.pubname || ' (' || "
                         "array_to_string(p.cols, ', ') || ')', ', ' ORDER BY p.pubname) "
                         "FROM published p JOIN pg_catalog.pg_class c ON c.oid = p.oid "
                         "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                         "GROUP BY 1, 2 HAVING count(DISTINCT p.cols) > 1 ORDER BY 1, 2 LIMIT 1")));
  if (r.rows.empty()) return absl::OkStatus();
  return ColumnListConflict(absl::StrCat(conn.QuoteIdentifier(r.rows[0][0].value_or("")), ".",
                                         conn.QuoteIdentifier(r.rows[0][1].value_or(""))),
                            r.rows[0][2].value_or(""));
}

absl::Status SnapshotReader::LockTables(
    PgConnection& conn, const std::vector<std::shared_ptr<RelationInfo>>& relations) {
  // Like pg_dump: TRUNCATE and ALTER TABLE are not MVCC-safe, so keep them out until the
  // snapshot ends (the lock lasts as long as this reader's transaction, which ends
  // after every other reader's (ReaderLoop); locking a partitioned table locks its
  // partitions too).
  std::vector<std::string> names;
  for (const auto& rel : relations) {
    names.push_back(
        absl::StrCat(conn.QuoteIdentifier(rel->schema), ".", conn.QuoteIdentifier(rel->table)));
  }
  return conn.Exec(
      absl::StrCat("LOCK TABLE ", absl::StrJoin(names, ", "), " IN ACCESS SHARE MODE"));
}

absl::Status SnapshotReader::LoadColumns(PgConnection& conn, const std::string& pubs,
                                         std::vector<std::shared_ptr<RelationInfo>>* relations) {
  std::vector<uint32_t> oids;
  for (const auto& rel : *relations) oids.push_back(rel->oid);
  // The columns pgoutput sends: not dropped, not generated, in the publications' column
  // lists (Plan made sure they agree); the key flag as in its Relation message: replica
  // identity columns, all for FULL.
  PGCDC_ASSIGN_OR_RETURN(
      QueryResult r,
      conn.Query(absl::StrCat(
          "SELECT a.attrelid, a.attname, a.atttypid, "
          "coalesce(c.relreplident = 'f' OR a.attnum = ANY(i.indkey), false), a.atttypmod "
          "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
          "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
          "LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND "
          "((c.relreplident = 'd' AND i.indisprimary) OR "
          "(c.relreplident = 'i' AND i.indisreplident)) "
          "WHERE a.attrelid IN (",
          absl::StrJoin(oids, ","),
          ") AND a.attnum > 0 AND NOT "
          "a.attisdropped AND a.attgenerated = '' ",
          conn.server_version() < 150000
              ? ""
              : absl::StrCat("AND EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables pt "
                             "WHERE pt.pubname IN (",
                             pubs,
                             ") AND pt.schemaname = n.nspname "
                             "AND pt.tablename = c.relname AND a.attname = ANY(pt.attnames)) "),
          "ORDER BY a.attrelid, a.attnum")));
  std::vector<uint32_t> custom_types;
  for (const auto& row : r.rows) {
    const uint32_t oid = static_cast<uint32_t>(ToInt64(row[0], 0));
    const uint32_t type = static_cast<uint32_t>(ToInt64(row[2], 0));
    for (auto& rel : *relations) {
      if (rel->oid != oid) continue;
      // OIDs below 10000 are built-in types, decoded by their own OID (as the stream).
      rel->columns.push_back({row[1].value_or(""),
                              type,
                              type < 10000 ? type : 0,
                              row[3].value_or("f") == "t",
                              static_cast<int32_t>(ToInt64(row[4], -1)),
                              false,
                              false,
                              std::nullopt,
                              {}});
      if (type >= 10000) custom_types.push_back(type);
    }
  }
  if (describe_columns_) {
    for (auto& rel : *relations) PGCDC_RETURN_IF_ERROR(DescribeColumns(conn, *rel));
  }
  if (custom_types.empty()) return absl::OkStatus();
  return ResolveCustomTypes(conn, custom_types, relations);
}

absl::Status SnapshotReader::ResolveCustomTypes(
    PgConnection& conn, const std::vector<uint32_t>& custom_types,
    std::vector<std::shared_ptr<RelationInfo>>* relations) {
  // A domain is decoded as its (built-in) base type, like the stream does with the
  // Type message pgoutput sends for it; other user types stay text.
  PGCDC_ASSIGN_OR_RETURN(
      QueryResult types,
      conn.Query(absl::StrCat(
          "WITH RECURSIVE b(oid, base, depth) AS (SELECT oid, oid, 0 FROM pg_catalog.pg_type "
          "WHERE oid IN (",
          absl::StrJoin(custom_types, ","),
          ") UNION ALL SELECT b.oid, "
          "t.typbasetype, b.depth + 1 FROM b JOIN pg_catalog.pg_type t ON t.oid = b.base "
          "WHERE t.typtype = 'd' AND b.depth < 32) "
          "SELECT DISTINCT ON (b.oid) b.oid, t.typnamespace = 'pg_catalog'::regnamespace, "
          "t.typname FROM b JOIN pg_catalog.pg_type t ON t.oid = b.base "
          "ORDER BY b.oid, b.depth DESC")));
  for (const auto& row : types.rows) {
    const uint32_t type = static_cast<uint32_t>(ToInt64(row[0], 0));
    uint32_t decode = 0;
    if (row[1].value_or("f") == "t") decode = BuiltinTypeOidByName(row[2].value_or("")).value_or(0);
    for (auto& rel : *relations) {
      for (RelationInfo::Column& c : rel->columns) {
        if (c.type_oid == type) c.decode_oid = decode;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status SnapshotReader::LoadLeaves(PgConnection& conn) {
  // A table published through its partitioned root (publish_via_partition_root) is
  // copied leaf by leaf, with the root's column names (partitions have the same
  // columns, possibly in another order): COPY rejects a partitioned table, and one
  // SELECT over the root would give all of it to one reader with no block ranges.
  std::vector<uint32_t> roots;
  for (const Table& t : tables_) {
    if (t.relkind == 'p') roots.push_back(t.relation->oid);
  }
  if (roots.empty()) return absl::OkStatus();
  PGCDC_ASSIGN_OR_RETURN(
      QueryResult r,
      conn.Query(absl::StrCat(
          "SELECT root.oid, n.nspname, c.relname, c.relkind, pg_catalog.pg_relation_size(c.oid) "
          "FROM unnest(ARRAY[",
          absl::StrJoin(roots, ","),
          "]::oid[]) root(oid) "
          "CROSS JOIN LATERAL pg_catalog.pg_partition_tree(root.oid) pt "
          "JOIN pg_catalog.pg_class c ON c.oid = pt.relid "
          "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
          "WHERE pt.isleaf ORDER BY 1, 5 DESC, c.oid")));
  for (const auto& row : r.rows) {
    const uint32_t root = static_cast<uint32_t>(ToInt64(row[0], 0));
    for (Table& t : tables_) {
      if (t.relation->oid != root) continue;
      const int64_t bytes = std::max<int64_t>(0, ToInt64(row[4], 0));
      t.leaves.push_back({absl::StrCat("ONLY ", conn.QuoteIdentifier(row[1].value_or("")), ".",
                                       conn.QuoteIdentifier(row[2].value_or(""))),
                          row[3].value_or("r")[0], (bytes + t.block_size - 1) / t.block_size});
    }
  }
  return absl::OkStatus();
}

void SnapshotReader::PlanChunks() {
  // Largest tables first (Plan sorted them): their chunks start early, small tables
  // fill in at the end, so readers finish at about the same time.
  for (size_t i = 0; i < tables_.size(); ++i) {
    Table& t = tables_[i];
    uint32_t index = 0;
    if (t.relkind != 'p') {
      AddChunks(i, -1, t.relkind, t.blocks, &index);
    } else {
      for (size_t leaf = 0; leaf < t.leaves.size(); ++leaf) {
        AddChunks(i, static_cast<int>(leaf), t.leaves[leaf].relkind, t.leaves[leaf].blocks, &index);
      }
      // A partitioned table without partitions still gets its (empty) chunk, so that
      // it is reported done like any other table.
      if (index == 0) chunks_.push_back({i, index++, -1, -1, -1});
    }
    t.chunks = static_cast<int>(index);
  }
}

void SnapshotReader::AddChunks(size_t table, int leaf, char relkind, int64_t blocks,
                               uint32_t* index) {
  // Block ranges need a heap: plain tables only, not foreign ones.
  const bool split = relkind == 'r' && readers_ > 1 && blocks >= kSplitBlocks;
  if (!split) {
    chunks_.push_back({table, (*index)++, leaf, -1, -1});
    return;
  }
  const int64_t per_chunk = std::max(kMinChunkBlocks, (blocks + readers_ * 4 - 1) / (readers_ * 4));
  for (int64_t first = 0; first < blocks; first += per_chunk) {
    // The last range is open: the table may have grown since its size was read
    // (rows there are invisible to the snapshot, but cost nothing to skip).
    const int64_t end = first + per_chunk >= blocks ? -1 : first + per_chunk;
    chunks_.push_back({table, (*index)++, leaf, first, end});
  }
}

std::string SnapshotReader::CopyCommand(const Chunk& chunk) const {
  const Table& t = tables_[chunk.table];
  // A leaf of a partitioned root (LoadLeaves), or the table itself.
  const bool leaf = chunk.leaf >= 0;
  const std::string& source = leaf ? t.leaves[chunk.leaf].source : t.copy_source;
  const char relkind = leaf ? t.leaves[chunk.leaf].relkind : t.relkind;
  std::vector<std::string> where;
  // PG14+ scans `ctid >= '(a,0)' AND ctid < '(b,0)'` with a TID range scan.
  if (chunk.first_block >= 0)
    where.push_back(absl::StrCat("ctid >= '(", chunk.first_block, ",0)'"));
  if (chunk.end_block >= 0) where.push_back(absl::StrCat("ctid < '(", chunk.end_block, ",0)'"));
  if (!t.row_filter.empty()) where.push_back(absl::StrCat("(", t.row_filter, ")"));
  if (where.empty() && relkind == 'r') {
    // The plain form is the fastest: no executor between the heap and COPY. COPY TO
    // reads only the named table, never its inheritance children.
    return absl::StrCat("COPY ", source.substr(5), " (", t.columns, ") TO STDOUT");
  }
  // COPY TO rejects partitioned and foreign tables: those go through a query.
  return absl::StrCat("COPY (SELECT ", t.columns, " FROM ", source, where.empty() ? "" : " WHERE ",
                      absl::StrJoin(where, " AND "), ") TO STDOUT");
}

}  // namespace pgcdc::internal
