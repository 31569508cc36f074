#include "pgcdc/change.h"

#include "model/change_json.h"

namespace pgcdc {

std::string_view OperationName(v1::Operation op) {
  switch (op) {
    case v1::OPERATION_INSERT:
      return "insert";
    case v1::OPERATION_UPDATE:
      return "update";
    case v1::OPERATION_DELETE:
      return "delete";
    case v1::OPERATION_TRUNCATE:
      return "truncate";
    case v1::OPERATION_MESSAGE:
      return "message";
    case v1::OPERATION_READ:
      return "read";
    default:
      return "unspecified";
  }
}

std::string ToJson(const Change& change) {
  std::string out;
  internal::AppendChangeJson(change, &out);
  return out;
}

}  // namespace pgcdc
