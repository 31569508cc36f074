// Relation and Type messages -> what is needed to decode tuples. pgoutput sends a
// Relation before the first change of a table in a session and again after any
// invalidation (ALTER TABLE, even mid-transaction), so the latest one always wins
// (doc/protocol.md#relations). Relation/Type messages inside a stream block belong to that
// streamed transaction: they live in an overlay until its commit (doc/protocol.md#streaming).
#ifndef PGCDC_RECORD_RELATION_CACHE_H_
#define PGCDC_RECORD_RELATION_CACHE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "protocol/pgoutput_messages.h"

namespace pgcdc::internal {

struct RelationInfo {
  struct Column {
    std::string name;
    uint32_t type_oid = 0;    // as sent (a domain keeps its own OID)
    uint32_t decode_oid = 0;  // built-in type whose text format the value has
    bool key = false;
    int32_t type_modifier = -1;  // atttypmod as sent
    // From the catalog (RelationInfo::described); a Relation message carries none of
    // them (for REPLICA IDENTITY FULL, `key` is set on every column).
    bool not_null = false;
    bool primary_key = false;
    std::optional<std::string> default_expression;  // pg_get_expr of its default
    std::vector<std::string> enum_labels;           // in sort order, for an enum type
  };
  uint32_t oid = 0;
  std::string schema;
  std::string table;
  char replica_identity = 'd';
  std::vector<Column> columns;
  // The catalog was read for the columns' NOT NULL, defaults and enum labels.
  bool described = false;
};

// Adds what only the catalog knows to a relation a Relation message described (an
// error ends the session like a connection error).
using RelationDescriber = std::function<absl::Status(RelationInfo&)>;

class RelationCache {
 public:
  explicit RelationCache(RelationDescriber describer = nullptr)
      : describer_(std::move(describer)) {}

  // `xid` set: the message came inside a stream block of top-level transaction xid.
  absl::Status Apply(const Relation& relation, std::optional<uint32_t> stream_xid);
  void Apply(const Type& type, std::optional<uint32_t> stream_xid);

  // nullptr if the relation was never described (a protocol error for the caller).
  // Records keep the shared pointer: a later Relation message replaces the entry, not
  // the RelationInfo they were decoded with.
  const std::shared_ptr<const RelationInfo>* Find(uint32_t relation_id,
                                                  std::optional<uint32_t> stream_xid) const;

  // A streamed transaction ended: merge (commit) or drop (abort) its overlay.
  void CommitStream(uint32_t xid);
  void AbortStream(uint32_t xid);
  void Clear();

 private:
  struct Layer {
    absl::flat_hash_map<uint32_t, std::shared_ptr<const RelationInfo>> relations;
    absl::flat_hash_map<uint32_t, uint32_t> types;  // type oid -> decode oid
  };
  Layer& LayerFor(std::optional<uint32_t> stream_xid);
  uint32_t DecodeOid(uint32_t type_oid, std::optional<uint32_t> stream_xid) const;

  RelationDescriber describer_;
  Layer base_;
  absl::flat_hash_map<uint32_t, Layer> streams_;
};

}  // namespace pgcdc::internal

#endif  // PGCDC_RECORD_RELATION_CACHE_H_
