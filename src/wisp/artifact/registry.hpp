#pragma once
// Pushing an image from an OCI layout to a registry (OCI Distribution API), and pulling a
// base image into a layout, without a daemon.
//
// Push: each blob is checked with HEAD and skipped when present; otherwise uploaded with
// POST /blobs/uploads/ then PUT ?digest= (monolithic), or PATCH chunks then PUT (chunked,
// for blobs larger than `chunk_size`); then the manifest is PUT under the tag.
// Auth: a 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` fetches a token
// from the realm (with Basic credentials when known) and retries; `Basic` challenges are
// answered with the credentials. Credentials come from PushOptions, else
// WISP_REGISTRY_USERNAME / WISP_REGISTRY_PASSWORD, else ~/.docker/config.json `auths`.
// Plain HTTP only with `insecure` (meant for loopback test registries).

#include <wisp/artifact/digest.hpp>
#include <wisp/artifact/image.hpp>
#include <wisp/support/error.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace wisp::artifact {

struct ImageReference {
  std::string registry;   // host[:port]
  std::string repository; // path, e.g. "team/app"
  std::string tag;        // empty when a digest is given
  std::string digest;     // sha256:... or empty
  [[nodiscard]] std::string str() const;
};

// "127.0.0.1:5000/app:v1", "registry.example.com/team/app@sha256:...", "app" (→
// docker.io/library/app:latest). An error explains what is malformed.
support::Result<ImageReference> parse_image_reference(std::string_view text);

struct PushEvent {
  enum class Type { exists, uploading, uploaded, manifest };
  Type type = Type::uploading;
  std::string what; // "layer 2/3", "config", "manifest"
  Digest digest;
};

struct RegistryOptions {
  bool insecure = false; // plain HTTP (and no TLS verification)
  std::string username;  // Basic credentials (empty: environment, docker config)
  std::string password;
  std::uint64_t chunk_size = 16ull << 20u; // blobs larger than this are uploaded in chunks
  // push_image: only look (HEAD), count what would be sent, send nothing.
  bool dry_run = false;
  std::function<void(const PushEvent&)> on_event;
};

struct PushResult {
  std::string manifest_digest; // sha256:..., as the registry reported it
  std::size_t blobs_uploaded = 0;
  std::size_t blobs_skipped = 0;
  std::uint64_t bytes_uploaded = 0;
  // The tag already named this manifest: nothing was checked or sent beyond that HEAD.
  bool already_present = false;
};

// Pushes the image `tag` of `layout` to `destination` (its tag, else `tag`). When the
// destination tag already names the same manifest, nothing more is sent. With
// `options.dry_run` the counts say what would be uploaded.
support::Result<PushResult> push_image(const std::filesystem::path& layout, const std::string& tag,
                                       const ImageReference& destination,
                                       const RegistryOptions& options);

// The digest ("sha256:...") `image`'s tag (or digest) names in its registry: HEAD
// /v2/<repository>/manifests/<reference> and its Docker-Content-Digest (a registry that does not
// send it: GET, and the digest of the body). nullopt when the registry has no such manifest.
support::Result<std::optional<std::string>> manifest_digest(const ImageReference& image,
                                                            const RegistryOptions& options);

// Pulls `source` (a single-platform image, or the `architecture` entry of an index) into
// `layout` under `tag`.
support::Status pull_image(const ImageReference& source, const std::string& architecture,
                           const std::filesystem::path& layout, const std::string& tag,
                           const RegistryOptions& options);

} // namespace wisp::artifact
