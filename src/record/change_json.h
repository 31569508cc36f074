// JSON rendering of change records: the JSON-lines output of the CLI.
#ifndef PGCDC_RECORD_CHANGE_JSON_H_
#define PGCDC_RECORD_CHANGE_JSON_H_

#include <string>
#include <string_view>

#include "pgcdc/change.h"

namespace pgcdc::internal {

// Appends one compact JSON object (no newline). Keys, in order: id, op, schema, table,
// new, old, old_kind, unchanged, lsn, commit_lsn, end_lsn, xid, commit_time, ordinal;
// then prefix, content, transactional for messages; cascade, restart_identity for
// truncates. Columns whose value is an unchanged TOAST value are left out of "new"
// and named in "unchanged".
void AppendChangeJson(const Change& change, std::string* out);

// One value: null, true/false, numbers, strings for exact or non-JSON values
// (numeric, NaN/Infinity, dates, bytea as "\\x…"), inlined json, arrays, and
// {"months":…,"days":…,"micros":…} for intervals.
void AppendValueJson(const Value& value, std::string* out);

// A JSON string literal. Control characters become \u00XX; bytes that are not valid
// UTF-8 become U+FFFD so that the output is always valid JSON.
void AppendJsonString(std::string_view text, std::string* out);

bool IsValidUtf8(std::string_view text);

}  // namespace pgcdc::internal

#endif  // PGCDC_RECORD_CHANGE_JSON_H_
