// Parser for PostgreSQL's array_out text: "{1,2,NULL}", "{{1,2},{3,4}}", "{}",
// "[0:1]={a,b}", quoted elements with \" and \\ escapes.
#ifndef PGCDC_VALUES_ARRAY_TEXT_H_
#define PGCDC_VALUES_ARRAY_TEXT_H_

#include <string_view>

#include "record/change_data.h"
#include "values/builtin_types.h"

namespace pgcdc::internal {

// Decodes the text of one non-NULL element (already unquoted and unescaped).
using ArrayElementDecoder = bool (*)(const BuiltinType& type, std::string_view text,
                                     const ValueWriter& out);

// Makes `out` a kArray slot: appends the element slots (row-major) and one header
// slot per dimension to its ChangeData (layout in change_data.h). Returns false on
// malformed or non-rectangular input or when `decode` fails, leaving appended slots
// and bytes for the caller to truncate.
bool ParseArrayText(std::string_view text, const BuiltinType& element_type,
                    ArrayElementDecoder decode, const ValueWriter& out);

}  // namespace pgcdc::internal

#endif  // PGCDC_VALUES_ARRAY_TEXT_H_
