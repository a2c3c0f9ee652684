// The engine: its public API (registering functions, invoke's routing to a warm, starting or
// new worker, the queue and throttles, prewarm, reload, stop), completing invocations, and
// CollectingSink. The internals are split along their seams (engine_impl.hpp lists them):
// the Runtime API server (engine_connection.cpp), the worker pool (engine_pool.cpp), worker
// output and log lines (engine_output.cpp).

#include <wisp/runtime/engine_impl.hpp>
#include <wisp/runtime/lineage.hpp>

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
  case Outcome::recursive_loop:
    return "recursive_loop";
  }
  return "unknown";
}

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
  notify_end(inv, result, worker);
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
  notify_end(inv, result, nullptr);
  {
    std::lock_guard sink_lock(inv.sink_mutex);
    inv.sink->on_complete(result);
  }
  std::lock_guard lock(mutex);
  release_invocation(&inv);
}

// ---------------------------------------------------------------------------------------
// Observers

namespace {

// EngineOptions::on_log as an observer.
class LogCallback final : public EngineObserver {
public:
  explicit LogCallback(std::function<void(const LogLine&)> on_log) : m_on_log(std::move(on_log)) {}
  void on_log(const LogLine& line) override { m_on_log(line); }

private:
  std::function<void(const LogLine&)> m_on_log;
};

} // namespace

void Engine::Impl::add_observer(std::shared_ptr<EngineObserver> observer) {
  wants_cpu = wants_cpu || observer->wants_cpu_time();
  wants_tmp = wants_tmp || observer->wants_tmp_usage();
  observers.push_back(std::move(observer));
}

void Engine::Impl::notify_start_locked(Invocation& inv) {
  inv.observed_start = true;
  if (observers.empty())
    return;
  const InvocationStart start{inv.function->config.id, inv.request_id, inv.accepted_ms};
  for (const auto& observer : observers)
    observer->on_invoke_start(start);
}

void Engine::Impl::notify_end(Invocation& inv, const InvokeResult& result, Worker* worker) {
  if (observers.empty())
    return;
  InvocationRecord record;
  record.function_id = inv.function->config.id;
  record.request_id = inv.request_id;
  record.trace_id = inv.trace_id;
  record.version = inv.function->config.version;
  record.started = inv.observed_start;
  record.start_ms = inv.accepted_ms;
  record.end_ms = epoch_ms(WallClock::now());
  record.outcome = result.outcome;
  record.error_type = result.error_type;
  record.cold = result.cold;
  record.duration_ms = result.duration_ms;
  record.init_duration_ms = result.init_duration_ms;
  record.billed_duration_ms = result.billed_duration_ms;
  record.memory_size_mb = result.memory_size_mb;
  record.max_memory_used_mb = result.max_memory_used_mb;
  if (worker != nullptr && inv.cpu_start_ns) {
    if (const auto now_ns = worker->cpu_run_ns(); now_ns && *now_ns >= *inv.cpu_start_ns)
      record.cpu_ms = static_cast<double>(*now_ns - *inv.cpu_start_ns) / 1e6;
  }
  if (worker != nullptr && wants_tmp && worker->tmp_due(result.duration_ms, Clock::now()))
    record.tmp_used_bytes = worker->tmp_used_bytes();
  record.request_bytes = inv.payload.size();
  record.response_bytes = result.streamed ? inv.streamed_bytes : result.body.size();
  for (const auto& observer : observers)
    observer->on_invoke_end(record);
}

void Engine::add_observer(std::shared_ptr<EngineObserver> observer) {
  std::lock_guard lock(m_impl->mutex);
  m_impl->add_observer(std::move(observer));
}

// ---------------------------------------------------------------------------------------
// Engine

Engine::Engine(asio::io_context& io, EngineOptions options)
    : m_impl(std::make_shared<Impl>(io, std::move(options))) {
  auto& impl = *m_impl;
  if (!impl.options.log_store_dir.empty())
    impl.add_observer(std::make_shared<LogStoreObserver>(io, impl.options.log_store_dir));
  if (impl.options.on_log)
    impl.add_observer(std::make_shared<LogCallback>(impl.options.on_log));
}

Engine::~Engine() {
  stop();
}

support::Result<FunctionHandle> Engine::add_function(FunctionConfig config) {
  auto& impl = *m_impl;
  auto fn = std::make_unique<Function>();
  fn->config = std::move(config);
  auto& cfg = fn->config;
  if (cfg.name.empty())
    cfg.name = cfg.id;
  fn->log_group = cfg.log_group.empty() ? "/aws/lambda/" + cfg.name : cfg.log_group;
  fn->json_logs = cfg.log_format == "JSON"; // CloudFormation's values: Text | JSON
  fn->platform_logs =
      !fn->json_logs ||
      log_level_rank(cfg.system_log_level.empty() ? "INFO" : cfg.system_log_level) <=
          log_level_rank("INFO");

  // The runtime, its libraries, the environment and the file layout (worker_setup.cpp).
  std::vector<std::string> warnings;
  auto setup = detail::prepare_workers({cfg, impl.options, fn->log_group, fn->json_logs}, warnings);
  for (const auto& warning : warnings)
    impl.warn(warning);
  if (!setup)
    return tl::unexpected(setup.error());
  fn->launch = std::move(setup->launch);
  fn->host = std::move(setup->host);
  fn->lambda = std::move(setup->lambda);

  fn->arn = fmt::format("arn:aws:lambda:{}:{}:function:{}", impl.options.region,
                        impl.options.account_id, cfg.name);
  fn->lineage_hash = lineage_hash(fn->arn);
  fn->reserved = cfg.reserved_concurrency.has_value();
  fn->limit = fn->reserved ? std::max(0, *cfg.reserved_concurrency) : impl.options.max_concurrency;
  if (!fn->reserved && impl.options.eager_workers > 0 && impl.options.eager_workers < fn->limit) {
    fn->eager = impl.options.eager_workers;
    fn->scale_timer = std::make_unique<Timer>(impl.io.get_executor());
  }

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

void Engine::set_environment(FunctionHandle function,
                             const std::vector<std::pair<std::string, std::string>>& variables) {
  std::lock_guard lock(m_impl->mutex);
  auto& fn = *m_impl->functions.at(function.index);
  // Both variants (host paths, Lambda's layout) carry the function's environment.
  auto set = [&](std::vector<std::string>& env) {
    for (const auto& [key, value] : variables) {
      const auto prefix = key + "=";
      auto it = std::find_if(env.begin(), env.end(),
                             [&](const std::string& entry) { return entry.starts_with(prefix); });
      if (it != env.end())
        *it = prefix + value;
      else
        env.push_back(prefix + value);
    }
  };
  set(fn.host.env);
  if (fn.lambda)
    set(fn.lambda->env);
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
  inv->accepted_ms = epoch_ms(WallClock::now());
  inv->observed_start = false;
  inv->cpu_start_ns.reset();
  inv->streamed_bytes = 0;
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
  // Recursive loop detection (lineage.hpp): this invocation's place in its chain of events.
  const int previous = lineage_count(inv->trace_id, fn.lineage_hash);
  const int chain = previous < 0 ? 0 : previous + 1;
  inv->trace_id = with_lineage(inv->trace_id, fn.lineage_hash, chain);

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
  if (chain >= k_recursion_limit && !fn.config.recursive_loop_allowed)
    return fail_now(Outcome::recursive_loop, "RecursiveInvocationException",
                    error_payload("RecursiveInvocationException",
                                  "Lambda has detected your function being invoked in a recursive "
                                  "loop with other AWS resources and stopped your function's "
                                  "invocation."));
  if (!fn.launch.invalid_entrypoint.empty()) {
    // provided* without a bootstrap: Lambda fails the invoke as an init error.
    inv->state = Invocation::State::completing;
    inv->started = Clock::now();
    inv->error_type = "Runtime.InvalidEntrypoint";
    const auto message =
        fmt::format("RequestId: {} Error: {}", inv->request_id, fn.launch.invalid_entrypoint);
    inv->body = error_payload(inv->error_type, message);
    inv->content_type_out = "application/json";
    impl.notify_start_locked(*inv);
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
      if (line.empty())
        return;
      const LogLine log_line{fn.config.id, inv->request_id, line, now_ms, fn.log_group, {}};
      for (const auto& observer : impl.observers)
        observer->on_log(log_line);
      tail += line + "\n";
    };
    const auto wall = WallClock::now();
    ReportFields fields;
    fields.billed_duration_ms = 1;
    fields.memory_size_mb = fn.config.memory_size;
    fields.status = ReportStatus::error;
    fields.error_type = inv->error_type;
    std::string scratch;
    log(init_report_for(fn, 0, inv->error_type));
    if (!fn.json_logs) {
      log(start_line(inv->request_id, fn.config.version));
    } else if (fn.platform_logs) {
      write_platform_start(scratch, wall, inv->request_id, fn.arn, fn.config.version);
      log(scratch);
    }
    log(message);
    log(inv->error_type);
    if (!fn.json_logs) {
      log(end_line(inv->request_id));
      log(report_line(inv->request_id, fields));
    } else if (fn.platform_logs) {
      write_platform_report(scratch, wall, inv->request_id, fields);
      log(scratch);
    }
    if (inv->tail_log)
      result.log_tail = std::string_view(tail).substr(
          tail.size() > k_log_tail_size ? tail.size() - k_log_tail_size : 0);
    impl.notify_end(*inv, result, nullptr);
    {
      std::lock_guard sink_lock(inv->sink_mutex);
      sink.on_complete(result);
    }
    std::lock_guard relock(impl.mutex);
    impl.release_invocation(inv);
    return;
  }
  // Accepted from here on (throttles excepted): a worker runs it, starts for it, or it waits.
  // 1. A warm worker waiting on /next: answer its long-poll right here (no queue, no hop).
  if (!fn.idle.empty()) {
    impl.notify_start_locked(*inv);
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
      impl.notify_start_locked(*inv);
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
    impl.notify_start_locked(*inv);
    inv->state = Invocation::State::queued;
    fn.queue.push_back(inv);
    impl.arm_scale_locked(fn, true);
    return;
  }
  if (alive < fn.limit) {
    impl.notify_start_locked(*inv);
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
  impl.notify_start_locked(*inv);
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
