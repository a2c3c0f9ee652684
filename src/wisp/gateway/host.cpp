// The Host: the io_context and its threads, the engine, the template's functions, hot reload,
// the asynchronous log, and running the doors until SIGINT/SIGTERM.

#include <wisp/gateway/door.hpp>
#include <wisp/gateway/host.hpp>
#include <wisp/gateway/jwt.hpp>
#include <wisp/gateway/text.hpp>
#include <wisp/support/strings.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's own reactor code once it is inlined here
// (a false positive in system headers); silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/basic_signal_set.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/post.hpp>
#pragma GCC diagnostic pop
#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <set>

namespace wisp::gateway {

namespace asio = boost::asio;

// ------------------------------------------------------------------ per-thread helpers

std::mt19937_64& rng() {
  thread_local std::mt19937_64 generator(std::random_device{}());
  return generator;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(WallClock::now().time_since_epoch())
      .count();
}

std::string_view http_date() {
  thread_local std::int64_t second = -1;
  thread_local std::string text;
  const auto now = now_ms() / 1000;
  if (now != second) {
    second = now;
    text = format_http_date(now);
  }
  return text;
}

std::string_view request_time(std::int64_t ms) {
  thread_local std::int64_t second = -1;
  thread_local std::string text;
  if (ms / 1000 != second) {
    second = ms / 1000;
    text = format_request_time(ms);
  }
  return text;
}

std::string clock_text() {
  thread_local std::int64_t second = -1;
  thread_local std::string prefix;
  const auto now = now_ms();
  if (now / 1000 != second) {
    second = now / 1000;
    const auto seconds = static_cast<std::time_t>(second);
    std::tm tm{};
    ::localtime_r(&seconds, &tm);
    prefix = fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  return fmt::format("{}.{:03}", prefix, now % 1000);
}

// ------------------------------------------------------------------ asynchronous log

AsyncLog::AsyncLog(std::function<void(std::string_view)> sink) : m_sink(std::move(sink)) {
  m_thread = std::thread([this] { run(); });
}

AsyncLog::~AsyncLog() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_one();
  m_thread.join();
}

void AsyncLog::run() {
  std::string batch;
  while (true) {
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait_for(lock, std::chrono::milliseconds(20),
                    [&] { return m_stop || m_pending.size() > 256u * 1024; });
      batch.swap(m_pending);
      if (batch.empty() && m_stop)
        return;
    }
    if (!batch.empty() && m_sink) {
      batch.pop_back(); // the sink writes lines: the block without its last newline
      m_sink(batch);
    }
    batch.clear();
  }
}

// ------------------------------------------------------------------ host: io, engine, functions

namespace {

// The gateway's share of a request is small next to the worker's: up to 4 cores one I/O
// thread (no cross-thread hand-offs, no lock contention; on 2 cores it served ~12% more
// requests than two threads, measured with tests/bench/bench_gateway.py), then one per 4 cores.
int core_count() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

} // namespace

int io_threads(const ServeOptions& options) {
  if (options.threads > 0)
    return options.threads;
  const int cores = core_count();
  return cores <= 4 ? 1 : cores / 4;
}

Host::Host(const ServeOptions& serve_options, const ServeOutput& serve_output)
    : options(serve_options), output(serve_output), io(io_threads(serve_options)),
      log(serve_output.log) {
  runtime::EngineOptions engine_options;
  // Locally, workers the CPU cannot run only add context switches and memory: on 2 cores,
  // 10 Node workers spent 3× the CPU per request of 4, and 4 spent ~1.4× that of 2
  // (gateway benchmark, CPU time per request). One worker per core starts at once; more
  // (up to the maximum) only while the running ones wait on I/O (EngineOptions).
  const int cores = core_count();
  engine_options.max_concurrency =
      serve_options.max_concurrency > 0 ? serve_options.max_concurrency : std::max(4, 2 * cores);
  engine_options.eager_workers = cores;
  engine_options.region = serve_options.region;
  engine_options.account_id = serve_options.account_id;
  engine_options.access_key_id = serve_options.access_key_id;
  engine_options.secret_access_key = serve_options.secret_access_key;
  engine_options.session_token = serve_options.session_token;
  engine_options.cache_dir = serve_options.cache_dir;
  engine_options.log_store_dir = serve_options.log_store_dir;
  engine_options.access_key_id = serve_options.access_key_id;
  engine_options.secret_access_key = serve_options.secret_access_key;
  engine_options.session_token = serve_options.session_token;
  engine_options.on_log = [this](const runtime::LogLine& line) { log.line(line.text); };
  engine_options.on_warning = [this](std::string_view warning) { warn(warning); };
  engine = std::make_unique<runtime::Engine>(io, std::move(engine_options));
  std::vector<JwksSource> sources;
  for (const auto& value : serve_options.jwks)
    sources.push_back(parse_jwks_flag(value));
  jwks = std::make_shared<JwksCache>(std::move(sources));
  jwks->on_problem = [this](std::string_view problem) {
    log.line(fmt::format("{} {}", clock_text(), problem));
  };
  for (const auto& problem : jwks->preload())
    warn(problem);
}

FunctionSlot& Host::function(const sam::Model& model, const std::string& id) {
  if (auto it = functions.find(id); it != functions.end())
    return it->second;
  auto& slot = functions[id];
  slot.id = id;
  const auto* fn = model.find_function(id);
  if (fn == nullptr) {
    slot.problem = fmt::format("function '{}' is not in the template", id);
    return slot;
  }
  slot.name = fn->function_name.empty() ? fn->logical_id : fn->function_name;
  slot.auto_publish_alias = fn->auto_publish_alias;
  std::vector<std::string> warnings;
  auto config = runtime::make_function_config(model, *fn, options.env_vars, warnings);
  for (const auto& w : warnings)
    warn(w);
  if (!config) {
    slot.problem = config.error().message;
    warn(fmt::format("function {} cannot run locally: {}", id, slot.problem));
    return slot;
  }
  slot.timeout = config->timeout;
  slot.version = config->version;
  if (const auto built = options.built.sources.find(id); built != options.built.sources.end()) {
    slot.sources = built->second;
    slot.rebuildable =
        options.built.rebuild && options.built.can_rebuild && options.built.can_rebuild(id);
  }
  slot.watch_dirs.push_back(config->code_dir);
  for (const auto& layer : config->layer_dirs)
    slot.watch_dirs.push_back(layer);
  if (!options.endpoint_url.empty()) // before --env-vars, which may still override it
    config->env_overrides.insert(config->env_overrides.begin(),
                                 {"AWS_ENDPOINT_URL", options.endpoint_url});
  std::vector<std::string> problems;
  const auto durable_config =
      durable ? durable::durable_config(model, *fn, &problems) : std::nullopt;
  for (const auto& problem : problems)
    warn(problem);
  if (durable_config)
    for (auto& variable : durable::function_environment(m_durable_endpoint))
      config->env_overrides.push_back(std::move(variable));
  auto handle = engine->add_function(std::move(*config));
  if (!handle) {
    slot.problem = handle.error().message;
    warn(fmt::format("function {} cannot run locally: {}", id, slot.problem));
    return slot;
  }
  slot.handle = *handle;
  slot.ok = true;
  if (durable_config)
    durable->add_function({slot.id, slot.name, slot.handle, slot.version, *durable_config});
  return slot;
}

void Host::enable_durable(const sam::Model& model, std::string endpoint_url) {
  durable::ServiceOptions service_options;
  service_options.store_dir = durable::Store::default_root(model.base_dir);
  service_options.region = options.region;
  service_options.account_id = options.account_id;
  service_options.time_scale = options.time_scale;
  service_options.skip_waits = options.skip_waits;
  service_options.endpoint_url = endpoint_url;
  service_options.log = [this](std::string_view line) { log.line(line); };
  service_options.warning = [this](std::string_view text) { warn(text); };
  m_durable_endpoint = std::move(endpoint_url);
  durable = std::make_unique<durable::Service>(io, *engine, std::move(service_options));
}

void Host::start_watching() {
  if (!options.watch)
    return;
  std::vector<FunctionSlot*> slots;
  for (auto& [id, slot] : functions)
    if (slot.ok)
      slots.push_back(&slot);
  // Targets: i is slot i's code (what runs), slots.size() + i its sources (built functions).
  const auto count = slots.size();
  watcher = std::make_unique<CodeWatcher>(
      io, [this, slots, count](std::size_t target, const std::string& path) {
        if (target >= count) {
          on_source_change(*slots.at(target - count), path);
          return;
        }
        auto& slot = *slots.at(target);
        if (now_ms() < slot.ignore_reload_until_ms.load())
          return; // the rebuild that swapped this build in has reloaded it already
        engine->reload(slot.handle);
        if (options.warm == WarmContainers::eager)
          engine->prewarm(slot.handle);
        log.line(fmt::format("{} Reloading {}: {} changed", clock_text(), slot.id, path));
      });
  std::set<std::string> warned;
  bool rebuilds = false;
  for (std::size_t i = 0; i < count; ++i) {
    for (const auto& dir : slots[i]->watch_dirs)
      if (auto added = watcher->add(i, dir); !added && warned.insert(added.error().message).second)
        warn(added.error().message);
    if (slots[i]->sources.empty())
      continue;
    rebuilds = rebuilds || slots[i]->rebuildable;
    if (auto added = watcher->add(count + i, slots[i]->sources, options.built.ignore);
        !added && warned.insert(added.error().message).second)
      warn(added.error().message);
  }
  watcher->start();
  if (rebuilds)
    m_rebuild_thread = std::thread([this] { rebuild_loop(); });
}

// ------------------------------------------------------------------ rebuilds (hot reload)

DeferredInvocation::DeferredInvocation(const runtime::InvokeRequest& r, runtime::InvokeSink& target)
    : payload(r.payload), content_type(r.content_type), request_id(r.request_id),
      invoked_arn(r.invoked_arn), qualifier(r.qualifier), client_context(r.client_context),
      cognito_identity(r.cognito_identity), trace_id(r.trace_id), tenant_id(r.tenant_id),
      timeout(r.timeout), tail_log(r.tail_log), sink(&target) {}

runtime::InvokeRequest DeferredInvocation::request() const {
  runtime::InvokeRequest r;
  r.payload = payload;
  r.content_type = content_type;
  r.request_id = request_id;
  r.invoked_arn = invoked_arn;
  r.qualifier = qualifier;
  r.client_context = client_context;
  r.cognito_identity = cognito_identity;
  r.trace_id = trace_id;
  r.tenant_id = tenant_id;
  r.timeout = timeout;
  r.tail_log = tail_log;
  return r;
}

void DeferredInvocation::on_stream_start(std::string_view type) {
  sink->on_stream_start(type);
}

void DeferredInvocation::on_stream_data(std::string_view bytes) {
  sink->on_stream_data(bytes);
}

void DeferredInvocation::on_complete(const runtime::InvokeResult& result) {
  auto keep = std::move(self); // this goes once the sink has the result
  sink->on_complete(result);
}

bool Host::defer(FunctionSlot& slot, const runtime::InvokeRequest& request,
                 runtime::InvokeSink& sink) {
  std::lock_guard lock(m_rebuild_mutex);
  if (!slot.rebuilding.load())
    return false;
  slot.deferred.push_back(std::make_unique<DeferredInvocation>(request, sink));
  return true;
}

void Host::on_source_change(FunctionSlot& slot, const std::string& path) {
  if (!slot.rebuildable) {
    log.line(fmt::format("{} {}: {} changed, but {} runs its build: run `wisp build` to use the "
                         "change",
                         clock_text(), slot.id, path, slot.id));
    return;
  }
  {
    std::lock_guard lock(m_rebuild_mutex);
    slot.rebuilding = true; // its next requests wait for the new build
    if (slot.rebuild_queued || m_rebuild_stop)
      return;
    slot.rebuild_queued = true;
    m_rebuild_queue.push_back(&slot);
  }
  log.line(fmt::format("{} Rebuilding {}: {} changed", clock_text(), slot.id, path));
  m_rebuild_cv.notify_one();
}

void Host::rebuild_loop() {
  while (true) {
    FunctionSlot* slot = nullptr;
    {
      std::unique_lock lock(m_rebuild_mutex);
      m_rebuild_cv.wait(lock, [this] { return m_rebuild_stop || !m_rebuild_queue.empty(); });
      if (m_rebuild_stop)
        return;
      slot = m_rebuild_queue.front();
      m_rebuild_queue.pop_front();
      slot->rebuild_queued = false;
    }
    const auto started = Clock::now();
    auto result = options.built.rebuild(slot->id);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    asio::post(io,
               [this, slot, result = std::move(result), ms] { finish_rebuild(*slot, result, ms); });
  }
}

void Host::finish_rebuild(FunctionSlot& slot, const RebuildResult& result, double ms) {
  if (stopping)
    return;
  std::vector<FunctionSlot*> served{&slot};
  for (const auto& id : result.functions)
    if (auto it = functions.find(id); it != functions.end() && &it->second != &slot)
      served.push_back(&it->second);
  if (result.ok) {
    for (auto* other : served) {
      if (!other->ok)
        continue;
      other->ignore_reload_until_ms = now_ms() + 2000;
      engine->reload(other->handle);
      if (options.warm == WarmContainers::eager)
        engine->prewarm(other->handle);
    }
    std::string also;
    for (std::size_t i = 1; i < served.size(); ++i)
      also += (i == 1 ? " (with " : ", ") + served[i]->id + (i + 1 == served.size() ? ")" : "");
    log.line(fmt::format("{} Rebuilt {}{} in {:.0f} ms", clock_text(), slot.id, also, ms));
  } else {
    log.line(fmt::format("{} Rebuild of {} failed, it keeps its last build: {}", clock_text(),
                         slot.id, result.message));
    for (const auto& line : support::split(result.detail, '\n'))
      if (!line.empty())
        log.line("  | " + line);
  }
  for (auto* other : served)
    release(*other, true);
}

// Lets the invocations that waited for a rebuild run (unless another rebuild is queued).
void Host::release(FunctionSlot& slot, bool only_when_idle) {
  std::vector<std::unique_ptr<DeferredInvocation>> waiting;
  {
    std::lock_guard lock(m_rebuild_mutex);
    if (only_when_idle && slot.rebuild_queued)
      return;
    slot.rebuilding = false;
    waiting.swap(slot.deferred);
  }
  for (auto& invocation : waiting) {
    auto* raw = invocation.get();
    raw->self = std::move(invocation);
    const auto request = raw->request();
    engine->invoke(slot.handle, request, *raw);
  }
}

void Host::stop_rebuilds() {
  {
    std::lock_guard lock(m_rebuild_mutex);
    m_rebuild_stop = true;
  }
  m_rebuild_cv.notify_all();
  // What still waits goes to the engine, which answers it as stopped.
  for (auto& [id, slot] : functions)
    if (slot.ok)
      release(slot, false);
}

void Host::prewarm() {
  if (options.warm != WarmContainers::eager)
    return;
  for (auto& [id, slot] : functions)
    if (slot.ok)
      engine->prewarm(slot.handle);
}

// ------------------------------------------------------------------ running

void Host::run(std::vector<std::unique_ptr<Door>>& doors, const RunHooks& hooks) {
  asio::basic_signal_set<Executor> signals(io.get_executor(), SIGINT, SIGTERM);
  asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor> grace(io.get_executor());
  const auto shutdown = [&] {
    if (stopping.exchange(true))
      return;
    signals.cancel();
    log.line(fmt::format("{} Shutting down", clock_text()));
    for (auto& door : doors)
      door->close();
    if (watcher)
      watcher->stop();
    stop_rebuilds();
    if (durable)
      durable->shutdown(); // executions stay RUNNING in the store; the next wisp resumes them
    if (hooks.stopping)
      hooks.stopping();
    engine->stop();
    // Let the exit handlers reap the workers, then stop.
    grace.expires_after(std::chrono::milliseconds(300));
    grace.async_wait([&](boost::system::error_code) { io.stop(); });
  };
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec)
      return;
    stop_signal = signal;
    shutdown();
  });
  {
    std::lock_guard lock(m_shutdown_mutex);
    m_shutdown = [this, &shutdown] { asio::post(io, shutdown); };
  }
  for (auto& door : doors)
    door->start_accepting();
  if (durable && options.resume_durable) {
    if (const auto resumed = durable->resume(); resumed > 0)
      info(fmt::format("Resumed {} durable execution{} left running", resumed,
                       resumed == 1 ? "" : "s"));
  }
  prewarm();
  start_watching();
  const int count = io_threads(options);
  std::vector<std::thread> threads;
  for (int i = 1; i < count; ++i)
    threads.emplace_back([this] { io.run(); });
  if (hooks.started)
    hooks.started();
  if (output.ready)
    output.ready("ready");
  io.run();
  for (auto& thread : threads)
    thread.join();
  stop_rebuilds();
  if (m_rebuild_thread.joinable())
    m_rebuild_thread.join();
  if (hooks.stopped)
    hooks.stopped();
  std::lock_guard lock(m_shutdown_mutex);
  m_shutdown = nullptr;
}

void Host::stop() {
  std::lock_guard lock(m_shutdown_mutex);
  if (m_shutdown)
    m_shutdown();
}

} // namespace wisp::gateway
