#include <wisp/scaffold/catalogue.hpp>

#include <wisp/scaffold/runtimes.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cstdlib>

namespace wisp::scaffold {

namespace {

const std::array<std::string, 2>& app_templates() {
  static const std::array<std::string, 2> names = {"hello-world", "hello-world-esm"};
  return names;
}

using support::Diagnostic;
using support::Severity;

tl::unexpected<support::Error> manifest_error(const std::string& file,
                                              const toml::source_region& at, std::string message) {
  return support::fail(Diagnostic{file, static_cast<int>(at.begin.line),
                                  static_cast<int>(at.begin.column), Severity::error, "manifest",
                                  std::move(message)});
}

support::Result<std::string> string_field(const toml::table& table, std::string_view key,
                                          const std::string& file, bool required) {
  const auto* node = table.get(key);
  if (node == nullptr) {
    if (!required)
      return std::string();
    return support::fail(
        Diagnostic{file, 1, 1, Severity::error, "manifest", fmt::format("missing '{}'", key)});
  }
  const auto* value = node->as_string();
  if (value == nullptr)
    return manifest_error(file, node->source(), fmt::format("'{}' must be a string", key));
  return value->get();
}

support::Result<std::vector<std::string>> list_field(const toml::table& table, std::string_view key,
                                                     const std::string& file) {
  std::vector<std::string> out;
  const auto* node = table.get(key);
  if (node == nullptr)
    return out;
  const auto* array = node->as_array();
  if (array == nullptr)
    return manifest_error(file, node->source(), fmt::format("'{}' must be a list of strings", key));
  for (const auto& item : *array) {
    const auto* value = item.as_string();
    if (value == nullptr)
      return manifest_error(file, item.source(),
                            fmt::format("'{}' must be a list of strings", key));
    out.push_back(value->get());
  }
  return out;
}

support::Result<Scaffold> load_manifest(const fs::path& directory) {
  const auto manifest = directory / "manifest.toml";
  const auto file = manifest.string();
  WISP_TRY_ASSIGN(const auto text, support::read_file(manifest, std::uintmax_t{1024} * 1024));
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(file));
  } catch (const toml::parse_error& e) {
    return manifest_error(file, e.source(), std::string(e.description()));
  }
  for (auto&& [key, node] : root) {
    static constexpr std::array k_known = {"app_template", "summary", "runtimes", "test_command",
                                           "executables"};
    if (std::find(k_known.begin(), k_known.end(), key.str()) == k_known.end())
      return manifest_error(file, key.source(), fmt::format("unknown key '{}'", key.str()));
  }
  Scaffold scaffold;
  scaffold.id = directory.filename().string();
  scaffold.directory = directory;
  WISP_TRY_ASSIGN(scaffold.app_template, string_field(root, "app_template", file, true));
  WISP_TRY_ASSIGN(scaffold.summary, string_field(root, "summary", file, true));
  WISP_TRY_ASSIGN(scaffold.test_command, string_field(root, "test_command", file, true));
  WISP_TRY_ASSIGN(scaffold.runtimes, list_field(root, "runtimes", file));
  WISP_TRY_ASSIGN(scaffold.executables, list_field(root, "executables", file));
  if (std::find(app_templates().begin(), app_templates().end(), scaffold.app_template) ==
      app_templates().end())
    return manifest_error(file, root.get("app_template")->source(),
                          fmt::format("unknown app template '{}' (wisp knows {})",
                                      scaffold.app_template, support::join(app_templates(), ", ")));
  if (scaffold.runtimes.empty())
    return support::fail(Diagnostic{file, 1, 1, Severity::error, "manifest",
                                    "'runtimes' must list at least one runtime"});
  const auto served = served_runtimes();
  for (const auto& runtime : scaffold.runtimes)
    if (std::find(served.begin(), served.end(), runtime) == served.end())
      return manifest_error(file, root.get("runtimes")->source(),
                            fmt::format("runtime '{}' is not one wisp serves", runtime));
  std::error_code ec;
  if (!fs::is_directory(directory / "files", ec))
    return support::failf("scaffold {} has no files/ directory", directory.string());
  for (const auto& executable : scaffold.executables)
    if (!fs::is_regular_file(directory / "files" / executable, ec))
      return manifest_error(file, root.get("executables")->source(),
                            fmt::format("executable '{}' is not a file under files/", executable));
  return scaffold;
}

} // namespace

std::span<const std::string> app_template_names() {
  return app_templates();
}

support::Result<Catalogue> Catalogue::load(const fs::path& templates_dir) {
  Catalogue catalogue;
  catalogue.m_directory = templates_dir;
  std::error_code ec;
  std::vector<fs::path> folders;
  for (fs::directory_iterator it(templates_dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec) && fs::exists(it->path() / "manifest.toml", ec))
      folders.push_back(it->path());
  if (ec)
    return support::failf("cannot read scaffolds in {}: {}", templates_dir.string(), ec.message());
  std::sort(folders.begin(), folders.end());
  for (const auto& folder : folders) {
    WISP_TRY_ASSIGN(auto scaffold, load_manifest(folder));
    for (const auto& other : catalogue.m_scaffolds)
      for (const auto& runtime : scaffold.runtimes)
        if (other.app_template == scaffold.app_template &&
            std::find(other.runtimes.begin(), other.runtimes.end(), runtime) !=
                other.runtimes.end())
          return support::failf("scaffolds {} and {} both serve {} {}", other.id, scaffold.id,
                                scaffold.app_template, runtime);
    catalogue.m_scaffolds.push_back(std::move(scaffold));
  }
  if (catalogue.m_scaffolds.empty())
    return support::failf("no scaffolds in {} (each is a folder with a manifest.toml)",
                          templates_dir.string());
  return catalogue;
}

std::vector<std::string> Catalogue::app_templates_for(std::string_view runtime) const {
  std::vector<std::string> out;
  for (const auto& name : app_templates())
    if (find(runtime, name) != nullptr)
      out.push_back(name);
  return out;
}

const Scaffold* Catalogue::find(std::string_view runtime, std::string_view app_template) const {
  for (const auto& scaffold : m_scaffolds)
    if (scaffold.app_template == app_template &&
        std::find(scaffold.runtimes.begin(), scaffold.runtimes.end(), runtime) !=
            scaffold.runtimes.end())
      return &scaffold;
  return nullptr;
}

std::vector<fs::path> templates_dir_candidates() {
  if (const char* env = std::getenv("WISP_TEMPLATES_DIR"); env != nullptr && *env != '\0')
    return {fs::path(env)};
  std::vector<fs::path> out;
  const auto exe_dir = support::executable_dir();
  out.push_back((exe_dir.parent_path() / "share" / "wisp" / "templates").lexically_normal());
#if defined(WISP_BUILD_TREE_DIR) && defined(WISP_SOURCE_TEMPLATES_DIR)
  if (support::is_within(exe_dir, WISP_BUILD_TREE_DIR))
    out.emplace_back(WISP_SOURCE_TEMPLATES_DIR);
#endif
  return out;
}

support::Result<fs::path> find_templates_dir() {
  const auto candidates = templates_dir_candidates();
  std::vector<std::string> tried;
  for (const auto& candidate : candidates) {
    std::error_code ec;
    if (fs::is_directory(candidate, ec))
      return candidate;
    tried.push_back(candidate.string());
  }
  return support::failf("wisp's scaffolds were not found (looked in {}); reinstall wisp or set "
                        "WISP_TEMPLATES_DIR to a templates directory",
                        support::join(tried, ", "));
}

} // namespace wisp::scaffold
