// The writer's ways out when the database does not take an event: spilling a batch to disk,
// replaying spill files, dead letters, and settling what is left when a shutdown ends.
#include <nlohmann/json.hpp>

#include "spill/spill_reader.hpp"
#include "writer/writer.hpp"

namespace evlog::detail {

bool Writer::should_spill(Clock::time_point now) const {
  if (!spill_ || now < next_spill_attempt_) return false;
  return stopping() || now - failing_since_ >= config_.spill_after || queue_nearly_full();
}

bool Writer::spill_batch() {
  std::vector<const EventRecord*> records;
  for (const Pending& p : batch_) {
    if (!p.settled && p.origin == Origin::queue) records.push_back(&p.record);
  }
  if (records.empty()) return true;
  std::string error;
  if (!spill_->append(records, error)) {
    counters_.add<&Stats::spill_failures>();
    next_spill_attempt_ = Clock::now() + config_.retry_max;
    warnings_.warn("cannot spill " + std::to_string(records.size()) +
                   " events (they stay in memory): " + error);
    return false;
  }
  {
    MoveSection move(counters_);  // out of in_flight, into spilled
    for (Pending& p : batch_) {
      // A spilled event's ticket stays pending: its caller times out (the event is not
      // committed), and the event is written once the file is replayed.
      if (!p.settled && p.origin == Origin::queue) settle(p, CommitTicket::State::pending, {});
    }
    counters_.add<&Stats::spilled>(records.size());
  }
  compact_batch();
  return true;
}

std::size_t Writer::replay_chunk_size() const noexcept {
  // A chunk whose commit takes about a quarter of max_delay (two ticks make max_delay), by the
  // writer's own measure of what an event costs to commit. Until it has one, the smallest chunk:
  // the measure of each chunk sizes the next, so chunks grow to the budget within a few turns.
  const std::size_t floor = std::min<std::size_t>(kReplayMinChunk, config_.max_batch);
  if (seconds_per_event_ <= 0.0) return floor;
  const double budget = std::chrono::duration<double>(config_.tick).count() / 2.0;
  const double events = budget / seconds_per_event_;
  if (events >= static_cast<double>(config_.max_batch)) return config_.max_batch;
  return std::max(floor, static_cast<std::size_t>(events));
}

void Writer::replay_step() {
  if (!spill_) return;
  try {
    if (!replay_ && !start_replay()) return;
    replay_next_chunk();
  } catch (...) {
    // The records are still in the file: forget the copies taken so far and try it again later.
    std::erase_if(batch_, [](const Pending& p) { return p.origin != Origin::queue; });
    abandon_replay();
    throw;
  }
}

void Writer::abandon_replay() noexcept {
  if (!replay_) return;
  try {
    // Unless the replay had already finished it (which leaves fd = -1).
    if (replay_->segment.fd >= 0) {
      drop_committed_prefix();
      spill_->put_back(replay_->segment);
    }
  } catch (...) {
  }
  replay_.reset();
}

void Writer::drop_committed_prefix() {
  ReplayInProgress& replay = *replay_;
  if (replay.committed == 0) return;
  SpillStore::Segment& segment = replay.segment;
  std::string error;
  const std::string_view rest = std::string_view(replay.bytes).substr(replay.committed_offset);
  if (!spill_->drop_prefix(segment, rest, replay.committed, error)) {
    // The file stays whole: its committed events are skipped on the next replay by event_id,
    // and counted then.
    warnings_.warn(error + "; the spill file is kept whole and its first " +
                   std::to_string(replay.committed) + " events will be skipped when replayed");
    return;
  }
  // Those events are in the table and no longer on disk: count them now, once (the file's next
  // replay starts after them, with a fresh tally).
  if (segment.own) {
    MoveSection move(counters_);  // out of spilled, into the final tallies
    counters_.add<&Stats::written>(replay.committed_tally.written);
    counters_.add<&Stats::dead_lettered>(replay.committed_tally.dead_lettered);
    counters_.sub<&Stats::spilled>(replay.committed, std::memory_order_release);
  } else {
    counters_.add<&Stats::replayed>(replay.committed_tally.written);
  }
}

bool Writer::start_replay() {
  std::string warning;
  std::optional<SpillStore::Segment> segment =
      spill_->next_replayable(std::chrono::seconds(2), warning);
  if (!warning.empty()) warnings_.warn(warning);
  if (!segment) return false;
  replay_.emplace();
  replay_->segment = std::move(*segment);
  SpillStore::Segment& seg = replay_->segment;
  std::string error;
  // Through the descriptor the store holds (and has locked): what a path names can change under
  // a live process (a rename, a planted symlink), the file it opened cannot.
  if (!read_spill_bytes(seg.fd, seg.path, replay_->bytes, error)) {
    // An I/O error reading the file (EIO, say) says nothing about its records: they stay on disk,
    // counted as spilled, and the file is tried again later rather than given up as lost.
    warnings_.warn(error + "; will try the spill file again");
    abandon_replay();
    return false;
  }
  SpillContents header;
  replay_->parser.emplace(replay_->bytes, /*known_spill_file=*/seg.own, header);
  replay_->committed_offset = replay_->parser->offset();
  report_corrupt(seg.path, header);
  tally_ = {};
  return true;
}

void Writer::report_corrupt(const std::string& path, const SpillContents& contents) {
  counters_.add<&Stats::spill_corrupt>(contents.corrupt.size());
  for (const CorruptSpan& span : contents.corrupt) {
    warnings_.warn("spill file '" + path + "': " + span.reason + " at offset " +
                   std::to_string(span.offset) + " (" + std::to_string(span.length) +
                   " bytes skipped)");
  }
}

void Writer::replay_next_chunk() {
  ReplayInProgress& replay = *replay_;
  const SpillStore::Segment& seg = replay.segment;
  // Only the records this process counted as spilled are its own file's; anything after them is
  // what a failed append may have left, and those events were settled another way.
  const std::uint64_t limit = seg.own ? seg.counted : std::numeric_limits<std::uint64_t>::max();
  SpillContents chunk;
  while (chunk.records.empty() && !replay.parser->at_end() && replay.read_back < limit) {
    replay.parser->parse(std::min<std::uint64_t>(replay_chunk_size(), limit - replay.read_back),
                         chunk);
    replay.read_back += chunk.records.size();
  }
  report_corrupt(seg.path, chunk);
  if (!chunk.records.empty()) {
    const Origin origin = seg.own ? Origin::own_spill : Origin::foreign_spill;
    for (EventRecord& record : chunk.records) add_pending(std::move(record), origin);
    const SinkStatus status = write_batch();
    if (!status.ok()) {
      // This chunk's events are still in the file: forget the copies and try the file again
      // later, without the chunks committed before this one (abandon_replay).
      note_failure(status.message);
      std::erase_if(batch_, [](const Pending& p) { return p.origin != Origin::queue; });
      abandon_replay();
      return;
    }
    replay.committed = replay.read_back;
    replay.committed_tally = tally_;
    replay.committed_offset = replay.parser->offset();
    if (!replay.parser->at_end() && replay.read_back < limit) return;  // more in the next turn
  }
  finish_replay();
}

void Writer::finish_replay() {
  SpillStore::Segment& segment = replay_->segment;
  const std::uint64_t unreadable = segment.own ? segment.counted - replay_->read_back : 0;
  // Every record is committed: count them once and delete the file. Nothing may throw past the
  // counting (the caller would put the file back, and a second replay would count it again).
  if (segment.own) {
    MoveSection move(counters_);  // out of spilled, into the final tallies
    counters_.add<&Stats::written>(tally_.written);
    counters_.add<&Stats::dead_lettered>(tally_.dead_lettered);
    counters_.add<&Stats::lost>(unreadable);
    counters_.sub<&Stats::spilled>(segment.counted, std::memory_order_release);
  } else {
    counters_.add<&Stats::replayed>(tally_.written);
  }
  try {
    spill_->finish(segment);
    const std::string path = segment.path;
    replay_.reset();
    note_success();
    if (unreadable > 0) {
      warnings_.warn_always("lost " + std::to_string(unreadable) +
                            " spilled events that could not be read back from '" + path + "'");
    }
  } catch (...) {
    // Out of memory for a warning: the counters above already say what happened.
    replay_.reset();
  }
}

void Writer::dead_letter(Pending& pending, std::string_view reason) {
  const EventRecord& r = pending.record;
  std::string line;
  try {
    nlohmann::json j;
    j["event_id"] = std::string(pending.text, kEventIdChars);
    j["event_type"] = r.type();
    j["user_id"] = r.has_user_id ? nlohmann::json(r.user_id) : nlohmann::json(nullptr);
    j["user_type"] = r.user_type_len ? nlohmann::json(r.user_type()) : nlohmann::json(nullptr);
    j["metadata"] = r.metadata_len ? nlohmann::json(r.metadata()) : nlohmann::json(nullptr);
    j["created_at"] = std::string(pending.text + kEventIdChars, kCreatedAtChars);
    j["reason"] = reason;
    j["database"] = sink_->describe();
    // Replacement, not an exception, for bytes that are not UTF-8 in the database's message.
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } catch (...) {
    line = "{}\n";
  }
  std::string error;
  const bool kept = spill_ && spill_->dead_letter(line, error);
  if (!kept) {
    // Not rate-limited: with nowhere else to keep it, this line is the dead letter's only record.
    warnings_.warn_always("dead letter (refused by the database" +
                          (error.empty() ? std::string() : "; not kept on disk: " + error) +
                          "): " + line.substr(0, line.size() - 1));
  } else {
    warnings_.warn("dead-lettered event " + std::string(pending.text, kEventIdChars) +
                   " into the spill directory: " + std::string(reason));
  }
  MoveSection move(counters_);  // an event from the queue: out of in_flight, into dead_lettered
  switch (pending.origin) {
    case Origin::queue:
      counters_.add<&Stats::dead_lettered>();
      break;
    case Origin::own_spill:
      ++tally_.dead_lettered;
      break;
    case Origin::foreign_spill:
      break;  // another process's event: kept in the dead-letter file, not in this accounting
  }
  settle(pending, CommitTicket::State::refused, reason);
}

void Writer::settle_remaining_at_shutdown() noexcept {
  std::uint64_t lost = 0;
  for (;;) {
    fill_batch();
    if (batch_.empty()) break;
    bool spilled = false;
    try {
      spilled = spill_ && spill_batch();
    } catch (...) {  // out of memory: what cannot be spilled is counted lost below
    }
    if (spilled) continue;
    {
      MoveSection move(counters_);  // out of in_flight, into lost
      std::uint64_t now_lost = 0;
      for (Pending& p : batch_) {
        if (!p.settled) {
          settle(p, CommitTicket::State::lost, {});
          ++now_lost;
        }
      }
      counters_.add<&Stats::lost>(now_lost);
      lost += now_lost;
    }
    compact_batch();
  }
  if (lost > 0) {
    try {
      std::string error;
      {
        std::lock_guard lock(error_mu_);
        error = last_error_;
      }
      warnings_.warn_always("lost " + std::to_string(lost) +
                            " events not written by the shutdown deadline" +
                            (error.empty() ? std::string() : "; last database error: " + error));
    } catch (...) {
      warnings_.warn_always("lost events not written by the shutdown deadline (out of memory)");
    }
  }
}

}  // namespace evlog::detail
