// What a Relation message leaves out and a typed sink needs: NOT NULL, column defaults
// and enum labels, read from the catalog (pgoutput sends only name, type, typmod and
// the key flag per column: pgoutput.c, logicalrep_write_attrs).
#ifndef PGCDC_CONNECTION_COLUMN_DETAILS_H_
#define PGCDC_CONNECTION_COLUMN_DETAILS_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "connection/pg_connection.h"
#include "record/relation_cache.h"

namespace pgcdc::internal {

// Fills the catalog fields of `info`'s columns (by name: the catalog is read now, the
// Relation message may be older) and sets `described`. A column the catalog no
// longer has keeps the defaults (nullable, no default).
// The query is cancelled at `deadline` (kDeadlineExceeded).
absl::Status DescribeColumns(PgConnection& conn, RelationInfo& info,
                             absl::Time deadline = absl::InfiniteFuture());

// A RelationDescriber on its own SQL connection (not the walsender's, which is in
// COPY mode while streaming), opened at the first relation and again after a failure.
class ColumnCatalog {
 public:
  // Each read gives up after `timeout` (a silent network partition sends no reset).
  ColumnCatalog(ConnectParams params, absl::Duration timeout);
  ~ColumnCatalog();
  // kUnavailable when the server cannot be reached (retryable, like the stream's own
  // connection errors).
  absl::Status Describe(RelationInfo& info);

 private:
  ConnectParams params_;
  absl::Duration timeout_;
  std::unique_ptr<PgConnection> conn_;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_CONNECTION_COLUMN_DETAILS_H_
