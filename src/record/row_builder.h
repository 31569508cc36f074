#ifndef PGCDC_RECORD_ROW_BUILDER_H_
#define PGCDC_RECORD_ROW_BUILDER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/pgoutput_messages.h"
#include "record/change_data.h"
#include "record/relation_cache.h"

namespace pgcdc::internal {

// A row's run of slots in ChangeData::values.
struct RowSlots {
  uint32_t first = 0;
  uint32_t size = 0;
};

// Decodes `tuple` (positional, matching the relation's latest Relation message) into
// typed values appended to `data`. With `key_only` (an old tuple 'K') only replica
// identity columns are kept: the server sends the others as 'n', which does not mean
// NULL there.
absl::StatusOr<RowSlots> BuildRow(const RelationInfo& relation, const TupleData& tuple,
                                  bool key_only, ChangeData* data);

// An update's new tuple marks unchanged TOAST values 'u'. When the old tuple is the
// full row (REPLICA IDENTITY FULL) their values are known: take them from it.
void FillUnchangedFromOld(RowSlots old_row, RowSlots new_row, ChangeData* data);

}  // namespace pgcdc::internal

#endif  // PGCDC_RECORD_ROW_BUILDER_H_
