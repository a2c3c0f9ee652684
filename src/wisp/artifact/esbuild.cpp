#include <wisp/artifact/esbuild.hpp>

#include <wisp/support/strings.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace wisp::artifact::detail {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// The flag name esbuild takes for a normalised key: "main_fields" → "main-fields".
std::string kebab(std::string_view key) {
  std::string out(key);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

// Python's str() of a list item, for the ones esbuild could mean.
std::string item_text(const json::value& item) {
  if (item.is_string())
    return std::string(item.as_string());
  if (item.is_bool())
    return item.as_bool() ? "True" : "False";
  return json::serialize(item);
}

// pathlib's suffix: ".ts" of "src/app.ts"; nothing for "app", ".hidden" or "app.".
std::string suffix_of(std::string_view path) {
  const auto slash = path.rfind('/');
  const auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size())
    return {};
  return std::string(name.substr(dot));
}

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool node_option_set(const std::map<std::string, std::string>& environment) {
  const auto it = environment.find("NODE_OPTIONS");
  if (it == environment.end())
    return false;
  for (const auto& word : support::split(it->second, ' '))
    if (support::trim(word) == "--enable-source-maps")
      return true;
  return false;
}

} // namespace

std::string snake_case(std::string_view key) {
  // (?<!^)(?=[A-Z]) → "_", then lower-cased.
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (i > 0 && c >= 'A' && c <= 'Z')
      out += '_';
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

bool truthy(const json::value& value) {
  switch (value.kind()) {
  case json::kind::null:
    return false;
  case json::kind::bool_:
    return value.as_bool();
  case json::kind::int64:
    return value.as_int64() != 0;
  case json::kind::uint64:
    return value.as_uint64() != 0;
  case json::kind::double_:
    return value.as_double() != 0.0;
  case json::kind::string:
    return !value.as_string().empty();
  case json::kind::array:
    return !value.as_array().empty();
  case json::kind::object:
    return !value.as_object().empty();
  }
  return false;
}

json::object esbuild_options(const json::object& metadata, const std::string& handler,
                             const std::map<std::string, std::string>& environment) {
  json::object properties;
  if (const auto* found = metadata.if_contains("BuildProperties");
      found != nullptr && found->is_object())
    properties = found->as_object();
  // set_sourcemap_metadata_from_env: NODE_OPTIONS asks for source maps, Sourcemap is unset.
  if (properties.if_contains("Sourcemap") == nullptr && node_option_set(environment))
    properties["Sourcemap"] = true;
  json::object options;
  for (const auto& [key, value] : properties)
    options[snake_case(key)] = value;
  const auto* entry_points = properties.if_contains("EntryPoints");
  if (!handler.empty() && (entry_points == nullptr || !truthy(*entry_points)))
    options["entry_points"] = json::array{json::string(handler.substr(0, handler.find('.')))};
  return options;
}

std::optional<std::pair<std::string, std::string>>
sourcemap_environment(const json::object& options,
                      const std::map<std::string, std::string>& environment) {
  const auto* sourcemap = options.if_contains("sourcemap");
  if (sourcemap == nullptr || !truthy(*sourcemap) || node_option_set(environment))
    return std::nullopt;
  // SAM joins the existing value (empty when unset) and the flag with a space.
  const auto it = environment.find("NODE_OPTIONS");
  const std::string existing = it == environment.end() ? std::string() : it->second;
  return std::pair<std::string, std::string>{"NODE_OPTIONS", existing + " --enable-source-maps"};
}

bool externalizes_dependencies(const json::object& options) {
  const auto* external = options.if_contains("external");
  if (external == nullptr || !external->is_array())
    return false;
  for (const auto& item : external->as_array())
    if (item.is_string() && item.as_string() == "./node_modules/*")
      return true;
  return false;
}

support::Result<std::vector<std::string>> esbuild_arguments(const json::object& options,
                                                            const fs::path& work,
                                                            const fs::path& outdir,
                                                            const std::vector<std::string>& deps) {
  std::vector<std::string> args;
  const bool external_deps = externalizes_dependencies(options);
  if (external_deps)
    for (const auto& dependency : deps)
      args.push_back("--external:" + dependency);

  // Entry points.
  const auto* entry_points = options.if_contains("entry_points");
  if (entry_points == nullptr)
    return support::fail("esbuild needs EntryPoints in Metadata BuildProperties (or a Handler)");
  if (!entry_points->is_array())
    return support::failf("Metadata BuildProperties EntryPoints must be a list, not {}",
                          json::serialize(*entry_points));
  if (entry_points->as_array().empty())
    return support::fail("Metadata BuildProperties EntryPoints must not be empty");
  for (const auto& item : entry_points->as_array()) {
    if (!item.is_string())
      return support::failf("Metadata BuildProperties EntryPoints: {} is not a path",
                            json::serialize(item));
    const std::string entry(item.as_string());
    const auto path = work / entry;
    if (!suffix_of(entry).empty()) {
      if (!is_file(path))
        return support::failf("entry point {} does not exist", entry);
      args.push_back(entry);
      continue;
    }
    bool found = false;
    for (const auto* ext : {".ts", ".js"}) {
      if (is_file(work / (entry + ext))) {
        args.push_back(entry + ext);
        found = true;
        break;
      }
    }
    if (!found)
      return support::failf("entry point {} does not exist (tried {}.ts and {}.js)", entry, entry,
                            entry);
  }

  // Defaults.
  args.emplace_back("--bundle");
  args.emplace_back("--platform=node");
  args.push_back("--outdir=" + outdir.string());
  if (options.if_contains("target") == nullptr)
    args.emplace_back("--target=es2020");
  if (options.if_contains("format") == nullptr)
    args.emplace_back("--format=cjs");
  if (options.if_contains("minify") == nullptr)
    args.emplace_back("--minify");

  // The rest, generically.
  static const std::set<std::string, std::less<>> k_fixed = {"bundle", "platform", "outdir"};
  static const std::set<std::string, std::less<>> k_builder = {"use_npm_ci", "entry_points"};
  for (const auto& [key, value] : options) {
    if (k_fixed.contains(key) || k_builder.contains(key))
      continue;
    if (external_deps && key == "external")
      continue; // every dependency is already external
    const auto flag = kebab(key);
    if (value.is_bool()) {
      if (value.as_bool())
        args.push_back("--" + flag);
    } else if (value.is_string()) {
      args.push_back(fmt::format("--{}={}", flag, std::string_view(value.as_string())));
    } else if (value.is_array()) {
      for (const auto& item : value.as_array())
        args.push_back(fmt::format("--{}:{}", flag, item_text(item)));
    } else {
      return support::failf("Metadata BuildProperties: esbuild's '{}' takes a string, a boolean "
                            "or a list, not {}",
                            flag, json::serialize(value));
    }
  }
  return args;
}

std::string bundled_handler(const std::string& handler, const fs::path& staged) {
  if (handler.empty())
    return handler;
  const fs::path path(handler);
  const auto file = ((path.parent_path() / path.stem()).generic_string()) + ".js";
  if (file.starts_with("/opt"))
    return handler;
  if (is_file(staged / fs::path(file).relative_path()))
    return handler;
  return path.filename().string();
}

std::vector<std::string> esbuild_errors(std::string_view output) {
  std::vector<std::string> errors;
  const auto lines = support::split(output, '\n');
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto at = lines[i].find("[ERROR] ");
    if (at == std::string::npos)
      continue;
    const auto message = lines[i].substr(at + 8);
    std::string location;
    // The location follows after a blank line: "    app.ts:1:15:".
    for (std::size_t j = i + 1; j < lines.size() && j <= i + 2; ++j) {
      const auto text = std::string(support::trim(lines[j]));
      if (text.empty())
        continue;
      if (text.back() == ':' && text.find(' ') == std::string::npos &&
          std::count(text.begin(), text.end(), ':') >= 3)
        location = text.substr(0, text.size() - 1);
      break;
    }
    errors.push_back(location.empty() ? message : location + ": " + message);
  }
  return errors;
}

bool version_at_least(std::string_view version, std::string_view minimum) {
  const auto parse = [](std::string_view text) {
    std::vector<long> parts;
    for (const auto& part : support::split(support::trim(text), '.')) {
      long value = 0;
      for (const char c : part) {
        if (c < '0' || c > '9')
          break;
        value = value * 10 + (c - '0');
      }
      parts.push_back(value);
    }
    return parts;
  };
  return parse(version) >= parse(minimum);
}

} // namespace wisp::artifact::detail
