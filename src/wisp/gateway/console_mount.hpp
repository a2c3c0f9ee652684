#pragma once
// Internal to the gateway: the console (src/wisp/console/, docs/console.md) on a local server.
//
// - ConsoleMount answers /_wisp and /_wisp/… on the first port (Door::set_mount), or on a
//   ConsoleDoor of its own when an API's routes would match those paths. Its requests are kept
//   out of the access log.
// - Its Dashboard is fed by an engine observer (console::DashboardFeed) added before the first
//   invocation; the page's event stream takes over the request's connection (Exchange::takeover)
//   and gets the dashboard's changes every 250 ms — built once per tick for all subscribers,
//   and nothing at all while nobody watches.
// - A browser that goes away: its connection's read fails, the next send drops it, and its
//   socket and buffers go with it. A subscriber more than 4 MiB behind is dropped too.
// - Work that takes time (a cold-start profile) runs on the mount's own thread, never on an
//   I/O thread.

#include <wisp/console/dashboard.hpp>
#include <wisp/console/site.hpp>
#include <wisp/gateway/door.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace wisp::durable {
class Service;
} // namespace wisp::durable

namespace wisp::gateway {

class ConsoleMount final : public Mount {
public:
  // Prices from options.prices_file (else the built-in table); an error for a bad price file.
  static support::Result<std::unique_ptr<ConsoleMount>> create(Host& host, const sam::Model& model);
  ~ConsoleMount() override;
  ConsoleMount(const ConsoleMount&) = delete;
  ConsoleMount& operator=(const ConsoleMount&) = delete;

  [[nodiscard]] bool claims(std::string_view path) const override;
  void handle(Door& door, Exchange& ex) override;

  // Lists the host's registered functions on the dashboard and starts the ticks. Call after
  // the doors registered their functions, before Host::run.
  void start();

  console::Dashboard& dashboard();

  struct Impl;

private:
  explicit ConsoleMount(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> m_impl;
};

// The console on a port of its own.
class ConsoleDoor final : public Door {
public:
  ConsoleDoor(Host& host, ConsoleMount& mount);

  [[nodiscard]] std::uint64_t body_limit() const override { return 64u * 1024; }
  void payload_too_large(Exchange& ex) override;
  void headers_too_large(Exchange& ex) override;
  void handle(Exchange& ex) override;
  void on_complete(Exchange& ex, const runtime::InvokeResult& result) override;

private:
  ConsoleMount& m_console;
};

// Creates the console and mounts it on `first`, or, when `first` is null, on a ConsoleDoor of
// its own listening at `port` (0: any free port); `why_not` (why not the first API port) goes
// in the start-up line when not empty,
// appended to `doors`. Prints `Console: http://<host>:<port>/_wisp/`. Call after every door has
// registered its functions, before Host::run.
support::Result<std::unique_ptr<ConsoleMount>>
open_console(Host& host, const sam::Model& model, Door* first, std::string_view why_not, int port,
             std::vector<std::unique_ptr<Door>>& doors);

// The console's durable executions API (console_durable.cpp), nullopt for other paths:
//   GET  /_wisp/api/durable?status=S          {"enabled", "executions" (newest first, ≤ 200),
//                                             "matching"}; enabled false without a service
//   GET  /_wisp/api/durable/execution?arn=A   its operations, invocations, awaited callbacks
//   POST /_wisp/api/durable/stop?arn=A        StopDurableExecution (body: an ErrorObject or
//                                             empty)
//   POST /_wisp/api/durable/callback?id=ID&action=succeed|fail   the callback's result, or an
//                                             ErrorObject
// POSTs need `from_page` (the X-Wisp-Console header) and run deferred (the service may
// forward them to the wisp that runs the execution); their answers are the Lambda API's.
std::optional<console::SiteResponse> durable_api(durable::Service* service, std::string_view method,
                                                 std::string_view path, std::string_view query,
                                                 std::string_view body, bool from_page);

// True when one of `routes` would match a request for /_wisp/ (the console then needs a port
// of its own).
bool routes_claim_console(const std::vector<const sam::Route*>& routes);

} // namespace wisp::gateway
