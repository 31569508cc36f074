// Stamps each change with what came before it in delivery order (ChangeData's
// previous_end_lsn and previous_commit_time_us): a record format that names its place
// in the stream, as Debezium's source.sequence does, needs it, and a change alone
// cannot know it.
#ifndef PGCDC_STREAM_DELIVERY_ORDER_H_
#define PGCDC_STREAM_DELIVERY_ORDER_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "record/change_data.h"

namespace pgcdc::internal {

class DeliveryOrder {
 public:
  explicit DeliveryOrder(std::string database)
      : database_(std::make_shared<const std::string>(std::move(database))) {}

  void Stamp(ChangeData& change) {
    change.database = database_;
    if (change.op == Operation::kRead) return;
    if (change.op == Operation::kMessage && !change.message_transactional) {
      last_end_ = std::max(last_end_, change.lsn);
      change.previous_end_lsn = last_end_;
      change.previous_commit_time_us = last_commit_time_us_;
      return;
    }
    if (!in_transaction_) transaction_previous_end_ = last_end_;
    in_transaction_ = !change.last_in_transaction;
    change.previous_end_lsn = transaction_previous_end_;
    change.previous_commit_time_us = last_commit_time_us_;
    if (change.last_in_transaction) {
      last_end_ = std::max(last_end_, change.end_lsn);
      last_commit_time_us_ = change.commit_time_us;
    }
  }

 private:
  std::shared_ptr<const std::string> database_;
  bool in_transaction_ = false;
  uint64_t transaction_previous_end_ = 0;
  uint64_t last_end_ = 0;
  int64_t last_commit_time_us_ = 0;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_STREAM_DELIVERY_ORDER_H_
