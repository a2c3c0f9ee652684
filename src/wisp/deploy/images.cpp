// The images of PackageType Image functions. What decides "changed" is the image's digest
// (Lambda reports an image function's CodeSha256 as the manifest digest, in hex), so every
// image is known by its digest before the plan:
// - an ImageUri pinned by digest is used as written;
// - an ImageUri with a tag is resolved to the digest the tag names now: ECR's DescribeImages
//   for an ECR repository, else the registry's manifest (OCI Distribution API, HEAD
//   /v2/<repository>/manifests/<tag>, Docker-Content-Digest);
// - an image built from the template (Metadata DockerContext) is assembled as an OCI layout
//   (artifact/function_image.hpp, deterministic: same inputs, same digest) and pushed to
//   --image-repository / --image-repositories when the function is created or its code
//   changes (push_image_code), never before the plan.
// Lambda is then given the URI pinned by that digest (<registry>/<repository>@sha256:...), so
// the version it publishes is the image wisp compared, even if the tag moves meanwhile.

#include <wisp/deploy/engine.hpp>

#include <wisp/artifact/function_image.hpp>
#include <wisp/artifact/limits.hpp>
#include <wisp/artifact/registry.hpp>
#include <wisp/aws/ecr.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <mutex>

namespace wisp::deploy {

namespace {

support::Error function_error(const sam::Function& f, const std::string& message) {
  return support::Error{
      fmt::format("{}: {}", f.logical_id, message),
      {support::Diagnostic{f.source.file, f.source.line, f.source.column, support::Severity::error,
                           "deploy", fmt::format("{}: {}", f.logical_id, message)}},
      support::ExitCode::failure};
}

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1024)
    return fmt::format("{} B", bytes);
  if (bytes < 1024ull * 1024)
    return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024.0);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

CodeSpec pinned(const artifact::ImageReference& ref, const std::string& digest) {
  CodeSpec code;
  code.image_uri = fmt::format("{}/{}@{}", ref.registry, ref.repository, digest);
  code.sha256_hex = digest.substr(7);
  code.sha256_base64 = code.sha256_hex;
  code.uri_sha256 = support::sha256_hex(code.image_uri);
  code.s3_key = "image:" + code.image_uri; // never uploaded (see image_uri)
  return code;
}

// Registry options for `ref`: plain HTTP when asked; an ECR registry logs in with
// GetAuthorizationToken.
support::Result<artifact::RegistryOptions> registry_options(const Backend& backend,
                                                            const artifact::ImageReference& ref,
                                                            const DeployOptions& options) {
  artifact::RegistryOptions registry;
  registry.insecure = options.images.insecure;
  if (auto ecr = aws::ecr::parse_registry_host(ref.registry)) {
    auto login = aws::ecr::login(backend.client(), ecr->account);
    if (!login)
      return tl::unexpected(support::Error(login.error()));
    registry.username = login->username;
    registry.password = login->password;
  }
  return registry;
}

// The digest an ImageUri names now ("sha256:..."), or why it cannot be found.
support::Result<std::string> resolve_uri(const Backend& backend, const sam::Function& f,
                                         const artifact::ImageReference& ref,
                                         const DeployOptions& options) {
  if (!ref.digest.empty())
    return ref.digest;
  if (auto ecr = aws::ecr::parse_registry_host(ref.registry)) {
    auto digest = aws::ecr::image_digest(backend.client(), ecr->account, ref.repository, ref.tag);
    if (!digest)
      return tl::unexpected(function_error(
          f, fmt::format("ImageUri {}: {}", f.image_uri, digest.error().describe())));
    if (!*digest)
      return tl::unexpected(
          function_error(f, fmt::format("ImageUri {}: the ECR repository {} has no image tagged {}",
                                        f.image_uri, ref.repository, ref.tag)));
    return std::move(**digest);
  }
  artifact::RegistryOptions registry;
  registry.insecure = options.images.insecure;
  auto digest = artifact::manifest_digest(ref, registry);
  if (!digest)
    return tl::unexpected(
        function_error(f, fmt::format("ImageUri {}: {}", f.image_uri, digest.error().message)));
  if (!*digest)
    return tl::unexpected(function_error(
        f, fmt::format("ImageUri {}: the registry {} has no manifest {}:{} (no such tag)",
                       f.image_uri, ref.registry, ref.repository, ref.tag)));
  return std::move(**digest);
}

} // namespace

support::Result<std::map<std::string, CodeSpec>>
resolve_images(const Backend& backend, const sam::Model& model, const artifact::BuildReport& report,
               const DeployOptions& options, Log& log) {
  std::vector<const sam::Function*> functions;
  for (const auto& f : model.functions)
    if (f.package_type == sam::PackageType::image)
      functions.push_back(&f);
  std::map<std::string, CodeSpec> out;
  std::mutex mutex;
  const auto build_dir = artifact::default_build_dir(model);
  auto done =
      parallel_for(functions.size(), options.max_parallel, [&](std::size_t i) -> support::Status {
        const auto& f = *functions[i];
        const bool built = f.metadata.if_contains("DockerContext") != nullptr;
        if (!built) {
          if (f.image_uri.empty())
            return tl::unexpected(function_error(
                f, "PackageType Image needs ImageUri, or Metadata DockerContext to build the "
                   "image from"));
          auto ref = artifact::parse_image_reference(f.image_uri);
          if (!ref)
            return tl::unexpected(function_error(f, ref.error().message));
          WISP_TRY_ASSIGN(auto digest, resolve_uri(backend, f, *ref, options));
          std::lock_guard lock(mutex);
          out[f.logical_id] = pinned(*ref, digest);
          return {};
        }
        // Built from the template: where it goes.
        std::string repository = options.images.repository;
        if (auto it = options.images.repositories.find(f.logical_id);
            it != options.images.repositories.end())
          repository = it->second;
        if (repository.empty())
          return tl::unexpected(function_error(
              f, "its image is built from the template (Metadata DockerContext): give "
                 "--image-repository, or --image-repositories " +
                     f.logical_id + "=<registry>/<repository>, to push it to"));
        auto destination = artifact::parse_image_reference(repository);
        if (!destination)
          return tl::unexpected(function_error(
              f, fmt::format("image repository {}: {}", repository, destination.error().message)));
        std::vector<std::string> warnings;
        const auto layout = build_dir / (f.logical_id + ".oci");
        auto image = artifact::build_function_image(model, f, report, layout, {}, warnings);
        for (const auto& w : warnings)
          log.warning(w);
        if (!image)
          return tl::unexpected(function_error(f, image.error().message));
        std::uint64_t size = 0;
        for (const auto& l : image->layers)
          size += l.digest.size;
        if (auto too_big = artifact::check_image_size(f.logical_id, size); !too_big.empty())
          return tl::unexpected(function_error(f, too_big.front().message));
        destination->digest.clear();
        destination->tag = fmt::format("{}-{}", support::to_lower(f.logical_id),
                                       image->manifest.digest.hex.substr(0, 12));
        auto code = pinned(*destination, image->manifest.digest.oci());
        code.size = size;
        code.image_layout = layout;
        code.image_tag = image->tag;
        code.push_to = destination->str();
        if (options.dry_run) {
          // What a push would send (HEAD only).
          WISP_TRY_ASSIGN(auto registry, registry_options(backend, *destination, options));
          registry.dry_run = true;
          auto preview = artifact::push_image(layout, image->tag, *destination, registry);
          if (!preview)
            return tl::unexpected(function_error(
                f, fmt::format("registry {}: {}", destination->registry, preview.error().message)));
          code.push_note =
              preview->already_present
                  ? std::string("already in the registry")
                  : fmt::format("would push {} blob{} ({}), {} present", preview->blobs_uploaded,
                                preview->blobs_uploaded == 1 ? "" : "s",
                                human_bytes(preview->bytes_uploaded), preview->blobs_skipped);
        }
        std::lock_guard lock(mutex);
        out[f.logical_id] = std::move(code);
        return {};
      });
  if (!done)
    return tl::unexpected(done.error());
  return out;
}

support::Status push_image_code(const Backend& backend, const std::string& logical_id,
                                const CodeSpec& code, const DeployOptions& options, Log& log) {
  auto destination = artifact::parse_image_reference(code.push_to);
  if (!destination)
    return support::failf("{}: {}", logical_id, destination.error().message);
  auto registry = registry_options(backend, *destination, options);
  if (!registry)
    return support::failf("{}: registry {}: {}", logical_id, destination->registry,
                          registry.error().message);
  registry->on_event = [&](const artifact::PushEvent& event) {
    if (event.type == artifact::PushEvent::Type::uploading)
      log.status(fmt::format("pushing {} {} ({})", logical_id, event.what,
                             human_bytes(event.digest.size)));
  };
  auto pushed = artifact::push_image(code.image_layout, code.image_tag, *destination, *registry);
  if (!pushed)
    return support::failf("{}: pushing {}: {}", logical_id, code.push_to, pushed.error().message);
  if (pushed->manifest_digest != "sha256:" + code.sha256_hex)
    return support::failf("read-back: {}: the registry stored {} as {}, not sha256:{}", logical_id,
                          code.push_to, pushed->manifest_digest, code.sha256_hex);
  log.step(pushed->already_present
               ? fmt::format("image of {} already in {}", logical_id, code.push_to)
               : fmt::format("pushed {} → {} ({} blob{}, {}; {} present)", logical_id, code.push_to,
                             pushed->blobs_uploaded, pushed->blobs_uploaded == 1 ? "" : "s",
                             human_bytes(pushed->bytes_uploaded), pushed->blobs_skipped));
  return {};
}

} // namespace wisp::deploy
