#include "request_fields.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

namespace classroom {
namespace {

std::optional<long long> parse_integer(const std::string& text) {
  long long value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte.
std::string form_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The media type of a Content-Type value: before any ';', without spaces, in lower case
// ("application/json; charset=utf-8" is "application/json").
std::string media_type(std::string_view value) {
  value = value.substr(0, value.find(';'));
  std::string out;
  for (const char c : value) {
    if (c == ' ' || c == '\t') continue;
    out += c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
  }
  return out;
}

}  // namespace

Fields Fields::from(const http::Request& request) {
  Fields fields;
  // Exact media types only: "text/plain;application/json" is text/plain, a type a page of any
  // site may send without asking first, so it is never read as JSON.
  const std::string content_type = media_type(request.get_header_value("Content-Type"));
  if (!request.body.empty() && content_type != "application/json" &&
      content_type != "application/x-www-form-urlencoded") {
    throw UnsupportedMediaType();
  }
  if (content_type == "application/json") {
    const auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) throw BadRequest("body", "must be a JSON object");
    for (const auto& [key, value] : body.items()) {
      auto& list = fields.values_[key];
      const auto add = [&](const nlohmann::json& item) {
        if (item.is_string()) {
          list.push_back(item.get<std::string>());
        } else if (item.is_number_integer() || item.is_boolean()) {
          list.push_back(item.dump());
        } else {
          throw BadRequest(key, "must be a string or an integer");
        }
      };
      if (value.is_array()) {
        for (const auto& item : value) add(item);
      } else {
        add(value);
      }
    }
    return fields;
  }
  if (content_type == "application/x-www-form-urlencoded") {
    // Every pair is kept, repeated ones too: a quiz may well have the same answer twice
    // (answers=0&answers=0).
    std::string_view body = request.body;
    while (!body.empty()) {
      const std::size_t amp = body.find('&');
      const std::string_view pair = body.substr(0, amp);
      body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
      if (pair.empty()) continue;
      const std::size_t eq = pair.find('=');
      fields.values_[form_decode(pair.substr(0, eq))].push_back(
          eq == std::string_view::npos ? std::string() : form_decode(pair.substr(eq + 1)));
    }
    return fields;
  }
  for (const auto& [key, value] : request.params) fields.values_[key].push_back(value);
  return fields;
}

std::vector<std::string> Fields::all(const std::string& name) const {
  const auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Fields::required(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end() || it->second.empty() || it->second.front().empty()) {
    throw BadRequest(name, "is required");
  }
  if (it->second.size() > 1) throw BadRequest(name, "must be given once");
  return it->second.front();
}

int Fields::required_int(const std::string& name, int low, int high) const {
  const auto value = parse_int_in(required(name), low, high);
  if (!value) {
    throw BadRequest(
        name, "must be an integer from " + std::to_string(low) + " to " + std::to_string(high));
  }
  return *value;
}

std::optional<int> parse_int_in(const std::string& text, int low, int high) {
  const auto value = parse_integer(text);
  if (!value || *value < low || *value > high) return std::nullopt;
  return static_cast<int>(*value);
}

std::optional<std::int64_t> parse_id(const std::string& text) {
  const auto value = parse_integer(text);
  if (!value || *value <= 0) return std::nullopt;
  return static_cast<std::int64_t>(*value);
}

}  // namespace classroom
