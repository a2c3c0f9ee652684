#pragma once
// Internal to the gateway: the Host every local server runs on. One io_context run by the I/O
// threads, one runtime::Engine, the template's functions registered once each (FunctionSlot),
// hot reload and prewarm, and one asynchronous log for access and function lines. Doors
// (door.hpp) listen on the Host; Host::run serves them until SIGINT or SIGTERM.
//
// Also the per-thread helpers every door uses: the random generator, the clocks and the
// once-per-second formatted times.

#include <wisp/durable/service.hpp>
#include <wisp/gateway/server.hpp>
#include <wisp/gateway/watcher.hpp>
#include <wisp/runtime/engine.hpp>

// GCC 12 reports -Wnull-dereference inside Asio's own reactor code once it is inlined (a false
// positive in system headers); silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio/io_context.hpp>
#pragma GCC diagnostic pop

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace wisp::gateway {

using Clock = std::chrono::steady_clock;
using WallClock = std::chrono::system_clock;

// ------------------------------------------------------------------ per-thread helpers

std::mt19937_64& rng();
std::int64_t now_ms();
// The Date header, formatted once per second per thread.
std::string_view http_date();
// API Gateway's request time, formatted once per second per thread.
std::string_view request_time(std::int64_t ms);
// HH:MM:SS.mmm local time (the local-time conversion is done once per second per thread).
std::string clock_text();

// ------------------------------------------------------------------ asynchronous log

// Lines are queued by any thread and written by one background thread in batches (one write
// per batch, at most every 20 ms), so the request path never blocks on the terminal and
// never wakes another thread per line.
class AsyncLog {
public:
  explicit AsyncLog(std::function<void(std::string_view)> sink);
  ~AsyncLog();
  AsyncLog(const AsyncLog&) = delete;
  AsyncLog& operator=(const AsyncLog&) = delete;

  void line(std::string_view text) {
    bool wake = false;
    {
      std::lock_guard lock(m_mutex);
      if (m_pending.size() > 64u * 1024 * 1024)
        return; // a terminal that cannot keep up loses lines, never memory
      m_pending.append(text);
      m_pending.push_back('\n');
      wake = m_pending.size() > 256u * 1024;
    }
    if (wake)
      m_cv.notify_one();
  }

private:
  void run();

  std::function<void(std::string_view)> m_sink;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::string m_pending;
  bool m_stop = false;
  std::thread m_thread;
};

// ------------------------------------------------------------------ host: io, engine, functions

// I/O threads for these options (ServeOptions::threads, else 1 up to 4 cores, then cores/4).
int io_threads(const ServeOptions& options);

struct DeferredInvocation;

// One template function as the engine runs it; `ok` false with `problem` when it cannot run
// locally (it still answers, with the door's error).
struct FunctionSlot {
  std::string id;
  bool ok = false;
  std::string problem;
  runtime::FunctionHandle handle;
  int timeout = 3;
  std::string version = "$LATEST";
  std::string auto_publish_alias;
  std::string name; // FunctionName, else the logical id
  std::vector<std::filesystem::path> watch_dirs;
  // Hot reload of a function that runs from its build (ServeOptions::built).
  std::filesystem::path sources; // its CodeUri, watched; empty: not built
  bool rebuildable = false;
  std::atomic<bool> rebuilding{false};                       // its invocations wait (in `deferred`)
  bool rebuild_queued = false;                               // guarded by Host's rebuild mutex
  std::vector<std::unique_ptr<DeferredInvocation>> deferred; // guarded likewise
  std::atomic<std::int64_t> ignore_reload_until_ms{0};       // its own rebuild swapped the build in
};

// An invocation that waits for its function's rebuild: owns copies of the request's views
// and forwards the result to the door's sink.
struct DeferredInvocation final : runtime::InvokeSink {
  DeferredInvocation(const runtime::InvokeRequest& request, runtime::InvokeSink& target);
  [[nodiscard]] runtime::InvokeRequest request() const;
  void on_stream_start(std::string_view content_type) override;
  void on_stream_data(std::string_view bytes) override;
  void on_complete(const runtime::InvokeResult& result) override;

  std::string payload, content_type, request_id, invoked_arn, qualifier, client_context,
      cognito_identity, trace_id, tenant_id;
  std::chrono::milliseconds timeout{0};
  bool tail_log = false;
  runtime::InvokeSink* sink = nullptr;
  std::unique_ptr<DeferredInvocation> self; // set while the engine runs it
};

class Door;
class JwksCache;

// What runs beside the doors on the same engine (the event sources, ...): `started` once the
// doors accept, `stopping` at SIGINT/SIGTERM before the engine stops (so an interrupted
// invocation is not taken for a failed one), `stopped` after the I/O threads end.
struct RunHooks {
  std::function<void()> started;
  std::function<void()> stopping;
  std::function<void()> stopped;
};

class Host {
public:
  Host(const ServeOptions& serve_options, const ServeOutput& serve_output);
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  void warn(std::string_view text) const {
    if (output.warning)
      output.warning(text);
  }
  void info(std::string_view text) const {
    if (output.info)
      output.info(text);
  }

  // Registers the model's function `id` once; returns its slot (check ok). Slots stay put.
  // A function with DurableConfig also joins the durable execution service (when enabled).
  FunctionSlot& function(const sam::Model& model, const std::string& id);

  // Every door invokes through here: while the function is being rebuilt, the invocation
  // waits for the new build (the request's views are copied).
  void invoke(FunctionSlot& slot, const runtime::InvokeRequest& request,
              runtime::InvokeSink& sink) {
    if (slot.rebuilding.load(std::memory_order_acquire) && defer(slot, request, sink))
      return;
    engine->invoke(slot.handle, request, sink);
  }
  // Serves durable functions from now on: the durable execution service (`durable`), with
  // its store beside the template, reachable by the functions' SDKs at `endpoint_url` (a door
  // of this host that mounts the service's routes). Call before registering functions.
  void enable_durable(const sam::Model& model, std::string endpoint_url);

  // Starts the doors' listeners (already bound), prewarms and watches the registered
  // functions, reports ready, and runs the io_context on the I/O threads until SIGINT or
  // SIGTERM; then closes the doors, stops the engine and returns.
  void run(std::vector<std::unique_ptr<Door>>& doors, const RunHooks& hooks = {});
  // Ends run() as SIGTERM would (from any thread).
  void stop();

  const ServeOptions& options;
  const ServeOutput& output;
  // Declared before the io_context: handlers destroyed with it still count connections.
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};
  std::atomic<int> stop_signal{0}; // the signal that ended run(), if one did
  boost::asio::io_context io;
  AsyncLog log;
  std::unique_ptr<runtime::Engine> engine;
  // The durable execution service (after the engine: it goes first); null until enabled.
  std::unique_ptr<durable::Service> durable;
  std::map<std::string, FunctionSlot> functions;
  std::unique_ptr<CodeWatcher> watcher;
  // JWT and Cognito authorizers' key sets (options.jwks), shared by every door.
  std::shared_ptr<JwksCache> jwks;

private:
  std::function<void()> m_shutdown; // set by run()
  std::mutex m_shutdown_mutex;
  std::string m_durable_endpoint;
  void start_watching();
  void prewarm();
  bool defer(FunctionSlot& slot, const runtime::InvokeRequest& request, runtime::InvokeSink& sink);
  void on_source_change(FunctionSlot& slot, const std::string& path);
  void rebuild_loop();
  void finish_rebuild(FunctionSlot& slot, const RebuildResult& result, double ms);
  void release(FunctionSlot& slot, bool only_when_idle);
  void stop_rebuilds();

  std::mutex m_rebuild_mutex;
  std::condition_variable m_rebuild_cv;
  std::deque<FunctionSlot*> m_rebuild_queue;
  bool m_rebuild_stop = false;
  std::thread m_rebuild_thread;
};

} // namespace wisp::gateway
