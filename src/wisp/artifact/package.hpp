#pragma once
// `wisp package`: build (reusing unchanged artifacts), check Lambda's limits, then export
// the artifacts to a directory or upload them — zips to S3 under content-addressed keys
// (`[prefix/]<sha256>.zip`, skipped when the object is already there), images to a
// registry — and produce the packaged template pointing at them (SAM's package
// semantics).

#include <wisp/artifact/build.hpp>
#include <wisp/artifact/registry.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wisp::artifact {

enum class PackageFormat { automatic, zip, oci }; // automatic: PackageType decides

struct PackageOptions {
  std::filesystem::path output_dir; // export here (no upload) when set
  std::string s3_bucket;
  std::string s3_prefix;
  std::string image_repository; // registry/repository for images
  PackageFormat format = PackageFormat::automatic;
  std::string base_image; // OCI layout or registry reference
  bool force_upload = false;
  bool oci_archive = false; // with output_dir: also write each OCI layout as <LogicalId>.tar
  std::filesystem::path template_output; // where the packaged template will be written
  BuildOptions build;
  std::function<void(const std::string&)> on_progress;
  // Nested stacks whose local template the caller uploaded: logical id → its URL (written
  // into Location / TemplateURL of the packaged template, as `sam package` does).
  std::map<std::string, std::string> nested_urls;

  // Where artifacts go when not exported (the CLI implements these over S3 and a
  // registry; tests may use anything).
  // Is s3://bucket/key there with this size?
  std::function<support::Result<bool>(const std::string& bucket, const std::string& key,
                                      std::uint64_t size)>
      object_exists;
  // Upload a zip to s3://bucket/key.
  std::function<support::Status(const std::string& bucket, const std::string& key,
                                const std::filesystem::path& zip, const Digest& digest)>
      put_object;
  // Push the image `tag` of a layout.
  std::function<support::Result<PushResult>(const std::filesystem::path& layout,
                                            const std::string& tag,
                                            const ImageReference& destination)>
      push;
  // Pull a registry image into a layout (for --base-image references).
  std::function<support::Status(const ImageReference& source, const std::string& architecture,
                                const std::filesystem::path& layout, const std::string& tag)>
      pull;
};

struct PackagedArtifact {
  std::string logical_id;
  std::string format;    // zip | oci
  std::string location;  // s3://bucket/key, registry ref, or a local path
  std::string sha256;    // zip or manifest digest (hex)
  bool uploaded = false; // false: it was already there (or exported)
};

struct PackageResult {
  std::vector<PackagedArtifact> artifacts;
  std::string template_text; // the packaged template
  std::vector<std::string> warnings;
  std::size_t uploads = 0;
};

support::Result<PackageResult> package(const sam::Model& model, const PackageOptions& options);

} // namespace wisp::artifact
