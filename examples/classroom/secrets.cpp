#include "secrets.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <stdexcept>
#include <vector>

namespace classroom {
namespace {

constexpr std::size_t kKeyBytes = 32;

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xF];
  }
  return out;
}

std::string derive(std::string_view password, std::string_view salt_hex, int iterations) {
  std::array<unsigned char, kKeyBytes> key{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt_hex.data()),
                        static_cast<int>(salt_hex.size()), iterations, EVP_sha256(), kKeyBytes,
                        key.data()) != 1) {
    throw std::runtime_error("PBKDF2 failed");
  }
  return to_hex(key.data(), key.size());
}

}  // namespace

PasswordHash hash_password(std::string_view password, int iterations) {
  PasswordHash result;
  result.salt_hex = random_hex(16);
  result.iterations = iterations;
  result.hash_hex = derive(password, result.salt_hex, iterations);
  return result;
}

bool verify_password(std::string_view password, const PasswordHash& stored) {
  if (stored.iterations <= 0) return false;
  return constant_time_equal(derive(password, stored.salt_hex, stored.iterations), stored.hash_hex);
}

void verify_dummy_password(std::string_view password) {
  static const PasswordHash dummy = hash_password("not a password");
  (void)verify_password(password, dummy);
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return to_hex(buffer.data(), buffer.size());
}

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return to_hex(digest.data(), digest.size());
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  const std::string ha = sha256_hex(a);
  const std::string hb = sha256_hex(b);
  return CRYPTO_memcmp(ha.data(), hb.data(), ha.size()) == 0;
}

}  // namespace classroom
