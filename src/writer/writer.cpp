#include "writer/writer.hpp"

#include <algorithm>

#include "sinks/sink_factory.hpp"

namespace evlog::detail {

Writer::Writer(const WriterConfig& config, EventQueue& queue, ByteBudget& budget,
               const ProducerCounters& producers, WarningLimiter& warnings,
               std::unique_ptr<Sink> sink)
    : config_(config),
      queue_(queue),
      budget_(budget),
      producers_(producers),
      warnings_(warnings),
      sink_(std::move(sink)),
      jitter_state_(random_u64()) {
  batch_.reserve(config_.max_batch);
  rows_.reserve(config_.max_batch);
}

Writer::~Writer() {
  stop(Clock::now());
}

void Writer::start() {
  thread_ = std::thread([this] { run(); });
}

void Writer::stop(Clock::time_point deadline) noexcept {
  std::call_once(stop_once_, [&] {
    stop_deadline_ = deadline;
    // Release: the writer's acquire load of stop_requested_ then sees stop_deadline_.
    stop_requested_.store(true, std::memory_order_release);
    wake();
    if (thread_.joinable()) thread_.join();
  });
}

void Writer::abandon_after_fork() noexcept {
  // The parent's thread does not exist here: the std::thread object must never be joined or
  // destroyed, and the sink's connection belongs to the parent. The caller leaks this object.
  abandon_sink(std::move(sink_));
}

void Writer::wake() noexcept {
  {
    std::lock_guard lock(wake_mu_);
    wake_requested_ = true;
  }
  wake_cv_.notify_one();
}

void Writer::request_urgent() noexcept {
  // Release pairs with the writer's acquire load: what the requester did before (pushing its
  // event) is visible when the writer sees the new count.
  urgent_requests_.fetch_add(1, std::memory_order_release);
  wake();
}

void Writer::sleep_until(Clock::time_point until) noexcept {
  std::unique_lock lock(wake_mu_);
  sleeping_.store(true, std::memory_order_relaxed);
  wake_cv_.wait_until(lock, until, [&] { return wake_requested_; });
  wake_requested_ = false;
  sleeping_.store(false, std::memory_order_relaxed);
}

bool Writer::wait_finalized(std::uint64_t position, Clock::time_point deadline) noexcept {
  std::unique_lock lock(progress_mu_);
  return progress_cv_.wait_until(
      lock, deadline, [&] { return finalized_.load(std::memory_order_acquire) >= position; });
}

CommitTicket::State Writer::wait_ticket(const CommitTicket& ticket,
                                        Clock::time_point deadline) noexcept {
  std::unique_lock lock(progress_mu_);
  progress_cv_.wait_until(lock, deadline,
                          [&] { return ticket.current() != CommitTicket::State::pending; });
  return ticket.current();
}

void Writer::notify_waiters() noexcept {
  { std::lock_guard lock(progress_mu_); }
  progress_cv_.notify_all();
}

void Writer::publish_progress() noexcept {
  if (batch_.empty()) {
    // Every position below head was popped by this thread (and is final, the batch being empty)
    // or evicted by a producer (counted as dropped).
    finalized_.store(queue_.head_position(), std::memory_order_release);
    oldest_unix_ns_.store(0, std::memory_order_relaxed);
  }
  notify_waiters();
}

WriterCounters Writer::counters() const {
  WriterCounters c;
  c.written = written_.load(std::memory_order_relaxed);
  c.dead_lettered = dead_lettered_.load(std::memory_order_relaxed);
  c.lost = lost_.load(std::memory_order_relaxed);
  c.batches = batches_.load(std::memory_order_relaxed);
  c.retries = retries_.load(std::memory_order_relaxed);
  c.in_flight = in_flight_.load(std::memory_order_relaxed);
  c.oldest_unix_ns = oldest_unix_ns_.load(std::memory_order_relaxed);
  c.failing = failing_.load(std::memory_order_relaxed);
  std::lock_guard lock(error_mu_);
  c.last_error = last_error_;
  return c;
}

void Writer::run() noexcept {
  auto next_tick = Clock::now() + config_.tick;
  for (;;) {
    const bool stop = stopping();
    if (stop && Clock::now() >= stop_deadline_) {
      lose_everything();
      break;
    }
    const std::uint64_t urgent = urgent_requests_.load(std::memory_order_acquire);
    const bool due = stop || urgent != urgent_seen_ ||
                     queue_.size_approx() >= config_.wake_stride || Clock::now() >= next_tick;
    if (!due) {
      sleep_until(next_tick);
      continue;
    }
    urgent_seen_ = urgent;
    next_tick = Clock::now() + config_.tick;
    report_drops();

    fill_batch();
    if (batch_.empty()) {
      publish_progress();
      if (stop) break;
      continue;
    }
    write_batch_until_done();
    publish_progress();
  }
  publish_progress();
}

std::size_t Writer::fill_batch() {
  std::size_t taken = 0;
  while (batch_.size() < config_.max_batch) {
    const bool popped = queue_.try_pop([&](EventRecord& record, std::uint64_t) {
      Pending& pending = batch_.emplace_back();
      pending.record.take_from(record);
      format_event_id(pending.record.unix_ns, pending.record.random, pending.text);
      format_created_at(pending.record.unix_ns, pending.text + kEventIdChars);
    });
    if (!popped) break;
    ++taken;
  }
  if (taken > 0) {
    in_flight_.fetch_add(taken, std::memory_order_relaxed);
    oldest_unix_ns_.store(batch_.front().record.unix_ns, std::memory_order_relaxed);
  }
  return taken;
}

void Writer::write_batch_until_done() {
  unsigned attempt = 0;
  for (;;) {
    SinkStatus status = SinkStatus::success();
    if (needs_open_) {
      status = sink_->open();
      if (status.ok()) needs_open_ = false;
    }
    if (status.ok()) status = write_range(0, batch_.size());
    compact_batch();
    if (status.ok()) {
      if (failing_.load(std::memory_order_relaxed)) {
        failing_.store(false, std::memory_order_relaxed);
        warnings_.warn("writing to " + sink_->describe() + " again after " +
                       std::to_string(attempt) + " failed attempts");
      }
      return;
    }
    needs_open_ = true;
    retries_.fetch_add(1, std::memory_order_relaxed);
    note_failure(status.message);
    publish_progress();  // wake committed waiters whose events were finalised by a partial write

    auto until = Clock::now() + backoff(attempt++);
    for (;;) {
      if (stopping()) until = std::min(until, stop_deadline_);
      if (Clock::now() >= until) break;
      sleep_until(until);
    }
    if (stopping() && Clock::now() >= stop_deadline_) return;  // run() loses what is left
    report_drops();
    fill_batch();  // keep draining the queue into the batch while the database recovers
  }
}

SinkStatus Writer::write_range(std::size_t begin, std::size_t end) {
  for (;;) {
    rows_.clear();
    std::vector<std::size_t> index;
    index.reserve(end - begin);
    for (std::size_t i = begin; i < end; ++i) {
      Pending& p = batch_[i];
      if (p.final) continue;
      const EventRecord& r = p.record;
      rows_.push_back(Row{
          .event_id = std::string_view(p.text, kEventIdChars),
          .type = r.type(),
          .user_id = r.has_user_id ? std::optional<std::int64_t>(r.user_id) : std::nullopt,
          .user_type = r.user_type(),
          .metadata = r.metadata(),
          .created_at = std::string_view(p.text + kEventIdChars, kCreatedAtChars),
      });
      index.push_back(i);
    }
    if (rows_.empty()) return SinkStatus::success();

    SinkStatus status = sink_->write(rows_);
    switch (status.code) {
      case SinkStatus::Code::ok:
        for (std::size_t i : index) finish(batch_[i], CommitTicket::State::committed, {});
        written_.fetch_add(index.size(), std::memory_order_relaxed);
        batches_.fetch_add(1, std::memory_order_relaxed);
        return status;
      case SinkStatus::Code::transient:
      case SinkStatus::Code::invalid:
        status.code = SinkStatus::Code::transient;
        return status;
      case SinkStatus::Code::refused:
        break;
    }
    // The database refused the data. A named row is dead-lettered and the rest retried at once;
    // otherwise the range is split in halves until each refused event stands alone.
    if (status.row < index.size()) {
      dead_letter(batch_[index[status.row]], status.message);
      continue;
    }
    if (index.size() == 1) {
      dead_letter(batch_[index.front()], status.message);
      return SinkStatus::success();
    }
    const std::size_t mid = index[index.size() / 2];
    SinkStatus left = write_range(begin, mid);
    if (!left.ok()) return left;
    return write_range(mid, end);
  }
}

void Writer::finish(Pending& pending, CommitTicket::State state, std::string_view reason) {
  pending.final = true;
  budget_.release(pending.record.heap_bytes());
  if (pending.record.ticket) {
    if (!reason.empty()) pending.record.ticket->reason.assign(reason);
    pending.record.ticket->finish(state);
  }
  pending.record.release();
}

void Writer::dead_letter(Pending& pending, std::string_view reason) {
  std::string line = "dead letter: event ";
  line.append(pending.text, kEventIdChars);
  line += " (type ";
  line += pending.record.type();
  line += ") refused by the database: ";
  line += reason;
  dead_lettered_.fetch_add(1, std::memory_order_relaxed);
  finish(pending, CommitTicket::State::refused, reason);
  warnings_.warn(line);
}

void Writer::compact_batch() {
  const auto removed = std::erase_if(batch_, [](const Pending& p) { return p.final; });
  if (removed > 0) in_flight_.fetch_sub(removed, std::memory_order_relaxed);
  if (batch_.empty()) {
    oldest_unix_ns_.store(0, std::memory_order_relaxed);
  } else {
    oldest_unix_ns_.store(batch_.front().record.unix_ns, std::memory_order_relaxed);
  }
}

void Writer::lose_everything() noexcept {
  std::uint64_t count = 0;
  for (Pending& p : batch_) {
    if (!p.final) {
      finish(p, CommitTicket::State::lost, {});
      ++count;
    }
  }
  compact_batch();
  // What is still queued will not be written either.
  while (queue_.try_pop([&](EventRecord& record, std::uint64_t) {
    budget_.release(record.heap_bytes());
    if (record.ticket) record.ticket->finish(CommitTicket::State::lost);
    record.release();
  })) {
    ++count;
  }
  if (count > 0) {
    lost_.fetch_add(count, std::memory_order_relaxed);
    std::string error;
    {
      std::lock_guard lock(error_mu_);
      error = last_error_;
    }
    warnings_.warn_always("lost " + std::to_string(count) +
                          " events not written by the shutdown deadline" +
                          (error.empty() ? std::string() : "; last database error: " + error));
  }
}

void Writer::report_drops() noexcept {
  const std::uint64_t queue_full = producers_.dropped_queue_full.load(std::memory_order_relaxed);
  const std::uint64_t bytes_full = producers_.dropped_bytes_full.load(std::memory_order_relaxed);
  const std::uint64_t total = queue_full + bytes_full;
  if (total == drops_reported_) return;
  try {
    const std::string line = "dropped " + std::to_string(total - drops_reported_) +
                             " events since the last report (total: " + std::to_string(queue_full) +
                             " for a full queue, " + std::to_string(bytes_full) +
                             " for max_queue_bytes)";
    if (warnings_.warn(line)) drops_reported_ = total;
  } catch (...) {
  }
}

void Writer::note_failure(const std::string& message) {
  {
    std::lock_guard lock(error_mu_);
    last_error_ = message;
  }
  failing_.store(true, std::memory_order_relaxed);
  warnings_.warn("cannot write " + std::to_string(batch_.size()) + " events to " +
                 sink_->describe() + ", retrying: " + message);
}

Clock::duration Writer::backoff(unsigned attempt) {
  const auto initial = std::chrono::duration_cast<std::chrono::microseconds>(config_.retry_initial);
  const auto cap = std::chrono::duration_cast<std::chrono::microseconds>(config_.retry_max);
  auto base = initial * (std::int64_t{1} << std::min(attempt, 20u));
  if (base > cap) base = cap;
  // Jitter: a uniform draw from [base/2, base] (splitmix64 step), so processes sharing a database
  // do not retry in lock-step.
  jitter_state_ += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = jitter_state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  const auto half = base.count() / 2;
  const auto span = static_cast<std::uint64_t>(base.count() - half + 1);
  return std::chrono::microseconds(half + static_cast<std::int64_t>(z % span));
}

}  // namespace evlog::detail
