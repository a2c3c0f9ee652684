// How a function's workers start: the runtime, its libraries, the environment, and Lambda's
// file layout or host paths (worker_setup.hpp).

#include <wisp/runtime/lambda_text.hpp>
#include <wisp/runtime/process.hpp>
#include <wisp/runtime/runtime_libs.hpp>
#include <wisp/runtime/worker_setup.hpp>
#include <wisp/template/rules.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string_view>
#include <utility>

namespace wisp::runtime::detail {

namespace fs = std::filesystem;

namespace {

bool is_plumbing(std::string_view name) {
  return name == "AWS_LAMBDA_RUNTIME_API" || name == "_HANDLER" || name == "LAMBDA_TASK_ROOT" ||
         name == "LAMBDA_RUNTIME_DIR" || name == "AWS_LAMBDA_LOG_STREAM_NAME";
}

// An ordered environment where a later set() replaces an earlier value in place.
class EnvBuilder {
public:
  void set(std::string_view key, std::string_view value) {
    auto it = m_index.find(std::string(key));
    if (it != m_index.end()) {
      m_entries[it->second].second = std::string(value);
      return;
    }
    m_index.emplace(std::string(key), m_entries.size());
    m_entries.emplace_back(std::string(key), std::string(value));
  }
  [[nodiscard]] std::vector<std::string> build() const {
    std::vector<std::string> out;
    out.reserve(m_entries.size());
    for (const auto& [key, value] : m_entries)
      out.push_back(key + "=" + value);
    return out;
  }

private:
  std::vector<std::pair<std::string, std::string>> m_entries;
  std::map<std::string, std::size_t> m_index;
};

std::string join_paths(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    if (part.empty())
      continue;
    if (!out.empty())
      out += ':';
    out += part;
  }
  return out;
}

// Where the worker finds things: Lambda's paths in its layout, the host's otherwise.
struct Places {
  std::string task_root;
  std::string runtime_dir;
  std::vector<std::string> bin_dirs;     // after the host's PATH
  std::vector<std::string> library_dirs; // after the host's LD_LIBRARY_PATH
  std::vector<std::string> node_path;
  std::vector<std::string> esm_paths; // host paths only: the bootstrap's resolve hook
  std::vector<std::string> python_path;
};

Places host_places(const FunctionConfig& cfg, const Launch& launch, const RuntimeLibraries& libs) {
  Places p;
  p.task_root = cfg.code_dir.string();
  p.runtime_dir = launch.runtime_dir.string();
  p.library_dirs = {p.task_root, (cfg.code_dir / "lib").string()};
  // Layers merge in template order in Lambda (a later layer's file wins): later ones first.
  const auto& layers = cfg.layer_dirs;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    p.bin_dirs.push_back((*it / "bin").string());
    p.library_dirs.push_back((*it / "lib").string());
  }
  if (launch.runtime.family == RuntimeFamily::nodejs) {
    const auto versioned =
        fs::path("nodejs") / fmt::format("node{}", launch.runtime.major) / "node_modules";
    for (auto it = layers.rbegin(); it != layers.rend(); ++it)
      p.node_path.push_back((*it / versioned).string());
    for (auto it = layers.rbegin(); it != layers.rend(); ++it)
      p.node_path.push_back((*it / "nodejs" / "node_modules").string());
    if (!libs.node_modules.empty())
      p.node_path.push_back(libs.node_modules.string());
    p.esm_paths = p.node_path;
    p.node_path.push_back(p.runtime_dir);
    p.node_path.push_back(p.task_root);
  }
  if (launch.runtime.family == RuntimeFamily::python) {
    const auto site = fs::path("python") / "lib" /
                      fmt::format("python3.{}", launch.interpreter.minor()) / "site-packages";
    p.python_path.push_back(p.task_root);
    for (auto it = layers.rbegin(); it != layers.rend(); ++it)
      p.python_path.push_back((*it / site).string());
    for (auto it = layers.rbegin(); it != layers.rend(); ++it)
      p.python_path.push_back((*it / "python").string());
    if (!libs.python_path.empty())
      p.python_path.push_back(libs.python_path.string());
  }
  return p;
}

Places lambda_places(const Launch& launch, const RuntimeLibraries& libs, bool has_opt) {
  Places p;
  p.task_root = "/var/task";
  p.runtime_dir = "/var/runtime";
  p.library_dirs = {"/var/task", "/var/task/lib"};
  if (has_opt) {
    p.bin_dirs = {"/opt/bin"};
    p.library_dirs.emplace_back("/opt/lib");
  }
  if (launch.runtime.family == RuntimeFamily::nodejs) {
    // Lambda's NODE_PATH.
    p.node_path = {fmt::format("/opt/nodejs/node{}/node_modules", launch.runtime.major),
                   "/opt/nodejs/node_modules", "/var/runtime/node_modules", "/var/runtime",
                   "/var/task"};
    // An ES module under /var/task finds /var/node_modules (NODE_PATH's packages merged) by
    // node's own search; one a layer ships (/opt/nodejs/config.mjs importing @aws-sdk/*)
    // does not: the bootstrap's resolve hook searches it there, as Lambda's NODE_PATH does.
    if (has_opt)
      p.esm_paths = {"/var/node_modules"};
  }
  if (launch.runtime.family == RuntimeFamily::python) {
    const auto minor = launch.interpreter.minor();
    p.python_path = {"/var/task"};
    if (has_opt) {
      p.python_path.push_back(fmt::format("/opt/python/lib/python3.{}/site-packages", minor));
      p.python_path.emplace_back("/opt/python");
    }
    if (!libs.python_path.empty())
      p.python_path.push_back(fmt::format("/var/lang/lib/python3.{}/site-packages", minor));
  }
  return p;
}

std::vector<std::string> build_env(const WorkerSetupInputs& in, const Launch& launch,
                                   const Places& places, bool layout,
                                   std::vector<std::string>* warnings) {
  const auto& cfg = in.config;
  const auto& options = in.options;
  EnvBuilder env;
  for (const auto& name : options.passthrough_env) {
    if (layout && name == "TMPDIR")
      continue; // the worker's own /tmp is where temporary files go, as in Lambda
    if (const char* value = std::getenv(name.c_str()))
      env.set(name, value);
  }
  if (const char* lang = std::getenv("LANG"))
    env.set("LANG", lang);
  std::vector<std::string> path_parts{
      std::getenv("PATH") != nullptr ? std::getenv("PATH") : "/usr/local/bin:/usr/bin:/bin"};
  path_parts.insert(path_parts.end(), places.bin_dirs.begin(), places.bin_dirs.end());
  std::vector<std::string> ld_parts;
  if (const char* ld = std::getenv("LD_LIBRARY_PATH"))
    ld_parts.emplace_back(ld);
  ld_parts.insert(ld_parts.end(), places.library_dirs.begin(), places.library_dirs.end());
  env.set("PATH", join_paths(path_parts));
  env.set("LD_LIBRARY_PATH", join_paths(ld_parts));
  env.set("TZ", ":UTC");
  if (!places.node_path.empty())
    env.set("NODE_PATH", join_paths(places.node_path));
  if (!places.esm_paths.empty())
    env.set("_WISP_ESM_PATHS", join_paths(places.esm_paths));
  if (!places.python_path.empty())
    env.set("_WISP_PYTHON_PATH", join_paths(places.python_path));
  for (const auto& [key, value] : cfg.environment) {
    if (sam::detail::is_reserved_env_name(key)) { // the rule validate applies
      if (warnings != nullptr)
        warnings->push_back(fmt::format("function {}: environment variable {} is reserved by "
                                        "Lambda (a deployment would be rejected); ignored",
                                        cfg.id, key));
      continue;
    }
    env.set(key, value);
  }
  env.set("AWS_ACCESS_KEY_ID",
          options.access_key_id.empty() ? "defaultkey" : options.access_key_id);
  env.set("AWS_SECRET_ACCESS_KEY",
          options.secret_access_key.empty() ? "defaultsecret" : options.secret_access_key);
  if (!options.session_token.empty())
    env.set("AWS_SESSION_TOKEN", options.session_token);
  env.set("_HANDLER", cfg.handler);
  if (!launch.execution_env.empty())
    env.set("AWS_EXECUTION_ENV", launch.execution_env);
  env.set("AWS_LAMBDA_LOG_GROUP_NAME", in.log_group);
  env.set("LAMBDA_TASK_ROOT", places.task_root);
  env.set("LAMBDA_RUNTIME_DIR", places.runtime_dir);
  env.set("AWS_REGION", options.region);
  env.set("AWS_DEFAULT_REGION", options.region);
  env.set("AWS_LAMBDA_FUNCTION_NAME", cfg.name.empty() ? cfg.id : cfg.name);
  env.set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(cfg.memory_size));
  env.set("AWS_LAMBDA_FUNCTION_VERSION", cfg.version);
  env.set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
  env.set("AWS_SAM_LOCAL", "true");
  if (in.json_logs) { // what Lambda tells its runtimes about LoggingConfig
    env.set("AWS_LAMBDA_LOG_FORMAT", "JSON");
    env.set("AWS_LAMBDA_LOG_LEVEL",
            cfg.application_log_level.empty() ? "INFO" : cfg.application_log_level);
  }
  for (const auto& [key, value] : cfg.env_overrides) {
    if (is_plumbing(key)) {
      if (warnings != nullptr)
        warnings->push_back(
            fmt::format("function {}: --env-vars cannot set {}; ignored", cfg.id, key));
      continue;
    }
    env.set(key, value);
  }
  return env.build();
}

bool layout_wanted(const EngineOptions& options) {
  if (!options.lambda_layout)
    return false;
  const char* value = std::getenv("WISP_LAMBDA_LAYOUT");
  if (value == nullptr)
    return true;
  const std::string_view v(value);
  return !(v == "0" || v == "off" || v == "false" || v == "no");
}

// python: compiles the bootstrap once for this interpreter, since /var/runtime is read-only in
// the layout (Python could not cache its bytecode there).
void precompile_bootstrap(const Launch& launch) {
  const auto dir = launch.runtime_dir;
  const auto pyc = dir / "__pycache__" /
                   fmt::format("wisp_bootstrap.cpython-3{}.pyc", launch.interpreter.minor());
  std::error_code ec;
  if (fs::exists(pyc, ec))
    return;
  (void)run_capture({launch.executable.string(), "-c",
                     "import py_compile,sys; py_compile.compile(sys.argv[1], doraise=True)",
                     (dir / "wisp_bootstrap.py").string()},
                    {}, std::chrono::seconds(30));
}

} // namespace

support::Result<WorkerSetup> prepare_workers(const WorkerSetupInputs& in,
                                             std::vector<std::string>& warnings) {
  const auto& cfg = in.config;
  const auto& options = in.options;
  auto resolved = resolve_launch(cfg.runtime, cfg.code_dir, cfg.layer_dirs, options.cache_dir,
                                 warnings, options.interpreters);
  if (!resolved)
    return support::failf("function {}: {}", cfg.id, resolved.error().message);
  WorkerSetup setup;
  setup.launch = std::move(*resolved);
  const auto& launch = setup.launch;
  const auto family = launch.runtime.family;

  RuntimeLibraries libs;
  if (options.runtime_libraries && family != RuntimeFamily::provided) {
    RuntimeLibraryRequest request{
        cfg.id,         launch.runtime,    launch.interpreter, cfg.code_dir,
        cfg.layer_dirs, options.cache_dir, options.on_progress};
    WISP_TRY_ASSIGN(libs, provide_runtime_libraries(request, warnings));
  }

  std::vector<std::string> node_flags;
  if (family == RuntimeFamily::nodejs)
    node_flags = lambda_node_flags(cfg.memory_size);

  // Host paths: always ready (the fallback when the OS refuses the layout).
  const auto host = host_places(cfg, launch, libs);
  setup.host.executable = launch.executable;
  setup.host.args = node_flags;
  setup.host.args.insert(setup.host.args.end(), launch.args.begin(), launch.args.end());
  setup.host.cwd = cfg.code_dir;
  setup.host.env = build_env(in, launch, host, false, &warnings);

  if (!layout_wanted(options))
    return setup;
  LayoutInputs layout;
  layout.function_id = cfg.id;
  layout.code_dir = cfg.code_dir;
  layout.layer_dirs = cfg.layer_dirs;
  if (family != RuntimeFamily::provided)
    layout.runtime_dir = launch.runtime_dir;
  layout.node_modules = libs.node_modules;
  layout.python_libs = libs.python_path;
  layout.python_minor = launch.interpreter.minor();
  layout.node_major = family == RuntimeFamily::nodejs ? launch.runtime.major : 0;
  layout.interpreter = launch.executable;
  layout.tmp_size_mb = cfg.ephemeral_storage;
  auto plan = plan_layout(layout);
  if (!plan) {
    // A layer that leaves itself is an error either way; anything else: host paths.
    if (plan.error().message.find("outside the layer") != std::string::npos)
      return tl::unexpected(plan.error());
    warnings.push_back(fmt::format("function {}: Lambda's file layout is not available ({}); it "
                                   "runs with host paths",
                                   cfg.id, plan.error().message));
    return setup;
  }
  const bool has_opt = layout_has_opt(**plan);
  if (!has_opt && !cfg.layer_dirs.empty()) {
    warnings.push_back(fmt::format("function {}: this machine has no /opt directory to merge its "
                                   "layers at; it runs with host paths",
                                   cfg.id));
    return setup;
  }
  WorkerVariant lambda;
  lambda.layout = *plan;
  lambda.cwd = "/var/task";
  lambda.args = node_flags;
  if (family == RuntimeFamily::provided) {
    lambda.executable = launch.bootstrap_in_code ? fs::path("/var/task/bootstrap")
                        : has_opt                ? fs::path("/opt/bootstrap")
                                                 : launch.executable;
  } else {
    lambda.executable = launch.executable;
    for (const auto& arg : launch.args) // the bootstrap, as /var/runtime sees it
      lambda.args.push_back(arg == (launch.runtime_dir / fs::path(arg).filename()).string()
                                ? (fs::path("/var/runtime") / fs::path(arg).filename()).string()
                                : arg);
    if (family == RuntimeFamily::python)
      precompile_bootstrap(launch);
  }
  const auto places = lambda_places(launch, libs, has_opt);
  lambda.env = build_env(in, launch, places, true, nullptr);
  setup.lambda = std::move(lambda);
  return setup;
}

} // namespace wisp::runtime::detail
