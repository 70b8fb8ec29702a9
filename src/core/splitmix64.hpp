// splitmix64 (Steele, Lea and Flood): one step of a tiny generator whose outputs are well mixed
// even from a poor seed. Used where a full generator is not worth its state: seeding the event-id
// generator when the kernel has no entropy to give, and the writer's retry jitter.
#pragma once

#include <cstdint>

namespace evlog::detail {

// Advances `state` and returns the next output.
inline std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  state += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace evlog::detail
