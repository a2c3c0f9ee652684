// A function's INIT by module, and its package size (coldstart.hpp).

#include <wisp/console/coldstart.hpp>

#include <wisp/console/child.hpp>
#include <wisp/runtime/runtimes.hpp>
#include <wisp/support/embedded.hpp>
#include <wisp/support/fs.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <span>

namespace wisp::console {

std::span<const support::EmbeddedFile> profile_files(); // generated (cmake/embed.cmake)

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::size_t k_top_modules = 25;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

std::optional<double> to_number(std::string_view text) {
  text = trim(text);
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size())
    return std::nullopt;
  return value;
}

// node_modules/<name> or node_modules/@scope/<name> → the package; "" otherwise.
std::string node_package(std::string_view path) {
  const auto pos = path.rfind("/node_modules/");
  if (pos == std::string_view::npos)
    return {};
  auto rest = path.substr(pos + 14);
  auto slash = rest.find('/');
  if (!rest.empty() && rest.front() == '@' && slash != std::string_view::npos)
    slash = rest.find('/', slash + 1);
  return std::string(rest.substr(0, slash));
}

std::vector<ModuleTime> by_package(const std::vector<ModuleTime>& modules,
                                   std::string_view own_label) {
  std::map<std::string, double> sums;
  for (const auto& m : modules)
    sums[m.package.empty() ? std::string(own_label) : m.package] += m.self_ms;
  std::vector<ModuleTime> out;
  for (auto& [name, ms] : sums) {
    ModuleTime p;
    p.name = name;
    p.package = name;
    p.self_ms = ms;
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(),
            [](const ModuleTime& a, const ModuleTime& b) { return a.self_ms > b.self_ms; });
  return out;
}

void sort_and_trim(std::vector<ModuleTime>& modules) {
  std::stable_sort(modules.begin(), modules.end(),
                   [](const ModuleTime& a, const ModuleTime& b) { return a.self_ms > b.self_ms; });
  if (modules.size() > k_top_modules)
    modules.resize(k_top_modules);
}

// The environment a worker gets for its INIT (docs/local-execution.md), without a Runtime API.
std::vector<std::pair<std::string, std::string>>
child_environment(const runtime::FunctionConfig& function, const std::string& region,
                  const runtime::Launch& launch) {
  std::vector<std::pair<std::string, std::string>> env;
  for (const char* name :
       {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "TERM"})
    if (const char* value = std::getenv(name))
      env.emplace_back(name, value);
  env.emplace_back("TZ", ":UTC");
  if (launch.runtime.family == runtime::RuntimeFamily::nodejs) {
    std::string node_path;
    for (const auto& layer : function.layer_dirs) {
      node_path += (layer / "nodejs" / fmt::format("node{}", launch.runtime.major) / "node_modules")
                       .string() +
                   ":";
      node_path += (layer / "nodejs" / "node_modules").string() + ":";
    }
    node_path += function.code_dir.string();
    env.emplace_back("NODE_PATH", node_path);
  }
  for (const auto& [key, value] : function.environment)
    env.emplace_back(key, value);
  const auto credential = [](const char* name, const char* fallback) {
    const char* value = std::getenv(name);
    return std::string(value != nullptr && *value != '\0' ? value : fallback);
  };
  env.emplace_back("AWS_ACCESS_KEY_ID", credential("AWS_ACCESS_KEY_ID", "defaultkey"));
  env.emplace_back("AWS_SECRET_ACCESS_KEY", credential("AWS_SECRET_ACCESS_KEY", "defaultsecret"));
  if (const char* token = std::getenv("AWS_SESSION_TOKEN"))
    env.emplace_back("AWS_SESSION_TOKEN", token);
  env.emplace_back("_HANDLER", function.handler);
  if (!launch.execution_env.empty())
    env.emplace_back("AWS_EXECUTION_ENV", launch.execution_env);
  env.emplace_back("LAMBDA_TASK_ROOT", function.code_dir.string());
  env.emplace_back("LAMBDA_RUNTIME_DIR", launch.runtime_dir.string());
  env.emplace_back("AWS_REGION", region);
  env.emplace_back("AWS_DEFAULT_REGION", region);
  env.emplace_back("AWS_LAMBDA_FUNCTION_NAME", function.name);
  env.emplace_back("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(function.memory_size));
  env.emplace_back("AWS_LAMBDA_FUNCTION_VERSION", function.version);
  env.emplace_back("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
  env.emplace_back("AWS_SAM_LOCAL", "true");
  for (const auto& [key, value] : function.env_overrides)
    env.emplace_back(key, value);
  // Later entries win: keep the last of each name.
  std::map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < env.size(); ++i)
    last[env[i].first] = i;
  std::vector<std::pair<std::string, std::string>> unique;
  for (std::size_t i = 0; i < env.size(); ++i)
    if (last[env[i].first] == i)
      unique.push_back(env[i]);
  return unique;
}

support::Result<fs::path> script(const fs::path& cache_dir, std::string_view name) {
  const auto data = support::find_embedded(profile_files(), "profile/" + std::string(name));
  if (!data)
    return support::failf("internal error: {} is not embedded", name);
  const auto dir = cache_dir / "profile";
  const auto path = dir / name;
  if (auto existing = support::read_file(path); existing && *existing == *data)
    return path;
  std::error_code ec;
  fs::create_directories(dir, ec);
  WISP_TRY(support::write_file_atomic(path, *data));
  return path;
}

struct LoadResult {
  std::set<std::string> stdlib; // python: sys.stdlib_module_names
  double start_us = 0;          // node: the load's start and end on the profile's clock
  double end_us = 0;
};

LoadResult read_load_result(const detail::ChildResult& child, ColdStartProfile& profile) {
  LoadResult result;
  // The last line of stdout is the script's {"loadMs":..,"error":..}.
  auto out = trim(child.out);
  const auto newline = out.rfind('\n');
  const auto line = newline == std::string_view::npos ? out : out.substr(newline + 1);
  boost::system::error_code ec;
  const auto value = json::parse(line, ec);
  if (!ec && value.is_object()) {
    const auto& o = value.get_object();
    if (const auto* ms = o.if_contains("loadMs"); ms != nullptr && ms->is_number())
      profile.load_ms = ms->to_number<double>();
    if (const auto* error = o.if_contains("error"); error != nullptr && error->is_string())
      profile.error = std::string(error->get_string());
    if (const auto* names = o.if_contains("stdlib"); names != nullptr && names->is_array())
      for (const auto& name : names->get_array())
        if (name.is_string())
          result.stdlib.emplace(name.get_string());
    if (const auto* start = o.if_contains("startUs"); start != nullptr && start->is_number())
      result.start_us = start->to_number<double>();
    if (const auto* end = o.if_contains("endUs"); end != nullptr && end->is_number())
      result.end_us = end->to_number<double>();
  } else if (child.timed_out) {
    profile.error = "the module did not finish loading within the time limit";
  } else {
    profile.error = fmt::format("the profiler exited with status {}", child.exit_code);
  }
  return result;
}

} // namespace

std::vector<ModuleTime> parse_importtime(std::string_view text) {
  std::vector<ModuleTime> out;
  const auto marker = text.find("wisp-coldstart-marker\n");
  if (marker != std::string_view::npos)
    text.remove_prefix(marker + 22);
  if (const auto end = text.find("wisp-coldstart-end\n"); end != std::string_view::npos)
    text = text.substr(0, end);
  while (!text.empty()) {
    const auto end = text.find('\n');
    auto line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    constexpr std::string_view k_prefix = "import time:";
    if (!line.starts_with(k_prefix))
      continue;
    line.remove_prefix(k_prefix.size());
    const auto bar1 = line.find('|');
    const auto bar2 = line.find('|', bar1 + 1);
    if (bar1 == std::string_view::npos || bar2 == std::string_view::npos)
      continue;
    const auto self_us = to_number(line.substr(0, bar1));
    const auto cumulative_us = to_number(line.substr(bar1 + 1, bar2 - bar1 - 1));
    if (!self_us || !cumulative_us)
      continue; // the header line
    auto name = line.substr(bar2 + 1);
    if (!name.empty() && name.front() == ' ')
      name.remove_prefix(1);
    std::size_t indent = 0;
    while (indent < name.size() && name[indent] == ' ')
      ++indent;
    ModuleTime m;
    m.name = std::string(trim(name));
    m.package = m.name.substr(0, m.name.find('.'));
    m.self_ms = *self_us / 1000.0;
    m.cumulative_ms = *cumulative_us / 1000.0;
    m.depth = static_cast<int>(indent / 2);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<ModuleTime> parse_cpu_profile(std::string_view text, const fs::path& code_dir,
                                          double start_us, double end_us) {
  boost::system::error_code ec;
  const auto value = json::parse(text, ec);
  if (ec || !value.is_object())
    return {};
  const auto& root = value.get_object();
  const auto* nodes = root.if_contains("nodes");
  const auto* samples = root.if_contains("samples");
  const auto* deltas = root.if_contains("timeDeltas");
  if (nodes == nullptr || samples == nullptr || deltas == nullptr || !nodes->is_array() ||
      !samples->is_array() || !deltas->is_array())
    return {};
  // Node id → the label its time goes to.
  std::map<std::int64_t, std::string> label_of;
  std::map<std::string, std::string> package_of;
  const auto code = code_dir.string() + "/";
  for (const auto& node : nodes->get_array()) {
    if (!node.is_object())
      continue;
    const auto& n = node.get_object();
    const auto* id = n.if_contains("id");
    const auto* frame = n.if_contains("callFrame");
    if (id == nullptr || !id->is_int64() || frame == nullptr || !frame->is_object())
      continue;
    const auto& f = frame->get_object();
    std::string url;
    std::string function;
    if (const auto* u = f.if_contains("url"); u != nullptr && u->is_string())
      url = std::string(u->get_string());
    if (const auto* fn = f.if_contains("functionName"); fn != nullptr && fn->is_string())
      function = std::string(fn->get_string());
    std::string label;
    std::string package;
    if (url.empty()) {
      if (function == "(garbage collector)")
        label = "(garbage collector)";
      else if (function == "(idle)" || function == "(root)")
        label = "";
      else
        label = "(node and V8)";
      package = label;
    } else if (url.starts_with("node:")) {
      label = "(node built-ins)";
      package = label;
    } else if (url.ends_with("/profile/coldstart.cjs")) {
      label = ""; // the profiler's own script
    } else {
      auto path = url.starts_with("file://") ? url.substr(7) : url;
      package = node_package(path);
      label = path.starts_with(code) ? path.substr(code.size()) : path;
    }
    label_of[id->get_int64()] = label;
    package_of[label] = package;
  }
  std::map<std::string, double> self_us;
  const auto& s = samples->get_array();
  const auto& d = deltas->get_array();
  // Sample i is taken at startTime + Σ timeDeltas[0..i]; it stands for the time until the next.
  double at = 0;
  if (const auto* t = root.if_contains("startTime"); t != nullptr && t->is_number())
    at = t->to_number<double>();
  for (std::size_t i = 0; i + 1 < s.size() && i + 1 < d.size(); ++i) {
    if (!s[i].is_int64() || !d[i].is_number() || !d[i + 1].is_number())
      continue;
    at += d[i].to_number<double>();
    if (end_us > start_us && (at < start_us || at > end_us))
      continue;
    const auto it = label_of.find(s[i].get_int64());
    if (it == label_of.end() || it->second.empty())
      continue;
    self_us[it->second] += d[i + 1].to_number<double>();
  }
  std::vector<ModuleTime> out;
  for (auto& [label, us] : self_us) {
    ModuleTime m;
    m.name = label;
    m.package = package_of[label];
    m.self_ms = us / 1000.0;
    out.push_back(std::move(m));
  }
  return out;
}

std::uint64_t tree_bytes(const fs::path& dir, std::uint64_t* files) {
  std::uint64_t bytes = 0;
  std::error_code ec;
  if (fs::is_regular_file(fs::symlink_status(dir, ec))) {
    if (files != nullptr)
      ++*files;
    return fs::file_size(dir, ec);
  }
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    const auto status = it->symlink_status(ec);
    if (ec || !fs::is_regular_file(status))
      continue;
    bytes += it->file_size(ec);
    if (files != nullptr)
      ++*files;
  }
  return bytes;
}

support::Result<ColdStartProfile> profile_cold_start(const runtime::FunctionConfig& function,
                                                     const std::string& region,
                                                     const fs::path& cache_dir_in,
                                                     std::chrono::seconds time_limit) {
  ColdStartProfile profile;
  profile.function_id = function.id;
  profile.runtime = function.runtime;
  const auto cache_dir = cache_dir_in.empty() ? runtime::default_cache_dir() : cache_dir_in;

  // Package size: the code dir and every layer, and their largest entries.
  std::vector<fs::path> roots{function.code_dir};
  roots.insert(roots.end(), function.layer_dirs.begin(), function.layer_dirs.end());
  std::vector<PackageSize> entries;
  for (const auto& root : roots) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
      const auto bytes = tree_bytes(entry.path(), &profile.file_count);
      profile.package_bytes += bytes;
      auto name = entry.path().filename().string();
      if (root != function.code_dir)
        name = root.filename().string() + " (layer)/" + name;
      entries.push_back({std::move(name), bytes});
      // node_modules: its packages are what people trim.
      if (entry.path().filename() == "node_modules" && entry.is_directory(ec)) {
        entries.pop_back();
        for (const auto& package : fs::directory_iterator(entry.path(), ec)) {
          const auto pname = package.path().filename().string();
          if (!pname.empty() && pname.front() == '@') {
            for (const auto& scoped : fs::directory_iterator(package.path(), ec))
              entries.push_back({"node_modules/" + pname + "/" + scoped.path().filename().string(),
                                 tree_bytes(scoped.path())});
          } else {
            entries.push_back({"node_modules/" + pname, tree_bytes(package.path())});
          }
        }
      }
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const PackageSize& a, const PackageSize& b) { return a.bytes > b.bytes; });
  if (entries.size() > 10)
    entries.resize(10);
  profile.largest = std::move(entries);
  if (profile.package_bytes > k_unzipped_limit)
    profile.notes.push_back(fmt::format(
        "the code and layers hold {:.1f} MB unzipped: over Lambda's 250 MB limit (deploy fails)",
        static_cast<double>(profile.package_bytes) / (1024.0 * 1024.0)));
  else if (profile.package_bytes * 10 > k_unzipped_limit * 8)
    profile.notes.push_back(
        fmt::format("the code and layers hold {:.1f} MB unzipped: above 80% "
                    "of Lambda's 250 MB limit",
                    static_cast<double>(profile.package_bytes) / (1024.0 * 1024.0)));

  const auto info = runtime::parse_runtime(function.runtime);
  if (!info || info->family == runtime::RuntimeFamily::provided) {
    profile.notes.push_back(fmt::format(
        "{}: INIT is the bootstrap's own start-up; only python and node are broken down",
        function.runtime.empty() ? "no runtime" : function.runtime));
    return profile;
  }
  std::vector<std::string> warnings;
  WISP_TRY_ASSIGN(const auto launch,
                  runtime::resolve_launch(function.runtime, function.code_dir, function.layer_dirs,
                                          cache_dir, warnings));
  for (auto& warning : warnings)
    profile.notes.push_back(std::move(warning));
  const auto env = child_environment(function, region, launch);
  const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(time_limit);

  if (info->family == runtime::RuntimeFamily::python) {
    profile.method = "python -X importtime";
    WISP_TRY_ASSIGN(const auto path, script(cache_dir, "coldstart.py"));
    std::vector<std::string> argv{launch.executable.string(),
                                  "-X",
                                  "importtime",
                                  path.string(),
                                  function.code_dir.string(),
                                  function.handler};
    for (const auto& layer : function.layer_dirs)
      argv.push_back(layer.string());
    WISP_TRY_ASSIGN(const auto child, detail::run_child(argv, function.code_dir, env, limit));
    const auto loaded = read_load_result(child, profile);
    profile.modules = parse_importtime(child.err);
    for (auto& m : profile.modules)
      if (loaded.stdlib.contains(m.package))
        m.package = "(python standard library)";
    profile.packages = by_package(profile.modules, "(your code)");
    sort_and_trim(profile.modules);
    if (profile.packages.size() > k_top_modules)
      profile.packages.resize(k_top_modules);
    return profile;
  }

  profile.method = "node --cpu-prof";
  WISP_TRY_ASSIGN(const auto path, script(cache_dir, "coldstart.cjs"));
  support::TempDir prof_dir("wisp-cpuprof");
  const std::vector<std::string> argv{launch.executable.string(),
                                      "--cpu-prof",
                                      "--cpu-prof-dir=" + prof_dir.path().string(),
                                      "--cpu-prof-interval=100",
                                      path.string(),
                                      function.code_dir.string(),
                                      function.handler};
  WISP_TRY_ASSIGN(const auto child, detail::run_child(argv, function.code_dir, env, limit));
  const auto loaded = read_load_result(child, profile);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(prof_dir.path(), ec)) {
    if (entry.path().extension() != ".cpuprofile")
      continue;
    auto text = support::read_file(entry.path(), 512u * 1024 * 1024);
    if (text)
      profile.modules = parse_cpu_profile(*text, function.code_dir, loaded.start_us, loaded.end_us);
  }
  if (profile.modules.empty())
    profile.notes.push_back("node wrote no CPU profile");
  profile.packages = by_package(profile.modules, "(your code)");
  sort_and_trim(profile.modules);
  if (profile.packages.size() > k_top_modules)
    profile.packages.resize(k_top_modules);
  return profile;
}

namespace {

json::array modules_json(const std::vector<ModuleTime>& modules) {
  json::array out;
  for (const auto& m : modules) {
    json::object o{{"name", m.name}, {"package", m.package}, {"selfMs", m.self_ms}};
    if (m.cumulative_ms > 0)
      o["cumulativeMs"] = m.cumulative_ms;
    out.push_back(std::move(o));
  }
  return out;
}

std::string megabytes(std::uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

} // namespace

std::string render_json(const ColdStartProfile& p) {
  json::object o;
  o["function"] = p.function_id;
  o["runtime"] = p.runtime;
  o["method"] = p.method;
  o["loadMs"] = p.load_ms;
  if (!p.error.empty())
    o["error"] = p.error;
  o["modules"] = modules_json(p.modules);
  o["packages"] = modules_json(p.packages);
  json::array largest;
  for (const auto& e : p.largest)
    largest.push_back(json::object{{"name", e.name}, {"bytes", e.bytes}});
  o["package"] = json::object{{"bytes", p.package_bytes},
                              {"files", p.file_count},
                              {"unzippedLimitBytes", k_unzipped_limit},
                              {"largest", std::move(largest)}};
  json::array notes;
  for (const auto& n : p.notes)
    notes.push_back(json::string(n));
  o["notes"] = std::move(notes);
  return json::serialize(o) + "\n";
}

std::string render_text(const ColdStartProfile& p, bool color) {
  const auto bold = [&](std::string_view t) {
    return color ? fmt::format("\x1b[1m{}\x1b[0m", t) : std::string(t);
  };
  const auto dim = [&](std::string_view t) {
    return color ? fmt::format("\x1b[2m{}\x1b[0m", t) : std::string(t);
  };
  std::string out;
  out += bold(fmt::format("{} ({})", p.function_id, p.runtime));
  out += '\n';
  if (!p.method.empty()) {
    out += fmt::format("Loading the handler module took {:.1f} ms ({})\n", p.load_ms, p.method);
    if (!p.error.empty())
      out += fmt::format("The module failed to load: {}\n", p.error);
    if (!p.packages.empty()) {
      out += '\n';
      out += bold(fmt::format("{:<40}  {:>10}", "PACKAGE", "SELF ms"));
      out += '\n';
      for (const auto& m : p.packages)
        out += fmt::format("{:<40}  {:>10.2f}\n", m.name, m.self_ms);
    }
    if (!p.modules.empty()) {
      out += '\n';
      const bool cumulative = p.modules.front().cumulative_ms > 0;
      out += bold(cumulative
                      ? fmt::format("{:<50}  {:>10}  {:>13}", "MODULE", "SELF ms", "CUMULATIVE ms")
                      : fmt::format("{:<50}  {:>10}", "MODULE", "SELF ms"));
      out += '\n';
      for (const auto& m : p.modules) {
        if (cumulative)
          out += fmt::format("{:<50}  {:>10.2f}  {:>13.2f}\n", m.name, m.self_ms, m.cumulative_ms);
        else
          out += fmt::format("{:<50}  {:>10.2f}\n", m.name, m.self_ms);
      }
    }
  }
  out += '\n';
  out += fmt::format("Package: {} in {} files, unzipped ({:.0f}% of Lambda's 250 MB limit for "
                     "code and layers)\n",
                     megabytes(p.package_bytes), p.file_count,
                     100.0 * static_cast<double>(p.package_bytes) /
                         static_cast<double>(k_unzipped_limit));
  for (const auto& e : p.largest)
    out += dim(fmt::format("  {:<48}  {:>10}\n", e.name, megabytes(e.bytes)));
  for (const auto& note : p.notes)
    out += fmt::format("note: {}\n", note);
  return out;
}

} // namespace wisp::console
