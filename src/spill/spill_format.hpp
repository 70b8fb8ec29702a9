// The spill file format: what the writer appends while the database cannot take events, and what
// replay and `evlog inspect` read back.
//
//   file   := header record*
//   header := "EVLGSPL1" (8) | version u32 = 1 | target_len u32 | target (target_len bytes)
//             | crc32c(version..target) u32
//   record := magic u32 "EVR1" | length u32 | crc32c(length, payload) u32 | payload (length bytes)
//   payload:= unix_ns i64 | random u64 | flags u8 (bit 0: user_id present) | user_id i64
//             | type_len u8 | user_type_len u8 | metadata_len u32 | type | user_type | metadata
// All integers little-endian. The event id (unix_ns, random) is inside the checksummed payload.
// `target` names the database and table the events belong to; replay skips a file whose target
// is not its own. A record's magic lets a reader find the next record after a corrupt span.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/event_record.hpp"

namespace evlog::detail {

inline constexpr char kSpillMagic[8] = {'E', 'V', 'L', 'G', 'S', 'P', 'L', '1'};
inline constexpr std::uint32_t kSpillVersion = 1;
inline constexpr std::uint32_t kRecordMagic = 0x31525645;  // "EVR1" in file order
inline constexpr std::size_t kRecordHeaderBytes = 12;
inline constexpr std::size_t kPayloadFixedBytes = 8 + 8 + 1 + 8 + 1 + 1 + 4;
inline constexpr std::size_t kMaxTargetBytes = 4096;
// type ≤ 64, user_type ≤ 64, metadata ≤ 16 MiB (the most Options::max_metadata_bytes allows).
inline constexpr std::size_t kMaxPayloadBytes = kPayloadFixedBytes + 64 + 64 + (16u << 20);

// The file header for `target`.
std::string encode_header(std::string_view target);

// Appends one framed record for `record` to `out`.
void append_record(const EventRecord& record, std::string& out);

// Decodes a payload whose checksum was verified; nothing if its inner lengths are inconsistent.
// Large strings get a heap block, as log() would give them.
std::optional<EventRecord> decode_payload(std::string_view payload);

inline std::uint32_t load_u32(const char* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace evlog::detail
