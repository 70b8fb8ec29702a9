// classroom/request_fields.hpp — the fields of a request body, from a form or a JSON object,
// with 400 errors that name the field.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "http_server.hpp"

namespace classroom {

// A bad request body; `what()` names the field and the rule, e.g. "score: must be 1-5".
class BadRequest : public std::runtime_error {
 public:
  BadRequest(const std::string& field, const std::string& rule)
      : std::runtime_error(field + ": " + rule) {}
};

// A body of another media type than JSON or a form: answered 415.
class UnsupportedMediaType : public std::runtime_error {
 public:
  UnsupportedMediaType()
      : std::runtime_error(
            "Content-Type: must be application/json or application/x-www-form-urlencoded") {}
};

class Fields {
 public:
  // From a JSON object body (Content-Type: application/json) or from form/query parameters.
  // Throws BadRequest for a body that is not a JSON object, UnsupportedMediaType for a body of
  // any other type.
  static Fields from(const http::Request& request);

  std::vector<std::string> all(const std::string& name) const;
  // The field's single value; throws BadRequest("<name>: is required") when missing or empty.
  std::string required(const std::string& name) const;
  // An integer in [low, high]; throws BadRequest naming the field otherwise.
  int required_int(const std::string& name, int low, int high) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

// Parses a decimal id from a path segment; nullopt when it does not fit.
std::optional<std::int64_t> parse_id(const std::string& text);
// Parses a decimal integer in [low, high]; nullopt otherwise.
std::optional<int> parse_int_in(const std::string& text, int low, int high);

}  // namespace classroom
