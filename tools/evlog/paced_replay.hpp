// tools/evlog/paced_replay.hpp — request threads that replay an event source (by default the
// classroom workload) at a paced rate, like requests reaching a web app, or back to back (closed
// loop), and time every call that records an event.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <evlog/event.hpp>
#include <evlog/logger.hpp>
#include <evlog/result.hpp>
#include <exception>
#include <functional>
#include <latch>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "classroom_workload.hpp"

namespace evlog::cli {

// How hard the request threads push.
struct Pace {
  int threads = 4;  // request threads
  int rate = 8000;  // events a second, all threads together; 0: closed loop (back to back)
  int seconds = 5;  // how long they run
  // When set, calls for these types are also timed into Samples::critical_ns, the others into
  // Samples::other_ns. Must outlive the run.
  const std::set<std::string, std::less<>>* critical = nullptr;
};

// What one thread, and then the whole phase, measured.
struct Samples {
  std::vector<std::int64_t> latencies_ns;       // one per call; sorted once merged
  std::vector<std::int64_t> critical_ns;        // with Pace::critical: calls of critical types
  std::vector<std::int64_t> other_ns;           // with Pace::critical: every other call
  std::vector<std::uint64_t> calls_per_thread;  // merged: how many calls each thread made
  std::uint64_t failures = 0;
  std::string first_failure;
  std::string setup_error;
  std::chrono::steady_clock::time_point end;  // after the last call
  double seconds = 0;  // merged: from the start to the last thread's last call
};

namespace detail {

// Thread `thread` of `threads` records events due at start + (thread + k·threads)/rate: the
// threads together hit `rate` events a second, evenly interleaved, like requests arriving at a web
// app (sleeping until each is due). A thread that falls behind does not sleep until it has caught
// up. With rate 0 it records back to back. Each record() is timed.
template <typename Recorder, typename Source>
void replay(Recorder& recorder, Source& source, int thread, const Pace& pace,
            std::chrono::steady_clock::time_point start,
            std::chrono::steady_clock::time_point deadline, Samples& out) {
  const double ns_per_event = pace.rate > 0 ? 1e9 / pace.rate : 0;
  for (std::int64_t k = 0;; ++k) {
    const auto due = start + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                 static_cast<double>(thread + k * pace.threads) * ns_per_event));
    const auto now = std::chrono::steady_clock::now();
    if (due >= deadline || now >= deadline) break;
    if (now < due) std::this_thread::sleep_until(due);
    const evlog::Event event = source.next();
    const auto before = std::chrono::steady_clock::now();
    const bool ok = recorder.record(event);
    const auto after = std::chrono::steady_clock::now();
    const std::int64_t ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count();
    out.latencies_ns.push_back(ns);
    if (pace.critical != nullptr) {
      (pace.critical->contains(event.type) ? out.critical_ns : out.other_ns).push_back(ns);
    }
    if (!ok && out.failures++ == 0) out.first_failure = recorder.failure();
  }
  out.end = std::chrono::steady_clock::now();
}

inline void merge_into(std::vector<std::int64_t>& all, const std::vector<std::int64_t>& part) {
  all.insert(all.end(), part.begin(), part.end());
}

}  // namespace detail

// run_paced_from: runs `pace.threads` request threads for `pace.seconds` at `pace.rate` events a
// second in total, timing every call of `recorder.record(const evlog::Event&)` (true on success; on
// failure `recorder.failure()` says why). `make_recorder(thread)` makes each thread's recorder on
// that thread before the clock starts (e.g. to open its connection); what it throws is rethrown
// here once every thread has stopped. `make_source(thread)` makes the thread's event source
// (anything with `evlog::Event next()`); by default the classroom workload. `on_tick(fraction)`, if
// given, is called on the calling thread about every 200 ms while the threads run. Returns the
// merged, sorted samples.
template <typename MakeRecorder, typename MakeSource>
Samples run_paced_from(const Pace& pace, MakeRecorder make_recorder, MakeSource make_source,
                       const std::function<void(double)>& on_tick = {}) {
  std::vector<Samples> runs(static_cast<std::size_t>(pace.threads));
  const auto expected =
      pace.rate > 0 ? static_cast<std::size_t>(
                          static_cast<double>(pace.rate) * pace.seconds / pace.threads * 1.05 + 64)
                    : std::size_t{1} << 16;
  std::latch ready(pace.threads);
  std::latch go(1);
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point deadline;
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < pace.threads; ++t) {
      threads.emplace_back([&, t] {
        Samples& out = runs[static_cast<std::size_t>(t)];
        out.latencies_ns.reserve(expected);
        std::optional<decltype(make_recorder(t))> recorder;
        std::optional<decltype(make_source(t))> source;
        try {
          recorder.emplace(make_recorder(t));
          source.emplace(make_source(t));
        } catch (const std::exception& e) {
          out.setup_error = e.what();
        }
        ready.count_down();
        go.wait();  // `start` and `deadline` are set before go opens
        if (recorder && source) detail::replay(*recorder, *source, t, pace, start, deadline, out);
      });
    }
    ready.wait();
    start = std::chrono::steady_clock::now();
    deadline = start + std::chrono::seconds(pace.seconds);
    go.count_down();
    while (on_tick && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      on_tick(std::min(
          1.0, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                   pace.seconds));
    }
  }  // joins every thread
  Samples phase;
  phase.end = start;
  for (Samples& run : runs) {
    if (!run.setup_error.empty()) throw std::runtime_error(run.setup_error);
    phase.calls_per_thread.push_back(run.latencies_ns.size());
    detail::merge_into(phase.latencies_ns, run.latencies_ns);
    detail::merge_into(phase.critical_ns, run.critical_ns);
    detail::merge_into(phase.other_ns, run.other_ns);
    if (phase.failures == 0) phase.first_failure = run.first_failure;
    phase.failures += run.failures;
    phase.end = std::max(phase.end, run.end);
  }
  for (auto* v : {&phase.latencies_ns, &phase.critical_ns, &phase.other_ns}) {
    std::sort(v->begin(), v->end());
  }
  phase.seconds = std::chrono::duration<double>(phase.end - start).count();
  return phase;
}

// The classroom workload as the event source.
template <typename MakeRecorder>
Samples run_paced(const Pace& pace, MakeRecorder make_recorder,
                  const std::function<void(double)>& on_tick = {}) {
  return run_paced_from(
      pace, make_recorder, [](int thread) { return ClassroomWorkload(thread); }, on_tick);
}

// evlog: one call of Logger::log() with the logger's own delivery choice.
class LogRecorder {
 public:
  explicit LogRecorder(evlog::Logger& logger) : logger_(&logger) {}

  bool record(const evlog::Event& event) {
    const evlog::Result result = logger_->log(event);
    if (result.ok()) return true;
    failure_ = std::string(evlog::to_string(result.outcome)) +
               (result.message.empty() ? "" : ": " + result.message);
    return false;
  }
  const std::string& failure() const { return failure_; }

 private:
  evlog::Logger* logger_;
  std::string failure_;
};

}  // namespace evlog::cli
