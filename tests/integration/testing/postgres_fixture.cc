#include "integration/testing/postgres_fixture.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pgcdc::testing {
namespace {

using ::pgcdc::internal::EmbeddedPostgres;

struct SharedCluster {
  absl::Mutex mu;
  bool attempted ABSL_GUARDED_BY(mu) = false;
  absl::Status status ABSL_GUARDED_BY(mu);
  std::unique_ptr<EmbeddedPostgres> pg ABSL_GUARDED_BY(mu);
};

// Never destroyed (the cluster is stopped by the environment below); if the binary
// dies first, the cluster's watcher process cleans up.
SharedCluster& Shared() {
  static SharedCluster* const shared = new SharedCluster;
  return *shared;
}

// Stops the shared cluster after the last test, while everything is still alive.
class SharedClusterEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    SharedCluster& shared = Shared();
    absl::MutexLock lock(&shared.mu);
    shared.pg.reset();
  }
};

// GoogleTest's documented way to register an environment without a custom main().
::testing::Environment* const kSharedClusterEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedClusterEnvironment);

std::string SqlLiteral(std::string_view text) {
  return absl::StrCat("'", absl::StrReplaceAll(std::string(text), {{"'", "''"}}), "'");
}

absl::StatusOr<int64_t> QueryCount(const EmbeddedPostgres& pg, const std::string& sql) {
  absl::StatusOr<std::vector<EmbeddedPostgres::Row>> rows = pg.Query(sql);
  if (!rows.ok()) return rows.status();
  return std::atoll(rows->at(0).at(0).value_or("0").c_str());
}

}  // namespace

absl::StatusOr<internal::EmbeddedPostgres*> SharedPostgres() {
  SharedCluster& shared = Shared();
  absl::MutexLock lock(&shared.mu);
  if (!shared.attempted) {
    shared.attempted = true;
    internal::EmbeddedPostgresOptions options;
    if (const char* bin_dir = std::getenv("PGCDC_PG_BIN_DIR")) options.bin_dir = bin_dir;
    absl::StatusOr<std::unique_ptr<EmbeddedPostgres>> pg = EmbeddedPostgres::Start(options);
    if (pg.ok()) {
      shared.pg = *std::move(pg);
    } else {
      shared.status = pg.status();
    }
  }
  if (!shared.status.ok()) return shared.status;
  if (shared.pg == nullptr) {
    return absl::FailedPreconditionError("the shared PostgreSQL was already stopped");
  }
  return shared.pg.get();
}

std::string UniqueName(std::string_view prefix) {
  static std::atomic<int> counter{0};
  // Capped so that the whole name stays well below PostgreSQL's 63-byte limit.
  std::string clean(prefix.substr(0, 24));
  for (char& c : clean) {
    c = std::tolower(static_cast<unsigned char>(c));
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return absl::StrCat("pgcdc_test_", clean, "_", ++counter, "_", getpid());
}

absl::StatusOr<std::string> CreateDatabase(std::string_view prefix) {
  absl::StatusOr<EmbeddedPostgres*> pg = SharedPostgres();
  if (!pg.ok()) return pg.status();
  std::string name = UniqueName(prefix);
  // template0: template1 may have been changed by another test.
  absl::Status status = (*pg)->Exec(absl::StrCat("CREATE DATABASE ", name, " TEMPLATE template0"));
  if (!status.ok()) return status;
  return name;
}

ReplicationSlotGuard::ReplicationSlotGuard(std::string prefix, internal::EmbeddedPostgres* pg)
    : prefix_(std::move(prefix)), pg_(pg) {}

ReplicationSlotGuard::~ReplicationSlotGuard() {
  const absl::Status status = DropSlots();
  if (!status.ok()) ADD_FAILURE() << "ReplicationSlotGuard(" << prefix_ << "): " << status;
}

absl::Status ReplicationSlotGuard::DropSlots() {
  EmbeddedPostgres* pg = pg_;
  if (pg == nullptr) {
    absl::StatusOr<EmbeddedPostgres*> shared = SharedPostgres();
    if (!shared.ok()) return absl::OkStatus();  // no cluster, no slots; SetUp reported it
    pg = *shared;
  }
  // starts_with rather than LIKE: '_', common in slot names, is a LIKE wildcard.
  const std::string mine = absl::StrCat("starts_with(slot_name::text, ", SqlLiteral(prefix_), ")");
  const std::string terminate =
      absl::StrCat("SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots WHERE ",
                   mine, " AND active_pid IS NOT NULL");
  const std::string drop =
      absl::StrCat("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE ",
                   mine, " AND NOT active");
  const std::string count = absl::StrCat("SELECT count(*) FROM pg_replication_slots WHERE ", mine);
  // A terminated walsender releases its slot while exiting, and a client may
  // reconnect in between, so a drop can fail with "is active": retry until a deadline.
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  absl::Status last;
  while (true) {
    last = pg->Exec(terminate);
    if (last.ok()) last = pg->Exec(drop);
    absl::StatusOr<int64_t> left = QueryCount(*pg, count);
    if (left.ok() && *left == 0) return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("replication slots starting with '", prefix_, "' could not be dropped: ",
                       left.ok() ? absl::StrCat(*left, " left") : left.status().ToString(),
                       "; last error: ", last.ToString()));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

void PostgresTest::SetUp() {
  absl::StatusOr<EmbeddedPostgres*> pg = SharedPostgres();
  ASSERT_TRUE(pg.ok()) << pg.status();
  pg_ = *pg;
  absl::StatusOr<std::string> db =
      CreateDatabase(::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name());
  ASSERT_TRUE(db.ok()) << db.status() << "\nserver log:\n" << pg_->LogTail();
  dbname_ = *std::move(db);
}

}  // namespace pgcdc::testing
