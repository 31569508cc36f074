// Builds a flat pgcdc::Change from a hand-written pgcdc.v1.Change (text format in
// tests), through the same ValueWriter the decoder uses. Test support only.
#ifndef PGCDC_TESTS_UNIT_TESTING_CHANGE_FROM_PROTO_H_
#define PGCDC_TESTS_UNIT_TESTING_CHANGE_FROM_PROTO_H_

#include "pgcdc/change.h"
#include "pgcdc/v1/change.pb.h"

namespace pgcdc::internal {

// The relation is made up from the rows' columns (the new row's, else the old row's).
Change ChangeFromProto(const v1::Change& proto);

// A change whose new row is one column "v" holding `value`.
Change ChangeWithValue(const v1::Value& value);

}  // namespace pgcdc::internal

#endif  // PGCDC_TESTS_UNIT_TESTING_CHANGE_FROM_PROTO_H_
