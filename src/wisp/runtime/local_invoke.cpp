#include <wisp/runtime/function.hpp>
#include <wisp/runtime/lambda_config.hpp>
#include <wisp/runtime/lambda_text.hpp>
#include <wisp/runtime/local_invoke.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/template/load.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's reactor once inlined (a false positive in
// system headers; see engine_impl.hpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#pragma GCC diagnostic pop
#include <fmt/format.h>

namespace wisp::runtime {

support::Result<const sam::Function*> pick_function(const sam::Model& model,
                                                    const std::string& name) {
  if (model.functions.empty())
    return support::failf("{} has no functions to invoke", model.template_path.string());
  if (name.empty()) {
    if (model.functions.size() == 1)
      return &model.functions.front();
    std::vector<std::string> ids;
    for (const auto& fn : model.functions)
      ids.push_back(fn.logical_id);
    return support::fail(fmt::format("{} has {} functions; name the one to invoke: {}",
                                     model.template_path.filename().string(), ids.size(),
                                     support::join(ids, ", ")),
                         support::ExitCode::usage);
  }
  if (const auto* fn = model.find_function(name))
    return fn;
  if (const auto named = sam::nested_functions_named(model, name); named.size() > 1) {
    std::vector<std::string> paths;
    for (const auto* fn : named)
      paths.push_back(fn->logical_id);
    return support::fail(fmt::format("function '{}' is in several nested stacks ({}): name it "
                                     "by its full path",
                                     name, support::join(paths, ", ")),
                         support::ExitCode::usage);
  }
  std::vector<std::string> ids;
  for (const auto& fn : model.functions)
    ids.push_back(fn.logical_id);
  std::string hint;
  if (auto close = support::closest_match(name, ids))
    hint = fmt::format("; did you mean '{}'?", *close);
  return support::fail(fmt::format("function '{}' is not in {}{} (functions: {})", name,
                                   model.template_path.filename().string(), hint,
                                   support::join(ids, ", ")),
                       support::ExitCode::usage);
}

support::Result<LocalInvokeResult> local_invoke(const sam::Model& model,
                                                const LocalInvokeOptions& options,
                                                const LocalInvokeCallbacks& callbacks) {
  WISP_TRY_ASSIGN(const sam::Function* function, pick_function(model, options.function));
  std::optional<EnvVarsFile> env_vars;
  if (options.env_vars) {
    WISP_TRY_ASSIGN(env_vars, load_env_vars(*options.env_vars));
  }
  std::vector<std::string> warnings;
  WISP_TRY_ASSIGN(auto config, make_function_config(model, *function,
                                                    env_vars ? &*env_vars : nullptr, warnings));
  for (const auto& warning : warnings)
    if (callbacks.warning)
      callbacks.warning(warning);
  // TenancyConfig, as SAM CLI checks it before running anything.
  if (auto problem = tenant_id_problem(config.multi_tenant, options.tenant_id); !problem.empty())
    return support::fail(std::move(problem));
  if (!options.endpoint_url.empty()) // before --env-vars, which may still override it
    config.env_overrides.insert(config.env_overrides.begin(),
                                {"AWS_ENDPOINT_URL", options.endpoint_url});

  boost::asio::io_context io;
  EngineOptions engine_options;
  engine_options.max_concurrency = 1;
  engine_options.idle_timeout = std::chrono::milliseconds(0);
  engine_options.enforce_memory = options.enforce_memory;
  engine_options.region = options.region;
  engine_options.account_id = options.account_id;
  engine_options.access_key_id = options.access_key_id;
  engine_options.secret_access_key = options.secret_access_key;
  engine_options.session_token = options.session_token;
  engine_options.cache_dir = options.cache_dir;
  engine_options.interpreters = options.interpreters;
  engine_options.on_progress = callbacks.progress;
  if (options.log_store)
    engine_options.log_store_dir = model.base_dir / ".wisp" / "logs";
  if (callbacks.log_line)
    engine_options.on_log = [&](const LogLine& line) { callbacks.log_line(line.text); };
  if (callbacks.warning)
    engine_options.on_warning = callbacks.warning;
  Engine engine(io, std::move(engine_options));
  WISP_TRY_ASSIGN(auto handle, engine.add_function(std::move(config)));

  CollectingSink sink;
  if (callbacks.stream_chunk)
    sink.on_data = callbacks.stream_chunk;
  sink.on_done = [&io] { io.stop(); };
  // Ctrl-C or a TERM: the worker is in a process group of its own, so the terminal's signal
  // does not reach it; stop it here rather than leave it running.
  boost::asio::basic_signal_set<boost::asio::io_context::executor_type> signals(io.get_executor(),
                                                                                SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec)
      return;
    received = signal;
    engine.stop();
  });
  InvokeRequest request;
  request.payload = options.event;
  request.tenant_id = options.tenant_id;
  engine.invoke(handle, request, sink);
  while (!sink.done()) {
    io.restart();
    io.run();
  }
  signals.cancel();
  engine.stop();
  // Let the stopped worker be reaped and its last output drained.
  io.restart();
  io.run_for(std::chrono::seconds(2)); // returns as soon as nothing is left to do

  const auto& result = sink.result();
  LocalInvokeResult out;
  out.interrupted_by = received;
  out.outcome = result.outcome;
  out.function_id = function->logical_id;
  out.request_id = std::string(result.request_id);
  out.body = result.streamed && result.outcome == Outcome::success ? sink.streamed_body()
                                                                   : std::string(result.body);
  out.content_type =
      result.streamed ? sink.stream_content_type() : std::string(result.content_type);
  out.error_type = std::string(result.error_type);
  out.streamed = result.streamed;
  out.duration_ms = result.duration_ms;
  out.init_duration_ms = result.init_duration_ms;
  out.max_memory_used_mb = result.max_memory_used_mb;
  return out;
}

} // namespace wisp::runtime
