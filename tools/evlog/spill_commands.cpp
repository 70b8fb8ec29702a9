#include "spill_commands.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <evlog/evlog.hpp>
#include <memory>
#include <string>

namespace evlog::cli {

namespace {

struct InspectOptions {
  std::string path;
  bool quiet = false;
};

bool run_inspect(const InspectOptions& o) {
  const SpillInspection file = inspect_spill_file(o.path);
  std::printf("%s: %s, %zu records, %zu corrupt spans%s\n", file.path.c_str(),
              file.header_ok ? ("for " + file.target).c_str() : "unreadable header",
              file.records.size(), file.corrupt.size(), file.torn_tail ? ", torn tail" : "");
  if (!o.quiet) {
    for (const SpillRecord& r : file.records) {
      std::printf("%10llu  %s  %s  %-20s user_id=%s user_type=%s metadata=%s\n",
                  static_cast<unsigned long long>(r.offset), r.event_id.c_str(),
                  r.created_at.c_str(), r.type.c_str(),
                  r.user_id ? std::to_string(*r.user_id).c_str() : "NULL",
                  r.user_type.empty() ? "NULL" : r.user_type.c_str(),
                  r.metadata.empty() ? "NULL" : r.metadata.c_str());
    }
  }
  for (const SpillCorruption& c : file.corrupt) {
    std::printf("corrupt: offset %llu, %llu bytes: %s\n", static_cast<unsigned long long>(c.offset),
                static_cast<unsigned long long>(c.length), c.reason.c_str());
  }
  return file.clean();
}

struct ReplayOptions {
  std::string spill_dir;
  std::string database;
  std::string table = "analytics_events";
  int timeout_seconds = 300;
};

bool run_replay(const ReplayOptions& o) {
  Options options;
  options.database = o.database;
  options.table = o.table;
  options.spill_dir = o.spill_dir;
  options.on_warning = [](std::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  };
  const ReplayReport report =
      replay_spill_directory(options, std::chrono::seconds(o.timeout_seconds));
  const Stats& s = report.stats;
  std::printf(
      "replayed %llu events into %s (dead-lettered: see %s/dead-letters.jsonl); %llu "
      "spill files left\n",
      static_cast<unsigned long long>(s.replayed), o.database.c_str(), o.spill_dir.c_str(),
      static_cast<unsigned long long>(report.files_left));
  return report.files_left == 0;
}

}  // namespace

void add_inspect_command(CLI::App& app, std::function<bool()>& chosen) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect", "List a spill file's records and corrupt spans");
  cmd->add_option("file", options->path, "The spill file")->required()->check(CLI::ExistingFile);
  cmd->add_flag("-q,--quiet", options->quiet, "Only the summary and the corrupt spans");
  cmd->callback([options, &chosen] { chosen = [options] { return run_inspect(*options); }; });
}

void add_replay_command(CLI::App& app, std::function<bool()>& chosen) {
  auto options = std::make_shared<ReplayOptions>();
  CLI::App* cmd = app.add_subcommand(
      "replay", "Write the events of spill files no live process holds into the database");
  cmd->add_option("--spill-dir", options->spill_dir, "The spill directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--database", options->database, "The SQLite file")->required();
  cmd->add_option("--table", options->table, "The table")->capture_default_str();
  cmd->add_option("--timeout", options->timeout_seconds, "Seconds to wait at most")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([options, &chosen] { chosen = [options] { return run_replay(*options); }; });
}

}  // namespace evlog::cli
