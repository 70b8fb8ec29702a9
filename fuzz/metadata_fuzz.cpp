// R11: libFuzzer target for the metadata validator (log()'s check of Event::metadata, R19).
//
// Besides "never crash, never overflow the stack, never leak", it checks the validator against a
// second, independent JSON parser (nlohmann::json): whatever the validator accepts must parse as
// one JSON object there too, with no string holding U+0000, and never nested deeper than 64.
// The first input byte also picks the size cap, so the cap's edge is exercised.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/validate.hpp"
#include "evlog/event.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

std::size_t depth_and_nul(const nlohmann::json& j, bool& has_nul) {
  std::size_t deepest = 0;
  if (j.is_string()) {
    if (j.get_ref<const std::string&>().find('\0') != std::string::npos) has_nul = true;
    return 0;
  }
  if (!j.is_structured()) return 0;
  for (const auto& [key, value] : j.items()) {
    if (key.find('\0') != std::string::npos) has_nul = true;
    deepest = std::max(deepest, depth_and_nul(value, has_nul));
  }
  return deepest + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t cap = data[0] < 128 ? (1u << 20) : 1 + data[0] % 64;
  const std::string_view metadata(reinterpret_cast<const char*>(data + 1), size - 1);
  evlog::Event event;
  event.type = "fuzz";
  event.metadata = metadata;
  std::string message;
  const bool ok = evlog::detail::validate_event(event, cap, message);
  check(ok == message.empty());
  if (!ok) return 0;
  check(metadata.size() <= cap);
  if (metadata.empty()) return 0;  // no metadata: NULL
  nlohmann::json parsed = nlohmann::json::parse(metadata, nullptr, /*allow_exceptions=*/false);
  check(!parsed.is_discarded());
  check(parsed.is_object());
  bool has_nul = false;
  check(depth_and_nul(parsed, has_nul) <= evlog::detail::kMaxMetadataDepth);
  check(!has_nul);
  return 0;
}
