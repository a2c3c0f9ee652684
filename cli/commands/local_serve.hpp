#pragma once
// What `local start-api` and `local start-lambda` share: loading the template and
// --env-vars, the options both take, and where their output goes.

#include "../command.hpp"
#include "load.hpp"
#include "local_code.hpp"

#include <wisp/artifact/build.hpp>
#include <wisp/aws/config.hpp>
#include <wisp/gateway/server.hpp>
#include <wisp/runtime/function.hpp>
#include <wisp/template/load.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace wisp::cli {

struct ServeFlags {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string env_vars;
  std::string warm_containers = "LAZY";
  bool no_watch = false;
  int threads = 0;
  int max_concurrency = 0;
  std::string build_dir;
  double time_scale = 0; // 0: DURABLE_EXECUTIONS_TIME_SCALE, else 1
  bool skip_waits = false;
};

// --time-scale and --skip-waits, for every command that runs durable functions.
inline void add_durable_time_options(CLI::App& app, double& time_scale, bool& skip_waits) {
  app.add_option("--time-scale", time_scale,
                 "Durable functions: waits, retry delays and timeouts run N times faster (default: "
                 "DURABLE_EXECUTIONS_TIME_SCALE, else 1); histories keep real durations")
      ->check(CLI::PositiveNumber);
  app.add_flag("--skip-waits", skip_waits,
               "Durable functions: a wait (or retry delay) ends as soon as the function suspends");
}

// The time scale to use: the flag, else DURABLE_EXECUTIONS_TIME_SCALE (SAM's variable), else 1.
inline double durable_time_scale(double flag) {
  if (flag > 0)
    return flag;
  if (const char* env = std::getenv("DURABLE_EXECUTIONS_TIME_SCALE"); env != nullptr) {
    char* end = nullptr;
    const double value = std::strtod(env, &end);
    if (end != env && value > 0)
      return value;
  }
  return 1.0;
}

inline void add_serve_options(CLI::App& app, ServeFlags& flags, int default_port) {
  flags.port = default_port;
  app.add_option("--host", flags.host, "Address to listen on (default: 127.0.0.1)");
  app.add_option("-p,--port", flags.port,
                 fmt::format("Port to listen on (default: {}; 0 picks a free one)", default_port))
      ->check(CLI::Range(0, 65535));
  app.add_option("-n,--env-vars", flags.env_vars,
                 "JSON file of environment variables: {\"Function\": {..}, \"Parameters\": {..}}");
  set_choices(app.add_option("--warm-containers", flags.warm_containers,
                             "LAZY: start a function's worker on its first request (default); "
                             "EAGER: start one per function at startup"),
              {"EAGER", "LAZY"});
  app.add_flag("--no-watch", flags.no_watch,
               "Do not reload functions when their code changes (hot reload is on by default)");
  app.add_option("--threads", flags.threads,
                 "I/O threads (default: 1 up to 4 cores, then one per 4 cores)")
      ->check(CLI::Range(0, 256));
  app.add_option("--max-concurrency", flags.max_concurrency,
                 "Most workers per function (default: twice the cores, at least 4); beyond it "
                 "requests wait their turn. ReservedConcurrentExecutions still throttles as "
                 "Lambda does")
      ->check(CLI::Range(0, 1000));
  add_build_dir_option(app, flags.build_dir);
  add_durable_time_options(app, flags.time_scale, flags.skip_waits);
}

struct LoadedApp {
  sam::Model model; // what runs: the builds applied
  std::optional<runtime::EnvVarsFile> env_vars;
  // Functions that run from their builds, and what rebuilds them for hot reload.
  std::map<std::string, std::filesystem::path> built_sources;
  std::filesystem::path build_dir;
  std::shared_ptr<artifact::Rebuilder> rebuilder;
};

// Loads the template and --env-vars; prints the problems and returns the exit code on failure.
inline std::optional<LoadedApp> load_app(Context& context, const ServeFlags& flags,
                                         int& exit_code) {
  if (auto overrides = sam::parse_parameter_overrides(context.global.parameter_overrides);
      !overrides) {
    context.console.error(overrides.error().message);
    exit_code = static_cast<int>(support::ExitCode::usage);
    return std::nullopt;
  }
  auto model = load_template(context, {}, exit_code);
  if (!model)
    return std::nullopt;
  // After `wisp build`, functions run from their builds (dependencies, bundles, layers).
  auto sources = *model;
  auto built = use_local_builds(context, *model, flags.build_dir, {});
  if (!built) {
    exit_code = 1;
    return std::nullopt;
  }
  LoadedApp app{std::move(*model), std::nullopt, built->built_sources, built->build_dir, nullptr};
  if (!app.built_sources.empty()) {
    artifact::BuildOptions build;
    build.build_dir = built->build_dir;
    app.rebuilder = std::make_shared<artifact::Rebuilder>(std::move(sources), std::move(build));
  }
  if (!flags.env_vars.empty()) {
    auto env = runtime::load_env_vars(flags.env_vars);
    if (!env) {
      print_error(context, env.error());
      exit_code = static_cast<int>(env.error().exit_code);
      return std::nullopt;
    }
    app.env_vars = std::move(*env);
  }
  return app;
}

inline void apply_serve_flags(const ServeFlags& flags, const LoadedApp& app,
                              gateway::ServeOptions& options) {
  options.host = flags.host;
  options.port = flags.port;
  options.warm = flags.warm_containers == "EAGER" ? gateway::WarmContainers::eager
                                                  : gateway::WarmContainers::lazy;
  options.watch = !flags.no_watch;
  options.threads = flags.threads;
  options.max_concurrency = flags.max_concurrency;
  options.env_vars = app.env_vars ? &*app.env_vars : nullptr;
  options.log_store_dir = app.model.base_dir / ".wisp" / "logs";
  // Hot reload of built functions: esbuild builds are redone on a source change.
  options.built.sources = app.built_sources;
  for (const auto& [id, dir] : app.built_sources)
    options.built.ignore.push_back(dir / "node_modules");
  options.built.ignore.push_back(app.build_dir);
  if (auto rebuilder = app.rebuilder) {
    options.built.can_rebuild = [rebuilder](const std::string& id) {
      return rebuilder->can_rebuild(id);
    };
    options.built.rebuild = [rebuilder](const std::string& id) {
      auto rebuilt = rebuilder->rebuild(id);
      gateway::RebuildResult result;
      result.functions = std::move(rebuilt.functions);
      result.ok = rebuilt.outcome.has_value();
      if (!result.ok) {
        result.message = rebuilt.outcome.error().message;
        result.detail = rebuilt.outcome.error().tool_output;
      }
      return result;
    };
  }
  options.time_scale = durable_time_scale(flags.time_scale);
  options.skip_waits = flags.skip_waits;
}

// The credentials IAM-authorized requests are verified against (function URLs with AuthType
// AWS_IAM, AWS_IAM routes) and the functions are given: found as the AWS CLI finds them (flags,
// environment, profile), without instance metadata or container endpoints. None found: such
// requests are refused and the functions get dummy credentials.
inline void apply_credentials(Context& context, gateway::ServeOptions& options) {
  aws::ConfigInputs inputs;
  inputs.profile = context.global.profile;
  inputs.region = context.global.region;
  auto config = aws::load_config(inputs);
  if (!config)
    return;
  auto credentials =
      aws::resolve_credentials(*config, aws::process_env(),
                               [](const aws::MetadataRequest&) { return aws::MetadataResponse{}; });
  if (!credentials)
    return;
  options.access_key_id = credentials->access_key_id;
  options.secret_access_key = credentials->secret_access_key;
  options.session_token = credentials->session_token;
}

// Startup lines to stdout (flushed: scripts wait for them), logs and warnings to stderr.
inline gateway::ServeOutput serve_output(Context& context) {
  gateway::ServeOutput output;
  output.info = [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  };
  output.warning = [&context](std::string_view line) { context.console.warning(line); };
  output.ready = [](std::string_view) {
    std::fputs("Ready. Press Ctrl+C to stop.\n", stdout);
    std::fflush(stdout);
  };
  output.log = [](std::string_view line) {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fputc('\n', stderr);
  };
  return output;
}

} // namespace wisp::cli
