#pragma once
// The console page at /_wisp/ and its API, independent of the HTTP server that carries it
// (the gateway mounts it: gateway/console_mount.hpp).
//
//   GET /_wisp/                     the page (HTML, CSS, JS and uPlot embedded in the binary)
//   GET /_wisp/api/state            everything the page shows (JSON; X-Wisp-Subscribers: the
//                                   event streams open now)
//   GET /_wisp/api/events           server-sent events: `state` at once, then `changes` at most
//                                   every 250 ms while something changed, a comment every 15 s
//   GET /_wisp/api/logs?function=F&request=ID    a request's log lines still in the ring
//   GET /_wisp/api/projection?function=F&rate=R  a month at R requests per second
//   GET /_wisp/api/coldstart?function=F          the function's INIT by module (runs a
//                                                profiler: `deferred`, off the I/O threads)
//   /_wisp/api/durable…                          durable executions (the gateway answers
//                                                them: gateway/console_mount.hpp)
//
// Contract
// - handle() never blocks; work that takes time comes back as `deferred`, which the server
//   runs on another thread and answers with its result.
// - Event streams: every subscriber gets the same bytes (built once per tick, shared); a
//   subscriber that cannot take more (its sink returns false: closed, or too far behind) is
//   dropped at once. No state is kept per subscriber beyond its sink.

#include <wisp/console/dashboard.hpp>
#include <wisp/support/error.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::console {

struct SiteResponse {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool event_stream = false;              // the server keeps the connection and subscribes it
  std::function<SiteResponse()> deferred; // run off the I/O threads; its result is the answer
};

// Where a subscriber's events go (the server's connection). Called from any thread; returns
// false when the connection is gone or too far behind (then it is dropped).
class EventSink {
public:
  virtual ~EventSink() = default;
  virtual bool send(std::shared_ptr<const std::string> bytes) = 0;
  virtual void close() = 0;
  // The connection is gone (noticed by a read): dropped at the next tick.
  [[nodiscard]] virtual bool closed() const = 0;
};

// Runs the cold-start profiler for a function and returns its JSON (or an error).
using ColdStartRunner = std::function<support::Result<std::string>(std::string_view function_id)>;

class Site {
public:
  Site(Dashboard& dashboard, ColdStartRunner coldstart);
  ~Site();
  Site(const Site&) = delete;
  Site& operator=(const Site&) = delete;

  // `target` is the request target (path and query). Paths outside /_wisp get 404.
  [[nodiscard]] SiteResponse handle(std::string_view method, std::string_view target) const;

  // An event-stream response's connection: it gets the full state now, then the ticks.
  void subscribe(std::shared_ptr<EventSink> sink, std::int64_t now_ms);
  // Sends what changed since the last tick (and keep-alive comments) to every subscriber;
  // the server calls it every 250 ms.
  void tick(std::int64_t now_ms);
  // Something outside the dashboard changed (`topic`: "durable"): the next tick sends
  // `event: <topic>` (data: a counter) to every subscriber, once however many changes. Any
  // thread.
  void notify(std::string_view topic);
  // Closes every subscriber (shutdown).
  void close_all();
  [[nodiscard]] std::size_t subscribers() const;

  // SSE framing: "event: <name>\ndata: <one line>\n\n".
  static std::string frame(std::string_view event, std::string_view data);

private:
  Dashboard& m_dashboard;
  ColdStartRunner m_coldstart;
  mutable std::mutex m_mutex;
  std::vector<std::shared_ptr<EventSink>> m_sinks;
  std::uint64_t m_cursor = 0;
  std::int64_t m_last_send_ms = 0;
  std::atomic<std::uint64_t> m_durable_changes{0};
  std::uint64_t m_durable_sent = 0; // under m_mutex
};

// Decodes a query-string value (%XX and '+').
std::string url_decode(std::string_view text);
// The value of `name` in a query string, decoded; empty when absent.
std::string query_value(std::string_view query, std::string_view name);

} // namespace wisp::console
