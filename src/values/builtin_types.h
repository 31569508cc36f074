// The built-in PostgreSQL types the value decoder knows, by OID and by pg_catalog name.
#ifndef PGCDC_VALUES_BUILTIN_TYPES_H_
#define PGCDC_VALUES_BUILTIN_TYPES_H_

#include <cstdint>
#include <string_view>

namespace pgcdc::internal {

// How a type's text output is decoded into a v1::Value.
enum class TypeKind : uint8_t {
  kText,  // no typed representation: text_value, verbatim
  kBool,
  kInt2,
  kInt4,
  kInt8,
  kUint32,  // oid, xid
  kFloat,
  kNumeric,
  kMoney,
  kBytea,
  kUuid,
  kJson,
  kDate,
  kTime,
  kTimeTz,
  kTimestamp,
  kTimestampTz,
  kInterval,
  kInet,
  kMacaddr,
  kMacaddr8,
  kArray,
};

struct BuiltinType {
  std::string_view name;  // pg_catalog typname: "int4", "_int4"
  uint32_t oid;
  TypeKind kind;
  uint32_t elem_oid = 0;  // for kArray: the element type (always in the table)
  char delim = ',';       // the delimiter of arrays of this type (';' for box)
};

// nullptr for OIDs that are not built-in types in the table (user types, extensions).
const BuiltinType* FindBuiltinType(uint32_t oid);
const BuiltinType* FindBuiltinTypeByName(std::string_view name);

}  // namespace pgcdc::internal

#endif  // PGCDC_VALUES_BUILTIN_TYPES_H_
