// The public spill functions (evlog/spill.hpp): inspecting a file, replaying a directory.
#include <thread>

#include "core/clock.hpp"
#include "core/event_id.hpp"
#include "evlog/error.hpp"
#include "evlog/logger.hpp"
#include "evlog/spill.hpp"
#include "sinks/sink_factory.hpp"
#include "spill/spill_reader.hpp"
#include "spill/spill_store.hpp"

namespace evlog {

SpillInspection inspect_spill_file(const std::string& path) {
  detail::SpillContents contents;
  std::string error;
  if (!detail::read_spill_file(path, contents, error)) throw Error(error);
  SpillInspection out;
  out.path = path;
  out.header_ok = contents.header_ok;
  out.target = contents.target;
  out.torn_tail = contents.torn_tail;
  for (std::size_t i = 0; i < contents.records.size(); ++i) {
    const detail::EventRecord& r = contents.records[i];
    SpillRecord record;
    record.offset = contents.offsets[i];
    record.event_id.resize(detail::kEventIdChars);
    detail::format_event_id(r.unix_ns, r.random, record.event_id.data());
    record.created_at.resize(detail::kCreatedAtChars);
    detail::format_created_at(r.unix_ns, record.created_at.data());
    record.type = r.type();
    if (r.has_user_id) record.user_id = r.user_id;
    record.user_type = r.user_type();
    record.metadata = r.metadata();
    out.records.push_back(std::move(record));
  }
  for (const detail::CorruptSpan& span : contents.corrupt) {
    out.corrupt.push_back({span.offset, span.length, span.reason});
  }
  return out;
}

ReplayReport replay_spill_directory(const Options& options, std::chrono::milliseconds timeout) {
  if (options.spill_dir.empty()) throw Error("Options::spill_dir: must name the spill directory");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string target = detail::make_sink(options)->describe() + "#" + options.table;
  Logger logger(options);  // its writer replays the files no live process holds
  // The writer holds a file's lock while replaying it, so a file counts here until it is
  // either replayed (and deleted) or being replayed; shutdown() then lets the last one finish.
  while (detail::SpillStore::count_replayable(options.spill_dir, target) > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    (void)logger.flush(std::chrono::milliseconds(100));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  logger.shutdown(std::max(left, std::chrono::milliseconds(1000)));
  ReplayReport report;
  report.stats = logger.stats();
  report.files_left = detail::SpillStore::count_replayable(options.spill_dir, target);
  return report;
}

}  // namespace evlog
