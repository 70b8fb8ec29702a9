#include "core/validate.hpp"

#include <cstring>
#include <memory>
#include <new>
#include <string_view>

#include "simdjson.h"

namespace evlog::detail {

namespace {

constexpr std::size_t kParserKeepBytes = 1 << 20;
constexpr std::size_t kInitialCapacity = 4096;

// A parser and a padded copy of the input, one per thread (simdjson reads up to SIMDJSON_PADDING
// bytes past the end of its input, which a caller's string_view does not promise).
struct ThreadParser {
  std::unique_ptr<simdjson::dom::parser> parser;
  std::unique_ptr<char[]> buffer;
  std::size_t buffer_capacity = 0;

  bool prepare(std::size_t len) noexcept {
    if (!parser || parser->capacity() > kParserKeepBytes) {
      parser.reset(new (std::nothrow) simdjson::dom::parser());
      if (!parser || parser->allocate(kInitialCapacity, kMaxMetadataDepth) != simdjson::SUCCESS) {
        parser.reset();
        return false;
      }
    }
    const std::size_t need = len + simdjson::SIMDJSON_PADDING;
    if (buffer_capacity < need || buffer_capacity > kParserKeepBytes + need) {
      buffer.reset(new (std::nothrow) char[need]);
      buffer_capacity = buffer ? need : 0;
      if (!buffer) return false;
    }
    return true;
  }
};

thread_local ThreadParser t_parser;

// Per byte: may it appear in an event type? [A-Za-z0-9_.:-]
constexpr auto kTypeChars = [] {
  struct Table {
    bool ok[256] = {};
  } t;
  for (int c = 'a'; c <= 'z'; ++c) t.ok[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t.ok[c] = true;
  for (int c = '0'; c <= '9'; ++c) t.ok[c] = true;
  for (char c : {'_', '.', ':', '-'}) t.ok[static_cast<unsigned char>(c)] = true;
  return t;
}();

void set_message(std::string& message, const char* text) noexcept {
  try {
    message = text;
  } catch (...) {
    // Out of memory while reporting: the outcome (rejected) still tells the caller.
  }
}

template <class... Parts>
void set_message(std::string& message, const Parts&... parts) noexcept {
  try {
    message.clear();
    (message.append(parts), ...);
  } catch (...) {
  }
}

bool holds_nul(simdjson::dom::element element) noexcept {
  using simdjson::dom::element_type;
  switch (element.type()) {
    case element_type::STRING: {
      std::string_view text;
      return element.get(text) == simdjson::SUCCESS && text.find('\0') != std::string_view::npos;
    }
    case element_type::ARRAY: {
      simdjson::dom::array array;
      if (element.get(array) != simdjson::SUCCESS) return false;
      for (simdjson::dom::element child : array) {
        if (holds_nul(child)) return true;
      }
      return false;
    }
    case element_type::OBJECT: {
      simdjson::dom::object object;
      if (element.get(object) != simdjson::SUCCESS) return false;
      for (simdjson::dom::key_value_pair field : object) {
        if (field.key.find('\0') != std::string_view::npos || holds_nul(field.value)) return true;
      }
      return false;
    }
    default:
      return false;
  }
}

bool validate_metadata(std::string_view metadata, std::size_t max_bytes,
                       std::string& message) noexcept {
  if (metadata.size() > max_bytes) {
    set_message(message, "metadata: must be at most ", std::to_string(max_bytes),
                " bytes (Options::max_metadata_bytes), got ", std::to_string(metadata.size()));
    return false;
  }
  if (!t_parser.prepare(metadata.size())) {
    set_message(message, "metadata: could not be validated: out of memory");
    return false;
  }
  std::memcpy(t_parser.buffer.get(), metadata.data(), metadata.size());
  std::memset(t_parser.buffer.get() + metadata.size(), 0, simdjson::SIMDJSON_PADDING);
  simdjson::dom::element root;
  const auto error =
      t_parser.parser->parse(t_parser.buffer.get(), metadata.size(), false).get(root);
  if (error == simdjson::UTF8_ERROR) {
    set_message(message, "metadata: must be valid UTF-8");
    return false;
  }
  if (error == simdjson::DEPTH_ERROR) {
    set_message(message, "metadata: nesting must be at most ", std::to_string(kMaxMetadataDepth),
                " levels deep");
    return false;
  }
  if (error) {
    set_message(message, "metadata: must be valid JSON (", simdjson::error_message(error), ")");
    return false;
  }
  if (!root.is_object()) {
    set_message(message, "metadata: must be a JSON object, got a JSON ",
                std::string_view(root.is_array() ? "array" : "scalar"));
    return false;
  }
  // Only a "\u0000" escape can put U+0000 in a string (a raw NUL byte is invalid JSON text), so the
  // tree is walked only when the text holds that escape.
  constexpr std::string_view kNulEscape = "\\u0000";
  if (std::memchr(metadata.data(), '\\', metadata.size()) != nullptr &&
      metadata.find(kNulEscape) != std::string_view::npos && holds_nul(root)) {
    set_message(message, "metadata: strings must not contain U+0000 (\\u0000)");
    return false;
  }
  return true;
}

}  // namespace

bool validate_event(const Event& event, std::size_t max_metadata_bytes,
                    std::string& message) noexcept {
  const std::string_view type = event.type;
  if (type.empty() || type.size() > kMaxTypeBytes) {
    set_message(message, "type: must be 1-64 bytes of [A-Za-z0-9_.:-], got ",
                std::to_string(type.size()), " bytes");
    return false;
  }
  for (char c : type) {
    if (!kTypeChars.ok[static_cast<unsigned char>(c)]) {
      constexpr std::string_view kHex = "0123456789abcdef";
      const auto byte = static_cast<unsigned char>(c);
      set_message(message, "type: must be 1-64 bytes of [A-Za-z0-9_.:-], found byte 0x",
                  kHex.substr(byte >> 4, 1), kHex.substr(byte & 15, 1));
      return false;
    }
  }
  const std::string_view user_type = event.user_type;
  if (!user_type.empty()) {
    if (user_type.size() > kMaxUserTypeBytes) {
      set_message(message, "user_type: must be at most 64 bytes, got ",
                  std::to_string(user_type.size()));
      return false;
    }
    if (user_type.find('\0') != std::string_view::npos) {
      set_message(message, "user_type: must not contain a NUL byte");
      return false;
    }
    // Plain ASCII (the common case) is valid UTF-8; only other text needs the full check.
    bool ascii = true;
    for (char c : user_type) ascii &= static_cast<unsigned char>(c) < 0x80;
    if (!ascii && !simdjson::validate_utf8(user_type.data(), user_type.size())) {
      set_message(message, "user_type: must be valid UTF-8");
      return false;
    }
  }
  if (!event.metadata.empty()) {
    return validate_metadata(event.metadata, max_metadata_bytes, message);
  }
  return true;
}

}  // namespace evlog::detail
