// bench/logger_bench.cpp — the hot path alone: Logger::log() with async delivery, for metadata of
// 0, 44, 256 and 1,000 bytes, from 1 and 4 threads. The logger writes through a sink that discards
// (so the database is not what is measured), and this binary replaces the global operator new to
// count heap allocations made by the calling thread (tests/support/counting_new.cpp): the
// `allocs_per_log` counter must be 0 for metadata up to 256 bytes (evlog::kInlineBytes holds type +
// user_type + metadata inline).
#include <benchmark/benchmark.h>

#include "counting_new.hpp"

#include <cstdlib>
#include <evlog/evlog.hpp>
#include <memory>
#include <new>
#include <span>
#include <string>

namespace {

// Accepts every batch at once: the writer drains as fast as it can pop.
class DiscardSink : public evlog::Sink {
 public:
  evlog::SinkStatus open() override { return evlog::SinkStatus::success(); }
  evlog::SinkStatus write(std::span<const evlog::Row>) override {
    return evlog::SinkStatus::success();
  }
  std::string describe() const override { return "discard"; }
};

std::unique_ptr<evlog::Logger> g_logger;

void make_logger(const benchmark::State&) {
  evlog::Options options;
  options.queue_capacity = std::size_t{1} << 20;
  options.make_sink = [] { return std::make_unique<DiscardSink>(); };
  options.on_warning = [](std::string_view) {};  // drops are reported by the counter below
  g_logger = std::make_unique<evlog::Logger>(options);
}

void drop_logger(const benchmark::State&) {
  g_logger.reset();
}

std::string metadata_of_size(std::size_t n) {
  if (n == 0) return {};
  std::string m = R"({"k":")";
  m.append(n - m.size() - 2, 'x');
  return m + "\"}";
}

void BM_Log(benchmark::State& state) {
  const std::string metadata = metadata_of_size(static_cast<std::size_t>(state.range(0)));
  const evlog::Event event{
      .type = "page_view", .user_id = 42, .user_type = "student", .metadata = metadata};
  (void)g_logger->log(event);  // warm-up: the thread's parser and clock state
  std::uint64_t not_queued = 0;
  const std::uint64_t before = evlog_test::allocations_on_this_thread();
  for (auto _ : state) {
    const evlog::Result r = g_logger->log(event);
    if (r.outcome != evlog::Outcome::queued) ++not_queued;
  }
  const auto allocations = static_cast<double>(evlog_test::allocations_on_this_thread() - before);
  state.counters["allocs_per_log"] =
      benchmark::Counter(allocations, benchmark::Counter::kAvgIterations);
  // Calls that found the queue full (the writer could not keep up) return `dropped` quickly.
  state.counters["dropped_fraction"] =
      benchmark::Counter(static_cast<double>(not_queued), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_Log)
    ->Setup(make_logger)
    ->Teardown(drop_logger)
    ->Arg(0)
    ->Arg(44)
    ->Arg(256)
    ->Arg(1000)
    ->Threads(1)
    ->Threads(4);

}  // namespace

BENCHMARK_MAIN();
