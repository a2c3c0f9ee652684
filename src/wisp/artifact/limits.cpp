#include <wisp/artifact/limits.hpp>

#include <wisp/artifact/tree.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace wisp::artifact {

namespace {

std::string contributors(std::vector<std::pair<std::string, std::uint64_t>> items) {
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (items.size() > 5)
    items.resize(5);
  std::string text;
  for (const auto& [name, size] : items)
    text += fmt::format("{}{} ({})", text.empty() ? "" : ", ", name, format_size(size));
  return text;
}

} // namespace

std::vector<LimitViolation> check_limits(const sam::Model& model, const BuildReport& report,
                                         bool direct_upload) {
  std::vector<LimitViolation> violations;
  for (const auto& artifact : report.artifacts) {
    if (artifact.kind != ArtifactKind::function)
      continue;
    std::uint64_t total = artifact.unzipped_size;
    std::uint64_t layers = 0;
    std::vector<std::pair<std::string, std::uint64_t>> parts = artifact.largest;
    if (const auto* function = model.find_function(artifact.logical_id)) {
      for (const auto& ref : function->layers) {
        if (ref.logical_id.empty())
          continue;
        if (const auto* layer = report.find(ref.logical_id)) {
          layers += layer->unzipped_size;
          parts.emplace_back("layer " + layer->logical_id, layer->unzipped_size);
        }
      }
    }
    total += layers;
    if (total > k_max_unzipped)
      violations.push_back(LimitViolation{
          artifact.logical_id,
          fmt::format("{}: unzipped size {} bytes ({}; function {}, layers {}) exceeds Lambda's "
                      "limit of {} bytes (250 MB) for a function and its layers; largest: {}",
                      artifact.logical_id, total, format_size(total),
                      format_size(artifact.unzipped_size), format_size(layers), k_max_unzipped,
                      contributors(parts))});
    if (direct_upload && artifact.zip_digest.size > k_max_direct_upload_zip)
      violations.push_back(LimitViolation{
          artifact.logical_id,
          fmt::format("{}: zip of {} bytes ({}) exceeds Lambda's limit of {} bytes (50 MB) for "
                      "a direct upload: upload it through S3 (--s3-bucket); largest: {}",
                      artifact.logical_id, artifact.zip_digest.size,
                      format_size(artifact.zip_digest.size), k_max_direct_upload_zip,
                      contributors(artifact.largest))});
  }
  return violations;
}

std::vector<LimitViolation> check_image_size(const std::string& logical_id,
                                             std::uint64_t image_size) {
  if (image_size <= k_max_image)
    return {};
  return {LimitViolation{
      logical_id, fmt::format("{}: image of {} bytes ({}) exceeds Lambda's limit of {} "
                              "bytes (10 GB)",
                              logical_id, image_size, format_size(image_size), k_max_image)}};
}

} // namespace wisp::artifact
