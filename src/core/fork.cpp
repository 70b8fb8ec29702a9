#include "core/fork.hpp"

#include <pthread.h>

#include <atomic>

#include "writer/writer.hpp"

namespace evlog::detail {

std::atomic<std::uint64_t> g_fork_generation{0};

namespace {

void before_fork() noexcept {
  Writer::prepare_fork();
}

void after_fork_in_parent() noexcept {
  Writer::after_fork_in_parent();
}

void after_fork_in_child() noexcept {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
  Writer::after_fork_in_child();
}

// Registered while the library is loaded (this file is linked wherever fork_generation() is used,
// for the counter it defines), before any logger exists, so that even a fork() during static
// initialisation bumps the generation. The writers' registry the handlers walk is
// constant-initialised (a std::mutex and an empty std::vector), so it is usable by then too.
[[maybe_unused]] const bool g_registered = [] {
  pthread_atfork(&before_fork, &after_fork_in_parent, &after_fork_in_child);
  return true;
}();

}  // namespace

}  // namespace evlog::detail
