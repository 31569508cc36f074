#include "stream_command.h"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "args.h"
#include "commands.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "internal/status_macros.h"
#include "json_abbreviation.h"
#include "pgcdc/v1/change.pb.h"
#include "progress_display.h"

namespace pgcdc::cli {
namespace {

ChangeStream* g_stream = nullptr;

// Written changes are flushed and acknowledged at least this often.
constexpr absl::Duration kFlushInterval = absl::Milliseconds(100);

void OnSignal(int) {
  if (g_stream != nullptr) g_stream->Cancel();
}

bool Write(const std::string& text, FILE* out) {
  return std::fwrite(text.data(), 1, text.size(), out) == text.size();
}

// Debezium's records for `change`, one JSON line each, a tombstone after each delete.
std::string DebeziumLines(const std::vector<DebeziumRecord>& records, bool tombstones) {
  std::string lines;
  for (const DebeziumRecord& r : records) {
    absl::StrAppend(&lines, ToJsonLine(r), "\n");
    if (tombstones && r.is_delete) absl::StrAppend(&lines, ToJsonLine(Tombstone(r)), "\n");
  }
  return lines;
}

// False when the output failed (a full disk, a closed pipe with SIGPIPE ignored).
bool WriteChange(const Change& change, const OutputFormat& format, DebeziumEncoder* debezium,
                 FILE* out, absl::Status* encode_error) {
  if (format.kind == OutputFormat::kJson) {
    std::string line = ToJson(change);
    if (format.abbreviate_strings > 0)
      line = AbbreviateJsonStrings(line, format.abbreviate_strings);
    line.push_back('\n');
    return Write(line, out);
  }
  if (format.kind == OutputFormat::kDebezium) {
    absl::StatusOr<std::vector<DebeziumRecord>> records = debezium->Encode(change);
    if (!records.ok()) {
      *encode_error = records.status();
      return false;
    }
    return Write(DebeziumLines(*records, format.tombstones), out);
  }
  // Length-delimited (varint size, then the message): protobuf's stream convention.
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::util::SerializeDelimitedToZeroCopyStream(change.ToProto(), &stream);
  }
  return Write(bytes, out);
}

absl::Status OutputError() {
  return absl::DataLossError(
      absl::StrCat("writing the output failed (", std::strerror(errno),
                   "); nothing after the last change written successfully was acknowledged, so the "
                   "next run delivers it again: free the disk or keep the reader open"));
}

absl::StatusOr<StreamOptions> OptionsFromArgs(const Args& args) {
  StreamOptions options;
  PGCDC_RETURN_IF_ERROR(ApplyStreamOptionFlags(args, options));
  if (options.dsn.empty()) return absl::InvalidArgumentError("--dsn is required");
  return options;
}

constexpr char kStreamSynopsis[] =
    "pgcdc stream --dsn DSN --slot NAME --publication NAME [options]";
constexpr char kStreamAbout[] =
    "Streams the changes of a logical replication slot to stdout, one record per change "
    "(JSON lines, length-delimited protobuf, or Debezium's records), until a stop "
    "condition or Ctrl-C. Progress is acknowledged to the server only after the output "
    "is flushed, so a change written nowhere comes again on the next run. The stream "
    "options are those of pgcdc::StreamOptions and pgcdc.open_stream() (doc/options.md); "
    "durations take a unit (200us, 2ms, 30s, 5m) or are seconds, sizes are bytes or "
    "take KiB/MiB/GiB.";

std::vector<FlagSpec> StreamFlags() {
  std::vector<FlagSpec> specs = StreamOptionFlags();
  specs.insert(specs.end(), FormatFlags().begin(), FormatFlags().end());
  specs.push_back({"progress", "auto|always|never",
                   "Snapshot progress on stderr; auto: when stderr is a terminal.", "auto"});
  return specs;
}

// The snapshot progress display on stderr (--progress; auto: only on a terminal), fed
// by the stream's on_snapshot_progress; null when there is nothing to show.
absl::StatusOr<std::unique_ptr<ProgressDisplay>> MakeProgressDisplay(const std::string& mode,
                                                                     StreamOptions* options) {
  absl::StatusOr<ProgressMode> parsed = ParseProgressMode(mode);
  if (!parsed.ok()) return parsed.status();
  const bool terminal = isatty(fileno(stderr)) == 1;
  const bool show =
      *parsed == ProgressMode::kAlways || (*parsed == ProgressMode::kAuto && terminal);
  if (!show || options->snapshot == SnapshotMode::kNever) {
    return std::unique_ptr<ProgressDisplay>();
  }
  auto display = std::make_unique<ProgressDisplay>(stderr, terminal);
  options->on_snapshot_progress = [d = display.get()](const std::vector<TableSnapshotProgress>& t) {
    d->Update(t);
  };
  return display;
}

std::string Mebibytes(uint64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

// The exit summary of ChangeStream::stats(), one line.
std::string StatsSummary(const StreamStats& stats) {
  return absl::StrCat(stats.transactions_delivered, " transactions, ", stats.changes_delivered,
                      " records delivered; memory peak ", Mebibytes(stats.peak_buffered_bytes),
                      "; spilled ", stats.transactions_spilled, " transactions, ",
                      Mebibytes(stats.spilled_bytes_total), "; reconnects ", stats.reconnects);
}

}  // namespace

absl::StatusOr<bool> ParseBool(const Args& args, const std::string& flag, bool fallback) {
  std::optional<std::string> text = args.Get(flag);
  if (!text) return fallback;
  if (*text == "true") return true;
  if (*text == "false") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must be true or false, not \"", *text, "\""));
}

const std::vector<FlagSpec>& FormatFlags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"format", "json|protobuf|debezium",
       "json: one JSON object per change; protobuf: length-delimited pgcdc.v1.Change "
       "messages; debezium: Debezium's records, one {topic, key, value} per line.",
       "json"},
      {"topic-prefix", "P", "With --format debezium: topics are P.schema.table.", "pgcdc"},
      {"debezium-schemas", "true|false",
       "With --format debezium: the JsonConverter's schemas.enable.", "true"},
      {"debezium-decimal", "precise|string|double",
       "With --format debezium: decimal.handling.mode.", "precise"},
      {"debezium-time", "adaptive|connect", "With --format debezium: time.precision.mode.",
       "adaptive"},
      {"debezium-tombstones", "true|false",
       "With --format debezium: a tombstone record after each delete.", "true"},
  };
  return *flags;
}

absl::StatusOr<OutputFormat> ParseFormat(const Args& args) {
  OutputFormat format;
  const std::string text = args.Get("format").value_or("json");
  if (text == "json") {
    format.kind = OutputFormat::kJson;
  } else if (text == "protobuf") {
    format.kind = OutputFormat::kProtobuf;
  } else if (text == "debezium") {
    format.kind = OutputFormat::kDebezium;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--format must be json, protobuf or debezium, not \"", text, "\""));
  }
  for (const FlagSpec& spec : FormatFlags()) {
    if (spec.flag != "format" && args.Has(spec.flag) && format.kind != OutputFormat::kDebezium) {
      return absl::InvalidArgumentError(absl::StrCat("--", spec.flag, " needs --format debezium"));
    }
  }
  DebeziumOptions& d = format.debezium;
  d.topic_prefix = args.Get("topic-prefix").value_or(d.topic_prefix);
  PGCDC_ASSIGN_OR_RETURN(d.schemas, ParseBool(args, "debezium-schemas", true));
  PGCDC_ASSIGN_OR_RETURN(format.tombstones, ParseBool(args, "debezium-tombstones", true));
  PGCDC_ASSIGN_OR_RETURN(d.decimal,
                         ParseDebeziumDecimal(args.Get("debezium-decimal").value_or("precise")));
  PGCDC_ASSIGN_OR_RETURN(d.time, ParseDebeziumTime(args.Get("debezium-time").value_or("adaptive")));
  return format;
}

absl::StatusOr<uint64_t> PumpChanges(ChangeStream& stream, const OutputFormat& format, FILE* out,
                                     int flush_every) {
  std::optional<DebeziumEncoder> debezium;
  if (format.kind == OutputFormat::kDebezium) debezium.emplace(format.debezium);
  g_stream = &stream;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  uint64_t rows = 0;
  int unflushed = 0;
  std::optional<Change> last;
  absl::Time last_flush = absl::Now();
  // Only what reached the output (fflush succeeded, no error on the stream) is
  // acknowledged: a change written nowhere must come again.
  auto flush = [&]() -> absl::Status {
    if (std::fflush(out) != 0 || std::ferror(out)) return OutputError();
    if (last) stream.Ack(*last);
    last.reset();
    unflushed = 0;
    last_flush = absl::Now();
    return absl::OkStatus();
  };
  absl::Status status = absl::OkStatus();
  while (true) {
    absl::StatusOr<std::optional<Change>> next = stream.Poll(absl::Milliseconds(100));
    if (!next.ok()) {
      status = next.status();
      break;
    }
    if (!*next) {
      status = flush();
      if (!status.ok() || stream.done()) break;
      continue;
    }
    const Change& change = **next;
    absl::Status encode_error;
    if (!WriteChange(change, format, debezium ? &*debezium : nullptr, out, &encode_error)) {
      status = encode_error.ok() ? OutputError() : encode_error;
      break;
    }
    const Operation op = change.op();
    rows += op == Operation::kInsert || op == Operation::kUpdate || op == Operation::kDelete ||
            op == Operation::kRead;  // a snapshot row
    last = std::move(**next);
    // Also by time: a steady trickle never leaves the stream idle, and progress must
    // not wait for flush_every changes.
    if (++unflushed >= flush_every || absl::Now() - last_flush >= kFlushInterval) {
      status = flush();
      if (!status.ok()) break;
    }
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  g_stream = nullptr;
  absl::Status closed = stream.Close();
  if (!status.ok()) return status;
  if (!closed.ok()) return closed;
  return rows;
}

int RunStream(int argc, char** argv) {
  const std::vector<FlagSpec> flags = StreamFlags();
  absl::StatusOr<Args> args = Args::Parse(argc, argv, flags);
  if (args.ok() && args->help()) {
    std::cout << Usage(kStreamSynopsis, kStreamAbout, flags);
    return 0;
  }
  if (args.ok()) {
    for (const std::string& warning : args->warnings())
      std::cerr << "pgcdc stream: " << warning << "\n";
  }
  absl::StatusOr<StreamOptions> options =
      args.ok() ? OptionsFromArgs(*args) : absl::StatusOr<StreamOptions>(args.status());
  absl::StatusOr<OutputFormat> format = args.ok() ? ParseFormat(*args) : args.status();
  if (!options.ok() || !format.ok()) {
    std::cerr << "pgcdc stream: " << (options.ok() ? format.status() : options.status()).message()
              << "\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<ProgressDisplay>> progress =
      MakeProgressDisplay(args->Get("progress").value_or("auto"), &*options);
  if (!progress.ok()) {
    std::cerr << "pgcdc stream: " << progress.status().message() << "\n";
    return 2;
  }
  // Debezium's records say which columns are optional and their defaults.
  if (format.ok() && format->kind == OutputFormat::kDebezium) options->describe_columns = true;
  absl::StatusOr<ChangeStream> stream = ChangeStream::Open(*std::move(options));
  if (!stream.ok()) {
    std::cerr << "pgcdc stream: " << stream.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<uint64_t> rows = PumpChanges(*stream, *format, stdout);
  if (*progress) (*progress)->Finish();
  if (!rows.ok()) {
    std::cerr << "pgcdc stream: " << rows.status().message() << "\n";
    return 1;
  }
  std::cerr << "pgcdc stream: " << *rows << " row changes; confirmed up to "
            << stream->confirmed_flush_lsn().ToString() << "\n";
  std::cerr << "pgcdc stream: " << StatsSummary(stream->stats()) << "\n";
  return 0;
}

}  // namespace pgcdc::cli
