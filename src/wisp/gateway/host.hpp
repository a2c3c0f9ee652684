#pragma once
// Internal to the gateway: the Host every local server runs on. One io_context run by the I/O
// threads, one runtime::Engine, the template's functions registered once each (FunctionSlot),
// hot reload and prewarm, and one asynchronous log for access and function lines. Doors
// (door.hpp) listen on the Host; Host::run serves them until SIGINT or SIGTERM.
//
// Also the per-thread helpers every door uses: the random generator, the clocks and the
// once-per-second formatted times.

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
  bool multi_tenant = false; // TenancyConfig: requests must carry X-Amz-Tenant-Id
  std::vector<std::filesystem::path> watch_dirs;
};

class Door;

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
  FunctionSlot& function(const sam::Model& model, const std::string& id);

  // Starts the doors' listeners (already bound), prewarms and watches the registered
  // functions, reports ready, and runs the io_context on the I/O threads until SIGINT or
  // SIGTERM; then closes the doors, stops the engine and returns.
  void run(std::vector<std::unique_ptr<Door>>& doors);

  const ServeOptions& options;
  const ServeOutput& output;
  // Declared before the io_context: handlers destroyed with it still count connections.
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};
  boost::asio::io_context io;
  AsyncLog log;
  std::unique_ptr<runtime::Engine> engine;
  std::map<std::string, FunctionSlot> functions;
  std::unique_ptr<CodeWatcher> watcher;

private:
  void start_watching();
  void prewarm();
};

} // namespace wisp::gateway
