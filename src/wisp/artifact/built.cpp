#include <wisp/artifact/built.hpp>

#include <wisp/artifact/build.hpp>
#include <wisp/artifact/digest.hpp>
#include <wisp/artifact/plan.hpp>
#include <wisp/artifact/zip.hpp>
#include <wisp/runtime/runtimes.hpp>
#include <wisp/support/fs.hpp>

#include <fmt/format.h>

#include <map>
#include <set>

namespace wisp::artifact {

namespace fs = std::filesystem;

namespace {

std::string list_names(const std::vector<std::string>& names) {
  if (names.size() == 1)
    return names.front();
  if (names.size() <= 3) {
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i)
      text += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
    return text;
  }
  return fmt::format("{}, {} and {} more files", names[0], names[1], names.size() - 2);
}

class Checker {
public:
  explicit Checker(fs::path build_dir) : m_build_dir(std::move(build_dir)) {}

  // nullopt: the build is current; else what changed, for the warning.
  std::optional<std::string> stale(const detail::PlanResult& plan, const detail::Record& record) {
    if (!plan) {
      if (const auto* f = std::get_if<BuildFailure>(&plan.error()))
        return fmt::format("it cannot be built as it is now ({})", f->message);
      return std::string("it is no longer built");
    }
    const auto* scan = this->scan(*plan);
    if (scan == nullptr)
      return std::string("its sources cannot be read");
    if (detail::content_key(*plan, *scan) == record.key)
      return std::nullopt;
    if (detail::scan_files_key(*scan) == record.files_key)
      return std::string("its template properties (Runtime, Handler, Metadata or Architectures)");
    // Name the files when the stat cache still describes that build's sources.
    if (auto previous = detail::load_previous_scan(*plan, m_build_dir);
        previous && detail::scan_files_key(*previous) == record.files_key) {
      auto names = detail::changed_files(*scan, *previous);
      if (!names.empty())
        return list_names(names);
    }
    return std::string("its source files");
  }

private:
  const detail::SourceScan* scan(const detail::Plan& plan) {
    std::string identity = plan.source.string();
    for (const auto& skip : plan.skip_top_level)
      identity += "\n" + skip;
    auto it = m_scans.find(identity);
    if (it == m_scans.end()) {
      auto scanned = detail::scan_sources(plan, m_build_dir, false);
      it = m_scans.emplace(identity, scanned ? std::optional(std::move(*scanned)) : std::nullopt)
               .first;
    }
    return it->second ? &*it->second : nullptr;
  }

  fs::path m_build_dir;
  std::map<std::string, std::optional<detail::SourceScan>> m_scans;
};

std::string stale_warning(std::string_view kind, const std::string& id, const std::string& what) {
  return fmt::format("{} {} runs its last build, but {} changed since: run `wisp build` to "
                     "refresh it",
                     kind, id, what);
}

} // namespace

support::Result<fs::path> extracted_code(const fs::path& file, const fs::path& cache_dir) {
  WISP_TRY_ASSIGN(auto digest, digest_file(file));
  const auto root = cache_dir / "code";
  // The same rule as the build: a zip or jar by name or by its first bytes; any other file
  // is the whole artifact (keyed by its name too: it is the file's name in the artifact).
  const bool zip = detail::is_zip_file(file);
  const auto target = root / (zip ? digest.hex : digest.hex + "-" + file.filename().string());
  std::error_code ec;
  if (fs::is_directory(target, ec))
    return target;
  fs::create_directories(root, ec);
  if (ec)
    return support::failf("cannot create {}: {}", root.string(), ec.message());
  const auto temp =
      root / fmt::format(".tmp-{}-{}", digest.hex.substr(0, 16), support::random_suffix());
  support::RemoveOnExit cleanup{temp};
  if (!zip) {
    fs::create_directories(temp, ec);
    fs::copy_file(file, temp / file.filename(), ec);
    if (ec)
      return support::failf("cannot copy {}: {}", file.string(), ec.message());
  } else {
    WISP_TRY(extract_zip(file, temp));
  }
  fs::rename(temp, target, ec);
  if (ec) {
    if (fs::is_directory(target)) // another run extracted it first
      return target;
    return support::failf("cannot move {} into place: {}", temp.string(), ec.message());
  }
  return target;
}

support::Result<LocalCodeReport> use_local_builds(sam::Model& model,
                                                  const LocalCodeOptions& options) {
  LocalCodeReport report;
  const auto build_dir = resolve_build_dir(model, options.build_dir);
  report.build_dir = build_dir;
  const auto cache_dir =
      options.cache_dir.empty() ? runtime::default_cache_dir() : options.cache_dir;
  Checker checker(build_dir);
  std::set<std::string> layers;
  std::error_code ec;

  // The functions named, as the commands find them (a nested function by its own id too).
  std::set<std::string> named;
  for (const auto& name : options.only)
    if (const auto* function = model.find_function(name))
      named.insert(function->logical_id);
  for (auto& function : model.functions) {
    if (!options.only.empty() && !named.contains(function.logical_id))
      continue;
    for (const auto& ref : function.layers)
      if (!ref.logical_id.empty())
        layers.insert(ref.logical_id);
    if (function.package_type != sam::PackageType::zip || function.inline_code ||
        function.code_dir.empty())
      continue;
    const auto& id = function.logical_id;
    const auto from_archive = [&]() -> support::Status {
      if (!fs::is_regular_file(function.code_dir, ec))
        return {};
      auto dir = extracted_code(function.code_dir, cache_dir);
      if (!dir)
        return support::failf("function {}: CodeUri {} cannot be used: {}", id,
                              function.code_dir.string(), dir.error().message);
      function.code_dir = *dir;
      report.from_archive.push_back(id);
      return {};
    };
    const auto record = detail::load_record(detail::record_path(build_dir, id));
    if (!record || record->kind != "function") {
      if (const auto* method = function.metadata.if_contains("BuildMethod");
          method != nullptr && method->is_string() && method->as_string() == "esbuild")
        report.warnings.push_back(fmt::format(
            "function {} is built with esbuild and has no build in {}: run `wisp build` first "
            "(its sources run as they are)",
            id, build_dir.string()));
      WISP_TRY(from_archive());
      continue;
    }
    if (record->staged.empty())
      continue; // staged in place: the sources are what runs
    const auto staged = build_dir / record->staged;
    if (!fs::is_directory(staged, ec)) {
      report.warnings.push_back(fmt::format(
          "function {}: its build ({}) is missing; running its sources (run `wisp build`)", id,
          staged.string()));
      WISP_TRY(from_archive());
      continue;
    }
    const auto plan = detail::plan_function(function);
    if (auto what = checker.stale(plan, *record))
      report.warnings.push_back(stale_warning("function", id, *what));
    report.built_sources[id] = function.code_dir;
    function.code_dir = staged;
    if (!record->handler.empty())
      function.handler = record->handler;
    // What the build adds to the environment follows the template as it is now (NODE_OPTIONS
    // may have changed without changing the build).
    for (const auto& [key, value] : plan ? plan->environment : record->environment)
      function.environment[key] = value;
    report.from_build.push_back(id);
  }

  for (auto& layer : model.layers) {
    if (!layers.contains(layer.logical_id) || layer.content_dir.empty())
      continue;
    const auto record = detail::load_record(detail::record_path(build_dir, layer.logical_id));
    if (!record || record->kind != "layer") {
      if (fs::is_regular_file(layer.content_dir, ec)) {
        auto dir = extracted_code(layer.content_dir, cache_dir);
        if (!dir)
          return support::failf("layer {}: ContentUri {} cannot be used: {}", layer.logical_id,
                                layer.content_dir.string(), dir.error().message);
        layer.content_dir = *dir;
      }
      continue;
    }
    if (record->staged.empty())
      continue;
    const auto staged = build_dir / record->staged;
    if (!fs::is_directory(staged, ec)) {
      report.warnings.push_back(
          fmt::format("layer {}: its build ({}) is missing; using its sources (run `wisp build`)",
                      layer.logical_id, staged.string()));
      continue;
    }
    if (auto what = checker.stale(detail::plan_layer(layer), *record))
      report.warnings.push_back(stale_warning("layer", layer.logical_id, *what));
    layer.content_dir = staged;
    report.from_build.push_back(layer.logical_id);
  }
  return report;
}

} // namespace wisp::artifact
