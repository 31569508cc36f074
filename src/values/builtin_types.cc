#include "values/builtin_types.h"

#include <array>
#include <cstddef>

#include "absl/container/flat_hash_map.h"

namespace pgcdc::internal {
namespace {

using K = TypeKind;

// From PostgreSQL's src/include/catalog/pg_type.dat (plus the PG14 multiranges, which
// are generated from pg_range.dat). Each base type is followed by its array type.
constexpr BuiltinType kTypes[] = {
    {"bool", 16, K::kBool},
    {"_bool", 1000, K::kArray, 16},
    {"bytea", 17, K::kBytea},
    {"_bytea", 1001, K::kArray, 17},
    {"char", 18, K::kText},
    {"_char", 1002, K::kArray, 18},
    {"name", 19, K::kText},
    {"_name", 1003, K::kArray, 19},
    {"int8", 20, K::kInt8},
    {"_int8", 1016, K::kArray, 20},
    {"int2", 21, K::kInt2},
    {"_int2", 1005, K::kArray, 21},
    {"int2vector", 22, K::kText},
    {"_int2vector", 1006, K::kArray, 22},
    {"int4", 23, K::kInt4},
    {"_int4", 1007, K::kArray, 23},
    {"regproc", 24, K::kText},
    {"_regproc", 1008, K::kArray, 24},
    {"text", 25, K::kText},
    {"_text", 1009, K::kArray, 25},
    {"oid", 26, K::kUint32},
    {"_oid", 1028, K::kArray, 26},
    {"tid", 27, K::kText},
    {"_tid", 1010, K::kArray, 27},
    {"xid", 28, K::kUint32},
    {"_xid", 1011, K::kArray, 28},
    {"cid", 29, K::kText},
    {"_cid", 1012, K::kArray, 29},
    {"oidvector", 30, K::kText},
    {"_oidvector", 1013, K::kArray, 30},
    {"json", 114, K::kJson},
    {"_json", 199, K::kArray, 114},
    {"xml", 142, K::kText},
    {"_xml", 143, K::kArray, 142},
    {"pg_node_tree", 194, K::kText},
    {"xid8", 5069, K::kText},
    {"_xid8", 271, K::kArray, 5069},
    {"point", 600, K::kText},
    {"_point", 1017, K::kArray, 600},
    {"lseg", 601, K::kText},
    {"_lseg", 1018, K::kArray, 601},
    {"path", 602, K::kText},
    {"_path", 1019, K::kArray, 602},
    {"box", 603, K::kText, 0, ';'},
    {"_box", 1020, K::kArray, 603},
    {"polygon", 604, K::kText},
    {"_polygon", 1027, K::kArray, 604},
    {"line", 628, K::kText},
    {"_line", 629, K::kArray, 628},
    {"float4", 700, K::kFloat},
    {"_float4", 1021, K::kArray, 700},
    {"float8", 701, K::kFloat},
    {"_float8", 1022, K::kArray, 701},
    {"unknown", 705, K::kText},
    {"circle", 718, K::kText},
    {"_circle", 719, K::kArray, 718},
    {"macaddr8", 774, K::kMacaddr8},
    {"_macaddr8", 775, K::kArray, 774},
    {"money", 790, K::kMoney},
    {"_money", 791, K::kArray, 790},
    {"macaddr", 829, K::kMacaddr},
    {"_macaddr", 1040, K::kArray, 829},
    {"inet", 869, K::kInet},
    {"_inet", 1041, K::kArray, 869},
    {"cidr", 650, K::kInet},
    {"_cidr", 651, K::kArray, 650},
    {"aclitem", 1033, K::kText},
    {"_aclitem", 1034, K::kArray, 1033},
    {"bpchar", 1042, K::kText},
    {"_bpchar", 1014, K::kArray, 1042},
    {"varchar", 1043, K::kText},
    {"_varchar", 1015, K::kArray, 1043},
    {"date", 1082, K::kDate},
    {"_date", 1182, K::kArray, 1082},
    {"time", 1083, K::kTime},
    {"_time", 1183, K::kArray, 1083},
    {"timestamp", 1114, K::kTimestamp},
    {"_timestamp", 1115, K::kArray, 1114},
    {"timestamptz", 1184, K::kTimestampTz},
    {"_timestamptz", 1185, K::kArray, 1184},
    {"interval", 1186, K::kInterval},
    {"_interval", 1187, K::kArray, 1186},
    {"timetz", 1266, K::kTimeTz},
    {"_timetz", 1270, K::kArray, 1266},
    {"bit", 1560, K::kText},
    {"_bit", 1561, K::kArray, 1560},
    {"varbit", 1562, K::kText},
    {"_varbit", 1563, K::kArray, 1562},
    {"numeric", 1700, K::kNumeric},
    {"_numeric", 1231, K::kArray, 1700},
    {"refcursor", 1790, K::kText},
    {"_refcursor", 2201, K::kArray, 1790},
    {"regprocedure", 2202, K::kText},
    {"_regprocedure", 2207, K::kArray, 2202},
    {"regoper", 2203, K::kText},
    {"_regoper", 2208, K::kArray, 2203},
    {"regoperator", 2204, K::kText},
    {"_regoperator", 2209, K::kArray, 2204},
    {"regclass", 2205, K::kText},
    {"_regclass", 2210, K::kArray, 2205},
    {"regcollation", 4191, K::kText},
    {"_regcollation", 4192, K::kArray, 4191},
    {"regtype", 2206, K::kText},
    {"_regtype", 2211, K::kArray, 2206},
    {"regrole", 4096, K::kText},
    {"_regrole", 4097, K::kArray, 4096},
    {"regnamespace", 4089, K::kText},
    {"_regnamespace", 4090, K::kArray, 4089},
    {"uuid", 2950, K::kUuid},
    {"_uuid", 2951, K::kArray, 2950},
    {"pg_lsn", 3220, K::kText},
    {"_pg_lsn", 3221, K::kArray, 3220},
    {"tsvector", 3614, K::kText},
    {"_tsvector", 3643, K::kArray, 3614},
    {"gtsvector", 3642, K::kText},
    {"_gtsvector", 3644, K::kArray, 3642},
    {"tsquery", 3615, K::kText},
    {"_tsquery", 3645, K::kArray, 3615},
    {"regconfig", 3734, K::kText},
    {"_regconfig", 3735, K::kArray, 3734},
    {"regdictionary", 3769, K::kText},
    {"_regdictionary", 3770, K::kArray, 3769},
    {"jsonb", 3802, K::kJson},
    {"_jsonb", 3807, K::kArray, 3802},
    {"jsonpath", 4072, K::kText},
    {"_jsonpath", 4073, K::kArray, 4072},
    {"txid_snapshot", 2970, K::kText},
    {"_txid_snapshot", 2949, K::kArray, 2970},
    {"pg_snapshot", 5038, K::kText},
    {"_pg_snapshot", 5039, K::kArray, 5038},
    {"int4range", 3904, K::kText},
    {"_int4range", 3905, K::kArray, 3904},
    {"numrange", 3906, K::kText},
    {"_numrange", 3907, K::kArray, 3906},
    {"tsrange", 3908, K::kText},
    {"_tsrange", 3909, K::kArray, 3908},
    {"tstzrange", 3910, K::kText},
    {"_tstzrange", 3911, K::kArray, 3910},
    {"daterange", 3912, K::kText},
    {"_daterange", 3913, K::kArray, 3912},
    {"int8range", 3926, K::kText},
    {"_int8range", 3927, K::kArray, 3926},
    {"int4multirange", 4451, K::kText},
    {"_int4multirange", 6150, K::kArray, 4451},
    {"nummultirange", 4532, K::kText},
    {"_nummultirange", 6151, K::kArray, 4532},
    {"tsmultirange", 4533, K::kText},
    {"_tsmultirange", 6152, K::kArray, 4533},
    {"tstzmultirange", 4534, K::kText},
    {"_tstzmultirange", 6153, K::kArray, 4534},
    {"datemultirange", 4535, K::kText},
    {"_datemultirange", 6155, K::kArray, 4535},
    {"int8multirange", 4536, K::kText},
    {"_int8multirange", 6157, K::kArray, 4536},
    {"record", 2249, K::kText},
    {"_record", 2287, K::kArray, 2249},
    {"cstring", 2275, K::kText},
    {"_cstring", 1263, K::kArray, 2275},
};

constexpr size_t kNumTypes = sizeof(kTypes) / sizeof(kTypes[0]);
static_assert(kNumTypes < 255, "the OID index stores table positions + 1 in a uint8_t");

constexpr uint32_t MaxOid() {
  uint32_t max = 0;
  for (const BuiltinType& t : kTypes) max = t.oid > max ? t.oid : max;
  return max;
}

// Built-in OIDs are small and dense enough for a direct index: one load per lookup on
// the per-column hot path instead of a hash or binary search.
using OidIndex = std::array<uint8_t, MaxOid() + 1>;

constexpr OidIndex BuildOidIndex() {
  OidIndex index{};
  for (size_t i = 0; i < kNumTypes; ++i) index[kTypes[i].oid] = static_cast<uint8_t>(i + 1);
  return index;
}

constexpr OidIndex kOidIndex = BuildOidIndex();

// Table consistency, checked at compile time: OIDs are unique, and every array's
// element type has an entry (DecodeTextValue dereferences it without a check).
constexpr bool OidsAreUnique() {
  for (size_t i = 0; i < kNumTypes; ++i) {
    if (kOidIndex[kTypes[i].oid] != i + 1) return false;
  }
  return true;
}
static_assert(OidsAreUnique(), "duplicate OID in kTypes");

constexpr bool ArrayElementsAreKnown() {
  for (const BuiltinType& t : kTypes) {
    if (t.kind == K::kArray && (t.elem_oid >= kOidIndex.size() || kOidIndex[t.elem_oid] == 0)) {
      return false;
    }
  }
  return true;
}
static_assert(ArrayElementsAreKnown(), "an array's element type is missing from kTypes");

}  // namespace

const BuiltinType* FindBuiltinType(uint32_t oid) {
  if (oid >= kOidIndex.size()) return nullptr;
  const uint8_t slot = kOidIndex[oid];
  return slot == 0 ? nullptr : &kTypes[slot - 1];
}

const BuiltinType* FindBuiltinTypeByName(std::string_view name) {
  // Not on the hot path (once per Type message), so a lazily built map is fine.
  static const auto* const kByName = [] {
    auto* map = new absl::flat_hash_map<std::string_view, const BuiltinType*>();
    for (const BuiltinType& t : kTypes) map->emplace(t.name, &t);
    return map;
  }();
  auto it = kByName->find(name);
  return it == kByName->end() ? nullptr : it->second;
}

}  // namespace pgcdc::internal
