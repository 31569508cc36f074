#ifndef PGCDC_MODEL_ROW_BUILDER_H_
#define PGCDC_MODEL_ROW_BUILDER_H_

#include "absl/status/status.h"
#include "model/relation_cache.h"
#include "pgcdc/v1/change.pb.h"
#include "protocol/pgoutput_messages.h"

namespace pgcdc::internal {

// Decodes `tuple` (positional, matching the relation's latest Relation message) into
// typed columns. With `key_only` (an old tuple 'K') only replica identity columns are
// kept: the server sends the others as 'n', which does not mean NULL there.
absl::Status BuildRow(const RelationInfo& relation, const TupleData& tuple, bool key_only,
                      v1::Row* row);

// An update's new tuple marks unchanged TOAST values 'u'. When the old tuple is the
// full row (REPLICA IDENTITY FULL) their values are known: take them from it.
void FillUnchangedFromOld(const v1::Row& old_row, v1::Row* new_row);

}  // namespace pgcdc::internal

#endif  // PGCDC_MODEL_ROW_BUILDER_H_
