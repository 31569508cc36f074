#include "record/relation_cache.h"

#include <utility>

#include "values/value_decoder.h"

namespace pgcdc::internal {

RelationCache::Layer& RelationCache::LayerFor(std::optional<uint32_t> stream_xid) {
  return stream_xid ? streams_[*stream_xid] : base_;
}

uint32_t RelationCache::DecodeOid(uint32_t type_oid, std::optional<uint32_t> stream_xid) const {
  // OIDs below 10000 are hand-assigned built-ins; pgoutput sends Type messages only
  // for the others (user types, enums, domains, extension types: doc/protocol.md#relations).
  if (type_oid < 10000) return type_oid;
  if (stream_xid) {
    if (auto s = streams_.find(*stream_xid); s != streams_.end()) {
      if (auto t = s->second.types.find(type_oid); t != s->second.types.end()) return t->second;
    }
  }
  if (auto t = base_.types.find(type_oid); t != base_.types.end()) return t->second;
  return 0;  // unknown: decoded as text
}

void RelationCache::Apply(const Type& type, std::optional<uint32_t> stream_xid) {
  // For a domain the message names the base type; enums and other user types name
  // themselves and stay text (decode oid 0).
  uint32_t decode_oid = 0;
  if (type.nspname.empty() || type.nspname == "pg_catalog") {
    decode_oid = BuiltinTypeOidByName(type.typname).value_or(0);
  }
  LayerFor(stream_xid).types[type.type_oid] = decode_oid;
}

absl::Status RelationCache::Apply(const Relation& relation, std::optional<uint32_t> stream_xid) {
  auto info = std::make_shared<RelationInfo>();
  info->oid = relation.relation_id;
  info->schema = relation.nspname.empty() ? "pg_catalog" : relation.nspname;
  info->table = relation.relname;
  info->replica_identity = relation.replica_identity;
  info->columns.reserve(relation.columns.size());
  for (const RelationColumn& c : relation.columns) {
    info->columns.push_back({c.name,
                             c.type_oid,
                             DecodeOid(c.type_oid, stream_xid),
                             c.is_key(),
                             c.type_modifier,
                             false,
                             false,
                             std::nullopt,
                             {}});
  }
  if (describer_) {
    if (absl::Status s = describer_(*info); !s.ok()) return s;
  }
  LayerFor(stream_xid).relations[relation.relation_id] = std::move(info);
  return absl::OkStatus();
}

const std::shared_ptr<const RelationInfo>* RelationCache::Find(
    uint32_t relation_id, std::optional<uint32_t> stream_xid) const {
  if (stream_xid) {
    if (auto s = streams_.find(*stream_xid); s != streams_.end()) {
      if (auto r = s->second.relations.find(relation_id); r != s->second.relations.end()) {
        return &r->second;
      }
    }
  }
  auto r = base_.relations.find(relation_id);
  return r == base_.relations.end() ? nullptr : &r->second;
}

void RelationCache::CommitStream(uint32_t xid) {
  auto s = streams_.find(xid);
  if (s == streams_.end()) return;
  for (auto& [oid, info] : s->second.relations) base_.relations[oid] = std::move(info);
  for (auto& [oid, decode] : s->second.types) base_.types[oid] = decode;
  streams_.erase(s);
}

void RelationCache::AbortStream(uint32_t xid) { streams_.erase(xid); }

void RelationCache::Clear() {
  base_ = Layer();
  streams_.clear();
}

}  // namespace pgcdc::internal
