// Parser for PostgreSQL's array_out text: "{1,2,NULL}", "{{1,2},{3,4}}", "{}",
// "[0:1]={a,b}", quoted elements with \" and \\ escapes.
#ifndef PGCDC_MODEL_ARRAY_TEXT_H_
#define PGCDC_MODEL_ARRAY_TEXT_H_

#include <string_view>

#include "model/builtin_types.h"
#include "pgcdc/v1/change.pb.h"

namespace pgcdc::internal {

// Decodes the text of one non-NULL element (already unquoted and unescaped).
using ArrayElementDecoder = bool (*)(const BuiltinType& type, std::string_view text,
                                     v1::Value* out);

// Fills `out` (one nested Array per dimension, element_type_oid on every level,
// lower_bounds on the outermost when some bound is not 1). Returns false, leaving
// `out` unspecified, on malformed or non-rectangular input or when `decode` fails.
bool ParseArrayText(std::string_view text, const BuiltinType& element_type,
                    ArrayElementDecoder decode, v1::Array* out);

}  // namespace pgcdc::internal

#endif  // PGCDC_MODEL_ARRAY_TEXT_H_
