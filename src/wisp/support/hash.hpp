#pragma once
// Hashing and encodings (OpenSSL underneath): SHA-256, HMAC-SHA256, hex, base64.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wisp::support {

using Sha256Digest = std::array<std::uint8_t, 32>;

class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(std::string_view data);
  void update(const void* data, std::size_t size);
  Sha256Digest finish();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

Sha256Digest sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
Sha256Digest hmac_sha256(std::string_view key, std::string_view data);

std::string to_hex(std::string_view bytes);
std::string to_hex(const Sha256Digest& digest);
std::string base64_encode(std::string_view bytes);
std::string base64_encode(const Sha256Digest& digest);
// Standard alphabet with padding; whitespace is not allowed. nullopt on malformed input.
std::optional<std::string> base64_decode(std::string_view text);

inline std::string_view as_bytes(const Sha256Digest& digest) {
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

} // namespace wisp::support
