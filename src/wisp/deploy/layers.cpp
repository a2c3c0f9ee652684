// The template's layers in deploy: a version per content (its Description names the content's
// digest), found rather than published again.

#include <wisp/aws/s3.hpp>
#include <wisp/deploy/engine.hpp>

#include <fmt/format.h>

namespace wisp::deploy {

namespace json = boost::json;

support::Result<std::vector<LayerState>> read_layers(const Backend& backend, const Desired& desired,
                                                     unsigned parallel) {
  std::vector<LayerState> out(desired.layers.size());
  WISP_TRY(parallel_for(out.size(), parallel, [&](std::size_t i) -> support::Status {
    const auto& spec = desired.layers[i];
    out[i].spec = spec;
    WISP_TRY_ASSIGN(auto versions, backend.layer_versions(spec.name));
    for (const auto& [arn, description] : versions)
      if (description == spec.description) {
        out[i].arn = arn;
        break;
      }
    return {};
  }));
  return out;
}

void plan_layers(Plan& plan, const std::vector<LayerState>& layers) {
  for (const auto& layer : layers) {
    if (!layer.arn.empty()) {
      plan.changes.push_back({Action::unchanged, "layer", layer.spec.name, {}});
      continue;
    }
    std::vector<std::string> details{"new version"};
    if (layer.spec.s3_bucket.empty())
      details.push_back(fmt::format("{} bytes", layer.spec.code.size));
    plan.changes.push_back({Action::create, "layer", layer.spec.name, std::move(details)});
  }
}

support::Status publish_layers(const Backend& backend, const Desired& desired,
                               std::vector<LayerState>& layers, Log& log) {
  for (auto& layer : layers) {
    if (!layer.arn.empty())
      continue;
    const auto& spec = layer.spec;
    json::object content;
    if (!spec.s3_bucket.empty()) {
      content = json::object{{"S3Bucket", spec.s3_bucket}, {"S3Key", spec.s3_key}};
    } else {
      aws::s3::PutOptions put;
      put.sha256_hex = spec.code.sha256_hex;
      put.metadata["sha256"] = spec.code.sha256_hex;
      put.content_type = "application/zip";
      WISP_TRY(aws::s3::put_object_file(backend.client(), desired.location.bucket, spec.code.s3_key,
                                        spec.code.zip, put));
      content = json::object{{"S3Bucket", desired.location.bucket}, {"S3Key", spec.code.s3_key}};
    }
    json::object request{{"Content", std::move(content)}, {"Description", spec.description}};
    if (!spec.runtimes.empty()) {
      json::array runtimes;
      for (const auto& r : spec.runtimes)
        runtimes.emplace_back(r);
      request["CompatibleRuntimes"] = std::move(runtimes);
    }
    if (!spec.architectures.empty()) {
      json::array architectures;
      for (const auto& a : spec.architectures)
        architectures.emplace_back(a);
      request["CompatibleArchitectures"] = std::move(architectures);
    }
    WISP_TRY_ASSIGN(layer.arn, backend.publish_layer_version(spec.name, request));
    if (layer.arn.empty())
      return support::failf("PublishLayerVersion of {} returned no version ARN", spec.name);
    log.step(fmt::format("published layer {} ({})", spec.name, layer.arn));
  }
  return {};
}

} // namespace wisp::deploy
