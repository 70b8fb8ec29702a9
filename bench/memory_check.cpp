// bench/memory_check.cpp — the queue is bounded, so memory is too: 10,000,000 events through a
// Logger whose sink is slow (it sleeps per batch), from two producer threads, while a sampler reads
// the process's resident set (VmRSS in /proc/self/status) every 50 ms. After warm-up, every sample
// must stay within queue_capacity × evlog::kSlotBytes + 16 MiB; prints the samples and exits 1 on
// a breach. A second run floods it with large events (8 KiB of metadata) and allows
// max_queue_bytes more. Usage: memory_check [events] (default 10,000,000; the large run logs 1/25).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <evlog/evlog.hpp>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace {

// A database that takes 2 ms per batch, whatever its size: the queue fills and stays full.
class SlowSink : public evlog::Sink {
 public:
  evlog::SinkStatus open() override { return evlog::SinkStatus::success(); }
  evlog::SinkStatus write(std::span<const evlog::Row>) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return evlog::SinkStatus::success();
  }
  std::string describe() const override { return "slow memory sink"; }
};

// Resident set size in bytes, from /proc/self/status (VmRSS is in kB).
std::size_t rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      std::size_t kb = 0;
      status >> kb;
      return kb * 1024;
    }
    status.ignore(4096, '\n');
  }
  return 0;
}

// One run: `events` events from two producers, each cycling through `metadata`, into a logger
// with the default queue and this `max_queue_bytes`. True when every sample after warm-up stayed
// within queue_capacity × kSlotBytes + max_queue_bytes (when any metadata is too large for a slot)
// + 16 MiB.
bool run(const char* title, std::uint64_t events, std::size_t max_queue_bytes,
         const std::vector<std::string>& metadata) {
  constexpr int kProducers = 2;
  evlog::Options options;  // the default queue: 65,536 slots
  options.make_sink = [] { return std::make_unique<SlowSink>(); };
  options.on_warning = [](std::string_view) {};  // drops are expected and counted
  options.shutdown_timeout = std::chrono::seconds(30);
  options.max_queue_bytes = max_queue_bytes;
  bool any_large = false;
  for (const std::string& m : metadata) {
    any_large = any_large || m.size() > 256;
    options.max_metadata_bytes = std::max(options.max_metadata_bytes, m.size());
  }
  const std::size_t limit = options.queue_capacity * evlog::kSlotBytes +
                            (any_large ? max_queue_bytes : 0) + (std::size_t{16} << 20);
  const std::size_t before = rss_bytes();

  auto logger = std::make_unique<evlog::Logger>(options);
  std::atomic<std::uint64_t> logged{0};
  std::atomic<bool> done{false};
  struct Sample {
    double seconds;
    std::uint64_t logged;
    std::size_t rss;
  };
  std::vector<Sample> samples;
  const auto start = std::chrono::steady_clock::now();
  std::thread sampler([&] {
    while (!done.load(std::memory_order_relaxed)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      samples.push_back(
          {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
           logged.load(std::memory_order_relaxed), rss_bytes()});
    }
  });
  {
    std::vector<std::jthread> producers;
    for (int t = 0; t < kProducers; ++t) {
      producers.emplace_back([&, t] {
        for (std::uint64_t i = 0; i < events / kProducers; ++i) {
          const evlog::Event e{"page_view", t, "student", metadata[i % metadata.size()]};
          (void)logger->log(e);  // dropped when full: counted in the stats
          if ((i & 1023) == 0) logged.fetch_add(1024, std::memory_order_relaxed);
        }
      });
    }
  }
  const evlog::Stats stats = logger->stats();
  logger.reset();
  done.store(true, std::memory_order_relaxed);
  sampler.join();

  std::printf(
      "memory_check %s: %llu events, queue %zu slots × %zu B%s + 16 MiB = limit %.1f MiB"
      " (RSS before the logger %.1f MiB)\n",
      title, static_cast<unsigned long long>(events), options.queue_capacity, evlog::kSlotBytes,
      any_large ? (" + max_queue_bytes " + std::to_string(max_queue_bytes >> 20) + " MiB").c_str()
                : "",
      static_cast<double>(limit) / (1 << 20), static_cast<double>(before) / (1 << 20));
  std::printf(
      "written %llu, dropped %llu (%llu for a full queue, %llu for max_queue_bytes: the sink is "
      "slow on purpose)\n",
      static_cast<unsigned long long>(stats.written),
      static_cast<unsigned long long>(stats.dropped),
      static_cast<unsigned long long>(stats.dropped_queue_full),
      static_cast<unsigned long long>(stats.dropped_bytes_full));
  // Warm-up: the first second (the queue's pages and the allocator's arenas settle).
  std::size_t peak = 0;
  bool breach = false;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    const bool warm = s.seconds >= 1.0;
    if (warm) peak = std::max(peak, s.rss);
    const bool over = warm && s.rss > limit;
    breach = breach || over;
    if (over || i % 10 == 0 || i + 1 == samples.size()) {
      std::printf("  t=%6.2f s  logged≈ %10llu  RSS %7.1f MiB%s%s\n", s.seconds,
                  static_cast<unsigned long long>(s.logged), static_cast<double>(s.rss) / (1 << 20),
                  warm ? "" : "  (warm-up)", over ? "  OVER THE LIMIT" : "");
    }
  }
  std::printf("peak RSS after warm-up %.1f MiB, limit %.1f MiB: %s\n\n",
              static_cast<double>(peak) / (1 << 20), static_cast<double>(limit) / (1 << 20),
              breach ? "BREACH" : "within");
  return !breach;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
  // 44- and 200-byte metadata: both inline in a slot, as most events are.
  const bool small_ok = run("(small events)", events, std::size_t{64} << 20,
                            {R"({"path":"/tasks/3","course":"python-101"})",
                             R"({"k":")" + std::string(192, 'x') + R"("})"});
  // A flood of large events (8 KiB of metadata, far beyond a slot's inline bytes): the byte cap
  // (here 32 MiB) bounds what they hold on the heap.
  const bool large_ok =
      run("(large events)", std::max<std::uint64_t>(events / 25, 10'000), std::size_t{32} << 20,
          {R"({"k":")" + std::string(8 * 1024 - 10, 'x') + R"("})"});
  return small_ok && large_ok ? 0 : 1;
}
