// Reading and writing options by name, and their text forms (pgcdc/option_table.h).
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "internal/strings.h"
#include "option_fields.h"

namespace pgcdc {
namespace {

using internal::Sv;

absl::Status Takes(const OptionInfo& o, std::string_view what_else = "") {
  const std::string what =
      o.type == OptionType::kChoice
          ? absl::StrCat("one of ", absl::StrJoin(absl::StrSplit(Sv(o.choices), '|'), ", "))
          : std::string(OptionTypeName(o.type));
  return absl::InvalidArgumentError(absl::StrCat(Sv(o.name), " takes ", what, Sv(what_else)));
}

template <typename V>
absl::Status Copy(const OptionInfo& o, const OptionValue& v, V& member) {
  const V* value = std::get_if<V>(&v);
  if (value == nullptr) return Takes(o);
  member = *value;
  return absl::OkStatus();
}

template <typename V>
absl::Status CopyOptional(const OptionInfo& o, const OptionValue& v, std::optional<V>& member) {
  if (std::holds_alternative<std::monostate>(v)) {
    member.reset();
    return absl::OkStatus();
  }
  V value{};
  if (absl::Status s = Copy(o, v, value); !s.ok()) return s;
  member = value;
  return absl::OkStatus();
}

template <typename I>
absl::Status CopyInteger(const OptionInfo& o, const OptionValue& v, I& member) {
  const int64_t* value = std::get_if<int64_t>(&v);
  if (value == nullptr) return Takes(o);
  if (*value < static_cast<int64_t>(std::numeric_limits<I>::min()) ||
      static_cast<uint64_t>(*value) > std::numeric_limits<I>::max()) {
    return Takes(o, absl::StrCat(" in ", std::numeric_limits<I>::min(), "..",
                                 std::numeric_limits<I>::max(), ", not ", *value));
  }
  member = static_cast<I>(*value);
  return absl::OkStatus();
}

template <typename E, typename Parse>
absl::Status CopyChoice(const OptionInfo& o, const OptionValue& v, E& member, Parse parse) {
  const std::string* name = std::get_if<std::string>(&v);
  if (name == nullptr) return Takes(o);
  absl::StatusOr<E> parsed = parse(*name);
  if (!parsed.ok()) return Takes(o, absl::StrCat(", not \"", *name, "\""));
  member = *parsed;
  return absl::OkStatus();
}

// One overload per member type: the only per-type code of the table.
struct Store {
  const OptionInfo& o;
  const OptionValue& v;
  absl::Status operator()(std::string& m) const { return Copy(o, v, m); }
  absl::Status operator()(std::vector<std::string>& m) const { return Copy(o, v, m); }
  absl::Status operator()(bool& m) const { return Copy(o, v, m); }
  absl::Status operator()(std::optional<bool>& m) const { return CopyOptional(o, v, m); }
  absl::Status operator()(int& m) const { return CopyInteger(o, v, m); }
  absl::Status operator()(size_t& m) const { return CopyInteger(o, v, m); }
  absl::Status operator()(absl::Duration& m) const { return Copy(o, v, m); }
  absl::Status operator()(std::optional<absl::Duration>& m) const { return CopyOptional(o, v, m); }
  absl::Status operator()(std::optional<Lsn>& m) const { return CopyOptional(o, v, m); }
  absl::Status operator()(SnapshotMode& m) const { return CopyChoice(o, v, m, ParseSnapshotMode); }
  absl::Status operator()(PreparedDelivery& m) const {
    return CopyChoice(o, v, m, ParsePreparedDelivery);
  }
};

struct Load {
  template <typename V>
  OptionValue operator()(const V& m) const {
    return m;
  }
  template <typename V>
  OptionValue operator()(const std::optional<V>& m) const {
    return m ? OptionValue(*m) : OptionValue();
  }
  OptionValue operator()(int m) const { return int64_t{m}; }
  OptionValue operator()(size_t m) const { return static_cast<int64_t>(m); }
  OptionValue operator()(SnapshotMode m) const { return std::string(SnapshotModeName(m)); }
  OptionValue operator()(PreparedDelivery m) const { return std::string(PreparedDeliveryName(m)); }
};

const internal::OptionEntry* FindEntry(std::string_view name) {
  for (const internal::OptionEntry& e : internal::OptionEntries()) {
    if (e.info.name == name) return &e;
  }
  return nullptr;
}

absl::Status Unknown(std::string_view name) {
  return absl::InvalidArgumentError(
      absl::StrCat("no stream option is called \"", Sv(name), "\" (see doc/options.md)"));
}

constexpr int64_t kKiB = 1 << 10;

// 1048576, 1024KiB, 64MiB, 64MB (PostgreSQL's GUC units are powers of 1024 too), 1GiB.
std::optional<int64_t> ParseBytes(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    int64_t factor;
  };
  static constexpr Unit kUnits[] = {{"KiB", kKiB},
                                    {"kB", kKiB},
                                    {"MiB", kKiB * kKiB},
                                    {"MB", kKiB * kKiB},
                                    {"GiB", kKiB * kKiB * kKiB},
                                    {"GB", kKiB * kKiB * kKiB},
                                    {"B", 1}};
  int64_t factor = 1;
  for (const Unit& u : kUnits) {
    if (absl::EndsWith(Sv(text), Sv(u.suffix))) {
      factor = u.factor;
      text.remove_suffix(u.suffix.size());
      break;
    }
  }
  int64_t n = 0;
  if (!absl::SimpleAtoi(Sv(text), &n) || n < 0 ||
      n > std::numeric_limits<int64_t>::max() / factor) {
    return std::nullopt;
  }
  return n * factor;
}

std::string FormatBytes(int64_t n) {
  for (auto [suffix, factor] : {std::pair{"GiB", kKiB * kKiB * kKiB}, std::pair{"MiB", kKiB * kKiB},
                                std::pair{"KiB", kKiB}}) {
    if (n != 0 && n % factor == 0) return absl::StrCat(n / factor, suffix);
  }
  return absl::StrCat(n);
}

// A number of seconds (30, 0.5), or with a unit as absl::ParseDuration reads it
// (200us, 2ms, 1.5s, 5m, 1h30m).
std::optional<absl::Duration> ParseDurationText(std::string_view text) {
  double seconds = 0;
  if (absl::SimpleAtod(Sv(text), &seconds)) return absl::Seconds(seconds);
  absl::Duration d;
  if (absl::ParseDuration(Sv(text), &d)) return d;
  return std::nullopt;
}

bool IsOptional(OptionType t) {
  return t == OptionType::kOptionalBool || t == OptionType::kOptionalDuration ||
         t == OptionType::kLsn;
}

absl::StatusOr<OptionValue> ParseRequired(const OptionInfo& o, std::string_view text) {
  auto bad = [&] { return Takes(o, absl::StrCat(", not \"", Sv(text), "\"")); };
  switch (o.type) {
    case OptionType::kString:
      return std::string(text);
    case OptionType::kStringList:
      return std::vector<std::string>{std::string(text)};
    case OptionType::kBool:
    case OptionType::kOptionalBool: {
      bool b = false;
      if (!absl::SimpleAtob(Sv(text), &b)) return bad();
      return b;
    }
    case OptionType::kCount: {
      int64_t n = 0;
      if (!absl::SimpleAtoi(Sv(text), &n)) return bad();
      return n;
    }
    case OptionType::kBytes:
      if (std::optional<int64_t> n = ParseBytes(text)) return *n;
      return bad();
    case OptionType::kDuration:
    case OptionType::kOptionalDuration:
      if (std::optional<absl::Duration> d = ParseDurationText(text)) return *d;
      return bad();
    case OptionType::kLsn: {
      absl::StatusOr<Lsn> lsn = Lsn::Parse(text);
      if (!lsn.ok()) return bad();
      return *lsn;
    }
    case OptionType::kChoice:
      for (absl::string_view choice : absl::StrSplit(Sv(o.choices), '|')) {
        if (internal::StdSv(choice) == text) return std::string(text);
      }
      return bad();
  }
  return bad();
}

}  // namespace

std::string_view OptionTypeName(OptionType type) {
  switch (type) {
    case OptionType::kString:
      return "a string";
    case OptionType::kStringList:
      return "a list of names";
    case OptionType::kBool:
      return "true or false";
    case OptionType::kOptionalBool:
      return "true, false or auto";
    case OptionType::kCount:
      return "an integer";
    case OptionType::kBytes:
      return "a size in bytes (1048576, 64MiB)";
    case OptionType::kDuration:
      return "a duration (seconds, or 200us, 2ms, 30s, 5m)";
    case OptionType::kOptionalDuration:
      return "a duration (seconds, or 200us, 2ms, 30s, 5m)";
    case OptionType::kLsn:
      return "an LSN (X/Y)";
    case OptionType::kChoice:
      return "one of its choices";
  }
  return "a value";
}

const OptionInfo* FindStreamOption(std::string_view name, bool by_flag) {
  for (const OptionInfo& o : StreamOptionTable()) {
    if ((by_flag ? o.flag : o.name) == name) return &o;
  }
  return nullptr;
}

absl::Status SetOption(StreamOptions& options, std::string_view name, const OptionValue& value) {
  const internal::OptionEntry* e = FindEntry(name);
  if (e == nullptr) return Unknown(name);
  return std::visit([&](auto field) { return Store{e->info, value}(field(options)); }, e->field);
}

absl::StatusOr<OptionValue> GetOption(const StreamOptions& options, std::string_view name) {
  const internal::OptionEntry* e = FindEntry(name);
  if (e == nullptr) return Unknown(name);
  // The accessors take a mutable StreamOptions to serve SetOption too; this only reads.
  auto& readable = const_cast<StreamOptions&>(options);
  return std::visit([&](auto field) { return Load{}(field(readable)); }, e->field);
}

absl::StatusOr<OptionValue> ParseOptionText(const OptionInfo& option, std::string_view text) {
  if (IsOptional(option.type) && (text.empty() || text == "auto")) return OptionValue();
  return ParseRequired(option, text);
}

std::string FormatOptionValue(const OptionInfo& option, const OptionValue& value) {
  struct Format {
    const OptionInfo& o;
    std::string operator()(std::monostate) const { return ""; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t n) const {
      return o.type == OptionType::kBytes ? FormatBytes(n) : absl::StrCat(n);
    }
    std::string operator()(absl::Duration d) const { return absl::FormatDuration(d); }
    std::string operator()(Lsn lsn) const { return lsn.ToString(); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const std::vector<std::string>& v) const {
      return absl::StrJoin(v, ",");
    }
  };
  return std::visit(Format{option}, value);
}

}  // namespace pgcdc
