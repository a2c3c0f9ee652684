#include <wisp/artifact/package.hpp>

#include <wisp/artifact/function_image.hpp>
#include <wisp/artifact/limits.hpp>
#include <wisp/artifact/packaged.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>

#include <fmt/format.h>

namespace wisp::artifact {

namespace fs = std::filesystem;

namespace {

std::string join_key(const std::string& prefix, const std::string& name) {
  if (prefix.empty())
    return name;
  return prefix.back() == '/' ? prefix + name : prefix + "/" + name;
}

std::string relative_path(const fs::path& target, const fs::path& from_dir) {
  auto relative = target.lexically_relative(from_dir);
  return relative.empty() ? target.string() : relative.generic_string();
}

bool wants_oci(const sam::Function& function, PackageFormat format) {
  if (format == PackageFormat::oci)
    return true;
  if (format == PackageFormat::zip)
    return false;
  return function.package_type == sam::PackageType::image;
}

// The base image as an OCI layout: a layout given directly, or pulled from a registry
// into the build dir once.
support::Result<std::string> resolve_base(const std::string& base, const fs::path& build_dir,
                                          const std::string& architecture,
                                          const PackageOptions& options) {
  if (base.empty())
    return std::string();
  std::string ref = base;
  if (ref.starts_with("oci:"))
    return ref;
  std::error_code ec;
  const auto colon = ref.rfind(':');
  if (fs::is_directory(ref, ec) ||
      (colon != std::string::npos && fs::is_directory(ref.substr(0, colon), ec) &&
       fs::exists(fs::path(ref.substr(0, colon)) / "index.json", ec)))
    return ref;
  WISP_TRY_ASSIGN(auto image, parse_image_reference(ref));
  std::string name;
  for (const char c : image.str() + "-" + architecture)
    name += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-') ? c : '_';
  const auto layout = build_dir / ".base" / name;
  if (!fs::exists(layout / "index.json", ec)) {
    if (!options.pull)
      return support::failf("--base-image {}: pulling from a registry is not available here", ref);
    WISP_TRY(options.pull(image, architecture, layout, "base"));
  }
  return layout.string() + ":base";
}

} // namespace

support::Result<PackageResult> package(const sam::Model& model, const PackageOptions& options) {
  const bool export_only = !options.output_dir.empty();
  const auto progress = [&](const std::string& line) {
    if (options.on_progress)
      options.on_progress(line);
  };
  // Which functions become images.
  bool any_zip = !model.layers.empty();
  bool any_image = false;
  for (const auto& f : model.functions) {
    if (f.inline_code || !f.code_s3_uri.empty() ||
        (f.package_type == sam::PackageType::image && !f.image_uri.empty() &&
         f.metadata.if_contains("DockerContext") == nullptr))
      continue;
    (wants_oci(f, options.format) ? any_image : any_zip) = true;
  }
  if (!export_only) {
    if (any_zip && options.s3_bucket.empty())
      return support::fail(
          "give --s3-bucket to upload the zips (or --output-dir to export them without "
          "uploading)",
          support::ExitCode::usage);
    if (any_image && options.image_repository.empty())
      return support::fail("give --image-repository to push the images (or --output-dir to "
                           "export them without pushing)",
                           support::ExitCode::usage);
    if (any_zip && (!options.object_exists || !options.put_object))
      return support::fail("--s3-bucket: this wisp cannot upload to S3 yet (use --output-dir)");
    if (any_image && !options.push)
      return support::fail(
          "--image-repository: this wisp cannot push to a registry yet (use --output-dir)");
  }

  auto build_options = options.build;
  build_options.cached = true;
  WISP_TRY_ASSIGN(auto report, build(model, build_options));
  if (!report.ok()) {
    support::Error error;
    error.message = fmt::format("{} of {} artifacts failed to build", report.failures.size(),
                                report.failures.size() + report.artifacts.size());
    for (const auto& f : report.failures)
      error.message +=
          "\n" +
          (f.message.starts_with(f.logical_id + ":") ? f.message
                                                     : f.logical_id + ": " + f.message) +
          (f.tool_output.empty() ? "" : "\n" + f.tool_output);
    return tl::unexpected(std::move(error));
  }
  // Limits before anything leaves the machine.
  const auto violations = check_limits(model, report, false);
  if (!violations.empty()) {
    std::vector<std::string> lines;
    for (const auto& v : violations)
      lines.push_back(v.message);
    return support::fail(support::join(lines, "\n"));
  }

  PackageResult result;
  std::vector<ArtifactLocation> locations;
  const auto build_dir = options.build.build_dir.empty() ? default_build_dir(model)
                                                         : fs::absolute(options.build.build_dir);
  const auto template_dir = options.template_output.empty()
                                ? fs::current_path()
                                : fs::absolute(options.template_output).parent_path();

  const auto place_zip = [&](const ArtifactBuild& a) -> support::Status {
    PackagedArtifact out{a.logical_id, "zip", "", a.zip_digest.hex, false};
    ArtifactLocation location;
    location.logical_id = a.logical_id;
    location.handler = a.handler;
    location.environment = a.environment;
    if (export_only) {
      const auto target = fs::absolute(options.output_dir) / (a.logical_id + ".zip");
      std::error_code ec;
      const bool same = fs::exists(target, ec) && fs::file_size(target, ec) == a.zip_digest.size &&
                        digest_file(target).value_or(Digest{}).hex == a.zip_digest.hex;
      if (!same) {
        fs::create_directories(target.parent_path(), ec);
        const auto temp = target.parent_path() / ("." + a.logical_id + ".zip.tmp");
        fs::copy_file(a.zip_path, temp, fs::copy_options::overwrite_existing, ec);
        if (!ec)
          fs::rename(temp, target, ec);
        if (ec)
          return support::failf("cannot write {}: {}", target.string(), ec.message());
        out.uploaded = true;
      }
      out.location = target.string();
      location.local_path = relative_path(target, template_dir);
    } else {
      const auto key = join_key(options.s3_prefix, a.zip_digest.hex + ".zip");
      out.location = fmt::format("s3://{}/{}", options.s3_bucket, key);
      bool present = false;
      if (!options.force_upload) {
        WISP_TRY_ASSIGN(present, options.object_exists(options.s3_bucket, key, a.zip_digest.size));
      }
      if (!present) {
        progress(fmt::format("uploading {} → {}", a.logical_id, out.location));
        WISP_TRY(options.put_object(options.s3_bucket, key, a.zip_path, a.zip_digest));
        out.uploaded = true;
        ++result.uploads;
      }
      location.s3_bucket = options.s3_bucket;
      location.s3_key = key;
    }
    result.artifacts.push_back(std::move(out));
    locations.push_back(std::move(location));
    return {};
  };

  for (const auto& layer : model.layers)
    if (const auto* built = report.find(layer.logical_id))
      WISP_TRY(place_zip(*built));

  // The functions as the build left them (an esbuild bundle's handler, NODE_OPTIONS).
  auto built_model = model;
  apply_build_outputs(built_model, report);
  for (const auto& function : built_model.functions) {
    const bool image = wants_oci(function, options.format);
    if (!image) {
      if (const auto* built = report.find(function.logical_id))
        WISP_TRY(place_zip(*built));
      continue;
    }
    if (function.package_type == sam::PackageType::image && !function.image_uri.empty() &&
        function.metadata.if_contains("DockerContext") == nullptr)
      continue; // an image that is already in a registry
    const auto architecture = oci_architecture(
        function.architectures.empty() ? std::string("x86_64") : function.architectures.front());
    WISP_TRY_ASSIGN(auto base, resolve_base(options.base_image, build_dir, architecture, options));
    const auto layout = export_only ? fs::absolute(options.output_dir) / function.logical_id
                                    : build_dir / (function.logical_id + ".oci");
    FunctionImageOptions image_options;
    image_options.base = base;
    WISP_TRY_ASSIGN(auto built, build_function_image(built_model, function, report, layout,
                                                     image_options, result.warnings));
    std::uint64_t image_size = 0;
    for (const auto& l : built.layers)
      image_size += l.digest.size;
    if (auto too_big = check_image_size(function.logical_id, image_size); !too_big.empty())
      return support::fail(too_big.front().message);
    PackagedArtifact out{function.logical_id, "oci", "", built.manifest.digest.hex, false};
    ArtifactLocation location;
    location.logical_id = function.logical_id;
    if (export_only) {
      out.location = layout.string();
      if (options.oci_archive) {
        const auto tar = layout.parent_path() / (function.logical_id + ".tar");
        WISP_TRY(write_layout_tar(layout, tar));
        out.location = tar.string();
      }
      out.uploaded = true;
      if (function.package_type == sam::PackageType::image)
        location.image_uri = relative_path(layout, template_dir);
      else
        location.local_path = relative_path(layout, template_dir);
    } else {
      WISP_TRY_ASSIGN(auto destination, parse_image_reference(options.image_repository));
      destination.digest.clear();
      destination.tag = fmt::format("{}-{}", support::to_lower(function.logical_id),
                                    built.manifest.digest.hex.substr(0, 12));
      progress(fmt::format("pushing {} → {}", function.logical_id, destination.str()));
      WISP_TRY_ASSIGN(auto pushed, options.push(layout, built.tag, destination));
      out.uploaded = pushed.blobs_uploaded > 0;
      result.uploads += pushed.blobs_uploaded;
      out.location = destination.str();
      location.image_uri = destination.str();
    }
    result.artifacts.push_back(std::move(out));
    if (function.package_type == sam::PackageType::image)
      locations.push_back(std::move(location));
    else
      result.warnings.push_back(fmt::format(
          "{}: PackageType is Zip, so the packaged template keeps its CodeUri; the image is "
          "at {}",
          function.logical_id, result.artifacts.back().location));
  }

  for (const auto& [id, url] : options.nested_urls) {
    ArtifactLocation location;
    location.logical_id = id;
    location.template_url = url;
    locations.push_back(std::move(location));
  }
  WISP_TRY_ASSIGN(auto text, support::read_file(model.template_path, 64u * 1024 * 1024));
  const auto display = model.template_path.filename().string();
  WISP_TRY_ASSIGN(result.template_text, rewrite_template(text, display, locations));
  return result;
}

} // namespace wisp::artifact
