#include "writer/writer.hpp"

#include <algorithm>

#include <pthread.h>

#include "core/splitmix64.hpp"
#include "sinks/sink_factory.hpp"

namespace evlog::detail {

namespace {

// The running writers of this process, for the fork() handlers.
std::mutex g_writers_mu;
std::vector<Writer*> g_writers;

// After finishing a committed caller's ticket, how long the writer polls for the next request
// before it sleeps. A caller logging critical events back to back (a request thread handling one
// action after another) logs its next one within microseconds of being woken; finding the writer
// awake saves it the wake-up (a mutex and a futex call on its side, the writer's scheduling
// latency on the other: ≈ 30 µs here). Polling yields the core, so runnable threads (the callers
// just woken) go first; past this the writer sleeps as usual.
constexpr std::chrono::microseconds kCallerFollowUp{50};

}  // namespace

void Writer::prepare_fork() noexcept {
  g_writers_mu.lock();
  for (Writer* w : g_writers) {
    w->sink_mu_.lock();
    if (w->sink_) {
      w->sink_->prepare_fork();
      w->needs_open_ = true;  // read by the writer thread after it takes sink_mu_ again
    }
  }
}

void Writer::after_fork_in_parent() noexcept {
  for (Writer* w : g_writers) w->sink_mu_.unlock();
  g_writers_mu.unlock();
}

void Writer::after_fork_in_child() noexcept {
  // The writers' threads do not exist here; the child's loggers start writers of their own.
  for (Writer* w : g_writers) w->sink_mu_.unlock();
  g_writers.clear();
  g_writers_mu.unlock();
}

Writer::Writer(const WriterConfig& config, EventQueue& queue, ByteBudget& budget,
               Counters& counters, WarningLimiter& warnings, std::unique_ptr<Sink> sink,
               std::unique_ptr<SpillStore> spill)
    : config_(config),
      queue_(queue),
      budget_(budget),
      counters_(counters),
      warnings_(warnings),
      sink_(std::move(sink)),
      spill_(std::move(spill)),
      jitter_state_(random_u64()) {
  batch_.reserve(config_.max_batch);
  next_.reserve(config_.max_batch);
  rows_.reserve(config_.max_batch);
  if (sink_) sink_->set_while_waiting([this] { prefetch(); });
  row_index_.reserve(config_.max_batch);
}

Writer::~Writer() {
  stop(Clock::now());
}

void Writer::start() {
  {
    std::lock_guard lock(g_writers_mu);
    g_writers.push_back(this);
  }
  thread_ = std::thread([this] { run(); });
}

void Writer::stop(Clock::time_point deadline) noexcept {
  std::call_once(stop_once_, [&] {
    stop_deadline_ = deadline;
    // Release: the writer's acquire load of stop_requested_ then sees stop_deadline_.
    stop_requested_.store(true, std::memory_order_release);
    // A database call in progress gives up at the deadline rather than at its own. The sink
    // object lives as long as this writer, and only fork() (not running here) replaces it.
    if (sink_) sink_->give_up_at(deadline);
    wake();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(g_writers_mu);
    std::erase(g_writers, this);
  });
}

void Writer::abandon_after_fork() noexcept {
  // The parent's thread does not exist here: the std::thread object must never be joined or
  // destroyed, and the connection and spill files belong to the parent. The caller leaks this.
  abandon_sink(std::move(sink_));
  if (spill_) spill_->abandon_after_fork();
}

void Writer::wake() noexcept {
  {
    std::lock_guard lock(wake_mu_);
    wake_requested_ = true;
  }
  wake_cv_.notify_one();
}

void Writer::request_urgent() noexcept {
  // Sequentially consistent, with the writer's store of sleeping_ and its load of
  // urgent_requests_ in sleep_until() (the Dekker pattern): either this thread sees the writer
  // asleep and wakes it, or the writer sees this request before it sleeps. A busy writer is not
  // woken at all, so committed calls under load pay no mutex and no system call here.
  urgent_requests_.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) wake();
}

void Writer::sleep_until(Clock::time_point until) noexcept {
  std::unique_lock lock(wake_mu_);
  sleeping_.store(true, std::memory_order_seq_cst);
  // See request_urgent(): a request made before the store above is seen here.
  const bool requested = urgent_requests_.load(std::memory_order_seq_cst) != urgent_seen_;
  if (!requested) wake_cv_.wait_until(lock, until, [&] { return wake_requested_; });
  wake_requested_ = false;
  sleeping_.store(false, std::memory_order_relaxed);
  wake_pending_.store(false, std::memory_order_relaxed);
}

bool Writer::wait_flushed(std::uint64_t position, Clock::time_point deadline) noexcept {
  std::unique_lock lock(progress_mu_);
  return progress_cv_.wait_until(lock, deadline, [&] {
    return settled_.load(std::memory_order_acquire) >= position &&
           counters_.load<&Stats::spilled>(std::memory_order_acquire) == 0;
  });
}

void Writer::notify_waiters() noexcept {
  { std::lock_guard lock(progress_mu_); }
  progress_cv_.notify_all();
}

void Writer::publish_progress() noexcept {
  if (batch_.empty()) {
    // Every position below head was popped by this thread (and is settled, the batch being
    // empty) or evicted by a producer (counted as dropped), except the prefetched events: those
    // are popped and not settled, so progress stops at the first of them. (Under steady load the
    // writer prefetches during every write: progress must not wait for a moment without any.)
    const bool prefetched = !next_.empty();
    settled_.store(prefetched ? next_.front().position : queue_.head_position(),
                   std::memory_order_release);
    oldest_unix_ns_.store(prefetched ? next_.front().record.unix_ns : 0, std::memory_order_relaxed);
  }
  if (spill_) counters_.store<&Stats::spill_bytes>(spill_->own_bytes());
  notify_waiters();
}

WriterStatus Writer::status() const {
  WriterStatus w;
  w.in_flight = in_flight();
  w.oldest_unix_ns = oldest_unix_ns_.load(std::memory_order_relaxed);
  w.failing = failing_.load(std::memory_order_relaxed);
  std::lock_guard lock(error_mu_);
  w.last_error = last_error_;
  return w;
}

void Writer::run() noexcept {
  // A name that top -H, ps -L, perf, gdb and /proc/PID/task/TID/comm show, so that the writer's
  // share of a process's CPU can be read from outside it. At most 15 characters; a failure only
  // leaves the inherited name.
  (void)pthread_setname_np(pthread_self(), kWriterThreadName);
  auto next_tick = Clock::now() + config_.tick;
  for (;;) {
    bool go_on = true;
    try {
      go_on = run_once(next_tick);
    } catch (...) {
      // std::bad_alloc (a string, a vector), from anywhere in the life of a batch: the writer
      // must not die of it. The batch is kept and retried after backoff like any failed write.
      recover_from_exception();
    }
    if (!go_on) break;
  }
  abandon_replay();  // a replay cut short by the deadline: its file stays for later
  settle_remaining_at_shutdown();
  publish_progress();
}

void Writer::recover_from_exception() noexcept {
  // Records a replay had taken from a spill file are still in that file (put back already).
  std::erase_if(batch_, [](const Pending& p) { return p.settled || p.origin != Origin::queue; });
  note_failure("out of memory");
}

bool Writer::run_once(Clock::time_point& next_tick) {
  const bool stop = stopping();
  auto now = Clock::now();
  // Shutdown ends at the deadline, or at once while the database is failing and the rest can
  // be spilled: waiting would only make the caller wait for nothing.
  if (stop && (now >= stop_deadline_ || (failing_state_ && spill_))) return false;

  const std::uint64_t urgent = urgent_requests_.load(std::memory_order_acquire);
  // Own spill files wait for replay; while failing, replaying one is also the probe that finds
  // the database back once the backoff has passed.
  const bool replay_pending = spill_ && (replay_ || spill_->has_own_segments()) &&
                              (!failing_state_ || now >= next_attempt_);
  const bool due = stop || urgent != urgent_seen_ || replay_pending ||
                   queue_.size_approx() >= config_.wake_stride || now >= next_tick;
  if (!due) {
    if (now < poll_until_) {
      std::this_thread::yield();
    } else {
      sleep_until(next_tick);
    }
    return true;
  }
  urgent_seen_ = urgent;
  if (now >= next_tick) next_tick = now + config_.tick;
  report_drops();

  fill_batch();
  if (!batch_.empty()) {
    if (failing_state_ && now < next_attempt_) {
      if (!(should_spill(now) && spill_batch())) {
        // Keep the batch until the next attempt (or the shutdown deadline).
        sleep_until(stop ? std::min(next_attempt_, stop_deadline_) : next_attempt_);
      }
    } else if (!failing_state_ && spill_ && now >= next_spill_attempt_ && queue_nearly_full()) {
      // The database cannot keep up: make room before the queue overflows. If the spill
      // directory cannot take the batch (full, read-only, max_spill_bytes), the healthy
      // database still can: write it rather than retry the spill in a loop.
      if (!spill_batch()) attempt_write();
    } else {
      attempt_write();
    }
    // Live events first, then a chunk of the replay in progress (or of this process's own spill
    // files): never starved by live traffic, and never more than one chunk per live commit. Not
    // while the queue is three quarters full: the database is not keeping up with live events.
    if (batch_.empty() && !failing_state_ && replay_pending && !queue_nearly_full()) replay_step();
  } else if (!failing_state_ || now >= next_attempt_) {
    replay_step();
  }
  publish_progress();
  if (finished_tickets_) {
    finished_tickets_ = false;
    poll_until_ = Clock::now() + kCallerFollowUp;
  }
  return !(stop && batch_.empty() && next_.empty() && queue_.size_approx() == 0 &&
           (failing_state_ || !spill_ || (!replay_ && !spill_->has_own_segments())));
}

void Writer::format_pending(Pending& pending) noexcept {
  format_event_id(pending.record.unix_ns, pending.record.random, pending.text);
  format_created_at(pending.record.unix_ns, pending.text + kEventIdChars);
}

Writer::Pending& Writer::add_pending(EventRecord&& record, Origin origin) {
  Pending& pending = batch_.emplace_back();
  pending.record.take_from(record);
  pending.origin = origin;
  format_pending(pending);
  return pending;
}

void Writer::prefetch() noexcept {
  // next_ was reserved for max_batch and is empty here (fill_batch() moved it into the batch), so
  // emplace_back() never allocates: nothing below can throw, and every popped event is kept.
  if (!next_.empty()) return;
  {
    // From the queue into in_flight, as in fill_batch().
    MoveSection move(counters_);
    while (next_.size() < config_.max_batch &&
           queue_.try_pop([&](EventRecord& record, std::uint64_t position) {
             Pending& pending = next_.emplace_back();
             pending.record.take_from(record);
             pending.origin = Origin::queue;
             pending.position = position;
             add_in_flight(1);
           })) {
    }
  }
  // Formatting (the id's and the timestamp's text) outside the move: it changes no count.
  for (Pending& pending : next_) format_pending(pending);
}

std::size_t Writer::fill_batch() {
  std::size_t taken = 0;
  if (!next_.empty() && batch_.size() + next_.size() <= config_.max_batch) {
    // Prefetched while the database worked on the previous batch: popped, counted in in_flight
    // and formatted already. Moving them changes no count.
    for (Pending& pending : next_) batch_.push_back(std::move(pending));
    taken += next_.size();
    next_.clear();
  }
  {
    // From the queue into in_flight: one move (the queue's head and in_flight change together).
    MoveSection move(counters_);
    while (batch_.size() < config_.max_batch &&
           queue_.try_pop([&](EventRecord& record, std::uint64_t) {
             add_pending(std::move(record), Origin::queue);
             add_in_flight(1);
           })) {
      ++taken;
    }
  }
  if (!batch_.empty()) {
    oldest_unix_ns_.store(batch_.front().record.unix_ns, std::memory_order_relaxed);
  }
  return taken;
}

SinkStatus Writer::write_batch() {
  SinkStatus status = SinkStatus::success();
  const std::size_t events = batch_.size();
  const auto start = Clock::now();
  {
    std::lock_guard sink_lock(sink_mu_);
    if (needs_open_) {
      status = sink_->open();
      if (status.ok()) needs_open_ = false;
    }
    if (status.ok()) status = write_range(0, batch_.size());
  }
  if (status.ok() && events >= kReplayMinChunk) {
    // Smoothed (a quarter of each new figure), for replay_chunk_size(). Only from batches of a
    // replay chunk's size or more: in a tiny batch the commit's fixed cost would pass for a cost
    // per event. Measured on chunks of the size it sets, the figure settles where a chunk's
    // commit takes the budget, whatever the fixed cost.
    const double per_event =
        std::chrono::duration<double>(Clock::now() - start).count() / static_cast<double>(events);
    seconds_per_event_ =
        seconds_per_event_ <= 0.0 ? per_event : 0.75 * seconds_per_event_ + 0.25 * per_event;
  }
  compact_batch();
  return status;
}

bool Writer::attempt_write() {
  const SinkStatus status = write_batch();
  const auto now = Clock::now();
  if (status.ok()) {
    note_success();
    return true;
  }
  note_failure(status.message);
  if (should_spill(now)) spill_batch();
  return false;
}

void Writer::note_success() {
  if (failing_state_) {
    failing_state_ = false;
    failing_.store(false, std::memory_order_relaxed);
    warnings_.warn("writing to " + sink_->describe() + " again after " + std::to_string(attempt_) +
                   " failed attempts");
  }
  attempt_ = 0;
}

SinkStatus Writer::write_range(std::size_t begin, std::size_t end) {
  for (;;) {
    rows_.clear();
    row_index_.clear();
    for (std::size_t i = begin; i < end; ++i) {
      Pending& p = batch_[i];
      if (p.settled) continue;
      const EventRecord& r = p.record;
      rows_.push_back(Row{
          .event_id = std::string_view(p.text, kEventIdChars),
          .type = r.type(),
          .user_id = r.has_user_id ? std::optional<std::int64_t>(r.user_id) : std::nullopt,
          .user_type = r.user_type(),
          .metadata = r.metadata(),
          .created_at = std::string_view(p.text + kEventIdChars, kCreatedAtChars),
          .durable = r.ticket != nullptr || p.origin != Origin::queue,
      });
      row_index_.push_back(i);
    }
    if (rows_.empty()) return SinkStatus::success();

    SinkStatus status = sink_->write(rows_);
    switch (status.code) {
      case SinkStatus::Code::ok: {
        {
          MoveSection move(counters_);  // out of in_flight (or spilled), into written
          for (std::size_t i : row_index_) settle_written(batch_[i]);
        }
        counters_.add<&Stats::batches>();
        return status;
      }
      case SinkStatus::Code::transient:
      case SinkStatus::Code::invalid:
        status.code = SinkStatus::Code::transient;
        return status;
      case SinkStatus::Code::refused:
        break;
    }
    // The database refused the data. A named row is dead-lettered and the rest retried at once;
    // otherwise the range is split in halves until each refused event stands alone.
    if (status.row < row_index_.size()) {
      dead_letter(batch_[row_index_[status.row]], status.message);
      continue;
    }
    if (row_index_.size() == 1) {
      dead_letter(batch_[row_index_.front()], status.message);
      return SinkStatus::success();
    }
    const std::size_t mid = row_index_[row_index_.size() / 2];
    SinkStatus left = write_range(begin, mid);
    if (!left.ok()) return left;
    return write_range(mid, end);
  }
}

void Writer::settle_written(Pending& pending) {
  switch (pending.origin) {
    case Origin::queue:
      counters_.add<&Stats::written>();
      break;
    case Origin::own_spill:
    case Origin::foreign_spill:
      ++tally_.written;  // counted once the whole spill file is committed
      break;
  }
  settle(pending, CommitTicket::State::committed, {});
}

void Writer::settle(Pending& pending, CommitTicket::State state, std::string_view reason) {
  pending.settled = true;
  // Only events from the queue were reserved in the byte budget (by log()) and counted in
  // in_flight; records read back from a spill file were never counted there, so releasing theirs
  // would let producers past Options::max_queue_bytes by as much as was replayed.
  if (pending.origin == Origin::queue) {
    budget_.release(pending.record.heap_bytes());
    add_in_flight(-1);
  }
  if (pending.record.ticket && state != CommitTicket::State::pending) {
    if (!reason.empty()) pending.record.ticket->reason.assign(reason);
    pending.record.ticket->finish(state);
    finished_tickets_ = true;
  }
  pending.record.release();
}

void Writer::compact_batch() {
  std::erase_if(batch_, [](const Pending& p) { return p.settled; });
  const std::int64_t oldest = !batch_.empty()  ? batch_.front().record.unix_ns
                              : !next_.empty() ? next_.front().record.unix_ns
                                               : 0;
  oldest_unix_ns_.store(oldest, std::memory_order_relaxed);
}

void Writer::report_drops() noexcept {
  const std::uint64_t queue_full = counters_.load<&Stats::dropped_queue_full>();
  const std::uint64_t bytes_full = counters_.load<&Stats::dropped_bytes_full>();
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

void Writer::note_failure(std::string_view message) noexcept {
  const auto now = Clock::now();
  needs_open_ = true;
  if (!failing_state_) {
    failing_state_ = true;
    failing_since_ = now;
  }
  next_attempt_ = now + backoff(attempt_++);
  failing_.store(true, std::memory_order_relaxed);
  bool described = true;
  try {
    std::lock_guard lock(error_mu_);
    last_error_.assign(message);
  } catch (...) {
    described = false;  // out of memory for the text: the counter and the failing flag say it
  }
  // Counted once its message is in place: the add is a release and stats() loads the counters
  // with acquire before it locks error_mu_, so a snapshot that shows this retry shows its error
  // (and the failing flag) too.
  counters_.add<&Stats::retries>();
  try {
    if (described) {
      warnings_.warn("cannot write " + std::to_string(batch_.size()) + " events to " +
                     sink_->describe() + ", retrying: " + std::string(message));
      return;
    }
  } catch (...) {
  }
  warnings_.warn("writer: a write failed and will be retried (no memory to say more)");
}

Clock::duration Writer::backoff(unsigned attempt) noexcept {
  const auto initial = std::chrono::duration_cast<std::chrono::microseconds>(config_.retry_initial);
  const auto cap = std::chrono::duration_cast<std::chrono::microseconds>(config_.retry_max);
  auto base = initial * (std::int64_t{1} << std::min(attempt, 20u));
  if (base > cap) base = cap;
  // Jitter: a uniform draw from [base/2, base], so processes sharing a database do not retry in
  // lock-step.
  const std::uint64_t z = splitmix64(jitter_state_);
  const auto half = base.count() / 2;
  const auto span = static_cast<std::uint64_t>(base.count() - half + 1);
  return std::chrono::microseconds(half + static_cast<std::int64_t>(z % span));
}

}  // namespace evlog::detail
