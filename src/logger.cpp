// Logger::Impl — the producer side (log), flush, shutdown, stats, and the restart after fork().
#include "evlog/logger.hpp"

#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "core/byte_budget.hpp"
#include "core/clock.hpp"
#include "core/event_id.hpp"
#include "core/event_record.hpp"
#include "core/fork.hpp"
#include "core/options_check.hpp"
#include "core/payload_pool.hpp"
#include "core/validate.hpp"
#include "evlog/error.hpp"
#include "sinks/sink_factory.hpp"
#include "writer/writer.hpp"

namespace evlog {

using detail::Clock;
using detail::CommitTicket;
using detail::EventRecord;

static_assert(sizeof(detail::EventQueue::Cell) == kSlotBytes,
              "kSlotBytes documents the size of a queue slot");

class Logger::Impl {
 public:
  explicit Impl(Options options);
  ~Impl();

  Result log(const Event& event, Delivery delivery, WaitHook* hook) noexcept;
  Result refuse(std::string message) noexcept;
  Delivery delivery_for(const Event& event) const noexcept {
    if (critical_.empty() || !critical_.contains(event.type)) return Delivery::async;
    return Delivery::committed;
  }
  bool flush(std::chrono::milliseconds timeout) noexcept;
  bool shutdown(std::chrono::milliseconds timeout) noexcept;
  Stats stats();

 private:
  enum class Admission { admitted, queue_full, bytes_full };

  // An event's text too large for a slot's inline bytes, in one block of the payload pool
  // (counted in the byte budget by `bytes`); owns the block until the queue's record takes it.
  struct LargeText {
    struct ReleaseBlock {
      void operator()(char* block) const noexcept { detail::PayloadPool::release(block); }
    };
    std::unique_ptr<char, ReleaseBlock> block;
    std::size_t bytes = 0;
  };
  // What log() fixes before it tries the queue: the stamp, the commit ticket and the deadline.
  struct Admittance {
    std::int64_t unix_ns = 0;
    std::uint64_t random = 0;
    std::shared_ptr<CommitTicket> ticket;  // committed delivery only
    Clock::time_point deadline{};          // committed delivery, or OnFull::block
  };
  class Waits;

  // The steps of log(), in order. The first two and the first try of the third are inline: they
  // are the per-call cost (bench/logger_bench); what they call out of line is the slow path.
  bool copy_text(const Event& event, LargeText& text) noexcept;
  bool stamp(Delivery delivery, Admittance& admittance) noexcept;
  Admission admit(const Event& event, Delivery delivery, Admittance& admittance, LargeText& text,
                  Waits& waits) noexcept;
  bool copy_large_text(const Event& event, std::size_t size, LargeText& text) noexcept;
  bool start_waiting(Delivery delivery, Admittance& admittance) noexcept;
  // The overflow policy: tries again while make_room() says room may come, within the deadline.
  Admission admit_when_full(Admission admission, const Event& event, Delivery delivery,
                            Admittance& admittance, LargeText& text, Waits& waits) noexcept;
  bool make_room(Admission admission, Delivery delivery, Clock::time_point deadline, Waits& waits,
                 unsigned spins) noexcept;

  Admission try_admit(const Event& event, const Admittance& admittance, char* heap,
                      std::size_t heap_bytes) noexcept;
  bool evict_oldest() noexcept;
  Result drop(Admission why) noexcept;
  Result wait_for_commit(const std::shared_ptr<CommitTicket>& ticket,
                         Clock::time_point deadline) noexcept;
  std::uint64_t sweep_queue() noexcept;
  void start_writer();
  std::unique_ptr<detail::SpillStore> open_spill(const std::string& database) const;
  void restart_after_fork() noexcept;
  // In a child process after fork(), the first call of any kind gives the logger a writer of its
  // own. One relaxed load of a line that only fork() writes: free in steady state.
  void ensure_current_process() noexcept {
    if (detail::fork_generation() != fork_generation_.load(std::memory_order_acquire))
        [[unlikely]] {
      restart_after_fork();
    }
  }

  const Options options_;
  const std::set<std::string, std::less<>> critical_;
  const std::size_t wake_stride_;
  std::unique_ptr<detail::WarningLimiter> warnings_;
  // Declared before the queue and the writer, so that it outlives every record holding a block.
  detail::PayloadPool payloads_;
  detail::EventQueue queue_;
  detail::ByteBudget budget_;
  detail::Counters counters_;
  // Callers now waiting for a commit: a gauge that only chooses between polling and sleeping
  // (see wait_for_commit), not part of Stats.
  std::atomic<std::uint32_t> commit_waiters_{0};
  std::unique_ptr<detail::Writer> writer_;
  std::unique_ptr<Sink> opened_sink_;                 // handed to the writer when it starts
  std::unique_ptr<detail::SpillStore> opened_spill_;  // likewise; null without a spill_dir

  // Set (seq_cst) when shutdown begins; producers check it before admitting.
  std::atomic<bool> closed_{false};
  std::mutex shutdown_mu_;
  std::optional<bool> shutdown_result_;  // guarded by shutdown_mu_

  // The fork generation this logger's writer belongs to. Acquire/release: a thread that sees the
  // child's generation here also sees the child's new writer and reset queue.
  std::atomic<std::uint64_t> fork_generation_;
  std::mutex fork_mu_;
};

namespace {

// The longest log() yields for a cell that a consumer is moving out (see log()).
constexpr std::chrono::milliseconds kFreeingWait{20};

// How long a committed caller that is the logger's only waiter polls its ticket before it
// sleeps. A commit of a few rows with synchronous=NORMAL takes ≈ 10–20 µs here, and a futex
// sleep and wake-up costs the caller ≈ 30 µs more than that (a lone request thread logging
// critical events back to back: 11 k/s asleep, 40 k/s polling, evlog bench commit). With other
// waiters the caller sleeps at once: polling callers would take the cores the writer and the
// callers being woken need.
constexpr std::chrono::microseconds kLoneWaiterPoll{30};

// An event's text, type then user_type then metadata, back to back (a slot's inline bytes or a
// pool block; EventRecord reads it back by the three lengths).
void copy_text_to(const Event& event, char* out) noexcept {
  std::memcpy(out, event.type.data(), event.type.size());
  out += event.type.size();
  if (!event.user_type.empty()) std::memcpy(out, event.user_type.data(), event.user_type.size());
  out += event.user_type.size();
  if (!event.metadata.empty()) std::memcpy(out, event.metadata.data(), event.metadata.size());
}

std::size_t wake_stride_for(const Options& o, std::size_t capacity) {
  // A producer wakes a sleeping writer when its position crosses a multiple of this: at most once
  // per batch-worth of events, and early enough (a quarter of the queue) to leave room.
  std::size_t stride = 1;
  const std::size_t limit = std::min(o.max_batch, capacity / 4);
  while (stride * 2 <= limit) stride *= 2;
  return stride;
}

detail::WriterConfig writer_config(const Options& o, std::size_t wake_stride) {
  detail::WriterConfig c;
  c.max_batch = o.max_batch;
  c.tick = std::max(std::chrono::milliseconds(1), o.max_delay / 2);
  c.wake_stride = wake_stride;
  c.retry_initial = o.retry_initial;
  c.retry_max = o.retry_max;
  c.spill_after = o.spill_after;
  return c;
}

}  // namespace

Logger::Impl::Impl(Options options)
    : options_((detail::check_options(options), std::move(options))),
      critical_(options_.critical_types.begin(), options_.critical_types.end()),
      wake_stride_(wake_stride_for(options_, detail::round_up_pow2(options_.queue_capacity))),
      warnings_(std::make_unique<detail::WarningLimiter>(options_.on_warning)),
      payloads_(options_.max_queue_bytes),
      queue_(detail::round_up_pow2(options_.queue_capacity)),
      budget_(options_.max_queue_bytes),
      fork_generation_(detail::fork_generation()) {
  opened_sink_ = detail::make_sink(options_);
  const SinkStatus status = opened_sink_->open();
  if (status.code == SinkStatus::Code::invalid) throw Error(status.message);
  if (!status.ok()) {
    // Busy, locked, a server down: not the caller's mistake; the writer keeps trying.
    warnings_->warn("cannot open " + opened_sink_->describe() +
                    " yet, will retry: " + status.message);
  }
  opened_spill_ = open_spill(opened_sink_->describe());
  start_writer();
}

std::unique_ptr<detail::SpillStore> Logger::Impl::open_spill(const std::string& database) const {
  if (options_.spill_dir.empty()) return nullptr;
  detail::SpillConfig config;
  config.dir = options_.spill_dir;
  config.target = database + "#" + options_.table;
  config.segment_bytes = options_.spill_segment_bytes;
  config.max_bytes = options_.max_spill_bytes;
  config.max_dead_letter_bytes = options_.max_dead_letter_bytes;
  std::string error;
  auto spill = detail::SpillStore::open(config, error);
  if (!spill) throw Error("Options::spill_dir: " + error);
  return spill;
}

Logger::Impl::~Impl() {
  shutdown(options_.shutdown_timeout);
  sweep_queue();  // anything a producer racing with shutdown managed to queue
}

void Logger::Impl::start_writer() {
  writer_ = std::make_unique<detail::Writer>(writer_config(options_, wake_stride_), queue_, budget_,
                                             counters_, *warnings_, std::move(opened_sink_),
                                             std::move(opened_spill_));
  writer_->start();
}

Logger::Impl::Admission Logger::Impl::try_admit(const Event& event, const Admittance& admittance,
                                                char* heap, std::size_t heap_bytes) noexcept {
  if (heap_bytes > 0 && !budget_.try_reserve(heap_bytes)) return Admission::bytes_full;
  const auto position = queue_.try_push([&](EventRecord& r) {
    r.unix_ns = admittance.unix_ns;
    r.random = admittance.random;
    r.has_user_id = event.user_id.has_value();
    r.user_id = event.user_id.value_or(0);
    r.type_len = static_cast<std::uint8_t>(event.type.size());
    r.user_type_len = static_cast<std::uint8_t>(event.user_type.size());
    r.metadata_len = static_cast<std::uint32_t>(event.metadata.size());
    r.heap = heap;
    r.ticket = admittance.ticket;
    if (!heap) copy_text_to(event, r.inline_);
  });
  if (!position) {
    if (heap_bytes > 0) budget_.release(heap_bytes);
    return Admission::queue_full;
  }
  // At most one producer per wake_stride events nudges the writer, and only if it sleeps.
  if (((*position + 1) & (wake_stride_ - 1)) == 0) writer_->wake_if_sleeping();
  return Admission::admitted;
}

bool Logger::Impl::evict_oldest() noexcept {
  // Counted before the pop, undone if there was nothing to pop: the pop's release CAS on the
  // queue's head then publishes the count with it, and stats(), which loads the head (acquire)
  // before the tallies, never sees the event gone from the queue and not yet dropped. It may see
  // it in both for a moment, which the accounting of this call in progress covers (its own event
  // is not in the queue yet).
  counters_.add<&Stats::dropped_queue_full>();
  const bool evicted = queue_.try_pop([&](EventRecord& r, std::uint64_t) {
    budget_.release(r.heap_bytes());
    if (r.ticket) r.ticket->finish(CommitTicket::State::dropped);
    r.release();
  });
  if (!evicted) counters_.sub<&Stats::dropped_queue_full>(1);
  return evicted;
}

Result Logger::Impl::drop(Admission why) noexcept {
  // Counters shared by producers are touched only on this slow path, never per admitted event.
  if (why == Admission::bytes_full) {
    counters_.add<&Stats::dropped_bytes_full>();
    return {Outcome::dropped, "bytes full"};
  }
  counters_.add<&Stats::dropped_queue_full>();
  return {Outcome::dropped, "queue full"};
}

// The waits of one log() call: tells the caller's hook (once) just before the call first waits,
// and bounds the wait for a state that a consumer or another producer is about to end.
class Logger::Impl::Waits {
 public:
  explicit Waits(WaitHook* hook) noexcept : hook_(hook) {}

  void about_to_wait() noexcept {
    if (hook_) [[unlikely]] {
      hook_->before_wait();
      hook_ = nullptr;
    }
  }
  // True while the bounded wait (kFreeingWait) lasts: the caller yields and tries again.
  bool keep_trying() noexcept {
    const auto now = Clock::now();
    if (freeing_until_ == Clock::time_point{}) freeing_until_ = now + kFreeingWait;
    if (now >= freeing_until_) return false;
    about_to_wait();
    std::this_thread::yield();
    return true;
  }

 private:
  WaitHook* hook_;
  Clock::time_point freeing_until_{};
};

Result Logger::Impl::log(const Event& event, Delivery delivery, WaitHook* hook) noexcept {
  ensure_current_process();
  if (closed_.load(std::memory_order_seq_cst)) [[unlikely]] {
    counters_.add<&Stats::rejected>();
    return {Outcome::closed, "shut down"};
  }
  std::string message;
  if (!detail::validate_event(event, options_.max_metadata_bytes, message)) [[unlikely]] {
    counters_.add<&Stats::rejected>();
    return {Outcome::rejected, std::move(message)};
  }
  LargeText text;
  Admittance admittance;
  if (!copy_text(event, text) || !stamp(delivery, admittance)) [[unlikely]] {
    return drop(Admission::bytes_full);  // out of memory, counted with max_queue_bytes
  }
  Waits waits(hook);
  const Admission admission = admit(event, delivery, admittance, text, waits);
  if (admission != Admission::admitted) [[unlikely]] {
    return drop(admission);
  }
  if (delivery == Delivery::async) [[likely]] {
    return {Outcome::queued, {}};
  }
  writer_->request_urgent();
  waits.about_to_wait();
  return wait_for_commit(admittance.ticket, admittance.deadline);
}

// Step 1, the text: a slot holds up to kInlineBytes of it, copied there by try_admit(); a larger
// one goes into a block of the payload pool now. False: no memory for the block.
inline bool Logger::Impl::copy_text(const Event& event, LargeText& text) noexcept {
  const std::size_t size = event.type.size() + event.user_type.size() + event.metadata.size();
  if (size <= kInlineBytes) [[likely]] {
    return true;
  }
  return copy_large_text(event, size, text);
}

bool Logger::Impl::copy_large_text(const Event& event, std::size_t size, LargeText& text) noexcept {
  text.block.reset(payloads_.allocate(size));
  if (!text.block) return false;
  copy_text_to(event, text.block.get());
  text.bytes = detail::PayloadPool::block_bytes(size);
  return true;
}

// Step 2, the stamp (time and the id's random bits), and for a call that may wait its deadline
// (and a committed call's ticket). False: no memory for the ticket.
inline bool Logger::Impl::stamp(Delivery delivery, Admittance& admittance) noexcept {
  admittance.unix_ns = detail::now_unix_ns();
  admittance.random = detail::random_u64();
  if (delivery == Delivery::async && options_.on_full != OnFull::block) [[likely]] {
    return true;
  }
  return start_waiting(delivery, admittance);
}

bool Logger::Impl::start_waiting(Delivery delivery, Admittance& admittance) noexcept {
  if (delivery == Delivery::committed) {
    try {
      admittance.ticket = std::make_shared<CommitTicket>();
    } catch (...) {
      return false;
    }
    admittance.deadline = Clock::now() + options_.commit_timeout;
  } else {
    admittance.deadline = Clock::now() + options_.block_timeout;
  }
  return true;
}

// Step 3, admission: one try at the queue; a full queue or byte budget is the overflow policy's.
inline Logger::Impl::Admission Logger::Impl::admit(const Event& event, Delivery delivery,
                                                   Admittance& admittance, LargeText& text,
                                                   Waits& waits) noexcept {
  const Admission admission = try_admit(event, admittance, text.block.get(), text.bytes);
  if (admission == Admission::admitted) [[likely]] {
    (void)text.block.release();  // the record owns it now
    return admission;
  }
  return admit_when_full(admission, event, delivery, admittance, text, waits);
}

Logger::Impl::Admission Logger::Impl::admit_when_full(Admission admission, const Event& event,
                                                      Delivery delivery, Admittance& admittance,
                                                      LargeText& text, Waits& waits) noexcept {
  for (unsigned spins = 0; make_room(admission, delivery, admittance.deadline, waits, spins);
       ++spins) {
    admission = try_admit(event, admittance, text.block.get(), text.bytes);
    if (admission == Admission::admitted) {
      (void)text.block.release();  // the record owns it now
      break;
    }
  }
  return admission;
}

bool Logger::Impl::make_room(Admission admission, Delivery delivery, Clock::time_point deadline,
                             Waits& waits, unsigned spins) noexcept {
  // "Full" while fewer than `capacity` positions are claimed means the cell at the tail is
  // being moved out by a consumer right now (it claimed the position, and frees the cell a few
  // instructions later unless it is preempted in between). That cell is the one this push
  // needs, so evicting others cannot help and dropping would answer a queue that is not full:
  // wait for it, bounded (kFreeingWait) in case the consumer was preempted. drop_newest never
  // waits: the queue is full to within that one cell, and dropping the new event is its answer.
  const bool may_wait_for_cell =
      delivery == Delivery::committed || options_.on_full != OnFull::drop_newest;
  if (may_wait_for_cell && admission == Admission::queue_full &&
      queue_.size_approx() < queue_.capacity() && waits.keep_trying()) {
    return true;
  }
  writer_->wake_if_sleeping();
  // A committed event waits for room within its deadline: it is never dropped silently, and
  // never dropped while there is still time. Async events follow the overflow policy.
  const bool wait = delivery == Delivery::committed || options_.on_full == OnFull::block;
  // drop_oldest evicts for a full queue only. A full byte budget is held by large events that
  // may be anywhere (often in the writer's batch, being written): evicting the small events at
  // the head would free nothing and drop one event after another, so the new event is dropped.
  // Nothing to evict means the queue changed since the push failed: the consumer emptied it
  // (the push now succeeds), or the oldest position is claimed by a producer that has not
  // published it yet. Neither is a full queue, so the new event is not dropped for it.
  if (!wait && options_.on_full == OnFull::drop_oldest && admission == Admission::queue_full &&
      (evict_oldest() || waits.keep_trying())) {
    return true;
  }
  if (!wait || Clock::now() >= deadline) return false;
  waits.about_to_wait();
  if (spins < 16) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

Result Logger::Impl::refuse(std::string message) noexcept {
  ensure_current_process();
  counters_.add<&Stats::rejected>();
  if (closed_.load(std::memory_order_seq_cst)) return {Outcome::closed, "shut down"};
  return {Outcome::rejected, std::move(message)};
}

Result Logger::Impl::wait_for_commit(const std::shared_ptr<CommitTicket>& ticket,
                                     Clock::time_point deadline) noexcept {
  // Relaxed: a count that only chooses between polling and sleeping at once; a stale value
  // costs one caller a few microseconds either way, never a wake-up.
  const bool alone = commit_waiters_.fetch_add(1, std::memory_order_relaxed) == 0;
  const CommitTicket::State state =
      ticket->wait_until(deadline, alone ? kLoneWaiterPoll : std::chrono::microseconds::zero());
  commit_waiters_.fetch_sub(1, std::memory_order_relaxed);
  switch (state) {
    case CommitTicket::State::committed:
      counters_.add<&Stats::committed_waits>();
      return {Outcome::committed, {}};
    case CommitTicket::State::pending:
      counters_.add<&Stats::commit_timeouts>();
      return {Outcome::timed_out, "not committed within Options::commit_timeout; still queued"};
    case CommitTicket::State::refused:
      return {Outcome::rejected, "the database refused the event: " + ticket->reason};
    case CommitTicket::State::lost:
      return {Outcome::dropped, "lost: not written by the shutdown deadline"};
    case CommitTicket::State::dropped:
      return {Outcome::dropped, "evicted from a full queue"};
  }
  return {Outcome::dropped, {}};
}

bool Logger::Impl::flush(std::chrono::milliseconds timeout) noexcept {
  ensure_current_process();
  const auto deadline = Clock::now() + timeout;
  // Every event logged before this call holds a position below the current tail.
  const std::uint64_t target = queue_.tail_position();
  writer_->request_urgent();
  return writer_->wait_flushed(target, deadline);
}

bool Logger::Impl::shutdown(std::chrono::milliseconds timeout) noexcept {
  ensure_current_process();
  std::lock_guard lock(shutdown_mu_);
  if (shutdown_result_) return *shutdown_result_;
  const auto deadline = Clock::now() + timeout;
  closed_.store(true, std::memory_order_seq_cst);
  const std::uint64_t lost_before = counters_.load<&Stats::lost>();
  writer_->stop(deadline);
  sweep_queue();
  shutdown_result_ = counters_.load<&Stats::lost>() == lost_before;
  return *shutdown_result_;
}

std::uint64_t Logger::Impl::sweep_queue() noexcept {
  std::uint64_t count = 0;
  {
    // The writer has been joined: this thread is the only one that moves events now.
    detail::MoveSection move(counters_);
    while (queue_.try_pop([&](EventRecord& r, std::uint64_t) {
      budget_.release(r.heap_bytes());
      if (r.ticket) r.ticket->finish(CommitTicket::State::lost);
      r.release();
    })) {
      ++count;
    }
    counters_.add<&Stats::lost>(count);
  }
  if (count > 0) {
    warnings_->warn_always("lost " + std::to_string(count) +
                           " events logged while the logger was shutting down");
    writer_->notify_waiters();
  }
  return count;
}

void Logger::Impl::restart_after_fork() noexcept {
  std::lock_guard lock(fork_mu_);
  const std::uint64_t generation = detail::fork_generation();
  if (fork_generation_.load(std::memory_order_relaxed) == generation) return;
  // Only this thread of the child touches the logger's internals until the release store below.
  // The parent's writer thread does not exist here; its objects (and their mutexes, which may be
  // locked forever) are leaked, never used. The parent's queued events are the parent's to write.
  writer_->abandon_after_fork();
  (void)writer_.release();
  (void)warnings_.release();
  payloads_.reset_after_fork();
  while (queue_.try_pop([&](EventRecord& r, std::uint64_t) { r.release(); })) {
  }
  queue_.reset();
  budget_.reset();
  // Relaxed: no other thread of the child sees these before the release store of
  // fork_generation_ below, which publishes them.
  counters_.reset();
  commit_waiters_.store(0, std::memory_order_relaxed);  // the parent's waiters
  try {
    warnings_ = std::make_unique<detail::WarningLimiter>(options_.on_warning);
    opened_sink_ = detail::make_sink(options_);
    opened_spill_ = open_spill(opened_sink_->describe());
    start_writer();
  } catch (...) {
    // Without a writer the child's logger cannot write: it refuses events rather than lose them.
    closed_.store(true, std::memory_order_seq_cst);
    if (!warnings_) return;
    warnings_->warn_always("cannot start a writer in the child process after fork()");
  }
  fork_generation_.store(generation, std::memory_order_release);
}

Stats Logger::Impl::stats() {
  ensure_current_process();
  Stats s;
  // One consistent read of every term of the accounting (see core/counters.hpp). The writer's
  // moves are excluded by the sequence; an eviction (OnFull::drop_oldest, a producer) counts its
  // drop and then pops with a release CAS on the head, so the head is loaded (acquire) before
  // and after the tallies, and a changed head means an eviction crossed the read: read again.
  // An eviction whose count is seen and whose pop is not counts its event twice for a moment;
  // the call making it is in progress and its own event is not queued yet, so the sum stays
  // within the calls begun. The tail is loaded with acquire after the head: a producer's push
  // (release) that it sees follows every eviction that producer made, whose pop the second load
  // of the head then sees.
  std::uint64_t head = 0;
  std::uint64_t queued = 0;
  counters_.read_consistent(
      [&] {
        head = queue_.head_position();
        const std::uint64_t tail = queue_.tail_position();
        counters_.copy_to(s);
        queued = (tail > head ? tail - head : 0) + writer_->in_flight();
      },
      [&] { return queue_.head_position() == head; });
  const detail::WriterStatus w = writer_->status();
  s.dropped = s.dropped_queue_full + s.dropped_bytes_full;
  s.queued = queued;
  // Never negative: in_use() reads the released total before the reservations, and every
  // release follows its reservation. Not clamped, so that an imbalance would show.
  s.queued_bytes = static_cast<std::uint64_t>(budget_.in_use());
  if (w.oldest_unix_ns != 0) {
    s.oldest_queued_age = std::chrono::microseconds(
        std::max<std::int64_t>(0, (detail::now_unix_ns() - w.oldest_unix_ns) / 1000));
  }
  s.last_error = w.last_error;
  s.database_failing = w.failing;
  return s;
}

// --- the public face ---

Logger::Logger(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Logger::~Logger() = default;

Result Logger::log(const Event& event) noexcept {
  return impl_->log(event, impl_->delivery_for(event), nullptr);
}
Result Logger::log(const Event& event, Delivery delivery) noexcept {
  return impl_->log(event, delivery, nullptr);
}
Result Logger::log(const Event& event, WaitHook& hook) noexcept {
  return impl_->log(event, impl_->delivery_for(event), &hook);
}
Result Logger::log(const Event& event, Delivery delivery, WaitHook& hook) noexcept {
  return impl_->log(event, delivery, &hook);
}
Result Logger::refuse(std::string message) noexcept {
  return impl_->refuse(std::move(message));
}
bool Logger::flush(std::chrono::milliseconds timeout) noexcept {
  return impl_->flush(timeout);
}
bool Logger::shutdown(std::chrono::milliseconds timeout) noexcept {
  return impl_->shutdown(timeout);
}
Stats Logger::stats() const {
  return impl_->stats();
}

}  // namespace evlog
