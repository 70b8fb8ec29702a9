// tools/evlog/paced_replay.hpp — request threads that replay the classroom workload at a paced
// rate, like requests reaching a web app, and time every call that records an event.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <evlog/event.hpp>
#include <exception>
#include <latch>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "classroom_workload.hpp"

namespace evlog::cli {

// How hard the request threads push.
struct Pace {
  int threads = 4;  // request threads
  int rate = 8000;  // events a second, all threads together
  int seconds = 5;  // how long they run
};

// What one thread, and then the whole phase, measured.
struct Samples {
  std::vector<std::int64_t> latencies_ns;  // one per call; sorted once merged
  std::uint64_t failures = 0;
  std::string first_failure;
  std::string setup_error;
  std::chrono::steady_clock::time_point end;  // after the last call
  double seconds = 0;  // merged: from the start to the last thread's last call
};

namespace detail {

// Thread `thread` of `threads` records events due at start + (thread + k·threads)/rate: the
// threads together hit `rate` events a second, evenly interleaved, like requests arriving at a web
// app. A thread that falls behind does not sleep until it has caught up. Each record() is timed.
template <typename Recorder>
void replay(Recorder& recorder, int thread, const Pace& pace,
            std::chrono::steady_clock::time_point start,
            std::chrono::steady_clock::time_point deadline, Samples& out) {
  ClassroomWorkload workload(thread);
  const double ns_per_event = 1e9 / pace.rate;
  for (std::int64_t k = 0;; ++k) {
    const auto due = start + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                 static_cast<double>(thread + k * pace.threads) * ns_per_event));
    const auto now = std::chrono::steady_clock::now();
    if (due >= deadline || now >= deadline) break;
    if (now < due) std::this_thread::sleep_until(due);
    const evlog::Event event = workload.next();
    const auto before = std::chrono::steady_clock::now();
    const bool ok = recorder.record(event);
    const auto after = std::chrono::steady_clock::now();
    out.latencies_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count());
    if (!ok && out.failures++ == 0) out.first_failure = recorder.failure();
  }
  out.end = std::chrono::steady_clock::now();
}

}  // namespace detail

// Runs the classroom workload on `pace.threads` threads for `pace.seconds` at `pace.rate` events a
// second in total, timing every call of `recorder.record(const evlog::Event&)` (true on success;
// on failure `recorder.failure()` says why). `make_recorder(thread)` makes each thread's recorder
// on that thread before the clock starts (e.g. to open its connection); what it throws is
// rethrown here once every thread has stopped. Returns the merged, sorted samples.
template <typename MakeRecorder>
Samples run_paced(const Pace& pace, MakeRecorder make_recorder) {
  std::vector<Samples> runs(static_cast<std::size_t>(pace.threads));
  const auto expected = static_cast<std::size_t>(
      static_cast<double>(pace.rate) * pace.seconds / pace.threads * 1.05 + 64);
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
        try {
          recorder.emplace(make_recorder(t));
        } catch (const std::exception& e) {
          out.setup_error = e.what();
        }
        ready.count_down();
        go.wait();  // `start` and `deadline` are set before go opens
        if (recorder) detail::replay(*recorder, t, pace, start, deadline, out);
      });
    }
    ready.wait();
    start = std::chrono::steady_clock::now();
    deadline = start + std::chrono::seconds(pace.seconds);
    go.count_down();
  }  // joins every thread
  Samples phase;
  phase.end = start;
  for (Samples& run : runs) {
    if (!run.setup_error.empty()) throw std::runtime_error(run.setup_error);
    phase.latencies_ns.insert(phase.latencies_ns.end(), run.latencies_ns.begin(),
                              run.latencies_ns.end());
    if (phase.failures == 0) phase.first_failure = run.first_failure;
    phase.failures += run.failures;
    phase.end = std::max(phase.end, run.end);
  }
  std::sort(phase.latencies_ns.begin(), phase.latencies_ns.end());
  phase.seconds = std::chrono::duration<double>(phase.end - start).count();
  return phase;
}

// Nearest-rank percentile of sorted samples.
inline double percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1]);
}

}  // namespace evlog::cli
