// Debezium-compatible change events: the Kafka records (topic, key, value) that
// Debezium's PostgreSQL connector (3.x, pgoutput) emits for the same change, as Kafka
// Connect's JsonConverter writes them, so that consumers built for Debezium (sinks,
// Lambda handlers behind EventBridge Pipes, Flink jobs) read pgcdc's records unchanged.
// Where pgcdc differs on purpose: doc/debezium.md.
#ifndef PGCDC_DEBEZIUM_H_
#define PGCDC_DEBEZIUM_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pgcdc/change.h"

namespace pgcdc {

// Debezium's decimal.handling.mode: numeric and money as Connect Decimal (exact bytes;
// unconstrained numeric as io.debezium.data.VariableScaleDecimal), as a string of the
// exact decimal, or as a double.
enum class DebeziumDecimal { kPrecise, kString, kDouble };
// Debezium's time.precision.mode: adaptive (time and timestamp in ms or us by the
// column's precision, io.debezium.time.*) or connect (Kafka Connect's Date, Time,
// Timestamp: days, ms, ms).
enum class DebeziumTime { kAdaptive, kConnect };

struct DebeziumOptions {
  std::string topic_prefix = "pgcdc";  // topic.prefix: topics are "<prefix>.<schema>.<table>"
  bool schemas = true;                 // JsonConverter schemas.enable
  DebeziumDecimal decimal = DebeziumDecimal::kPrecise;
  DebeziumTime time = DebeziumTime::kAdaptive;
};

struct DebeziumRecord {
  std::string topic;
  std::string key;         // JSON text: an object, or "null" (a table without a key)
  std::string value;       // JSON text: an object, or "null" (a tombstone)
  bool is_delete = false;  // op "d": Debezium follows it with a tombstone
};

// Encodes changes in delivery order. Keeps the schemas of the tables it has seen, so
// one encoder per stream is cheaper than a call per change.
class DebeziumEncoder {
 public:
  explicit DebeziumEncoder(DebeziumOptions options);
  ~DebeziumEncoder();
  DebeziumEncoder(DebeziumEncoder&&) noexcept;
  DebeziumEncoder& operator=(DebeziumEncoder&&) noexcept;

  // The records for `change`: none for a truncate (Debezium skips truncates by
  // default) and for the outcome records of prepared transactions; two for an update
  // that changes the primary key (a delete of the old key, then a create of the new,
  // both at the update's position); one otherwise. Tombstones are the caller's
  // (Tombstone()). kInvalidArgument for a change not taken from a stream.
  absl::StatusOr<std::vector<DebeziumRecord>> Encode(const Change& change);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The tombstone Debezium sends after a delete record (tombstones.on.delete): the same
// topic and key, value null.
DebeziumRecord Tombstone(const DebeziumRecord& deleted);

// One line of `pgcdc stream --format debezium`: {"topic":…,"key":…,"value":…}.
std::string ToJsonLine(const DebeziumRecord& record);

// "precise", "string", "double"; "adaptive", "connect".
absl::StatusOr<DebeziumDecimal> ParseDebeziumDecimal(std::string_view name);
absl::StatusOr<DebeziumTime> ParseDebeziumTime(std::string_view name);

}  // namespace pgcdc

#endif  // PGCDC_DEBEZIUM_H_
