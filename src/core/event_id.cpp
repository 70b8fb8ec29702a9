#include "core/event_id.hpp"

#include <sys/random.h>

#include <atomic>
#include <chrono>

#include "core/fork.hpp"
#include "core/splitmix64.hpp"

namespace evlog::detail {

namespace {

// xoshiro256** (Blackman & Vigna): fast, 256 bits of state, good statistical quality.
struct Xoshiro256 {
  std::uint64_t s[4];

  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }

  void seed() noexcept {
    std::size_t got = 0;
    auto* bytes = reinterpret_cast<unsigned char*>(s);
    while (got < sizeof(s)) {
      const ssize_t n = getrandom(bytes + got, sizeof(s) - got, 0);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got < sizeof(s)) {
      // getrandom failed (no entropy source?): fall back to time and addresses, mixed by splitmix.
      std::uint64_t x =
          static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
          reinterpret_cast<std::uintptr_t>(this);
      for (auto& word : s) word = splitmix64(x);
    }
  }
};

struct ThreadRandom {
  Xoshiro256 rng{};
  std::uint64_t generation = ~std::uint64_t{0};  // never a real generation: seed on first use
};

thread_local ThreadRandom t_random;

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::uint64_t random_u64() noexcept {
  const std::uint64_t gen = fork_generation();
  if (t_random.generation != gen) [[unlikely]] {
    t_random.rng.seed();
    t_random.generation = gen;
  }
  return t_random.rng.next();
}

void format_event_id(std::int64_t unix_ns, std::uint64_t random, char* out) noexcept {
  const auto ns = static_cast<std::uint64_t>(unix_ns);
  const std::uint64_t ms = ns / 1'000'000;
  // rand_a: the fraction of the millisecond in 1/4096ths (RFC 9562 §6.2, method 3).
  const std::uint64_t frac = (ns % 1'000'000) * 4096 / 1'000'000;
  std::uint8_t b[16];
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | ((frac >> 8) & 0x0f));  // version 7
  b[7] = static_cast<std::uint8_t>(frac & 0xff);
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<std::uint8_t>(random >> (56 - 8 * i));
  b[8] = static_cast<std::uint8_t>(0x80 | (b[8] & 0x3f));  // variant 10xx
  int o = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = kHex[b[i] >> 4];
    out[o++] = kHex[b[i] & 0x0f];
  }
}

}  // namespace evlog::detail
