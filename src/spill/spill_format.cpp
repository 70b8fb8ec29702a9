#include "spill/spill_format.hpp"

#include <cstring>
#include <new>

#include "spill/crc32c.hpp"

namespace evlog::detail {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
std::uint64_t load_u64(const char* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

std::string encode_header(std::string_view target) {
  std::string out(kSpillMagic, sizeof kSpillMagic);
  const std::size_t body = out.size();
  put_u32(out, kSpillVersion);
  put_u32(out, static_cast<std::uint32_t>(target.size()));
  out.append(target);
  put_u32(out, crc32c(out.data() + body, out.size() - body));
  return out;
}

void append_record(const EventRecord& r, std::string& out) {
  const std::size_t start = out.size();
  put_u32(out, kRecordMagic);
  put_u32(out, 0);  // length, filled below
  put_u32(out, 0);  // checksum, filled below
  const std::size_t payload = out.size();
  put_u64(out, static_cast<std::uint64_t>(r.unix_ns));
  put_u64(out, r.random);
  out.push_back(static_cast<char>(r.has_user_id ? 1 : 0));
  put_u64(out, static_cast<std::uint64_t>(r.user_id));
  out.push_back(static_cast<char>(r.type_len));
  out.push_back(static_cast<char>(r.user_type_len));
  put_u32(out, r.metadata_len);
  out.append(r.text(), r.text_bytes());
  const auto length = static_cast<std::uint32_t>(out.size() - payload);
  for (int i = 0; i < 4; ++i) out[start + 4 + i] = static_cast<char>(length >> (8 * i));
  // The checksum covers the length field and the payload (which holds the event id).
  std::uint32_t crc = crc32c(out.data() + start + 4, 4);
  crc = crc32c(out.data() + payload, length, crc);
  for (int i = 0; i < 4; ++i) out[start + 8 + i] = static_cast<char>(crc >> (8 * i));
}

std::optional<EventRecord> decode_payload(std::string_view payload) {
  if (payload.size() < kPayloadFixedBytes) return std::nullopt;
  const char* p = payload.data();
  EventRecord r;
  r.unix_ns = static_cast<std::int64_t>(load_u64(p));
  r.random = load_u64(p + 8);
  const auto flags = static_cast<unsigned char>(p[16]);
  if (flags > 1) return std::nullopt;
  r.has_user_id = flags == 1;
  r.user_id = static_cast<std::int64_t>(load_u64(p + 17));
  r.type_len = static_cast<std::uint8_t>(p[25]);
  r.user_type_len = static_cast<std::uint8_t>(p[26]);
  r.metadata_len = load_u32(p + 27);
  const std::size_t text = r.text_bytes();
  if (payload.size() != kPayloadFixedBytes + text || r.type_len == 0 || r.type_len > 64 ||
      r.user_type_len > 64) {
    return std::nullopt;
  }
  const char* strings = p + kPayloadFixedBytes;
  if (text <= kInlineBytes) {
    std::memcpy(r.inline_, strings, text);
  } else {
    r.heap = PayloadPool::allocate_unpooled(text);
    if (!r.heap) throw std::bad_alloc();
    std::memcpy(r.heap, strings, text);
  }
  return r;
}

}  // namespace evlog::detail
