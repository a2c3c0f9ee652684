#include <wisp/support/hash.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace wisp::support {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
  m_impl->ctx = EVP_MD_CTX_new();
  if (m_impl->ctx == nullptr || EVP_DigestInit_ex(m_impl->ctx, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
}

Sha256::~Sha256() {
  if (m_impl && m_impl->ctx != nullptr)
    EVP_MD_CTX_free(m_impl->ctx);
}

Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) {
  update(data.data(), data.size());
}

void Sha256::update(const void* data, std::size_t size) {
  if (size > 0)
    EVP_DigestUpdate(m_impl->ctx, data, size);
}

Sha256Digest Sha256::finish() {
  Sha256Digest digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(m_impl->ctx, digest.data(), &length);
  return digest;
}

Sha256Digest sha256(std::string_view data) {
  Sha256 hasher;
  hasher.update(data);
  return hasher.finish();
}

std::string sha256_hex(std::string_view data) {
  return to_hex(sha256(data));
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view data) {
  Sha256Digest digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data(), &length);
  return digest;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += k_digits[b >> 4];
    out += k_digits[b & 0x0f];
  }
  return out;
}

std::string to_hex(const Sha256Digest& digest) {
  return to_hex(as_bytes(digest));
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char k_alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (byte(i) << 16u) | (byte(i + 1) << 8u) | byte(i + 2);
    out += k_alphabet[(v >> 18u) & 63u];
    out += k_alphabet[(v >> 12u) & 63u];
    out += k_alphabet[(v >> 6u) & 63u];
    out += k_alphabet[v & 63u];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = byte(i) << 16u;
    out += k_alphabet[(v >> 18u) & 63u];
    out += k_alphabet[(v >> 12u) & 63u];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (byte(i) << 16u) | (byte(i + 1) << 8u);
    out += k_alphabet[(v >> 18u) & 63u];
    out += k_alphabet[(v >> 12u) & 63u];
    out += k_alphabet[(v >> 6u) & 63u];
    out += '=';
  }
  return out;
}

std::string base64_encode(const Sha256Digest& digest) {
  return base64_encode(as_bytes(digest));
}

std::optional<std::string> base64_decode(std::string_view text) {
  const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    if (c == '+')
      return 62;
    if (c == '/')
      return 63;
    return -1;
  };
  if (text.size() % 4 != 0)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=') {
        // Padding only in the last group, and only at its end.
        if (i + 4 != text.size() || k < 2)
          return std::nullopt;
        v[k] = 0;
        ++pad;
      } else {
        if (pad > 0)
          return std::nullopt;
        v[k] = value(c);
        if (v[k] < 0)
          return std::nullopt;
      }
    }
    const auto n = static_cast<unsigned>((v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3]);
    out += static_cast<char>((n >> 16u) & 0xffu);
    if (pad < 2)
      out += static_cast<char>((n >> 8u) & 0xffu);
    if (pad < 1)
      out += static_cast<char>(n & 0xffu);
  }
  return out;
}

} // namespace wisp::support
