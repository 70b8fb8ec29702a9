// bench/bounded_mpsc_queue_bench.cpp — the queue alone (src/queue/bounded_mpsc_queue.hpp): the
// cost of one push and of one pop, from 1 and 4 threads at once (4 pushing threads is the
// request threads' case; 4 popping threads is OnFull::drop_oldest's, where producers evict with
// the same CAS as the consumer). Elements are 48-byte payloads in cache-line-aligned cells.
//
// A thread that finds the queue full (BM_Push) or empty (BM_Pop) pauses the clock and pops or
// pushes a quarter of the queue itself, so the figures hold no waiting on another thread.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>

#include "queue/bounded_mpsc_queue.hpp"

namespace {

using Payload = std::array<std::uint64_t, 6>;
using Queue = evlog::detail::BoundedMpscQueue<Payload>;
constexpr std::size_t kCapacity = std::size_t{1} << 16;

// Made in Setup before the benchmark's threads start, destroyed in Teardown after they stop.
std::unique_ptr<Queue> g_queue;

void make_queue(const benchmark::State&) {
  g_queue = std::make_unique<Queue>(kCapacity);
}
void drop_queue(const benchmark::State&) {
  g_queue.reset();
}

bool push_one(std::uint64_t value) {
  return g_queue->try_push([&](Payload& p) { p[0] = value; }).has_value();
}
bool pop_one() {
  return g_queue->try_pop([](Payload& p, std::uint64_t) { benchmark::DoNotOptimize(p); });
}

void BM_Push(benchmark::State& state) {
  std::uint64_t i = 0;
  for (auto _ : state) {
    while (!push_one(++i)) {
      state.PauseTiming();
      for (std::size_t k = 0; k < kCapacity / 4 && pop_one(); ++k) {
      }
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Push)->Setup(make_queue)->Teardown(drop_queue)->Threads(1)->Threads(4);

void BM_Pop(benchmark::State& state) {
  std::uint64_t i = 0;
  for (auto _ : state) {
    while (!pop_one()) {
      state.PauseTiming();
      for (std::size_t k = 0; k < kCapacity / 4 && push_one(++i); ++k) {
      }
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Pop)->Setup(make_queue)->Teardown(drop_queue)->Threads(1)->Threads(4);

}  // namespace

BENCHMARK_MAIN();
