// CRC32C (Castagnoli), the checksum of spill records: ISA-L's crc32_iscsi, which picks the
// SSE4.2/PCLMUL version at run time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace evlog::detail {

// Standard CRC32C (initial value and final xor 0xFFFFFFFF): crc32c("123456789") == 0xE3069283.
// `crc` continues an earlier result, so a checksum can span several buffers.
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0) noexcept;

}  // namespace evlog::detail
