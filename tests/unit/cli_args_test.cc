// The command line's flag parsing (tools/pgcdc/args.h) and its generated docs.
#include <fstream>
#include <sstream>

#include "args.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "options_doc.h"

namespace pgcdc::cli {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<Args> ParseLine(std::vector<std::string> words,
                               const std::vector<FlagSpec>& specs = StreamOptionFlags()) {
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  return Args::Parse(static_cast<int>(argv.size()), argv.data(), specs);
}

absl::StatusOr<StreamOptions> Options(std::vector<std::string> words) {
  absl::StatusOr<Args> args = ParseLine(std::move(words));
  if (!args.ok()) return args.status();
  StreamOptions options;
  if (absl::Status s = ApplyStreamOptionFlags(*args, options); !s.ok()) return s;
  return options;
}

TEST(CliArgsTest, EveryStreamOptionHasItsFlag) {
  const std::vector<FlagSpec> specs = StreamOptionFlags();
  for (const OptionInfo& o : StreamOptionTable()) {
    auto it = std::find_if(specs.begin(), specs.end(),
                           [&](const FlagSpec& s) { return s.flag == o.flag; });
    ASSERT_NE(it, specs.end()) << o.flag;
    EXPECT_EQ(it->value_name.empty(),
              o.type == OptionType::kBool || o.type == OptionType::kOptionalBool)
        << o.flag;
  }
  const std::string usage = Usage("pgcdc stream", "about", specs);
  for (const OptionInfo& o : StreamOptionTable()) {
    const bool is_switch = o.type == OptionType::kBool || o.type == OptionType::kOptionalBool;
    const std::string shown =
        (is_switch ? "  --[no-]" : "  --") + std::string(o.flag) + (is_switch ? "\n" : " ");
    EXPECT_NE(usage.find(shown), std::string::npos) << shown;
  }
  EXPECT_THAT(usage, HasSubstr("(default: 64MiB)"));
  EXPECT_THAT(usage, Not(HasSubstr("max-buffered-mb")));  // deprecated: not advertised
}

TEST(CliArgsTest, FlagsSetTheOptions) {
  absl::StatusOr<StreamOptions> o = Options({"--dsn",
                                             "host=db",
                                             "--slot=orders",
                                             "--publication",
                                             "a",
                                             "--publication=b",
                                             "--create-slot",
                                             "--no-streaming",
                                             "--no-reconnect",
                                             "--max-buffered-bytes",
                                             "16MiB",
                                             "--read-linger",
                                             "0",
                                             "--idle-timeout",
                                             "1.5",
                                             "--max-duration=2m",
                                             "--start-lsn",
                                             "0/10",
                                             "--snapshot",
                                             "initial",
                                             "--two-phase=true"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->dsn, "host=db");
  EXPECT_EQ(o->slot_name, "orders");
  EXPECT_EQ(o->publications, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(o->create_slot);
  EXPECT_EQ(o->streaming, false);
  EXPECT_FALSE(o->reconnect.enabled);
  EXPECT_EQ(o->max_buffered_bytes, size_t{16} << 20);
  EXPECT_EQ(o->read_linger, absl::ZeroDuration());
  EXPECT_EQ(o->idle_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(o->max_duration, absl::Minutes(2));
  EXPECT_EQ(o->start_lsn, Lsn(0x10));
  EXPECT_EQ(o->snapshot, SnapshotMode::kInitial);
  EXPECT_TRUE(o->two_phase);
}

TEST(CliArgsTest, DeprecatedSpellingsStillWorkAndSaySo) {
  absl::StatusOr<Args> args = ParseLine({"--max-buffered-mb", "16", "--read-linger-us=50"});
  ASSERT_TRUE(args.ok()) << args.status();
  StreamOptions o;
  ASSERT_TRUE(ApplyStreamOptionFlags(*args, o).ok());
  EXPECT_EQ(o.max_buffered_bytes, size_t{16} << 20);
  EXPECT_EQ(o.read_linger, absl::Microseconds(50));
  EXPECT_THAT(args->warnings(), ::testing::ElementsAre(HasSubstr("use --max-buffered-bytes 16MiB"),
                                                       HasSubstr("use --read-linger 50us")));
}

TEST(CliArgsTest, MistakesNameTheFlagAndTheClosestValidOne) {
  EXPECT_THAT(ParseLine({"--max-bufered-bytes", "1"}).status().message(),
              HasSubstr("unknown option --max-bufered-bytes; did you mean --max-buffered-bytes?"));
  EXPECT_THAT(ParseLine({"--slots", "x"}).status().message(), HasSubstr("did you mean --slot?"));
  EXPECT_THAT(ParseLine({"--no-stremaing"}).status().message(),
              HasSubstr("unknown option --no-stremaing"));
  EXPECT_THAT(ParseLine({"--frobnicate"}).status().message(), Not(HasSubstr("did you mean")));
  EXPECT_THAT(ParseLine({"--slot"}).status().message(), HasSubstr("--slot needs a value"));
  EXPECT_THAT(ParseLine({"orders"}).status().message(), HasSubstr("unexpected argument"));
  EXPECT_THAT(ParseLine({"-slot", "x"}).status().message(),
              HasSubstr("options start with two dashes: did you mean --slot?"));
  EXPECT_THAT(Options({"--idle-timeout", "soon"}).status().message(),
              HasSubstr("--idle-timeout takes a duration"));
  EXPECT_THAT(Options({"--max-buffered-bytes", "lots"}).status().message(),
              HasSubstr("--max-buffered-bytes takes a size in bytes"));
  EXPECT_THAT(Options({"--snapshot", "sometimes"}).status().message(),
              HasSubstr("--snapshot takes one of never, initial, initial_only, not \"sometimes\""));
  EXPECT_THAT(Options({"--create-slot=maybe"}).status().message(),
              HasSubstr("--create-slot takes true or false"));
}

TEST(CliArgsTest, HelpAnywhereWins) {
  absl::StatusOr<Args> args = ParseLine({"--bogus", "--help"});
  ASSERT_TRUE(args.ok());
  EXPECT_TRUE(args->help());
}

// doc/options.md is generated; PGCDC_UPDATE_DOCS=1 rewrites it.
TEST(CliOptionsDocTest, TheReferenceInTheRepositoryIsCurrent) {
  const std::string path = PGCDC_SOURCE_DIR "/doc/options.md";
  const std::string generated = OptionsMarkdown();
  if (std::getenv("PGCDC_UPDATE_DOCS") != nullptr) std::ofstream(path) << generated;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), generated)
      << "doc/options.md is out of date: PGCDC_UPDATE_DOCS=1 build/tests/cli_args_test";
  for (const OptionInfo& o : StreamOptionTable()) {
    EXPECT_THAT(generated, HasSubstr("\n### " + std::string(o.name) + "\n"));
  }
}

}  // namespace
}  // namespace pgcdc::cli
