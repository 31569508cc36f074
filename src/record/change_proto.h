// Flat record values -> pgcdc.v1 messages (Change::ToProto builds on this).
#ifndef PGCDC_RECORD_CHANGE_PROTO_H_
#define PGCDC_RECORD_CHANGE_PROTO_H_

#include "pgcdc/change.h"
#include "pgcdc/v1/change.pb.h"

namespace pgcdc::internal {

void ValueToProto(const Value& value, v1::Value* out);

}  // namespace pgcdc::internal

#endif  // PGCDC_RECORD_CHANGE_PROTO_H_
