// Validation of Options at construction: each broken rule named with its field.
#pragma once

#include "evlog/options.hpp"

namespace evlog::detail {

inline constexpr std::size_t kMinQueueCapacity = 16;
inline constexpr std::size_t kMaxQueueCapacity = std::size_t{1} << 22;
inline constexpr std::size_t kMaxMetadataLimit = std::size_t{16} << 20;

// Throws evlog::Error naming the first option that breaks a rule.
void check_options(const Options& options);

// The smallest power of two ≥ n.
std::size_t round_up_pow2(std::size_t n) noexcept;

}  // namespace evlog::detail
