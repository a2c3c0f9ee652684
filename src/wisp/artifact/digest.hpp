#pragma once
// Content digests of artifacts: SHA-256 as lowercase hex (OCI, S3 keys, cache keys) and as
// standard base64 (Lambda's CodeSha256), with the byte count.

#include <wisp/support/error.hpp>
#include <wisp/support/hash.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace wisp::artifact {

struct Digest {
  std::string hex;    // 64 lowercase hex digits
  std::string base64; // 44 characters, padded: what Lambda reports as CodeSha256
  std::uint64_t size = 0;

  // "sha256:<hex>", the OCI form.
  [[nodiscard]] std::string oci() const { return "sha256:" + hex; }
  [[nodiscard]] bool empty() const { return hex.empty(); }
  friend bool operator==(const Digest&, const Digest&) = default;
};

Digest make_digest(const support::Sha256Digest& sha, std::uint64_t size);
Digest digest_bytes(std::string_view bytes);
// Streams the file (never loads it whole). Errors name the path.
support::Result<Digest> digest_file(const std::filesystem::path& path);

} // namespace wisp::artifact
