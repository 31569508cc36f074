#include "integration/testing/stream_helpers.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "integration/testing/postgres_fixture.h"
#include "internal/strings.h"

namespace pgcdc::testing {

std::vector<Change> DrainAcked(ChangeStream& stream, size_t count, absl::Duration timeout) {
  std::vector<Change> out;
  const absl::Time deadline = absl::Now() + timeout;
  while (out.size() < count && !stream.done() && absl::Now() < deadline) {
    absl::StatusOr<std::optional<Change>> next = stream.Poll(absl::Milliseconds(200));
    if (!next.ok()) {
      ADD_FAILURE() << "stream error after " << out.size() << " changes: " << next.status();
      break;
    }
    if (*next) {
      stream.Ack(**next);
      out.push_back(std::move(**next));
    }
  }
  return out;
}

std::vector<Change> ReadChanges(ChangeStream& stream, size_t count, absl::Duration timeout) {
  std::vector<Change> out;
  const absl::Time deadline = absl::Now() + timeout;
  while (out.size() < count && absl::Now() < deadline) {
    absl::StatusOr<std::optional<Change>> next = stream.Poll(deadline - absl::Now());
    if (!next.ok()) {
      ADD_FAILURE() << "stream error after " << out.size() << " changes: " << next.status();
      return out;
    }
    if (*next) out.push_back(std::move(**next));
    if (stream.done()) break;
  }
  EXPECT_EQ(out.size(), count) << "changes received before the timeout";
  return out;
}

std::vector<Change> ReadFor(ChangeStream& stream, absl::Duration duration) {
  std::vector<Change> out;
  const absl::Time deadline = absl::Now() + duration;
  while (absl::Now() < deadline && !stream.done()) {
    absl::StatusOr<std::optional<Change>> next = stream.Poll(deadline - absl::Now());
    if (!next.ok()) {
      ADD_FAILURE() << "stream error: " << next.status();
      break;
    }
    if (*next) out.push_back(std::move(**next));
  }
  return out;
}

Value ValueOf(const Row& row, const std::string& name) {
  if (std::optional<Column> column = row.Find(name)) return column->value();
  std::string names;
  for (const Column c : row)
    absl::StrAppend(&names, names.empty() ? "" : ", ", internal::Sv(c.name()));
  ADD_FAILURE() << "no column " << name << " in the row (" << names << ")";
  return Value();
}

std::vector<int64_t> RowIds(const std::vector<Change>& changes, const std::string& column) {
  std::vector<int64_t> ids;
  for (const Change& c : changes) ids.push_back(ValueOf(c.new_row(), column).int_value());
  return ids;
}

void StreamTest::SetUp() {
  PostgresTest::SetUp();
  slot_ = UniqueName("slot");
  guard_ = std::make_unique<ReplicationSlotGuard>(slot_);
}

std::unique_ptr<internal::PgConnection> StreamTest::OpenSession() const {
  internal::ConnectParams params;
  params.dsn = pg().Dsn(dbname());
  params.replication = false;
  absl::StatusOr<std::unique_ptr<internal::PgConnection>> session =
      internal::PgConnection::Connect(params);
  if (!session.ok()) {
    ADD_FAILURE() << "connecting a session: " << session.status();
    return nullptr;
  }
  // pgcdc pins search_path empty on its connections.
  if (absl::Status s = (*session)->Exec("SET search_path = public"); !s.ok()) {
    ADD_FAILURE() << s;
    return nullptr;
  }
  return *std::move(session);
}

void StreamTest::Exec(const std::string& sql) {
  absl::Status s = pg().Exec(sql, dbname());
  ASSERT_TRUE(s.ok()) << s << "\n" << sql;
}

bool HasColumn(const Row& row, const std::string& name) { return row.Find(name).has_value(); }

StreamOptions MakeOptions(const std::string& dsn, const std::string& slot,
                          const std::string& publication) {
  StreamOptions options;
  options.dsn = dsn;
  options.slot_name = slot;
  options.publications = {publication};
  options.create_slot = true;
  options.status_interval = absl::Milliseconds(200);
  return options;
}

namespace {

uint64_t LsnScalar(const std::string& sql) {
  absl::StatusOr<internal::EmbeddedPostgres*> pg = SharedPostgres();
  if (!pg.ok()) return 0;
  auto rows = (*pg)->Query(sql);
  if (!rows.ok() || rows->empty() || !(*rows)[0][0]) return 0;
  absl::StatusOr<Lsn> lsn = Lsn::Parse(*(*rows)[0][0]);
  return lsn.ok() ? lsn->value() : 0;
}

}  // namespace

uint64_t ConfirmedFlushLsn(const std::string& slot) {
  return LsnScalar("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '" +
                   slot + "'");
}

uint64_t CurrentWalLsn() { return LsnScalar("SELECT pg_current_wal_insert_lsn()"); }

int ServerVersionNum() {
  absl::StatusOr<internal::EmbeddedPostgres*> pg = SharedPostgres();
  if (!pg.ok()) return 0;
  auto rows = (*pg)->Query("SHOW server_version_num");
  if (!rows.ok() || rows->empty() || !(*rows)[0][0]) return 0;
  return std::atoi((*rows)[0][0]->c_str());
}

}  // namespace pgcdc::testing
