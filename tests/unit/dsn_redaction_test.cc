// No error text may carry a password, whatever form the DSN has (issue 11, defect 8):
// libpq quotes the parts of a DSN it rejects, and errors reach logs and exceptions.
// These DSNs are rejected by libpq before any connection attempt, so no server is
// needed; the real libpq produces the messages.
#include "connection/dsn_redaction.h"

#include <string>

#include "absl/strings/match.h"
#include "connection/pg_connection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pgcdc::internal {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Case {
  const char* dsn;
  const char* expect;  // what the error still says, so it stays actionable
};

class RedactedConnectErrorTest : public ::testing::TestWithParam<Case> {};

TEST_P(RedactedConnectErrorTest, ErrorNamesTheProblemWithoutThePassword) {
  ConnectParams params;
  params.dsn = GetParam().dsn;
  params.connect_timeout = absl::Seconds(1);
  absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(params);
  ASSERT_FALSE(conn.ok());
  const std::string message(conn.status().message());
  EXPECT_THAT(message, Not(HasSubstr("Sup3r"))) << params.dsn;
  EXPECT_THAT(message, Not(HasSubstr("Secret"))) << params.dsn;
  EXPECT_THAT(message, HasSubstr(GetParam().expect)) << params.dsn;
}

INSTANTIATE_TEST_SUITE_P(
    DsnForms, RedactedConnectErrorTest,
    ::testing::Values(
        // A bad percent escape in the URI's password: libpq quotes the token.
        Case{"postgresql://cdc:Sup3r%Secret@db/app", "invalid percent-encoded token"},
        // libpq quotes the whole URI here.
        Case{"postgresql://cdc:Sup3rSecret@[::1/app", "IPv6 host address"},
        Case{"postgres://cdc:Sup3rSecret@db:notaport/app", "invalid"},
        Case{"postgresql://cdc@db/app?password=Sup3r%Secret", "invalid percent-encoded token"},
        Case{"postgresql://cdc@db/app?password=Sup3rSecret&sslmode=bogus", "sslmode"},
        Case{"host=db password=Sup3rSecret bogus", "missing \"=\""},
        Case{"host=db password = 'Sup3r Secret", "unterminated quoted string"},
        Case{"host=db password=Sup3rSecret port=notanumber", "port"},
        Case{"password=Sup3rSecret sslmode=bogus", "sslmode"},
        Case{"host=db password=Sup3r Secret", "missing \"=\""}));

TEST(PasswordCandidatesTest, FindsUriAndKeyValuePasswords) {
  EXPECT_THAT(PasswordCandidates("postgresql://u:p%40ss@h/d"),
              ::testing::UnorderedElementsAre("p%40ss", "p@ss"));
  EXPECT_THAT(PasswordCandidates("host=h password='it\\'s' user=u"), ::testing::Contains("it's"));
  EXPECT_THAT(PasswordCandidates("postgresql://u@h/d?password=x1&sslmode=require"),
              ::testing::Contains("x1"));
  EXPECT_TRUE(PasswordCandidates("postgresql://u@h/d").empty());
  EXPECT_TRUE(PasswordCandidates("host=h user=u").empty());
}

TEST(RedactPasswordsTest, KeepsMessagesWithoutPasswordsAsTheyAre) {
  EXPECT_EQ(RedactPasswords("host=h user=u", "missing \"=\" after \"x\"", true),
            "missing \"=\" after \"x\"");
  EXPECT_EQ(RedactPasswords("host=h password=pw", "role \"u\" failed for pw"),
            "role \"u\" failed for ********");
}

}  // namespace
}  // namespace pgcdc::internal
