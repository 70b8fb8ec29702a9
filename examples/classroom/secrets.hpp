// classroom/secrets.hpp — password hashing (PBKDF2-HMAC-SHA256 from OpenSSL), random tokens and
// constant-time comparison.
#pragma once

#include <string>
#include <string_view>

namespace classroom {

// A stored password: a random salt, the iteration count and the derived key, all hex.
struct PasswordHash {
  std::string salt_hex;
  int iterations = 0;
  std::string hash_hex;
};

// OWASP's figure for PBKDF2-HMAC-SHA256 (2023). A hash stored with fewer is derived again with
// this many at the user's next successful login (Store::authenticate).
inline constexpr int kPasswordIterations = 600'000;

// Derives a new hash with a fresh random salt.
PasswordHash hash_password(std::string_view password, int iterations = kPasswordIterations);
// Derives again with the stored salt and compares in constant time.
bool verify_password(std::string_view password, const PasswordHash& stored);
// Burns the same time as a verification, for unknown user names.
void verify_dummy_password(std::string_view password);

// `bytes` random bytes from the OS CSPRNG, as lowercase hex.
std::string random_hex(std::size_t bytes);
// SHA-256 of `text`, lowercase hex.
std::string sha256_hex(std::string_view text);
// True when a == b; the time taken does not depend on where they differ, nor on their lengths
// (both are hashed first).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace classroom
