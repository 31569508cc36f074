// Helpers for integration tests that stream from the shared private PostgreSQL.
#ifndef PGCDC_TESTS_INTEGRATION_TESTING_STREAM_HELPERS_H_
#define PGCDC_TESTS_INTEGRATION_TESTING_STREAM_HELPERS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connection/pg_connection.h"
#include "integration/testing/postgres_fixture.h"
#include "pgcdc/pgcdc.h"

namespace pgcdc::testing {

// Reads until `count` changes arrived or `timeout` passed (then fails the test).
std::vector<Change> ReadChanges(ChangeStream& stream, size_t count,
                                absl::Duration timeout = absl::Seconds(20));

// Polls for `duration` and returns whatever arrived (to assert that nothing more does).
std::vector<Change> ReadFor(ChangeStream& stream, absl::Duration duration);

// Reads until `count` changes, the end of the stream (initial_only) or the timeout,
// acknowledging every change.
std::vector<Change> DrainAcked(ChangeStream& stream, size_t count = SIZE_MAX,
                               absl::Duration timeout = absl::Seconds(60));

// The value of column `name` in `row`; a test failure (and a null value) if absent.
Value ValueOf(const Row& row, const std::string& name);
bool HasColumn(const Row& row, const std::string& name);

// Per-test names and options for a stream on `publication` in `dbname`.
StreamOptions MakeOptions(const std::string& dsn, const std::string& slot,
                          const std::string& publication);

// The int64 column `column` of each change's new row, in order.
std::vector<int64_t> RowIds(const std::vector<Change>& changes, const std::string& column = "id");

// A test with its own database (PostgresTest) and a unique slot name whose slots are
// dropped at teardown, even when the test fails.
class StreamTest : public PostgresTest {
 protected:
  void SetUp() override;
  void Exec(const std::string& sql);  // in the test's database; fails the test on error
  // A session of its own in the test's database, for a transaction kept open across
  // statements (search_path public); null, with a test failure, if it cannot connect.
  std::unique_ptr<internal::PgConnection> OpenSession() const;
  StreamOptions Options(const std::string& publication = "pub") const {
    return MakeOptions(pg().Dsn(dbname()), slot_, publication);
  }

  std::string slot_;
  std::unique_ptr<ReplicationSlotGuard> guard_;
};

// The slot's confirmed_flush_lsn as the server reports it (0 if the slot is missing).
uint64_t ConfirmedFlushLsn(const std::string& slot);

// The server's current WAL insert position.
uint64_t CurrentWalLsn();

// The shared server's version (180004 for 18.4): the suites run on PostgreSQL 15 to 18.
int ServerVersionNum();

}  // namespace pgcdc::testing

#endif  // PGCDC_TESTS_INTEGRATION_TESTING_STREAM_HELPERS_H_
