// Shared PostgreSQL for integration tests: one embedded cluster per test binary,
// plus helpers that keep tests sharing it from interfering with each other.
//
// Note: inside namespace pgcdc, write ::testing:: for GoogleTest, since
// `testing::` would name this namespace.
#ifndef PGCDC_TESTS_INTEGRATION_TESTING_POSTGRES_FIXTURE_H_
#define PGCDC_TESTS_INTEGRATION_TESTING_POSTGRES_FIXTURE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "embedded/embedded_postgres.h"
#include "gtest/gtest.h"

namespace pgcdc::testing {

// The cluster shared by all tests of this binary: started on first use (the
// result, success or failure, is remembered), stopped after the last test.
// PGCDC_PG_BIN_DIR, if set, overrides the server binary autodetection.
// Thread-safe. Never skips: a missing server is an error naming the fix.
absl::StatusOr<internal::EmbeddedPostgres*> SharedPostgres();

// "pgcdc_test_<prefix>_<counter>_<pid>": unique within the process and across test
// binaries running at once. `prefix` is lowercased and anything but [a-z0-9_] becomes
// '_', and only its first 24 characters are used, so the result is a valid unquoted
// identifier and replication slot name (both are limited to 63 bytes).
std::string UniqueName(std::string_view prefix);

// Creates a fresh, empty database (from template0) on the shared cluster and returns
// its name, so each test gets its own tables and publications.
absl::StatusOr<std::string> CreateDatabase(std::string_view prefix = "db");

// Drops every replication slot whose name starts with `prefix` when destroyed, even
// when the test failed half-way: slots are cluster-wide and an abandoned one pins
// WAL and occupies one of max_replication_slots. Walsenders still streaming from
// them are terminated first. A failure to clean up fails the current test.
class ReplicationSlotGuard {
 public:
  // `pg` null: the shared cluster.
  explicit ReplicationSlotGuard(std::string prefix, internal::EmbeddedPostgres* pg = nullptr);
  ReplicationSlotGuard(const ReplicationSlotGuard&) = delete;
  ReplicationSlotGuard& operator=(const ReplicationSlotGuard&) = delete;
  ~ReplicationSlotGuard();

  const std::string& prefix() const { return prefix_; }
  // What the destructor does; may be called earlier.
  absl::Status DropSlots();

 private:
  std::string prefix_;
  internal::EmbeddedPostgres* pg_;
};

// Base fixture: SetUp fails the test with the start error if the shared cluster
// cannot run, and creates a fresh database for the test.
class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override;

  internal::EmbeddedPostgres& pg() const { return *pg_; }
  const std::string& dbname() const { return dbname_; }

 private:
  internal::EmbeddedPostgres* pg_ = nullptr;
  std::string dbname_;
};

}  // namespace pgcdc::testing

#endif  // PGCDC_TESTS_INTEGRATION_TESTING_POSTGRES_FIXTURE_H_
