#include "spill/crc32c.hpp"

#include <isa-l/crc.h>

#include <climits>

namespace evlog::detail {

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) noexcept {
  auto* bytes = static_cast<unsigned char*>(const_cast<void*>(data));  // ISA-L does not write
  std::uint32_t state = ~crc;
  while (size > 0) {
    const int chunk = size > INT_MAX ? INT_MAX : static_cast<int>(size);
    state = crc32_iscsi(bytes, chunk, state);
    bytes += chunk;
    size -= static_cast<std::size_t>(chunk);
  }
  return ~state;
}

}  // namespace evlog::detail
