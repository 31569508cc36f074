// The options table against StreamOptions: every field is in the table with its true
// type, values survive set/get and text, and the text forms mean what the docs say.
#include "pgcdc/option_table.h"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "option_fields.h"

namespace pgcdc {
namespace {

using ::testing::HasSubstr;

// The OptionType that a member of type M must be declared with.
template <typename M>
std::set<OptionType> TypesFor(internal::Field<M>) {
  if constexpr (std::is_same_v<M, std::string>) return {OptionType::kString};
  if constexpr (std::is_same_v<M, std::vector<std::string>>) return {OptionType::kStringList};
  if constexpr (std::is_same_v<M, bool>) return {OptionType::kBool};
  if constexpr (std::is_same_v<M, std::optional<bool>>) return {OptionType::kOptionalBool};
  if constexpr (std::is_same_v<M, int>) return {OptionType::kCount};
  if constexpr (std::is_same_v<M, size_t>) return {OptionType::kBytes};
  if constexpr (std::is_same_v<M, absl::Duration>) return {OptionType::kDuration};
  if constexpr (std::is_same_v<M, std::optional<absl::Duration>>) {
    return {OptionType::kOptionalDuration};
  }
  if constexpr (std::is_same_v<M, std::optional<Lsn>>) return {OptionType::kLsn};
  return {OptionType::kChoice};  // the enums
}

TEST(OptionTableTest, EachEntryDeclaresItsMembersType) {
  for (const internal::OptionEntry& e : internal::OptionEntries()) {
    std::set<OptionType> allowed = std::visit([](auto f) { return TypesFor(f); }, e.field);
    EXPECT_TRUE(allowed.count(e.info.type)) << e.info.name;
    EXPECT_EQ(e.info.type == OptionType::kChoice, !e.info.choices.empty()) << e.info.name;
  }
}

TEST(OptionTableTest, NamesFlagsAndFieldsAreUnique) {
  std::set<std::string_view> names, flags, fields;
  for (const OptionInfo& o : StreamOptionTable()) {
    EXPECT_TRUE(names.insert(o.name).second) << o.name;
    EXPECT_TRUE(flags.insert(o.flag).second) << o.flag;
    EXPECT_TRUE(fields.insert(o.field).second) << o.field;
    EXPECT_FALSE(o.help.empty()) << o.name;
    EXPECT_EQ(FindStreamOption(o.name), &o);
    EXPECT_EQ(FindStreamOption(o.flag, /*by_flag=*/true), &o);
  }
}

// The data members declared in `struct Name { ... };` of include/pgcdc/options.h.
std::set<std::string> DeclaredFields(const std::string& header, const std::string& name,
                                     const std::string& prefix) {
  const size_t begin = header.find("struct " + name + " {");
  const size_t end = header.find("\n};", begin);
  std::set<std::string> fields;
  const std::regex member(R"(^\s+[\w:<>, ]+?\s(\w+)(\s*=.*)?;)");
  std::istringstream body(header.substr(begin, end - begin));
  for (std::string line; std::getline(body, line);) {
    std::smatch m;
    if (std::regex_search(line, m, member)) fields.insert(prefix + m[1].str());
  }
  return fields;
}

TEST(OptionTableTest, EveryFieldOfStreamOptionsIsInTheTable) {
  std::ifstream in(PGCDC_SOURCE_DIR "/include/pgcdc/options.h");
  std::stringstream text;
  text << in.rdbuf();
  std::set<std::string> declared = DeclaredFields(text.str(), "StreamOptions", "");
  for (const std::string& f : DeclaredFields(text.str(), "ReconnectPolicy", "reconnect.")) {
    declared.insert(f);
  }
  declared.erase("reconnect");  // the policy itself; its members are the options
  // Typed per language, not options of the table.
  for (const char* callback : {"on_checkpoint", "on_snapshot_progress", "log_sink"}) {
    EXPECT_EQ(declared.erase(callback), 1u) << callback;
  }
  std::set<std::string> in_table;
  for (const OptionInfo& o : StreamOptionTable()) in_table.insert(std::string(o.field));
  EXPECT_EQ(declared, in_table);
  EXPECT_GE(in_table.size(), 25u);  // the header parse found the fields
}

TEST(OptionTableTest, DefaultsRoundTripThroughText) {
  const StreamOptions defaults;
  for (const OptionInfo& o : StreamOptionTable()) {
    absl::StatusOr<OptionValue> value = GetOption(defaults, o.name);
    ASSERT_TRUE(value.ok()) << o.name;
    const std::string text = FormatOptionValue(o, *value);
    if (o.type == OptionType::kStringList) continue;  // one element per flag
    absl::StatusOr<OptionValue> parsed = ParseOptionText(o, text);
    ASSERT_TRUE(parsed.ok()) << o.name << ": " << parsed.status();
    EXPECT_EQ(*parsed, *value) << o.name << " = \"" << text << "\"";
  }
}

TEST(OptionTableTest, SetOptionWritesTheField) {
  StreamOptions o;
  ASSERT_TRUE(SetOption(o, "slot", std::string("orders")).ok());
  ASSERT_TRUE(SetOption(o, "publications", std::vector<std::string>{"a", "b"}).ok());
  ASSERT_TRUE(SetOption(o, "max_buffered_bytes", int64_t{16} << 20).ok());
  ASSERT_TRUE(SetOption(o, "read_linger", absl::Microseconds(50)).ok());
  ASSERT_TRUE(SetOption(o, "streaming", false).ok());
  ASSERT_TRUE(SetOption(o, "stop_at_lsn", Lsn(0x100000020)).ok());
  ASSERT_TRUE(SetOption(o, "snapshot", std::string("initial")).ok());
  ASSERT_TRUE(SetOption(o, "deliver_prepared", std::string("prepare")).ok());
  ASSERT_TRUE(SetOption(o, "reconnect_max_attempts", int64_t{7}).ok());
  ASSERT_TRUE(SetOption(o, "reconnect", false).ok());
  EXPECT_EQ(o.slot_name, "orders");
  EXPECT_EQ(o.publications, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o.max_buffered_bytes, size_t{16} << 20);
  EXPECT_EQ(o.read_linger, absl::Microseconds(50));
  EXPECT_EQ(o.streaming, false);
  EXPECT_EQ(o.stop_at_lsn, Lsn(0x100000020));
  EXPECT_EQ(o.snapshot, SnapshotMode::kInitial);
  EXPECT_EQ(o.deliver_prepared, PreparedDelivery::kAtPrepare);
  EXPECT_EQ(o.reconnect.max_attempts, 7);
  EXPECT_FALSE(o.reconnect.enabled);
  ASSERT_TRUE(SetOption(o, "read_linger", std::monostate()).ok());
  EXPECT_FALSE(o.read_linger.has_value());
}

TEST(OptionTableTest, WrongValuesNameTheOptionAndWhatItTakes) {
  StreamOptions o;
  EXPECT_THAT(SetOption(o, "slot", true).message(), HasSubstr("slot takes a string"));
  EXPECT_THAT(SetOption(o, "snapshot_readers", int64_t{1} << 40).message(),
              HasSubstr("snapshot_readers takes an integer in"));
  EXPECT_THAT(SetOption(o, "max_buffered_bytes", int64_t{-1}).message(),
              HasSubstr("max_buffered_bytes takes a size in bytes"));
  EXPECT_THAT(SetOption(o, "snapshot", std::string("sometimes")).message(),
              HasSubstr("snapshot takes one of never, initial, initial_only"));
  EXPECT_THAT(SetOption(o, "dsn", std::monostate()).message(), HasSubstr("dsn takes"));
  EXPECT_THAT(SetOption(o, "slot_name", std::string("x")).message(),
              HasSubstr("no stream option is called \"slot_name\""));
}

OptionValue Text(std::string_view name, std::string_view text) {
  absl::StatusOr<OptionValue> v = ParseOptionText(*FindStreamOption(name), text);
  EXPECT_TRUE(v.ok()) << name << " " << text << ": " << v.status();
  return v.ok() ? *v : OptionValue();
}

TEST(OptionTableTest, TextForms) {
  EXPECT_EQ(Text("max_buffered_bytes", "1048576"), OptionValue(int64_t{1} << 20));
  EXPECT_EQ(Text("max_buffered_bytes", "64MiB"), OptionValue(int64_t{64} << 20));
  EXPECT_EQ(Text("max_buffered_bytes", "64MB"), OptionValue(int64_t{64} << 20));
  EXPECT_EQ(Text("max_buffered_bytes", "2KiB"), OptionValue(int64_t{2048}));
  EXPECT_EQ(Text("max_buffered_bytes", "1GiB"), OptionValue(int64_t{1} << 30));
  EXPECT_EQ(Text("read_linger", "200us"), OptionValue(absl::Microseconds(200)));
  EXPECT_EQ(Text("read_linger", "0.002"), OptionValue(absl::Milliseconds(2)));
  EXPECT_EQ(Text("read_linger", ""), OptionValue());
  EXPECT_EQ(Text("idle_timeout", "5m"), OptionValue(absl::Minutes(5)));
  EXPECT_EQ(Text("status_interval", "30"), OptionValue(absl::Seconds(30)));
  EXPECT_EQ(Text("streaming", "auto"), OptionValue());
  EXPECT_EQ(Text("streaming", "false"), OptionValue(false));
  EXPECT_EQ(Text("start_lsn", "16/B374D848"), OptionValue(Lsn(0x16B374D848)));
  EXPECT_EQ(FormatOptionValue(*FindStreamOption("max_buffered_bytes"), int64_t{64} << 20), "64MiB");
  EXPECT_EQ(FormatOptionValue(*FindStreamOption("max_buffered_bytes"), int64_t{1000}), "1000");
  EXPECT_EQ(FormatOptionValue(*FindStreamOption("receive_timeout"), absl::Seconds(30)), "30s");
  for (auto [name, bad] : {std::pair{"max_buffered_bytes", "64XB"},
                           {"max_buffered_bytes", "-1"},
                           {"read_linger", "soon"},
                           {"streaming", "maybe"},
                           {"start_lsn", "16-B3"},
                           {"snapshot_readers", "two"}}) {
    absl::StatusOr<OptionValue> v = ParseOptionText(*FindStreamOption(name), bad);
    EXPECT_FALSE(v.ok()) << name << " " << bad;
    EXPECT_THAT(v.status().message(), HasSubstr(std::string(name) + " takes")) << bad;
  }
}

}  // namespace
}  // namespace pgcdc
