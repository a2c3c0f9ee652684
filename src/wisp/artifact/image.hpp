#pragma once
// OCI images without a daemon: an OCI image layout (directory, or a .tar of it) holding an
// optional base image's layers plus wisp's layers, each a deterministic tar.gz (sorted
// entries, fixed timestamp and modes, uid/gid 0, gzip without name or time), a config
// (Entrypoint, Cmd, Env, WorkingDir, architecture) and a manifest with annotations.
// Same inputs → same digests.

#include <wisp/artifact/digest.hpp>
#include <wisp/artifact/ignore.hpp>
#include <wisp/support/error.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wisp::artifact {

inline constexpr std::string_view k_oci_manifest_type =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view k_oci_config_type = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view k_oci_layer_gzip_type =
    "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view k_oci_index_type = "application/vnd.oci.image.index.v1+json";

// A directory that becomes one layer, its files placed under `prefix` ("var/task", "opt").
struct LayerSource {
  std::filesystem::path dir;
  std::string prefix;
  std::string comment; // history entry ("function code", "layer Libs")
};

struct ImageConfig {
  std::string architecture = "amd64";  // OCI names: amd64, arm64
  std::vector<std::string> entrypoint; // empty: keep the base image's
  std::vector<std::string> cmd;        // empty: keep the base image's
  std::vector<std::string> env;        // "K=V", appended to (and overriding) the base's
  std::string working_dir;             // empty: keep the base image's
  std::map<std::string, std::string> labels;
};

struct ImageOptions {
  // An OCI layout directory holding the base image, "DIR" or "DIR:TAG" (an "oci:" prefix is
  // accepted); empty: no base (scratch).
  std::string base;
  std::string tag = "latest";
  std::map<std::string, std::string> annotations; // manifest annotations
  std::optional<std::int64_t> timestamp;          // as ZipOptions (SOURCE_DATE_EPOCH, 1980)
};

struct BlobRef {
  std::string media_type;
  Digest digest;
};

struct ImageResult {
  std::filesystem::path layout; // the OCI layout directory
  std::string tag;
  BlobRef manifest;
  BlobRef config;
  std::vector<BlobRef> layers;       // base layers first
  std::vector<std::string> diff_ids; // sha256:<hex> of each uncompressed layer
  bool base_has_entrypoint = false;
};

// The name of an architecture in OCI terms: x86_64 → amd64, arm64 → arm64.
std::string oci_architecture(std::string_view lambda_architecture);

// Writes the tar.gz of `source` into `layout`'s blob store; returns its blob (gzip digest)
// and its diff id (digest of the tar).
support::Result<std::pair<BlobRef, Digest>>
write_layer(const std::filesystem::path& layout, const LayerSource& source, std::int64_t timestamp);

// Writes (or adds to) the OCI layout at `layout`: blobs, index.json (the tag points at the
// new manifest, other tags are kept), oci-layout.
support::Result<ImageResult> write_image(const std::filesystem::path& layout,
                                         const std::vector<LayerSource>& layers,
                                         const ImageConfig& config, const ImageOptions& options);

// A deterministic tar of an OCI layout directory (what `--output image.tar` writes).
support::Status write_layout_tar(const std::filesystem::path& layout,
                                 const std::filesystem::path& tar);

// Reads the manifest a tag names in an OCI layout (the only manifest when `tag` is empty).
struct LayoutImage {
  BlobRef manifest;
  std::string manifest_json;
  std::string config_json;
  BlobRef config;
  std::vector<BlobRef> layers;
};
support::Result<LayoutImage> read_layout_image(const std::filesystem::path& layout,
                                               const std::string& tag);

// The path of a blob in a layout.
std::filesystem::path blob_path(const std::filesystem::path& layout, const Digest& digest);

} // namespace wisp::artifact
