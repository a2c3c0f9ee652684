// The engine: its public API (registering functions, invoke's routing to a warm, starting or
// new worker, the queue and throttles, prewarm, reload, stop), completing invocations, and
// CollectingSink. The internals are split along their seams (engine_impl.hpp lists them):
// the Runtime API server (engine_connection.cpp), the worker pool (engine_pool.cpp), worker
// output and log lines (engine_output.cpp).

#include <wisp/runtime/engine_impl.hpp>
#include <wisp/template/rules.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace wisp::runtime {

using namespace engine_detail;

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
  case Outcome::success:
    return "success";
  case Outcome::function_error:
    return "function_error";
  case Outcome::timeout:
    return "timeout";
  case Outcome::throttled:
    return "throttled";
  case Outcome::init_error:
    return "init_error";
  case Outcome::exit_error:
    return "exit_error";
  case Outcome::response_too_large:
    return "response_too_large";
  case Outcome::request_too_large:
    return "request_too_large";
  case Outcome::engine_error:
    return "engine_error";
  }
  return "unknown";
}

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

} // namespace

// ---------------------------------------------------------------------------------------
// Completion

// Completes an invocation that had a worker: logs (START/extra/END/REPORT), then the sink,
// then returns the invocation to the pool. `inv.body`, `inv.error_type`,
// `inv.content_type_out` are set by the caller.
void Engine::Impl::finish(Worker* worker, Invocation& inv, Outcome outcome, ReportStatus status,
                          std::string_view extra_log, bool write_report) {
  const auto now = Clock::now();
  InvokeResult result;
  result.outcome = outcome;
  result.request_id = inv.request_id;
  result.duration_ms = ms_between(inv.started, now);
  result.cold = inv.cold;
  result.init_duration_ms = inv.init_ms;
  result.billed_duration_ms = billed_duration_ms(result.duration_ms, inv.cold ? inv.init_ms : 0);
  result.memory_size_mb = inv.function->config.memory_size;
  result.executed_version = inv.function->config.version;
  if (worker != nullptr)
    log_completion(*worker, inv, result, status, extra_log, write_report, now);
  result.body = inv.body;
  result.error_type = inv.error_type;
  result.content_type = inv.content_type_out;
  result.streamed = inv.stream_started;
  if (inv.tail_log)
    result.log_tail = inv.tail_view();
  {
    std::lock_guard sink_lock(inv.sink_mutex);
    inv.state = Invocation::State::completing;
    inv.sink->on_complete(result);
  }
  std::lock_guard lock(mutex);
  if (worker != nullptr && worker->state == Worker::State::busy && worker->current == nullptr)
    worker->last_used = now;
  release_invocation(&inv);
}

// Completes an invocation that never reached a worker (throttle, too large, stop, spawn
// failure). Caller sets body/error_type.
void Engine::Impl::complete_simple(Invocation& inv, Outcome outcome) {
  InvokeResult result;
  result.outcome = outcome;
  result.request_id = inv.request_id;
  result.body = inv.body;
  result.error_type = inv.error_type;
  result.content_type = "application/json";
  result.memory_size_mb = inv.function->config.memory_size;
  result.executed_version = inv.function->config.version;
  if (outcome == Outcome::throttled)
    result.throttle_reason = k_throttle_reason_reserved;
  {
    std::lock_guard sink_lock(inv.sink_mutex);
    inv.sink->on_complete(result);
  }
  std::lock_guard lock(mutex);
  release_invocation(&inv);
}

// ---------------------------------------------------------------------------------------
// Engine

Engine::Engine(asio::io_context& io, EngineOptions options)
    : m_impl(std::make_shared<Impl>(io, std::move(options))) {}

Engine::~Engine() {
  stop();
}

support::Result<FunctionHandle> Engine::add_function(FunctionConfig config) {
  auto& impl = *m_impl;
  std::vector<std::string> warnings;
  WISP_TRY_ASSIGN(auto launch, resolve_launch(config.runtime, config.code_dir, config.layer_dirs,
                                              impl.options.cache_dir, warnings));
  for (const auto& warning : warnings)
    impl.warn(warning);

  auto fn = std::make_unique<Function>();
  fn->config = std::move(config);
  fn->launch = std::move(launch);
  auto& cfg = fn->config;
  if (fn->launch.runtime.family == RuntimeFamily::nodejs) {
    auto flags = lambda_node_flags(cfg.memory_size);
    fn->launch.args.insert(fn->launch.args.begin(), flags.begin(), flags.end());
  }
  if (cfg.name.empty())
    cfg.name = cfg.id;
  fn->log_group = cfg.log_group.empty() ? "/aws/lambda/" + cfg.name : cfg.log_group;
  fn->arn = fmt::format("arn:aws:lambda:{}:{}:function:{}", impl.options.region,
                        impl.options.account_id, cfg.name);
  if (!impl.options.log_store_dir.empty())
    fn->log_dir = log_store_function_dir(impl.options.log_store_dir, cfg.id);
  fn->reserved = cfg.reserved_concurrency.has_value();
  fn->limit = fn->reserved ? std::max(0, *cfg.reserved_concurrency) : impl.options.max_concurrency;
  if (!fn->reserved && impl.options.eager_workers > 0 && impl.options.eager_workers < fn->limit) {
    fn->eager = impl.options.eager_workers;
    fn->scale_timer = std::make_unique<Timer>(impl.io.get_executor());
  }

  // The environment (docs/local-execution.md#environment).
  EnvBuilder env;
  for (const auto& name : impl.options.passthrough_env)
    if (const char* value = std::getenv(name.c_str()))
      env.set(name, value);
  if (const char* lang = std::getenv("LANG"))
    env.set("LANG", lang);
  std::vector<std::string> path_parts{
      std::getenv("PATH") != nullptr ? std::getenv("PATH") : "/usr/local/bin:/usr/bin:/bin"};
  std::vector<std::string> ld_parts;
  if (const char* ld = std::getenv("LD_LIBRARY_PATH"))
    ld_parts.emplace_back(ld);
  ld_parts.push_back(cfg.code_dir.string());
  ld_parts.push_back((cfg.code_dir / "lib").string());
  std::vector<std::string> layer_list;
  std::vector<std::string> node_path;
  for (const auto& layer : cfg.layer_dirs) {
    path_parts.push_back((layer / "bin").string());
    ld_parts.push_back((layer / "lib").string());
    layer_list.push_back(layer.string());
    node_path.push_back(
        (layer / "nodejs" / fmt::format("node{}", fn->launch.runtime.major) / "node_modules")
            .string());
    node_path.push_back((layer / "nodejs" / "node_modules").string());
  }
  env.set("PATH", join_paths(path_parts));
  env.set("LD_LIBRARY_PATH", join_paths(ld_parts));
  env.set("TZ", ":UTC");
  if (fn->launch.runtime.family == RuntimeFamily::nodejs) {
    node_path.push_back(cfg.code_dir.string());
    env.set("NODE_PATH", join_paths(node_path));
  }
  if (fn->launch.runtime.family == RuntimeFamily::python && !layer_list.empty())
    env.set("_WISP_LAYER_DIRS", join_paths(layer_list));
  for (const auto& [key, value] : cfg.environment) {
    if (sam::detail::is_reserved_env_name(key)) { // the rule validate applies
      impl.warn(fmt::format("function {}: environment variable {} is reserved by Lambda (a "
                            "deployment would be rejected); ignored",
                            cfg.id, key));
      continue;
    }
    env.set(key, value);
  }
  env.set("AWS_ACCESS_KEY_ID",
          impl.options.access_key_id.empty() ? "defaultkey" : impl.options.access_key_id);
  env.set("AWS_SECRET_ACCESS_KEY", impl.options.secret_access_key.empty()
                                       ? "defaultsecret"
                                       : impl.options.secret_access_key);
  if (!impl.options.session_token.empty())
    env.set("AWS_SESSION_TOKEN", impl.options.session_token);
  env.set("_HANDLER", cfg.handler);
  if (!fn->launch.execution_env.empty())
    env.set("AWS_EXECUTION_ENV", fn->launch.execution_env);
  env.set("AWS_LAMBDA_LOG_GROUP_NAME", fn->log_group);
  env.set("LAMBDA_TASK_ROOT", cfg.code_dir.string());
  env.set("LAMBDA_RUNTIME_DIR", fn->launch.runtime_dir.string());
  env.set("AWS_REGION", impl.options.region);
  env.set("AWS_DEFAULT_REGION", impl.options.region);
  env.set("AWS_LAMBDA_FUNCTION_NAME", cfg.name);
  env.set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(cfg.memory_size));
  env.set("AWS_LAMBDA_FUNCTION_VERSION", cfg.version);
  env.set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand");
  env.set("AWS_SAM_LOCAL", "true");
  for (const auto& [key, value] : cfg.env_overrides) {
    if (is_plumbing(key)) {
      impl.warn(fmt::format("function {}: --env-vars cannot set {}; ignored", cfg.id, key));
      continue;
    }
    env.set(key, value);
  }
  fn->base_env = env.build();

  std::lock_guard lock(impl.mutex);
  fn->handle.index = static_cast<std::uint32_t>(impl.functions.size());
  const auto handle = fn->handle;
  impl.functions.push_back(std::move(fn));
  return handle;
}

std::optional<FunctionHandle> Engine::find(std::string_view id) const {
  std::lock_guard lock(m_impl->mutex);
  for (const auto& fn : m_impl->functions)
    if (fn->config.id == id)
      return fn->handle;
  return std::nullopt;
}

const FunctionConfig& Engine::config(FunctionHandle function) const {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->functions.at(function.index)->config;
}

void Engine::invoke(FunctionHandle function, const InvokeRequest& request, InvokeSink& sink) {
  auto& impl = *m_impl;
  std::unique_lock lock(impl.mutex);
  auto& fn = *impl.functions.at(function.index);
  auto* inv = impl.acquire_invocation();
  inv->sink = &sink;
  inv->function = &fn;
  inv->payload = request.payload;
  inv->content_type = request.content_type;
  inv->client_context = request.client_context;
  inv->cognito_identity = request.cognito_identity;
  inv->tenant_id = request.tenant_id;
  inv->timeout = request.timeout;
  inv->tail_log = request.tail_log;
  inv->body.clear();
  inv->error_type.clear();
  inv->content_type_out.clear();
  inv->tail.clear();
  if (request.request_id.empty())
    write_uuid(inv->request_id, impl.rng);
  else
    inv->request_id.assign(request.request_id);
  if (!request.invoked_arn.empty()) {
    inv->arn.assign(request.invoked_arn);
  } else {
    inv->arn = fn.arn;
    if (!request.qualifier.empty()) {
      inv->arn += ':';
      inv->arn += request.qualifier;
    }
  }
  if (request.trace_id.empty())
    write_trace_id(inv->trace_id, impl.rng, WallClock::now());
  else
    inv->trace_id.assign(request.trace_id);

  auto fail_now = [&](Outcome outcome, std::string type, std::string body) {
    inv->error_type = std::move(type);
    inv->body = std::move(body);
    lock.unlock();
    impl.complete_simple(*inv, outcome);
  };
  if (impl.stopped)
    return fail_now(Outcome::engine_error, "ServiceException",
                    error_payload("ServiceException", "the local engine has stopped"));
  if (request.payload.size() > k_max_request_size)
    return fail_now(Outcome::request_too_large, "RequestTooLargeException",
                    request_too_large_payload());
  if (!fn.launch.invalid_entrypoint.empty()) {
    // provided* without a bootstrap: Lambda fails the invoke as an init error.
    inv->state = Invocation::State::completing;
    inv->started = Clock::now();
    inv->error_type = "Runtime.InvalidEntrypoint";
    const auto message =
        fmt::format("RequestId: {} Error: {}", inv->request_id, fn.launch.invalid_entrypoint);
    inv->body = error_payload(inv->error_type, message);
    inv->content_type_out = "application/json";
    lock.unlock();
    InvokeResult result;
    result.outcome = Outcome::init_error;
    result.request_id = inv->request_id;
    result.body = inv->body;
    result.error_type = inv->error_type;
    result.content_type = inv->content_type_out;
    result.memory_size_mb = fn.config.memory_size;
    result.executed_version = fn.config.version;
    result.billed_duration_ms = 1;
    std::string tail;
    const auto now_ms = epoch_ms(WallClock::now());
    auto log = [&](const std::string& line) {
      if (impl.options.on_log)
        impl.options.on_log(LogLine{fn.config.id, inv->request_id, line, now_ms});
      tail += line + "\n";
    };
    log(init_report_line(0, inv->error_type));
    log(start_line(inv->request_id, fn.config.version));
    log(message);
    log(inv->error_type);
    log(end_line(inv->request_id));
    ReportFields fields;
    fields.billed_duration_ms = 1;
    fields.memory_size_mb = fn.config.memory_size;
    fields.status = ReportStatus::error;
    fields.error_type = inv->error_type;
    log(report_line(inv->request_id, fields));
    if (inv->tail_log)
      result.log_tail = std::string_view(tail).substr(
          tail.size() > k_log_tail_size ? tail.size() - k_log_tail_size : 0);
    {
      std::lock_guard sink_lock(inv->sink_mutex);
      sink.on_complete(result);
    }
    std::lock_guard relock(impl.mutex);
    impl.release_invocation(inv);
    return;
  }
  // 1. A warm worker waiting on /next: answer its long-poll right here (no queue, no hop).
  if (!fn.idle.empty()) {
    auto* worker = fn.idle.back();
    fn.idle.pop_back();
    impl.answer_parked_locked(*worker, *inv);
    return;
  }
  // 2. A worker that has just answered and is about to ask for more, or a prewarmed one
  //    still starting, not yet promised to anyone: sequential callers stay on warm workers.
  for (auto& worker : fn.workers) {
    const bool finishing = worker->state == Worker::State::busy && worker->current == nullptr;
    const bool starting = worker->state == Worker::State::starting;
    if ((finishing || starting) && worker->bound == nullptr && !worker->killed &&
        worker->generation == fn.generation) {
      worker->bound = inv;
      inv->state = Invocation::State::bound;
      inv->worker = worker;
      return;
    }
  }
  // 3. Capacity left: a new worker, bound to this invocation (its cold start); past the
  //    eager workers only when the running ones leave the CPU unused (on_scale).
  const int alive = static_cast<int>(fn.workers.size());
  if (alive < fn.limit && fn.eager > 0 && alive >= fn.eager) {
    inv->state = Invocation::State::queued;
    fn.queue.push_back(inv);
    impl.arm_scale_locked(fn, true);
    return;
  }
  if (alive < fn.limit) {
    std::shared_ptr<Worker> worker;
    auto spawned = impl.spawn(fn, inv, worker);
    if (!spawned)
      return fail_now(Outcome::engine_error, "ServiceException",
                      error_payload("ServiceException", spawned.error().message));
    return;
  }
  // 4. Reserved concurrency reached: throttled at once, as Lambda does.
  if (fn.reserved) {
    ++impl.stats.throttles;
    return fail_now(Outcome::throttled, "TooManyRequestsException",
                    throttle_payload(k_throttle_reason_reserved));
  }
  // 5. The local maximum reached: wait for a worker.
  inv->state = Invocation::State::queued;
  fn.queue.push_back(inv);
}

void Engine::prewarm(FunctionHandle function, int count) {
  auto& impl = *m_impl;
  std::lock_guard lock(impl.mutex);
  if (impl.stopped)
    return;
  auto& fn = *impl.functions.at(function.index);
  if (!fn.launch.invalid_entrypoint.empty())
    return;
  for (int i = 0; i < count && static_cast<int>(fn.workers.size()) < fn.limit; ++i) {
    std::shared_ptr<Worker> worker;
    if (auto spawned = impl.spawn(fn, nullptr, worker); !spawned) {
      impl.warn(spawned.error().message);
      return;
    }
  }
}

void Engine::reload(FunctionHandle function) {
  auto& impl = *m_impl;
  std::lock_guard lock(impl.mutex);
  auto& fn = *impl.functions.at(function.index);
  ++fn.generation;
  auto idle = fn.idle;
  for (auto* worker : idle)
    impl.retire_locked(*worker);
  // Busy and starting workers notice the new generation at their next /next.
}

void Engine::stop() {
  auto& impl = *m_impl;
  std::vector<Invocation*> pending;
  {
    std::lock_guard lock(impl.mutex);
    if (impl.stopped)
      return;
    impl.stopped = true;
    beast::error_code ignored;
    impl.sweep.cancel();
    for (auto& fn : impl.functions) {
      if (fn->scale_timer)
        fn->scale_timer->cancel();
      for (auto* inv : fn->queue)
        pending.push_back(inv);
      fn->queue.clear();
      auto workers = fn->workers;
      for (auto& worker : workers) {
        if (worker->current != nullptr && worker->current->state == Invocation::State::running) {
          pending.push_back(worker->current);
          worker->current->state = Invocation::State::completing;
        }
        if (worker->bound != nullptr)
          pending.push_back(worker->bound);
        worker->current = nullptr;
        worker->bound = nullptr;
        impl.retire_locked(*worker);
      }
    }
  }
  for (auto* inv : pending) {
    inv->body = error_payload("ServiceException", "the local engine has stopped");
    inv->error_type = "ServiceException";
    impl.complete_simple(*inv, Outcome::engine_error);
  }
}

EngineStats Engine::stats() const {
  std::lock_guard lock(m_impl->mutex);
  auto stats = m_impl->stats;
  for (const auto& fn : m_impl->functions) {
    stats.workers += static_cast<std::uint32_t>(fn->workers.size());
    stats.idle_workers += static_cast<std::uint32_t>(fn->idle.size());
    stats.queued += static_cast<std::uint32_t>(fn->queue.size());
  }
  return stats;
}

// ---------------------------------------------------------------------------------------
// CollectingSink

void CollectingSink::on_stream_start(std::string_view content_type) {
  m_stream_type.assign(content_type);
}

void CollectingSink::on_stream_data(std::string_view bytes) {
  m_streamed.append(bytes);
  if (on_data)
    on_data(bytes);
}

void CollectingSink::on_complete(const InvokeResult& result) {
  m_body.assign(result.body);
  m_content_type.assign(result.content_type);
  m_error_type.assign(result.error_type);
  m_throttle_reason.assign(result.throttle_reason);
  m_request_id.assign(result.request_id);
  m_log_tail.assign(result.log_tail);
  m_version.assign(result.executed_version);
  m_result = result;
  m_result.body = m_body;
  m_result.content_type = m_content_type;
  m_result.error_type = m_error_type;
  m_result.throttle_reason = m_throttle_reason;
  m_result.request_id = m_request_id;
  m_result.log_tail = m_log_tail;
  m_result.executed_version = m_version;
  m_done.store(true, std::memory_order_release);
  if (on_done)
    on_done();
}

bool CollectingSink::done() const {
  return m_done.load(std::memory_order_acquire);
}

void CollectingSink::reset() {
  m_done.store(false, std::memory_order_release);
  m_result = InvokeResult{};
  m_streamed.clear();
  m_stream_type.clear();
}

} // namespace wisp::runtime
