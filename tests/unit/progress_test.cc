#include "stream/progress.h"

#include "gtest/gtest.h"

namespace pgcdc::internal {
namespace {

TEST(ProgressTest, AckIsClampedToWhatWasDelivered) {
  Progress p(100);
  p.Delivered(200);
  p.Ack(500);
  EXPECT_EQ(p.acked(), 200u);
}

TEST(ProgressTest, AckNeverGoesBackwards) {
  Progress p(100);
  p.Delivered(300);
  p.Ack(250);
  p.Ack(150);
  EXPECT_EQ(p.acked(), 250u);
}

TEST(ProgressTest, ConfirmedNeverGoesBackwardsAndStartsAtTheSlot) {
  Progress p(100);
  EXPECT_EQ(p.confirmed(), 100u);
  EXPECT_FALSE(p.has_unconfirmed());
  p.Delivered(300);
  p.Ack(300);
  EXPECT_TRUE(p.has_unconfirmed());
  p.Confirmed(300);
  p.Confirmed(200);
  EXPECT_EQ(p.confirmed(), 300u);
  EXPECT_FALSE(p.has_unconfirmed());
}

TEST(ProgressTest, KeepaliveAdvancesOnlyWhenEverythingIsAcknowledged) {
  Progress p(100);
  p.Delivered(200);
  p.Keepalive(900);
  EXPECT_EQ(p.acked(), 100u) << "a delivered change is not acknowledged yet";
  p.Ack(150);
  p.Keepalive(900);
  EXPECT_EQ(p.acked(), 150u) << "only part of what was delivered is acknowledged";
  p.Ack(200);
  p.Keepalive(900);
  EXPECT_EQ(p.acked(), 900u);
}

TEST(DeliveryKeyTest, CommitOrderThenOrdinal) {
  EXPECT_LT((DeliveryKey{100, true, 5}), (DeliveryKey{200, true, 0}));
  EXPECT_LT((DeliveryKey{100, true, 0}), (DeliveryKey{100, true, 1}));
  EXPECT_LE((DeliveryKey{100, true, 1}), (DeliveryKey{100, true, 1}));
  EXPECT_FALSE((DeliveryKey{100, true, 2}) <= (DeliveryKey{100, true, 1}));
}

// A non-transactional message carries the END of its WAL record; a transaction whose
// commit record starts right there has the same commit LSN and ordinal 0, and comes
// after it. Skipping "everything up to the message" must not skip that transaction.
TEST(DeliveryKeyTest, RecordAtItsEndComesBeforeATransactionCommittingThere) {
  const DeliveryKey message{100, /*after_record_end=*/false, 0};
  const DeliveryKey transaction_first{100, true, 0};
  EXPECT_LT(message, transaction_first);
  EXPECT_FALSE(transaction_first <= message);
  EXPECT_LT((DeliveryKey{99, true, 7}), message);
}

}  // namespace
}  // namespace pgcdc::internal