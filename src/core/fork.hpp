// fork() and the library: the process's one pthread_atfork registration and the generation
// counter that per-process state compares itself against.
#pragma once

#include <atomic>
#include <cstdint>

namespace evlog::detail {

extern std::atomic<std::uint64_t> g_fork_generation;  // fork.cpp; read through fork_generation()

// Bumped in a child process after fork(), before fork() returns there. Anything per-process (a
// logger's writer, the event-id generator, the Python binding's warning relay) remembers the
// generation it was made in and starts over when this differs. Relaxed loads suffice: the child's
// one thread runs the handler before it returns from fork(), so it sees the new value in program
// order, and no other thread exists there yet.
// Inline: log() reads it twice per call (the logger's writer, the id generator).
inline std::uint64_t fork_generation() noexcept {
  return g_fork_generation.load(std::memory_order_relaxed);
}

}  // namespace evlog::detail
