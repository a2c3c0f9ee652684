#include <wisp/runtime/function.hpp>
#include <wisp/runtime/runtimes.hpp>
#include <wisp/support/fs.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace wisp::runtime {

namespace fs = std::filesystem;

namespace {

std::string string_property(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

support::Diagnostic at_offset(std::string_view text, std::size_t offset, const std::string& file,
                              std::string message) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < std::min(offset, text.size()); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return support::Diagnostic{
      file, line, column, support::Severity::error, "env-vars", std::move(message)};
}

// Where `key` first appears as a JSON string in `text` (for diagnostics about values).
std::size_t find_key(std::string_view text, std::string_view key) {
  const auto quoted = fmt::format("\"{}\"", key);
  const auto at = text.find(quoted);
  return at == std::string_view::npos ? 0 : at;
}

support::Result<std::map<std::string, std::string>> variables_of(const boost::json::object& object,
                                                                 std::string_view text,
                                                                 const std::string& file,
                                                                 std::string_view owner) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : object) {
    std::string name(key);
    if (value.is_string()) {
      out[name] = std::string(value.as_string());
    } else if (value.is_bool()) {
      out[name] = value.as_bool() ? "true" : "false";
    } else if (value.is_int64()) {
      out[name] = std::to_string(value.as_int64());
    } else if (value.is_uint64()) {
      out[name] = std::to_string(value.as_uint64());
    } else if (value.is_double()) {
      out[name] = fmt::format("{}", value.as_double());
    } else if (value.is_null()) {
      out[name] = "";
    } else {
      return support::fail(at_offset(
          text, find_key(text, name), file,
          fmt::format("{}: the value of {} must be a string, number or boolean", owner, name)));
    }
  }
  return out;
}

std::string inline_file_name(const sam::Function& function) {
  // Lambda writes ZipFile/InlineCode as index.<ext> for the handler's module "index".
  const auto runtime = parse_runtime(function.runtime);
  std::string module = "index";
  if (const auto dot = function.handler.rfind('.'); dot != std::string::npos)
    module = function.handler.substr(0, dot);
  if (runtime && runtime->family == RuntimeFamily::python)
    return module + ".py";
  if (runtime && runtime->family == RuntimeFamily::nodejs)
    return module + ".js";
  return "bootstrap";
}

} // namespace

support::Result<EnvVarsFile> parse_env_vars(std::string_view text, const std::string& file_name) {
  boost::json::parser parser;
  boost::system::error_code ec;
  const auto consumed = parser.write(text.data(), text.size(), ec);
  if (ec)
    return support::fail(
        at_offset(text, consumed, file_name, fmt::format("invalid JSON: {}", ec.message())));
  const auto root = parser.release();
  if (!root.is_object())
    return support::fail(
        at_offset(text, 0, file_name, "an --env-vars file is a JSON object of objects"));
  EnvVarsFile result;
  for (const auto& [key, value] : root.as_object()) {
    std::string name(key);
    if (!value.is_object())
      return support::fail(
          at_offset(text, find_key(text, name), file_name,
                    fmt::format("'{}' must be an object of environment variables", name)));
    WISP_TRY_ASSIGN(auto vars, variables_of(value.as_object(), text, file_name, name));
    if (name == "Parameters")
      result.parameters = std::move(vars);
    else
      result.functions[name] = std::move(vars);
  }
  return result;
}

support::Result<EnvVarsFile> load_env_vars(const fs::path& path) {
  WISP_TRY_ASSIGN(auto text, support::read_file(path, 16u * 1024 * 1024));
  return parse_env_vars(text, path.string());
}

support::Result<FunctionConfig> make_function_config(const sam::Model& model,
                                                     const sam::Function& function,
                                                     const EnvVarsFile* env_vars,
                                                     std::vector<std::string>& warnings) {
  const auto& id = function.logical_id;
  auto where = [&](std::string message) {
    return support::fail(support::Diagnostic{function.source.file, function.source.line,
                                             function.source.column, support::Severity::error,
                                             "local", std::move(message)});
  };
  if (function.package_type == sam::PackageType::image)
    return where(fmt::format("function {} has PackageType Image, which wisp does not run "
                             "locally (no Docker): use a Zip function",
                             id));
  FunctionConfig config;
  config.id = id;
  // A nested stack's function ("Child/Function") is named by its own logical id, as in SAM.
  config.name =
      !function.function_name.empty() ? function.function_name : id.substr(id.rfind('/') + 1);
  config.runtime = function.runtime;
  config.handler = function.handler;
  config.memory_size = function.memory_size;
  config.timeout = function.timeout;
  config.reserved_concurrency = function.reserved_concurrency;
  config.log_group = function.log_group;
  config.log_format = function.log_format;
  // LoggingConfig's levels and TenancyConfig, from the resolved properties (Globals merged).
  if (const auto* resource = model.find_resource(function.logical_id)) {
    const auto& properties = resource->properties;
    if (const auto* logging = properties.if_contains("LoggingConfig");
        logging != nullptr && logging->is_object()) {
      config.application_log_level = string_property(logging->as_object(), "ApplicationLogLevel");
      config.system_log_level = string_property(logging->as_object(), "SystemLogLevel");
    }
    if (const auto* tenancy = properties.if_contains("TenancyConfig");
        tenancy != nullptr && tenancy->is_object())
      config.multi_tenant = !string_property(tenancy->as_object(), "TenantIsolationMode").empty();
  }
  config.ephemeral_storage = function.ephemeral_storage;
  config.recursive_loop_allowed = function.recursive_loop_allowed;
  if (!function.architectures.empty())
    config.architecture = function.architectures.front();
  if (function.runtime.empty())
    return where(fmt::format("function {} has no Runtime", id));

  if (function.inline_code) {
    const auto dir = model.base_dir / ".wisp" / "inline" / id;
    const auto file = dir / inline_file_name(function);
    const bool executable = file.filename() == "bootstrap";
    WISP_TRY(support::write_file_atomic(file, *function.inline_code, executable ? 0755 : 0644));
    config.code_dir = dir;
  } else if (!function.code_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(function.code_dir, ec))
      return where(fmt::format("function {}: CodeUri {} is not a directory", id,
                               function.code_dir.string()));
    config.code_dir = function.code_dir;
  } else if (!function.code_s3_uri.empty()) {
    return where(fmt::format("function {}: CodeUri {} is in S3; wisp runs local code only", id,
                             function.code_s3_uri));
  } else {
    config.code_dir = model.base_dir;
  }

  for (const auto& layer : function.layers) {
    if (!layer.logical_id.empty()) {
      const auto* found = model.find_layer(layer.logical_id);
      if (found != nullptr && !found->content_dir.empty()) {
        config.layer_dirs.push_back(found->content_dir);
        continue;
      }
      warnings.push_back(
          fmt::format("function {}: layer {} has no local content; skipped", id, layer.logical_id));
      continue;
    }
    warnings.push_back(fmt::format(
        "function {}: layer {} is not available locally (wisp does not download layers); "
        "skipped",
        id, layer.literal));
  }

  const std::map<std::string, std::string>* own = nullptr;
  if (env_vars != nullptr) {
    if (auto it = env_vars->functions.find(id); it != env_vars->functions.end())
      own = &it->second;
    else if (auto named = env_vars->functions.find(config.name); named != env_vars->functions.end())
      own = &named->second;
  }
  for (const auto& [key, value] : function.environment)
    config.environment.emplace_back(key, value);
  for (const auto& key : function.unresolved_environment) {
    const bool overridden = (own != nullptr && own->count(key) != 0) ||
                            (env_vars != nullptr && env_vars->parameters.count(key) != 0);
    if (!overridden)
      warnings.push_back(fmt::format(
          "function {}: environment variable {} cannot be resolved locally; it is set to an "
          "empty string (give it a value with --env-vars)",
          id, key));
  }
  if (env_vars != nullptr) {
    for (const auto& [key, value] : env_vars->parameters)
      config.env_overrides.emplace_back(key, value);
    if (own != nullptr)
      for (const auto& [key, value] : *own)
        config.env_overrides.emplace_back(key, value);
  }
  return config;
}

} // namespace wisp::runtime
