#include <wisp/runtime/lambda_text.hpp>
#include <wisp/runtime/process.hpp>
#include <wisp/runtime/runtimes.hpp>
#include <wisp/support/embedded.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>

namespace wisp::runtime {

std::span<const support::EmbeddedFile> bootstrap_files(); // generated (cmake/embed.cmake)

namespace fs = std::filesystem;

namespace {

bool parse_int(std::string_view text, int& out) {
  if (text.empty())
    return false;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// argv[0] as execvp would find it on PATH, or empty.
fs::path which(std::string_view command) {
  const auto path = env_or_empty("PATH");
  for (const auto& dir : support::split(path, ':')) {
    if (dir.empty())
      continue;
    fs::path candidate = fs::path(dir) / command;
    if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate))
      return candidate;
  }
  return {};
}

std::int64_t mtime_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return -1;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

struct CacheEntry {
  Interpreter interpreter;
  std::string warning;
};

fs::path cache_file(const fs::path& cache_dir) {
  return cache_dir / "interpreters.json";
}

std::optional<CacheEntry> cache_lookup(const fs::path& cache_dir, const std::string& key) {
  auto text = support::read_file(cache_file(cache_dir), 1024 * 1024);
  if (!text)
    return std::nullopt;
  boost::system::error_code ec;
  auto root = boost::json::parse(*text, ec);
  if (ec || !root.is_object())
    return std::nullopt;
  const auto* entry = root.as_object().if_contains(key);
  if (entry == nullptr || !entry->is_object())
    return std::nullopt;
  const auto& obj = entry->as_object();
  const auto* exe = obj.if_contains("executable");
  const auto* version = obj.if_contains("version");
  const auto* mtime = obj.if_contains("mtime");
  const auto* warning = obj.if_contains("warning");
  if (exe == nullptr || !exe->is_string() || version == nullptr || !version->is_string() ||
      mtime == nullptr || !mtime->is_int64())
    return std::nullopt;
  CacheEntry result;
  result.interpreter.executable = std::string(exe->as_string());
  result.interpreter.version = std::string(version->as_string());
  if (warning != nullptr && warning->is_string())
    result.warning = std::string(warning->as_string());
  // Still the same binary?
  if (mtime_of(result.interpreter.executable) != mtime->as_int64())
    return std::nullopt;
  return result;
}

void cache_store(const fs::path& cache_dir, const std::string& key, const CacheEntry& entry) {
  boost::json::object root;
  if (auto text = support::read_file(cache_file(cache_dir), 1024 * 1024)) {
    boost::system::error_code ec;
    auto parsed = boost::json::parse(*text, ec);
    if (!ec && parsed.is_object())
      root = std::move(parsed.as_object());
  }
  boost::json::object obj;
  obj["executable"] = entry.interpreter.executable.string();
  obj["version"] = entry.interpreter.version;
  obj["mtime"] = mtime_of(entry.interpreter.executable);
  if (!entry.warning.empty())
    obj["warning"] = entry.warning;
  root[key] = std::move(obj);
  // Best effort: a read-only cache only costs a probe next time.
  (void)support::write_file_atomic(cache_file(cache_dir), boost::json::serialize(root) + "\n");
}

// Runs an interpreter and reads back its real executable and version; the error says why it
// could not (it cannot start, exits at once, prints nothing useful).
support::Result<Interpreter> probe(const std::string& command, RuntimeFamily family,
                                   const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> argv;
  if (family == RuntimeFamily::python)
    argv = {command, "-c",
            "import sys;print(sys.executable);print('%d.%d.%d' % sys.version_info[:3])"};
  else
    argv = {command, "-e",
            "process.stdout.write(process.execPath+'\\n'+process.versions.node+'\\n')"};
  WISP_TRY_ASSIGN(auto captured, detail::run_capture(argv, env, std::chrono::seconds(20)));
  if (captured.wait_status != 0)
    return support::failf("it exits at once ({})", describe_exit(captured.wait_status));
  auto lines = support::split(captured.output, '\n');
  if (lines.size() < 2 || lines[0].empty() || lines[1].empty())
    return support::fail(family == RuntimeFamily::python
                             ? "it does not answer like python (sys.executable, version)"
                             : "it does not answer like node (process.execPath, version)");
  Interpreter interpreter{fs::path(std::string(support::trim(lines[0]))),
                          std::string(support::trim(lines[1]))};
  if (!interpreter.executable.is_absolute() || ::access(interpreter.executable.c_str(), X_OK) != 0)
    return support::failf("it reports {} as its executable, which cannot be run",
                          interpreter.executable.string());
  return interpreter;
}

bool version_matches(const std::string& version, int major, int minor, bool check_minor) {
  auto parts = support::split(version, '.');
  int got_major = 0;
  int got_minor = 0;
  if (parts.empty() || !parse_int(parts[0], got_major))
    return false;
  if (got_major != major)
    return false;
  if (!check_minor)
    return true;
  return parts.size() > 1 && parse_int(parts[1], got_minor) && got_minor == minor;
}

// The numeric parts of a version ("v22.1.0" → {22, 1, 0}); missing parts are 0.
std::array<int, 3> version_parts(std::string_view text) {
  if (!text.empty() && (text.front() == 'v' || text.front() == 'V'))
    text.remove_prefix(1);
  std::array<int, 3> out{0, 0, 0};
  auto parts = support::split(text, '.');
  for (std::size_t i = 0; i < parts.size() && i < out.size(); ++i) {
    // "13.0a1": the leading digits only.
    std::size_t digits = 0;
    while (digits < parts[i].size() && parts[i][digits] >= '0' && parts[i][digits] <= '9')
      ++digits;
    if (!parse_int(std::string_view(parts[i]).substr(0, digits), out[i]))
      out[i] = 0;
  }
  return out;
}

// pyenv's versions directory when `shim` is a pyenv shim, else empty.
fs::path pyenv_versions_for(const fs::path& shim) {
  if (shim.empty() || shim.parent_path().filename() != "shims")
    return {};
  auto root = env_or_empty("PYENV_ROOT");
  fs::path versions =
      root.empty() ? shim.parent_path().parent_path() / "versions" : fs::path(root) / "versions";
  std::error_code ec;
  return fs::is_directory(versions, ec) ? versions : fs::path();
}

std::optional<Interpreter> find_python(int minor) {
  const std::string command = fmt::format("python3.{}", minor);
  const auto location = which(command);
  if (location.empty())
    return std::nullopt;
  if (auto found = probe(command, RuntimeFamily::python, {});
      found && version_matches(found->version, 3, minor, true))
    return *found;
  // A version-manager shim that does not select this version by default: ask it for each
  // installed 3.<minor>.x, newest first.
  const auto versions = pyenv_versions_for(location);
  if (versions.empty())
    return std::nullopt;
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(versions, ec)) {
    const auto name = entry.path().filename().string();
    if (version_matches(name, 3, minor, true))
      names.push_back(name);
  }
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return version_parts(a) > version_parts(b);
  });
  for (const auto& name : names) {
    if (auto found = probe(command, RuntimeFamily::python, {{"PYENV_VERSION", name}});
        found && version_matches(found->version, 3, minor, true))
      return *found;
  }
  return std::nullopt;
}

// The python minors to try when 3.<want> is absent, closest first (a newer one before an
// older one at the same distance: it runs the older syntax).
std::vector<int> python_minors_by_distance(int want) {
  std::vector<int> out;
  for (int distance = 1; distance <= 12; ++distance) {
    if (want + distance <= 20)
      out.push_back(want + distance);
    if (want - distance >= 8)
      out.push_back(want - distance);
  }
  return out;
}

struct NodeCandidate {
  fs::path path;
  std::array<int, 3> version{};
};

// Nodes installed by the usual version managers (nvm, fnm, n, volta, asdf), by the version in
// their directory names (not run: only the chosen one is).
std::vector<NodeCandidate> managed_nodes() {
  const auto home = env_or_empty("HOME");
  auto or_home = [&](const char* variable, const char* below) {
    const auto value = env_or_empty(variable);
    if (!value.empty())
      return fs::path(value);
    return home.empty() ? fs::path() : fs::path(home) / below;
  };
  struct Root {
    fs::path dir;
    fs::path below; // from a version directory to the binary
  };
  const auto n_prefix = env_or_empty("N_PREFIX");
  const std::vector<Root> roots = {
      {or_home("NVM_DIR", ".nvm") / "versions" / "node", "bin/node"},
      {or_home("FNM_DIR", ".local/share/fnm") / "node-versions", "installation/bin/node"},
      {(n_prefix.empty() ? fs::path("/usr/local") : fs::path(n_prefix)) / "n/versions/node",
       "bin/node"},
      {or_home("VOLTA_HOME", ".volta") / "tools/image/node", "bin/node"},
      {or_home("ASDF_DATA_DIR", ".asdf") / "installs/nodejs", "bin/node"},
  };
  std::vector<NodeCandidate> out;
  for (const auto& root : roots) {
    std::error_code ec;
    if (root.dir.empty() || !fs::is_directory(root.dir, ec))
      continue;
    for (const auto& entry : fs::directory_iterator(root.dir, ec)) {
      const auto binary = entry.path() / root.below;
      if (::access(binary.c_str(), X_OK) != 0)
        continue;
      const auto version = version_parts(entry.path().filename().string());
      if (version[0] > 0)
        out.push_back({binary, version});
    }
  }
  return out;
}

std::string cache_key(const RuntimeInfo& runtime, const std::string& chosen) {
  return fmt::format("{}\n{}\n{}\n{}\n{}", runtime.name, env_or_empty("PATH"),
                     env_or_empty("PYENV_VERSION"), env_or_empty("PYENV_ROOT"), chosen);
}

} // namespace

std::optional<RuntimeInfo> parse_runtime(std::string_view name) {
  RuntimeInfo info;
  info.name = std::string(name);
  if (name.starts_with("python3.")) {
    int minor = 0;
    if (!parse_int(name.substr(8), minor) || minor < 9 || minor > 14)
      return std::nullopt;
    info.family = RuntimeFamily::python;
    info.major = 3;
    info.minor = minor;
    return info;
  }
  if (name.starts_with("nodejs") && name.ends_with(".x")) {
    int major = 0;
    if (!parse_int(name.substr(6, name.size() - 8), major) || major < 18 || major > 24 ||
        major % 2 != 0)
      return std::nullopt;
    info.family = RuntimeFamily::nodejs;
    info.major = major;
    return info;
  }
  if (name == "provided" || name == "provided.al2" || name == "provided.al2023") {
    info.family = RuntimeFamily::provided;
    return info;
  }
  return std::nullopt;
}

const std::vector<std::string>& supported_runtimes() {
  static const std::vector<std::string> names = {
      "python3.9",  "python3.10",   "python3.11",     "python3.12", "python3.13",
      "python3.14", "nodejs18.x",   "nodejs20.x",     "nodejs22.x", "nodejs24.x",
      "provided",   "provided.al2", "provided.al2023"};
  return names;
}

fs::path default_cache_dir() {
  auto xdg = env_or_empty("XDG_CACHE_HOME");
  if (!xdg.empty())
    return fs::path(xdg) / "wisp";
  auto home = env_or_empty("HOME");
  if (!home.empty())
    return fs::path(home) / ".cache" / "wisp";
  return fs::temp_directory_path() / fmt::format("wisp-cache-{}", ::getuid());
}

int Interpreter::major() const {
  return version_parts(version)[0];
}

int Interpreter::minor() const {
  return version_parts(version)[1];
}

std::vector<Interpreter> installed_pythons() {
  std::vector<Interpreter> out;
  for (int minor = 8; minor <= 20; ++minor)
    if (auto found = find_python(minor))
      out.push_back(*found);
  return out;
}

std::string interpreter_env_name(std::string_view runtime) {
  std::string name = "WISP_INTERPRETER_";
  for (const char c : runtime) {
    if (c >= 'a' && c <= 'z')
      name += static_cast<char>(c - 'a' + 'A');
    else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      name += c;
    else
      name += '_';
  }
  return name;
}

support::Result<std::pair<std::string, fs::path>> parse_interpreter_choice(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size())
    return support::failf("'{}' is not RUNTIME=PATH (e.g. nodejs24.x=/opt/node24/bin/node)", text);
  const auto runtime = text.substr(0, eq);
  const auto info = parse_runtime(runtime);
  if (!info || info->family == RuntimeFamily::provided) {
    std::string hint;
    if (auto close = support::closest_match(runtime, supported_runtimes()))
      hint = fmt::format(" (did you mean {}?)", *close);
    return support::failf("'{}': {} is not a python or nodejs runtime{}", text, runtime, hint);
  }
  return std::pair<std::string, fs::path>{std::string(runtime), fs::path(text.substr(eq + 1))};
}

support::Result<Interpreter> resolve_interpreter(const RuntimeInfo& runtime,
                                                 const fs::path& cache_dir,
                                                 std::vector<std::string>& warnings,
                                                 const InterpreterChoices& choices) {
  if (runtime.family == RuntimeFamily::provided)
    return support::failf("{} has no interpreter", runtime.name);
  // A named interpreter: --interpreter / samconfig, then the environment.
  std::string chosen;
  std::string source;
  if (auto it = choices.find(runtime.name); it != choices.end()) {
    chosen = it->second.string();
    source = fmt::format("--interpreter {}=…", runtime.name);
  } else if (auto value = env_or_empty(interpreter_env_name(runtime.name).c_str());
             !value.empty()) {
    chosen = value;
    source = interpreter_env_name(runtime.name);
  }
  const auto key = cache_key(runtime, chosen);
  if (auto cached = cache_lookup(cache_dir, key)) {
    if (!cached->warning.empty())
      warnings.push_back(cached->warning);
    return cached->interpreter;
  }
  CacheEntry entry;
  const bool python = runtime.family == RuntimeFamily::python;
  if (!chosen.empty()) {
    auto found = probe(chosen, runtime.family, {});
    if (!found)
      return support::failf("{}: the interpreter {} (named by {}) cannot be used: {}", runtime.name,
                            chosen, source, found.error().message);
    entry.interpreter = *found;
    const bool same = python ? version_matches(found->version, 3, runtime.minor, true)
                             : version_matches(found->version, runtime.major, 0, false);
    if (python && found->major() != 3)
      return support::failf("{}: the interpreter {} (named by {}) is python {}, not python 3",
                            runtime.name, chosen, source, found->version);
    if (!same)
      entry.warning = fmt::format("{}: running with {} {} (named by {})", runtime.name,
                                  python ? "python" : "node", found->version, source);
  } else if (python) {
    std::optional<Interpreter> found = find_python(runtime.minor);
    if (!found) {
      for (const int minor : python_minors_by_distance(runtime.minor)) {
        if ((found = find_python(minor)))
          break;
      }
      if (!found) {
        if (auto any = probe("python3", RuntimeFamily::python, {}); any && any->major() == 3)
          found = *any;
      }
      if (!found)
        return support::failf("{}: no python 3 can be run on this machine (install python3.{}, "
                              "or name one with --interpreter {}=PATH or {})",
                              runtime.name, runtime.minor, runtime.name,
                              interpreter_env_name(runtime.name));
      entry.warning = fmt::format(
          "{}: python3.{} is not installed; running with python {}, the closest version "
          "installed (name another with --interpreter {}=PATH or {})",
          runtime.name, runtime.minor, found->version, runtime.name,
          interpreter_env_name(runtime.name));
    }
    entry.interpreter = *found;
  } else {
    // node on PATH, and the nodes version managers installed: that major, else the closest
    // (a newer one before an older one at the same distance).
    std::vector<NodeCandidate> candidates;
    std::optional<Interpreter> on_path;
    if (!which("node").empty()) {
      if (auto found = probe("node", RuntimeFamily::nodejs, {})) {
        on_path = *found;
        candidates.push_back({found->executable, version_parts(found->version)});
      }
    }
    for (auto& managed : managed_nodes())
      candidates.push_back(std::move(managed));
    if (candidates.empty())
      return support::failf("{}: node cannot be run on this machine (install Node.js {}, or name "
                            "a node with --interpreter {}=PATH or {})",
                            runtime.name, runtime.major, runtime.name,
                            interpreter_env_name(runtime.name));
    auto rank = [&](const NodeCandidate& c) {
      const int distance = std::abs(c.version[0] - runtime.major);
      return std::tuple(distance, c.version[0] < runtime.major, -c.version[0], -c.version[1],
                        -c.version[2]);
    };
    std::stable_sort(
        candidates.begin(), candidates.end(),
        [&](const NodeCandidate& a, const NodeCandidate& b) { return rank(a) < rank(b); });
    std::optional<Interpreter> picked;
    for (const auto& candidate : candidates) {
      if (on_path && candidate.path == on_path->executable) {
        picked = on_path;
        break;
      }
      if (auto found = probe(candidate.path.string(), RuntimeFamily::nodejs, {})) {
        picked = *found;
        break;
      }
    }
    if (!picked)
      return support::failf("{}: no node installed on this machine can be run", runtime.name);
    entry.interpreter = *picked;
    if (!version_matches(picked->version, runtime.major, 0, false))
      entry.warning = fmt::format(
          "{}: node {} is not installed; running with node {}, the closest version installed "
          "(name another with --interpreter {}=PATH or {})",
          runtime.name, runtime.major, picked->version, runtime.name,
          interpreter_env_name(runtime.name));
  }
  cache_store(cache_dir, key, entry);
  if (!entry.warning.empty())
    warnings.push_back(entry.warning);
  return entry.interpreter;
}

support::Result<fs::path> materialize_bootstrap(const fs::path& cache_dir, RuntimeFamily family) {
  std::vector<std::string_view> names;
  if (family == RuntimeFamily::python)
    names = {"bootstraps/bootstrap.py", "bootstraps/wisp_bootstrap.py"};
  else
    names = {"bootstraps/bootstrap.cjs"};
  // The directory is named by the digest of every file it holds: written once, never stale.
  support::Sha256 digest;
  std::vector<std::string_view> contents;
  for (const auto name : names) {
    auto data = support::find_embedded(bootstrap_files(), name);
    if (!data)
      return support::failf("internal error: bootstrap {} is not embedded", name);
    digest.update(name);
    digest.update(*data);
    contents.push_back(*data);
  }
  const auto dir = cache_dir / ("bootstrap-" + support::to_hex(digest.finish()).substr(0, 16));
  const auto main_file = dir / fs::path(names.front()).filename();
  std::error_code ec;
  // node: where Lambda's layout mounts the runtime's node_modules (/var/runtime/node_modules).
  auto mount_point = [&] {
    if (family == RuntimeFamily::nodejs)
      fs::create_directories(dir / "node_modules", ec);
  };
  if (fs::exists(main_file, ec)) {
    mount_point();
    return main_file;
  }
  // The entry file last: its presence means the directory is complete.
  for (std::size_t i = names.size(); i-- > 0;)
    WISP_TRY(support::write_file_atomic(dir / fs::path(names[i]).filename(), contents[i], 0644));
  mount_point();
  return main_file;
}

std::vector<std::string> lambda_node_flags(int memory_mb) {
  const int new_space = memory_mb / 10;
  return {"--expose-gc", "--max-http-header-size", "81920",
          fmt::format("--max-semi-space-size={}", new_space / 2),
          fmt::format("--max-old-space-size={}", memory_mb - new_space)};
}

support::Result<Launch> resolve_launch(std::string_view runtime_name, const fs::path& code_dir,
                                       const std::vector<fs::path>& layer_dirs,
                                       const fs::path& cache_dir,
                                       std::vector<std::string>& warnings,
                                       const InterpreterChoices& choices) {
  auto runtime = parse_runtime(runtime_name);
  if (!runtime) {
    std::string hint;
    if (auto close = support::closest_match(runtime_name, supported_runtimes()))
      hint = fmt::format(" (did you mean {}?)", *close);
    return support::failf("runtime '{}' is not supported locally{}; supported: {}", runtime_name,
                          hint, support::join(supported_runtimes(), ", "));
  }
  Launch launch;
  launch.runtime = *runtime;
  if (runtime->family == RuntimeFamily::provided) {
    std::vector<std::string> tried;
    std::vector<fs::path> candidates{code_dir / "bootstrap"};
    for (const auto& layer : layer_dirs)
      candidates.push_back(layer / "bootstrap");
    for (const auto& candidate : candidates) {
      tried.push_back(candidate.string());
      std::error_code ec;
      if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
        launch.executable = candidate;
        launch.runtime_dir = candidate.parent_path();
        launch.bootstrap_in_code = candidate.parent_path() == code_dir;
        return launch;
      }
    }
    launch.invalid_entrypoint =
        fmt::format("Couldn't find valid bootstrap(s): [{}]", support::join(tried, " "));
    launch.runtime_dir = code_dir;
    return launch;
  }
  WISP_TRY_ASSIGN(auto interpreter, resolve_interpreter(*runtime, cache_dir, warnings, choices));
  WISP_TRY_ASSIGN(auto bootstrap, materialize_bootstrap(cache_dir, runtime->family));
  launch.executable = interpreter.executable;
  launch.interpreter = interpreter;
  launch.args = {bootstrap.string()};
  launch.runtime_dir = bootstrap.parent_path();
  launch.execution_env = "AWS_Lambda_" + runtime->name;
  return launch;
}

} // namespace wisp::runtime
