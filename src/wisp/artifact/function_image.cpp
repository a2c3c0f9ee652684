#include <wisp/artifact/function_image.hpp>

#include <wisp/support/embedded.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <span>

namespace wisp::runtime {
// The Runtime API clients the local runtime embeds (src/wisp/runtime/CMakeLists.txt).
std::span<const support::EmbeddedFile> bootstrap_files();
} // namespace wisp::runtime

namespace wisp::artifact {

namespace fs = std::filesystem;

namespace {

std::string metadata_string(const boost::json::object& metadata, std::string_view key) {
  if (const auto* v = metadata.if_contains(key); v != nullptr && v->is_string())
    return std::string(v->as_string());
  return {};
}

} // namespace

support::Result<ImageResult> build_function_image(const sam::Model& model,
                                                  const sam::Function& function,
                                                  const BuildReport& report, const fs::path& layout,
                                                  const FunctionImageOptions& options,
                                                  std::vector<std::string>& warnings) {
  const auto& id = function.logical_id;
  std::vector<LayerSource> layers;
  // Template layers at /opt, in the function's order.
  for (const auto& ref : function.layers) {
    if (ref.logical_id.empty()) {
      warnings.push_back(fmt::format("{}: layer {} is not part of the template and is not in "
                                     "the image",
                                     id, ref.literal));
      continue;
    }
    const auto* built = report.find(ref.logical_id);
    if (built == nullptr)
      return support::failf("{}: layer {} was not built", id, ref.logical_id);
    layers.push_back(LayerSource{built->staged_dir, "opt", "layer " + ref.logical_id});
  }
  // The code at /var/task.
  fs::path code;
  if (function.package_type == sam::PackageType::image) {
    const auto context = metadata_string(function.metadata, "DockerContext");
    code = context.empty() ? function.code_dir : model.base_dir / context;
    if (code.empty())
      return support::failf("{}: PackageType Image needs Metadata DockerContext (the directory "
                            "whose files go to /var/task)",
                            id);
    std::error_code ec;
    if (!fs::is_directory(code, ec))
      return support::failf("{}: DockerContext {} is not a directory", id, code.string());
  } else {
    const auto* built = report.find(id);
    if (built == nullptr)
      return support::failf("{}: the function was not built", id);
    code = built->staged_dir;
  }

  ImageConfig config;
  config.architecture = oci_architecture(
      function.architectures.empty() ? std::string("x86_64") : function.architectures.front());
  config.working_dir = "/var/task";
  config.env = {"LAMBDA_TASK_ROOT=/var/task", "LAMBDA_RUNTIME_DIR=/var/runtime"};
  config.entrypoint = function.image_config.entry_point;
  config.cmd = function.image_config.command;
  if (!function.image_config.working_directory.empty())
    config.working_dir = function.image_config.working_directory;
  if (config.cmd.empty() && !function.handler.empty())
    config.cmd = {function.handler};

  // Does the base bring an entrypoint (a Lambda base image)?
  bool base_entrypoint = false;
  if (!options.base.empty()) {
    std::string ref = options.base;
    if (ref.starts_with("oci:"))
      ref.erase(0, 4);
    std::string dir = ref;
    std::string tag;
    if (const auto colon = ref.rfind(':'); colon != std::string::npos &&
                                           ref.find('/', colon) == std::string::npos &&
                                           !fs::is_directory(ref)) {
      dir = ref.substr(0, colon);
      tag = ref.substr(colon + 1);
    }
    WISP_TRY_ASSIGN(auto base, read_layout_image(dir, tag));
    base_entrypoint = base.config_json.find("\"Entrypoint\":[\"") != std::string::npos;
  }

  std::optional<support::TempDir> runtime_dir;
  if (config.entrypoint.empty() && !base_entrypoint) {
    const auto& runtime = function.runtime;
    std::string bootstrap_file;
    std::string interpreter;
    if (runtime.starts_with("python")) {
      bootstrap_file = "bootstraps/bootstrap.py";
      interpreter = "python3";
    } else if (runtime.starts_with("nodejs")) {
      bootstrap_file = "bootstraps/bootstrap.cjs";
      interpreter = "node";
    }
    if (!bootstrap_file.empty()) {
      const auto data = support::find_embedded(runtime::bootstrap_files(), bootstrap_file);
      if (!data)
        return support::failf("{}: wisp's {} bootstrap is not embedded", id, interpreter);
      runtime_dir.emplace("wisp-image-runtime");
      const auto name = fs::path(bootstrap_file).filename().string();
      WISP_TRY(support::write_file_atomic(runtime_dir->path() / name, *data));
      // The handler comes as the first argument (the image's Cmd), as with Lambda's own
      // entry scripts.
      // node gets the flags Lambda's own bootstrap gives it (runtime::lambda_node_flags),
      // the heap limits computed when the image starts, from the memory Lambda sets.
      std::string node_setup;
      std::string node_args;
      if (interpreter == "node") {
        node_setup = "set --\n"
                     "if [ -n \"$AWS_LAMBDA_FUNCTION_MEMORY_SIZE\" ]; then\n"
                     "  new_space=$((AWS_LAMBDA_FUNCTION_MEMORY_SIZE / 10))\n"
                     "  set -- --max-semi-space-size=$((new_space / 2)) "
                     "--max-old-space-size=$((AWS_LAMBDA_FUNCTION_MEMORY_SIZE - new_space))\n"
                     "fi\n";
        node_args = "--expose-gc --max-http-header-size 81920 \"$@\" ";
      }
      WISP_TRY(support::write_file_atomic(
          runtime_dir->path() / "bootstrap",
          fmt::format("#!/bin/sh\n# wisp: Lambda Runtime API client entry point\n"
                      "if [ -n \"$1\" ]; then export _HANDLER=\"$1\"; fi\n"
                      "export LAMBDA_TASK_ROOT=\"${{LAMBDA_TASK_ROOT:-/var/task}}\"\n"
                      "{}exec {} {}/var/runtime/{}\n",
                      node_setup, interpreter, node_args, name),
          0755));
      layers.insert(layers.begin(),
                    LayerSource{runtime_dir->path(), "var/runtime", "wisp runtime bootstrap"});
      config.entrypoint = {"/var/runtime/bootstrap"};
      warnings.push_back(fmt::format(
          "{}: {} has no Lambda entrypoint; wisp's Runtime API client is added at "
          "/var/runtime (the image needs {} from its base)",
          id, options.base.empty() ? std::string("the image (no --base-image)") : options.base,
          interpreter));
    } else {
      // provided*: Lambda runs $LAMBDA_TASK_ROOT/bootstrap.
      config.entrypoint = {"/var/task/bootstrap"};
      std::error_code ec;
      if (!fs::exists(code / "bootstrap", ec))
        warnings.push_back(
            fmt::format("{}: no bootstrap in {} for the image's entrypoint", id, code.string()));
    }
  }
  layers.push_back(LayerSource{code, "var/task", "function " + id});

  ImageOptions image_options;
  image_options.base = options.base;
  image_options.tag = options.tag.empty() ? support::to_lower(id) : options.tag;
  image_options.timestamp = options.timestamp;
  image_options.annotations = {{"org.opencontainers.image.title", id}, {"dev.wisp.logical-id", id}};
  if (!function.runtime.empty())
    image_options.annotations["dev.wisp.runtime"] = function.runtime;
  return write_image(layout, layers, config, image_options);
}

} // namespace wisp::artifact
