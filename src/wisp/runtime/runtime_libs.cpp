#include <wisp/runtime/lambda_text.hpp>
#include <wisp/runtime/process.hpp>
#include <wisp/runtime/runtime_libs.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <optional>
#include <set>
#include <sys/file.h>
#include <unistd.h>

namespace wisp::runtime {

namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t k_max_scanned_file = 4u * 1024 * 1024;
constexpr std::size_t k_max_scanned_files = 20000;
constexpr auto k_install_timeout = std::chrono::minutes(10);

bool skipped_dir(const std::string& name) {
  return name == "node_modules" || name == "__pycache__" || name == ".git" || name == ".aws-sam" ||
         name == ".wisp" || name == ".venv" || name == "venv" || name == ".tox" ||
         name == ".mypy_cache" || name == ".pytest_cache";
}

// Calls `visit(path, relative)` for the source files under `root` with one of `extensions`.
template <typename Visit>
void scan_sources(const fs::path& root, const std::vector<std::string_view>& extensions,
                  Visit&& visit) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  std::size_t seen = 0;
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const auto& entry = *it;
    const auto name = entry.path().filename().string();
    std::error_code type_ec;
    if (entry.is_directory(type_ec)) {
      if (skipped_dir(name) || entry.is_symlink(type_ec))
        it.disable_recursion_pending();
      continue;
    }
    if (!entry.is_regular_file(type_ec))
      continue;
    const auto ext = entry.path().extension().string();
    if (std::find(extensions.begin(), extensions.end(), ext) == extensions.end())
      continue;
    if (++seen > k_max_scanned_files)
      return;
    if (entry.file_size(type_ec) > k_max_scanned_file)
      continue;
    if (auto text = support::read_file(entry.path(), k_max_scanned_file))
      visit(entry.path(), *text);
  }
}

std::string display_path(const fs::path& path, const fs::path& root) {
  auto relative = path.lexically_relative(root);
  return relative.empty() || relative.native().starts_with("..") ? path.string()
                                                                 : relative.string();
}

// An exclusive lock on `path` (created), held until destruction: one install at a time across
// wisp processes.
class FileLock {
public:
  explicit FileLock(const fs::path& path)
      : m_fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (m_fd >= 0)
      while (::flock(m_fd, LOCK_EX) != 0 && errno == EINTR) {
      }
  }
  ~FileLock() {
    if (m_fd >= 0)
      ::close(m_fd);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

private:
  int m_fd;
};

// The last lines of a tool's output (what explains its failure).
std::string tail_lines(std::string_view output, std::size_t count) {
  std::vector<std::string> lines;
  for (const auto& line : support::split(output, '\n')) {
    auto trimmed = std::string(support::trim(line));
    if (!trimmed.empty())
      lines.push_back("  " + trimmed);
  }
  if (lines.size() > count)
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(count));
  return support::join(lines, "\n");
}

// Copies a directory tree, hard-linking regular files (copying where a link is refused) except
// `copied` (relative paths written fresh by the next step, which must not change the source).
support::Status link_tree(const fs::path& from, const fs::path& to,
                          const std::set<std::string>& copied) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec)
    return support::failf("cannot create {}: {}", to.string(), ec.message());
  for (fs::recursive_directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
    const auto relative = it->path().lexically_relative(from);
    const auto target = to / relative;
    std::error_code op;
    if (it->is_symlink(op)) {
      fs::copy_symlink(it->path(), target, op);
    } else if (it->is_directory(op)) {
      fs::create_directories(target, op);
    } else if (copied.count(relative.generic_string()) != 0) {
      fs::copy_file(it->path(), target, op);
    } else {
      fs::create_hard_link(it->path(), target, op);
      if (op) {
        op.clear();
        fs::copy_file(it->path(), target, op);
      }
    }
    if (op)
      return support::failf("cannot copy {} to {}: {}", it->path().string(), target.string(),
                            op.message());
  }
  if (ec)
    return support::failf("cannot read {}: {}", from.string(), ec.message());
  return {};
}

// ------------------------------------------------------------------ nodejs: the AWS SDK v3

bool node_package_in(const fs::path& node_modules, const std::string& package) {
  std::error_code ec;
  return fs::is_regular_file(node_modules / package / "package.json", ec);
}

// The SDK cache's current directory (…/gen-N) if it holds every package of `packages`.
std::optional<fs::path> sdk_generation_with(const fs::path& root,
                                            const std::vector<std::string>& packages) {
  std::error_code ec;
  const auto current = fs::canonical(root / "current", ec);
  if (ec)
    return std::nullopt;
  for (const auto& package : packages)
    if (!node_package_in(current / "node_modules", package))
      return std::nullopt;
  return current;
}

// The packages npm's registry does not have (a 404 from `npm install`), remembered in the cache:
// no Lambda runtime ships them either (a bundle that inlines the SDK keeps the SDK's optional
// requires of such names, e.g. '@aws-sdk/reviver', inside try/catch).
constexpr std::string_view k_unknown_packages_file = "not-on-npm.txt";

std::set<std::string> unknown_packages(const fs::path& root) {
  std::set<std::string> out;
  if (auto text = support::read_file(root / k_unknown_packages_file, 1024 * 1024))
    for (const auto& line : support::split(*text, '\n'))
      if (auto name = std::string(support::trim(line)); !name.empty())
        out.insert(name);
  return out;
}

// The package an `npm install` that failed with E404 names ("The requested resource
// '@aws-sdk/reviver@<=3.1178.0' could not be found"), if it is one of `packages`.
std::optional<std::string> package_npm_lacks(std::string_view output,
                                             const std::vector<std::string>& packages) {
  if (output.find("E404") == std::string_view::npos)
    return std::nullopt;
  constexpr std::string_view k_marker = "requested resource '";
  for (auto at = output.find(k_marker); at != std::string_view::npos;
       at = output.find(k_marker, at + 1)) {
    const auto begin = at + k_marker.size();
    const auto end = output.find('\'', begin);
    if (end == std::string_view::npos)
      break;
    auto spec = output.substr(begin, end - begin);
    if (const auto version_at = spec.rfind('@');
        version_at != std::string_view::npos && version_at > 0)
      spec = spec.substr(0, version_at);
    if (std::find(packages.begin(), packages.end(), spec) != packages.end())
      return std::string(spec);
  }
  return std::nullopt;
}

// The cache's generation holding `packages` (installed when missing), or an empty path when npm
// has none of them (each one it lacks is dropped with a warning).
support::Result<fs::path> ensure_aws_sdk_js(const RuntimeLibraryRequest& request,
                                            std::vector<std::string> packages,
                                            const std::map<std::string, std::string>& importers,
                                            std::vector<std::string>& warnings) {
  const auto root =
      request.cache_dir / "runtime-libs" / fmt::format("aws-sdk-js-{}", k_aws_sdk_js_version);
  if (auto ready = sdk_generation_with(root, packages))
    return *ready;
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec)
    return support::failf("cannot create {}: {}", root.string(), ec.message());
  if (request.progress)
    request.progress(
        fmt::format("function {}: installing {} {} (Lambda's {} runtime includes the AWS SDK for "
                    "JavaScript v3) into {}; once",
                    request.function_id, support::join(packages, ", "), k_aws_sdk_js_version,
                    request.runtime.name, root.string()));
  FileLock lock(root / ".lock");
  if (auto ready = sdk_generation_with(root, packages)) // another wisp installed them meanwhile
    return *ready;

  // The packages the current generation has, and the new ones.
  std::set<std::string> wanted(packages.begin(), packages.end());
  const auto current = fs::canonical(root / "current", ec);
  if (!ec) {
    if (auto text = support::read_file(current / "package.json", 1024 * 1024)) {
      boost::system::error_code json_ec;
      auto doc = boost::json::parse(*text, json_ec);
      if (!json_ec && doc.is_object())
        if (const auto* deps = doc.as_object().if_contains("dependencies");
            deps != nullptr && deps->is_object())
          for (const auto& [name, version] : deps->as_object())
            if (std::find(std::begin(k_runtime_node_not_shipped),
                          std::end(k_runtime_node_not_shipped),
                          std::string_view(name)) == std::end(k_runtime_node_not_shipped))
              wanted.insert(std::string(name)); // (an older wisp installed those)
    }
  }
  const auto staging = root / fmt::format("tmp-{}", support::random_suffix());
  support::RemoveOnExit cleanup{staging};
  if (!ec) {
    // Start from the current generation (hard links: npm replaces a package by removing it
    // first, and the files it rewrites in place are copied).
    WISP_TRY(link_tree(current, staging,
                       {"package.json", "package-lock.json", "node_modules/.package-lock.json"}));
  }
  auto why = [&](const std::string& reason) {
    std::vector<std::string> users;
    for (const auto& package : packages)
      if (auto it = importers.find(package); it != importers.end())
        users.push_back(fmt::format("{} ({})", package, it->second));
    return fmt::format(
        "function {}: {} not installed: Lambda's {} runtime includes {}, which wisp installs "
        "with npm, but {}\nInstall {} yourself: add {} to the package.json in {} and run "
        "`npm install` there (or wisp build)",
        request.function_id, support::join(users, ", "), request.runtime.name,
        packages.size() == 1 ? "it" : "them", reason, packages.size() == 1 ? "it" : "them",
        support::join(packages, " "), request.code_dir.string());
  };
  while (true) {
    boost::json::object deps;
    for (const auto& name : wanted)
      deps[name] = runtime_node_package_spec(name);
    boost::json::object manifest{{"name", "wisp-runtime-libraries"},
                                 {"private", true},
                                 {"description", "What Lambda's nodejs runtimes ship"},
                                 {"dependencies", std::move(deps)}};
    WISP_TRY(support::write_file_atomic(staging / "package.json",
                                        boost::json::serialize(manifest) + "\n"));
    auto run =
        detail::run_tool({"npm", "install", "--no-audit", "--no-fund", "--omit=dev",
                          "--prefer-offline", "--loglevel=error"},
                         staging, {{"npm_config_update_notifier", "false"}},
                         std::chrono::duration_cast<std::chrono::milliseconds>(k_install_timeout));
    if (!run)
      return support::fail(why(run.error().message));
    if (run->wait_status == 0)
      break;
    // A name npm's registry does not know: no runtime ships it; the others are installed.
    auto lacking = package_npm_lacks(run->output, packages);
    if (!lacking)
      return support::fail(
          why(fmt::format("npm install failed ({}):\n{}", describe_exit(run->wait_status),
                          tail_lines(run->output, 12))));
    auto known = unknown_packages(root);
    known.insert(*lacking);
    WISP_TRY(support::write_file_atomic(
        root / k_unknown_packages_file,
        support::join(std::vector<std::string>(known.begin(), known.end()), "\n") + "\n"));
    const auto importer = importers.find(*lacking);
    warnings.push_back(fmt::format(
        "function {}: {}{} is not installed: npm's registry has no such package, so no Lambda "
        "runtime ships it (a bundle that inlines the SDK keeps such optional requires); the "
        "function runs without it",
        request.function_id, *lacking,
        importer != importers.end() ? fmt::format(" (imported in {})", importer->second) : ""));
    std::erase(packages, *lacking);
    wanted.erase(*lacking);
    if (packages.empty()) {
      const auto now_current = fs::canonical(root / "current", ec);
      return ec ? fs::path() : now_current;
    }
  }
  for (const auto& package : packages)
    if (!node_package_in(staging / "node_modules", package))
      return support::fail(why(fmt::format("npm did not install {}", package)));
  // Commit: the staging directory becomes the next generation, then `current` points at it.
  int next = 1;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const auto name = entry.path().filename().string();
    int n = 0;
    if (name.starts_with("gen-") && std::sscanf(name.c_str() + 4, "%d", &n) == 1)
      next = std::max(next, n + 1);
  }
  const auto generation = root / fmt::format("gen-{}", next);
  WISP_TRY(support::rename_no_replace(staging, generation));
  cleanup.release();
  const auto link = root / fmt::format("current.tmp-{}", support::random_suffix());
  fs::create_symlink(generation.filename(), link, ec);
  if (!ec)
    fs::rename(link, root / "current", ec);
  if (ec) {
    fs::remove(link, ec);
    return support::failf("cannot update {}: {}", (root / "current").string(), ec.message());
  }
  // Generations two steps old are no longer handed out; a worker started from one keeps its
  // files (removed here only when an hour old).
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const auto name = entry.path().filename().string();
    int n = 0;
    if (!name.starts_with("gen-") || std::sscanf(name.c_str() + 4, "%d", &n) != 1 || n >= next - 1)
      continue;
    std::error_code time_ec;
    if (now - fs::last_write_time(entry.path(), time_ec) > std::chrono::hours(1) && !time_ec)
      fs::remove_all(entry.path(), time_ec);
  }
  return fs::canonical(generation, ec);
}

// ------------------------------------------------------------------ python: boto3, durable SDK

struct PythonLibrary {
  std::string_view module;       // what code imports
  std::string_view distribution; // what pip installs
  std::string_view version;
  int min_minor; // the first python3.X runtime that ships it
};

constexpr PythonLibrary k_python_libraries[] = {
    {"boto3", "boto3", k_boto3_version, 9},
    {"botocore", "botocore", k_botocore_version, 9},
    {"aws_durable_execution_sdk_python", "aws-durable-execution-sdk-python",
     k_durable_sdk_python_version, 13},
};

bool python_module_in(const fs::path& dir, std::string_view module) {
  std::error_code ec;
  return fs::is_directory(dir / module, ec) ||
         fs::is_regular_file(dir / (std::string(module) + ".py"), ec);
}

std::string normalize_distribution(std::string_view name) {
  std::string out;
  for (const char c : name)
    out += (c == '-' || c == '.') ? '_' : static_cast<char>(std::tolower(c));
  return out;
}

// A distribution's METADATA field values.
std::vector<std::string> metadata_values(std::string_view metadata, std::string_view field) {
  std::vector<std::string> out;
  const std::string prefix = std::string(field) + ":";
  for (const auto& line : support::split(metadata, '\n')) {
    if (line.empty() || line == "\r")
      break; // the headers end at the first blank line
    if (line.starts_with(prefix))
      out.emplace_back(support::trim(std::string_view(line).substr(prefix.size())));
  }
  return out;
}

// Copies pure-Python distributions (and those they require) from `site` into `into`, file by
// file as their RECORD lists them; fails when one is missing or has compiled extensions.
support::Result<std::string>
copy_distributions(const fs::path& site, std::vector<std::string> wanted, const fs::path& into) {
  std::map<std::string, fs::path> dist_infos; // normalized name → *.dist-info
  std::map<std::string, std::string> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(site, ec)) {
    const auto name = entry.path().filename().string();
    if (!name.ends_with(".dist-info"))
      continue;
    auto metadata = support::read_file(entry.path() / "METADATA", 4u * 1024 * 1024);
    if (!metadata)
      continue;
    const auto names = metadata_values(*metadata, "Name");
    const auto version = metadata_values(*metadata, "Version");
    if (names.empty())
      continue;
    dist_infos[normalize_distribution(names.front())] = entry.path();
    versions[normalize_distribution(names.front())] = version.empty() ? "?" : version.front();
  }
  std::set<std::string> done;
  std::vector<std::string> copied;
  while (!wanted.empty()) {
    const auto name = normalize_distribution(wanted.back());
    wanted.pop_back();
    if (!done.insert(name).second)
      continue;
    const auto found = dist_infos.find(name);
    if (found == dist_infos.end())
      return support::failf("{} has no {}", site.string(), name);
    auto metadata = support::read_file(found->second / "METADATA", 4u * 1024 * 1024);
    auto record = support::read_file(found->second / "RECORD", 16u * 1024 * 1024);
    if (!metadata || !record)
      return support::failf("{}: no METADATA or RECORD", found->second.string());
    for (const auto& requirement : metadata_values(*metadata, "Requires-Dist")) {
      if (requirement.find("extra ==") != std::string::npos)
        continue;
      std::size_t end = 0;
      while (end < requirement.size() &&
             (std::isalnum(static_cast<unsigned char>(requirement[end])) != 0 ||
              requirement[end] == '-' || requirement[end] == '_' || requirement[end] == '.'))
        ++end;
      if (end > 0)
        wanted.push_back(requirement.substr(0, end));
    }
    for (const auto& line : support::split(*record, '\n')) {
      const auto file = std::string(support::trim(line.substr(0, line.find(','))));
      if (file.empty() || file.starts_with("..") || file.starts_with("/") ||
          file.find("__pycache__") != std::string::npos || file.ends_with(".pyc"))
        continue;
      if (file.ends_with(".so") || file.ends_with(".pyd"))
        return support::failf("{} has compiled extensions ({})", name, file);
      const auto target = into / file;
      std::error_code op;
      fs::create_directories(target.parent_path(), op);
      fs::copy_file(site / file, target, fs::copy_options::overwrite_existing, op);
      if (op)
        return support::failf("cannot copy {}: {}", (site / file).string(), op.message());
    }
    copied.push_back(fmt::format("{} {}", name, versions[name]));
  }
  std::sort(copied.begin(), copied.end());
  return support::join(copied, ", ");
}

// Interpreters on this machine other than `except` that can import every one of `modules`:
// their site-packages directory.
std::vector<std::pair<Interpreter, fs::path>>
local_sites_with(const std::vector<std::string>& modules, const fs::path& except) {
  std::vector<std::pair<Interpreter, fs::path>> out;
  const std::string first = modules.front();
  const std::string script =
      fmt::format("import os,sys\nimport {0}\nimport {1}\n"
                  "print(os.path.dirname(os.path.dirname(os.path.abspath({2}.__file__))))",
                  "sys", support::join(modules, ","), first);
  for (const auto& interpreter : installed_pythons()) {
    if (interpreter.executable == except)
      continue;
    auto run = detail::run_capture({interpreter.executable.string(), "-c", script}, {},
                                   std::chrono::seconds(20));
    if (!run || run->wait_status != 0)
      continue;
    const auto site = std::string(support::trim(run->output));
    std::error_code ec;
    if (!site.empty() && fs::is_directory(site, ec))
      out.emplace_back(interpreter, fs::path(site));
  }
  return out;
}

support::Result<fs::path> ensure_python_libraries(
    const RuntimeLibraryRequest& request, const std::vector<const PythonLibrary*>& libs,
    const std::map<std::string, std::string>& importers, std::vector<std::string>& warnings) {
  std::vector<std::string> parts;
  std::vector<std::string> specs;
  std::vector<std::string> modules;
  for (const auto* lib : libs) {
    parts.push_back(fmt::format("{}-{}", lib->module, lib->version));
    specs.push_back(fmt::format("{}=={}", lib->distribution, lib->version));
    modules.emplace_back(lib->module);
  }
  const auto root = request.cache_dir / "runtime-libs" / request.runtime.name;
  const auto installed = root / support::join(parts, "+");
  const auto copied = root / (support::join(parts, "+") + "-local");
  std::error_code ec;
  if (fs::is_directory(installed, ec))
    return installed;
  if (fs::is_directory(copied, ec)) {
    if (auto note = support::read_file(copied / "WISP-SOURCE.txt", 64 * 1024))
      warnings.push_back(
          fmt::format("function {}: {}", request.function_id, std::string(support::trim(*note))));
    return copied;
  }
  fs::create_directories(root, ec);
  if (ec)
    return support::failf("cannot create {}: {}", root.string(), ec.message());
  if (request.progress)
    request.progress(fmt::format("function {}: installing {} (Lambda's {} runtime includes "
                                 "{}) into {}; once",
                                 request.function_id, support::join(specs, " "),
                                 request.runtime.name, libs.size() == 1 ? "it" : "them",
                                 installed.string()));
  FileLock lock(root / ".lock");
  if (fs::is_directory(installed, ec))
    return installed;
  if (fs::is_directory(copied, ec))
    return copied;

  const auto staging = root / fmt::format("tmp-{}", support::random_suffix());
  support::RemoveOnExit cleanup{staging};
  std::vector<std::string> argv = {request.interpreter.executable.string(),
                                   "-m",
                                   "pip",
                                   "install",
                                   "--disable-pip-version-check",
                                   "--no-input",
                                   "--no-warn-script-location",
                                   "--target",
                                   staging.string()};
  argv.insert(argv.end(), specs.begin(), specs.end());
  // Unless the user's pip configuration says otherwise, an unreachable index fails fast.
  std::vector<std::pair<std::string, std::string>> env;
  if (std::getenv("PIP_RETRIES") == nullptr)
    env.emplace_back("PIP_RETRIES", "1");
  if (std::getenv("PIP_TIMEOUT") == nullptr)
    env.emplace_back("PIP_TIMEOUT", "15");
  auto pip = detail::run_tool(
      argv, {}, env, std::chrono::duration_cast<std::chrono::milliseconds>(k_install_timeout));
  if (pip && pip->wait_status == 0) {
    WISP_TRY(support::rename_no_replace(staging, installed));
    cleanup.release();
    return installed;
  }
  const std::string pip_failure =
      !pip ? pip.error().message
           : fmt::format("pip failed ({}):\n{}", describe_exit(pip->wait_status),
                         tail_lines(pip->output, 6));
  // The same pure-Python files from another interpreter on this machine.
  std::error_code rm;
  fs::remove_all(staging, rm);
  for (const auto& [source, site] : local_sites_with(modules, request.interpreter.executable)) {
    std::vector<std::string> dists;
    for (const auto* lib : libs)
      dists.emplace_back(lib->distribution);
    fs::remove_all(staging, rm);
    auto copied_list = copy_distributions(site, dists, staging);
    if (!copied_list)
      continue;
    const auto note = fmt::format(
        "{} copied from the site-packages of python {} ({}) into {}: pip could not install "
        "{} (Lambda's {} runtime includes them); delete that directory to retry pip",
        *copied_list, source.version, site.string(), copied.string(), support::join(specs, " "),
        request.runtime.name);
    WISP_TRY(support::write_file_atomic(staging / "WISP-SOURCE.txt", note + "\n"));
    WISP_TRY(support::rename_no_replace(staging, copied));
    cleanup.release();
    warnings.push_back(fmt::format("function {}: {}", request.function_id, note));
    return copied;
  }
  std::vector<std::string> users;
  for (const auto* lib : libs)
    if (auto it = importers.find(std::string(lib->module)); it != importers.end())
      users.push_back(fmt::format("{} ({})", lib->module, it->second));
  return support::failf(
      "function {}: {} not installed: Lambda's {} runtime includes {}, but python {} ({}) has "
      "{} and wisp could not install {}: {}\nInstall: {} -m pip install {} (or add {} to the "
      "requirements.txt in {} and run wisp build)",
      request.function_id, support::join(users, ", "), request.runtime.name,
      libs.size() == 1 ? "it" : "them", request.interpreter.version,
      request.interpreter.executable.string(), libs.size() == 1 ? "none" : "not all of them",
      libs.size() == 1 ? "it" : "them", pip_failure, request.interpreter.executable.string(),
      support::join(specs, " "), support::join(modules, ", "), request.code_dir.string());
}

} // namespace

namespace detail {

namespace {

// Whether `before` (the text up to a string literal) ends in what makes the literal a module
// name: `require(`, `import(`, `from`, a bare `import`, `require.resolve(` (esbuild's
// `__require(` too). Other strings that merely look like one (a minified bundle's
// '@smithy/err' constants) are not imports.
bool after_import_keyword(std::string_view before) {
  while (!before.empty() && (before.back() == ' ' || before.back() == '\t' ||
                             before.back() == '\n' || before.back() == '\r'))
    before.remove_suffix(1);
  bool call = false;
  if (!before.empty() && before.back() == '(') {
    call = true;
    before.remove_suffix(1);
    while (!before.empty() && (before.back() == ' ' || before.back() == '\t'))
      before.remove_suffix(1);
  }
  auto ends_with_word = [&](std::string_view word) {
    if (!before.ends_with(word))
      return false;
    if (before.size() == word.size())
      return true;
    const char c = before[before.size() - word.size() - 1];
    return !(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '$' ||
             (c == '_' && word != "require"));
  };
  if (call)
    return ends_with_word("require") || ends_with_word("import") ||
           before.ends_with("require.resolve");
  return ends_with_word("from") || ends_with_word("import");
}

} // namespace

std::vector<std::string> aws_sdk_imports(std::string_view source) {
  struct Found {
    std::size_t at;
    std::string name;
  };
  std::vector<Found> found;
  for (const std::string_view scope : k_runtime_node_scopes) {
    for (std::size_t at = source.find(scope); at != std::string_view::npos;
         at = source.find(scope, at + 1)) {
      if (at == 0)
        continue;
      const char quote = source[at - 1];
      if (quote != '\'' && quote != '"' && quote != '`')
        continue;
      if (!after_import_keyword(source.substr(0, at - 1)))
        continue;
      std::size_t end = at + scope.size();
      while (end < source.size() &&
             ((source[end] >= 'a' && source[end] <= 'z') ||
              (source[end] >= '0' && source[end] <= '9') || source[end] == '-' ||
              source[end] == '.' || source[end] == '_'))
        ++end;
      if (end == at + scope.size() || end >= source.size())
        continue;
      if (source[end] != quote && source[end] != '/')
        continue;
      const auto name = source.substr(at, end - at);
      if (scope == "@aws-crypto/" && std::find(std::begin(k_runtime_aws_crypto_packages),
                                               std::end(k_runtime_aws_crypto_packages),
                                               name) == std::end(k_runtime_aws_crypto_packages))
        continue;
      if (std::find(std::begin(k_runtime_node_not_shipped), std::end(k_runtime_node_not_shipped),
                    name) != std::end(k_runtime_node_not_shipped))
        continue;
      found.push_back({at, std::string(name)});
    }
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.at < b.at; });
  std::vector<std::string> out;
  for (auto& f : found)
    if (std::find(out.begin(), out.end(), f.name) == out.end())
      out.push_back(std::move(f.name));
  return out;
}

std::vector<std::string> python_imports(std::string_view source) {
  std::vector<std::string> out;
  auto add = [&](std::string_view dotted) {
    dotted = support::trim(dotted);
    const auto first = std::string(dotted.substr(0, dotted.find('.')));
    if (first.empty() || first.find_first_of(" \t()") != std::string::npos)
      return;
    if (std::find(out.begin(), out.end(), first) == out.end())
      out.push_back(first);
  };
  for (const auto& raw : support::split(source, '\n')) {
    auto line = support::trim(std::string_view(raw));
    if (line.starts_with("import ")) {
      for (const auto& part : support::split(line.substr(7), ',')) {
        auto name = support::trim(std::string_view(part));
        add(name.substr(0, name.find(" as ")));
      }
    } else if (line.starts_with("from ")) {
      auto rest = line.substr(5);
      const auto import_at = rest.find(" import ");
      if (import_at != std::string_view::npos && !rest.starts_with("."))
        add(rest.substr(0, import_at));
    }
  }
  return out;
}

} // namespace detail

support::Result<RuntimeLibraries> provide_runtime_libraries(const RuntimeLibraryRequest& request,
                                                            std::vector<std::string>& warnings) {
  RuntimeLibraries out;
  if (request.runtime.family == RuntimeFamily::nodejs) {
    std::vector<std::string> missing;
    std::map<std::string, std::string> importers;
    const auto own = request.code_dir / "node_modules";
    // The function's code and its layers' (a layer's /opt/nodejs/x.mjs may import the SDK).
    std::vector<fs::path> roots{request.code_dir};
    for (const auto& layer : request.layer_dirs)
      roots.push_back(layer / "nodejs");
    for (const auto& scanned : roots)
      scan_sources(
          scanned, {".js", ".mjs", ".cjs"}, [&](const fs::path& file, const std::string& text) {
            for (auto& package : detail::aws_sdk_imports(text)) {
              if (importers.count(package) != 0)
                continue;
              importers[package] = display_path(file, scanned);
              bool provided = node_package_in(own, package);
              for (const auto& layer : request.layer_dirs) {
                provided = provided ||
                           node_package_in(layer / "nodejs" /
                                               fmt::format("node{}", request.runtime.major) /
                                               "node_modules",
                                           package) ||
                           node_package_in(layer / "nodejs" / "node_modules", package);
              }
              if (!provided)
                missing.push_back(package);
            }
          });
    const auto root =
        request.cache_dir / "runtime-libs" / fmt::format("aws-sdk-js-{}", k_aws_sdk_js_version);
    const auto unknown = unknown_packages(root);
    std::erase_if(missing, [&](const std::string& package) {
      if (unknown.count(package) == 0)
        return false;
      warnings.push_back(fmt::format("function {}: {} (imported in {}) is not installed: npm's "
                                     "registry has no such package (noted in {})",
                                     request.function_id, package, importers[package],
                                     (root / k_unknown_packages_file).string()));
      return true;
    });
    if (missing.empty()) {
      // Nothing to install: still hand out the cache when it is there (a dynamic require may
      // need it, as it would find it in Lambda).
      std::error_code ec;
      const auto current = fs::canonical(root / "current", ec);
      if (!ec)
        out.node_modules = current / "node_modules";
      return out;
    }
    WISP_TRY_ASSIGN(auto generation, ensure_aws_sdk_js(request, missing, importers, warnings));
    if (!generation.empty())
      out.node_modules = generation / "node_modules";
    return out;
  }
  if (request.runtime.family != RuntimeFamily::python)
    return out;
  std::map<std::string, std::string> importers;
  scan_sources(request.code_dir, {".py"}, [&](const fs::path& file, const std::string& text) {
    for (auto& module : detail::python_imports(text))
      if (importers.count(module) == 0)
        importers[module] = display_path(file, request.code_dir);
  });
  std::vector<const PythonLibrary*> wanted;
  for (const auto& lib : k_python_libraries) {
    if (importers.count(std::string(lib.module)) == 0 || request.runtime.minor < lib.min_minor)
      continue;
    bool provided = python_module_in(request.code_dir, lib.module);
    for (const auto& layer : request.layer_dirs)
      provided = provided || python_module_in(layer / "python", lib.module) ||
                 python_module_in(layer / "python" / "lib" /
                                      fmt::format("python3.{}", request.interpreter.minor()) /
                                      "site-packages",
                                  lib.module);
    if (!provided)
      wanted.push_back(&lib);
  }
  if (wanted.empty())
    return out;
  // What the interpreter itself has (its site-packages) is used as it is.
  std::string check = "import importlib.util as u\n";
  for (const auto& lib : k_python_libraries)
    check += fmt::format("print('{0}' if u.find_spec('{0}') else '')\n", lib.module);
  std::vector<std::string> has;
  auto probe = detail::run_capture({request.interpreter.executable.string(), "-c", check}, {},
                                   std::chrono::seconds(20));
  if (probe && probe->wait_status == 0)
    has = support::split(probe->output, '\n');
  auto interpreter_has = [&](std::string_view module) {
    return std::find(has.begin(), has.end(), std::string(module)) != has.end();
  };
  std::erase_if(wanted, [&](const PythonLibrary* lib) { return interpreter_has(lib->module); });
  if (wanted.empty())
    return out;
  // boto3 and botocore go together, and the durable SDK needs them.
  auto add = [&](const PythonLibrary* lib) {
    if (std::find(wanted.begin(), wanted.end(), lib) == wanted.end())
      wanted.push_back(lib);
  };
  if (!interpreter_has("boto3") || !interpreter_has("botocore")) {
    add(&k_python_libraries[0]);
    add(&k_python_libraries[1]);
  }
  std::sort(wanted.begin(), wanted.end());
  WISP_TRY_ASSIGN(out.python_path, ensure_python_libraries(request, wanted, importers, warnings));
  return out;
}

} // namespace wisp::runtime
