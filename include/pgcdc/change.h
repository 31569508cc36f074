// The change record: a protobuf message (proto/pgcdc/v1/change.proto), so that C++,
// Python and any other consumer see the same structure.
#ifndef PGCDC_CHANGE_H_
#define PGCDC_CHANGE_H_

#include <string>
#include <string_view>

#include "pgcdc/lsn.h"
#include "pgcdc/v1/change.pb.h"

namespace pgcdc {

using Change = v1::Change;

// "insert", "update", "delete", "truncate", "message", "read".
std::string_view OperationName(v1::Operation op);

// One compact JSON object (no trailing newline), the format of `pgcdc stream`:
// {"id":…,"op":…,"schema":…,"table":…,"new":{…},"old":…, …}. Unchanged TOAST values
// are left out of "new" and listed under "unchanged".
std::string ToJson(const Change& change);

}  // namespace pgcdc

#endif  // PGCDC_CHANGE_H_
