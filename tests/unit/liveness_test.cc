#include "stream/liveness.h"

#include "gtest/gtest.h"

namespace pgcdc::internal {
namespace {

using Action = ReceiveWatchdog::Action;
const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(ReceiveWatchdogTest, PingsAtHalfTheTimeoutOnceThenDeclaresDead) {
  ReceiveWatchdog w(absl::Seconds(30), kT0);
  EXPECT_EQ(w.Check(kT0 + absl::Seconds(14)), Action::kNone);
  EXPECT_EQ(w.NextCheck(), kT0 + absl::Seconds(15));
  EXPECT_EQ(w.Check(kT0 + absl::Seconds(15)), Action::kPing);
  EXPECT_EQ(w.Check(kT0 + absl::Seconds(16)), Action::kNone) << "one ping per silent spell";
  EXPECT_EQ(w.NextCheck(), kT0 + absl::Seconds(30));
  EXPECT_EQ(w.Check(kT0 + absl::Seconds(30)), Action::kDead);
  EXPECT_EQ(w.Check(kT0 + absl::Seconds(31)), Action::kDead);
}

TEST(ReceiveWatchdogTest, AnyMessageStartsTheSilenceOver) {
  ReceiveWatchdog w(absl::Seconds(30), kT0);
  EXPECT_EQ(w.Check(kT0 + absl::Seconds(20)), Action::kPing);
  w.Heard(kT0 + absl::Seconds(21));  // the server's keepalive answering the ping
  EXPECT_EQ(w.Check(kT0 + absl::Seconds(35)), Action::kNone);
  EXPECT_EQ(w.Check(kT0 + absl::Seconds(36)), Action::kPing);
  EXPECT_EQ(w.Check(kT0 + absl::Seconds(51)), Action::kDead);
}

TEST(ReceiveWatchdogTest, TimeTheApplicationIsBusyIsNotSilence) {
  ReceiveWatchdog w(absl::Seconds(30), kT0);
  w.Suspend(kT0 + absl::Seconds(10));
  w.Resume(kT0 + absl::Seconds(310));  // five minutes in the handler
  EXPECT_EQ(w.Check(kT0 + absl::Seconds(311)), Action::kNone);
  EXPECT_EQ(w.silent(kT0 + absl::Seconds(311)), absl::Seconds(11));
  EXPECT_EQ(w.Check(kT0 + absl::Seconds(340)), Action::kDead);
}

TEST(ReceiveWatchdogTest, ZeroTimeoutIsOff) {
  ReceiveWatchdog w(absl::ZeroDuration(), kT0);
  EXPECT_EQ(w.Check(kT0 + absl::Hours(10)), Action::kNone);
  EXPECT_EQ(w.NextCheck(), absl::InfiniteFuture());
}

TEST(BackoffTest, DoublesWithJitterUpToTheCap) {
  ReconnectPolicy p;
  p.initial_backoff = absl::Milliseconds(100);
  p.max_backoff = absl::Seconds(1);
  p.max_attempts = 100;
  p.max_elapsed = absl::Hours(1);
  Backoff b(p, 42);
  b.StartFault(kT0);
  const absl::Duration ceilings[] = {absl::Milliseconds(100), absl::Milliseconds(200),
                                     absl::Milliseconds(400), absl::Milliseconds(800),
                                     absl::Seconds(1),        absl::Seconds(1)};
  for (absl::Duration ceiling : ceilings) {
    std::optional<absl::Duration> d = b.NextDelay(kT0, absl::InfiniteFuture());
    ASSERT_TRUE(d.has_value());
    EXPECT_GE(*d, ceiling / 2);
    EXPECT_LE(*d, ceiling);
  }
  EXPECT_EQ(b.attempts(), 6);
}

TEST(BackoffTest, JitterSpreadsTheDelays) {
  ReconnectPolicy p;
  p.initial_backoff = absl::Seconds(1);
  p.max_backoff = absl::Seconds(1);
  absl::Duration lo = absl::InfiniteDuration(), hi = absl::ZeroDuration();
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Backoff b(p, seed);
    b.StartFault(kT0);
    absl::Duration d = *b.NextDelay(kT0, absl::InfiniteFuture());
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, absl::Milliseconds(650));
  EXPECT_GT(hi, absl::Milliseconds(850));
}

TEST(BackoffTest, ExhaustedByAttemptsTimeHardDeadlineOrDisabled) {
  ReconnectPolicy p;
  p.initial_backoff = absl::Seconds(1);
  p.max_backoff = absl::Seconds(1);
  p.max_attempts = 2;
  Backoff b(p, 1);
  b.StartFault(kT0);
  EXPECT_TRUE(b.NextDelay(kT0, absl::InfiniteFuture()));
  EXPECT_TRUE(b.NextDelay(kT0, absl::InfiniteFuture()));
  EXPECT_FALSE(b.NextDelay(kT0, absl::InfiniteFuture())) << "max_attempts";
  b.StartFault(kT0);  // a new fault starts the count again
  EXPECT_TRUE(b.NextDelay(kT0, absl::InfiniteFuture()));

  p.max_attempts = 100;
  p.max_elapsed = absl::Seconds(10);
  Backoff t(p, 1);
  t.StartFault(kT0);
  EXPECT_TRUE(t.NextDelay(kT0 + absl::Seconds(8), absl::InfiniteFuture()));
  EXPECT_FALSE(t.NextDelay(kT0 + absl::Seconds(10), absl::InfiniteFuture())) << "max_elapsed";
  t.StartFault(kT0);
  EXPECT_FALSE(t.NextDelay(kT0, kT0 + absl::Milliseconds(400))) << "past max_duration";

  p.enabled = false;
  Backoff off(p, 1);
  off.StartFault(kT0);
  EXPECT_FALSE(off.NextDelay(kT0, absl::InfiniteFuture()));
}

}  // namespace
}  // namespace pgcdc::internal
