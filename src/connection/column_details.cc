#include "connection/column_details.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "internal/status_macros.h"

namespace pgcdc::internal {

absl::Status DescribeColumns(PgConnection& conn, RelationInfo& info, absl::Time deadline) {
  // One row per column, or per label of an enum column (in the enum's sort order).
  PGCDC_ASSIGN_OR_RETURN(
      QueryResult r,
      conn.Query(
          absl::StrCat(
              "SELECT a.attname, a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid), "
              "e.enumlabel, coalesce(a.attnum = ANY(i.indkey), false) "
              "FROM pg_catalog.pg_attribute a "
              "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
              "LEFT JOIN pg_catalog.pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
              "LEFT JOIN pg_catalog.pg_enum e ON e.enumtypid = a.atttypid "
              "WHERE a.attrelid = ",
              info.oid,
              " AND a.attnum > 0 AND NOT a.attisdropped "
              "ORDER BY a.attnum, e.enumsortorder"),
          deadline));
  for (const auto& row : r.rows) {
    const std::string name = row[0].value_or("");
    for (RelationInfo::Column& c : info.columns) {
      if (c.name != name) continue;
      c.not_null = row[1].value_or("f") == "t";
      c.default_expression = row[2];
      c.primary_key = row[4].value_or("f") == "t";
      if (row[3]) c.enum_labels.push_back(*row[3]);
    }
  }
  info.described = true;
  return absl::OkStatus();
}

ColumnCatalog::ColumnCatalog(ConnectParams params, absl::Duration timeout)
    : params_(std::move(params)), timeout_(timeout) {
  params_.replication = false;
}

ColumnCatalog::~ColumnCatalog() = default;

absl::Status ColumnCatalog::Describe(RelationInfo& info) {
  // A connection kept from before a server restart or failover fails its first query:
  // one fresh attempt before the failure counts for the stream.
  absl::Status s;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool fresh = conn_ == nullptr;
    if (fresh) {
      absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(params_);
      if (!conn.ok()) {
        s = conn.status();
        break;
      }
      conn_ = *std::move(conn);
    }
    s = DescribeColumns(*conn_, info, absl::Now() + timeout_);
    if (s.ok()) return s;
    conn_.reset();
    if (fresh || !(absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s))) break;
  }
  // Connection trouble stays retryable (a timeout too); anything else is not.
  return absl::Status(absl::IsDeadlineExceeded(s) ? absl::StatusCode::kUnavailable : s.code(),
                      absl::StrCat("reading the columns of ", info.schema, ".", info.table,
                                   " from the catalog: ", s.message()));
}

}  // namespace pgcdc::internal
