#pragma once
// The events area's entry point for a command that serves a template (`wisp local start`):
// the template's event sources, bound to a backend, delivered through an engine.
//
// Order of use
//   1. `prepare`: reads the event sources (every problem at once, with file:line:col),
//      connects to the backend and binds the template's queues, topics, tables, streams,
//      buckets and buses (creating them with `create_resources`).
//   2. Register `model()`'s functions on the engine (it is the template's model with the
//      functions' environment bound to the backend's names, URLs and ARNs).
//   3. `attach`: checks the mappings and sets up the push sources' plumbing.
//   4. `start`; at shutdown `stop` BEFORE the engine stops (so interrupted batches are
//      released to their queues), then `join` (the engine's io_context need not run).
// A template without event sources or backend resources needs no backend: `prepare` then
// binds nothing and `describe` is empty.

#include <wisp/aws/client.hpp>
#include <wisp/events/runner.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::runtime {
class Engine;
} // namespace wisp::runtime

namespace wisp::events {

struct EventsOptions {
  aws::ClientOptions client; // --region, --profile, --endpoint-url, the credential chain
  bool create_resources = false;
  std::function<TimePoint()> now;             // the schedules' clock; empty: the system clock
  std::filesystem::path log_store_dir;        // delivery records for `wisp logs --local`
  std::function<void(std::string_view)> info; // startup lines
  std::function<void(std::string_view)> log;  // delivery lines (the access log)
  std::function<void(std::string_view)> warn;
};

class LocalEvents {
public:
  static support::Result<std::unique_ptr<LocalEvents>> prepare(const sam::Model& model,
                                                               EventsOptions options);
  ~LocalEvents();
  LocalEvents(const LocalEvents&) = delete;
  LocalEvents& operator=(const LocalEvents&) = delete;

  // The bound model: serve every function from it.
  [[nodiscard]] const sam::Model& model() const;
  // Logical ids of the functions event sources deliver to.
  [[nodiscard]] std::vector<std::string> functions() const;
  [[nodiscard]] bool empty() const; // no event sources

  // `log` (optional) replaces EventsOptions::log from here on: the server's one access log.
  support::Status attach(runtime::Engine& engine, std::function<void(std::string_view)> log = {});
  // The backend's region and account (the defaults when nothing is bound), and the
  // credentials functions should get to reach it (nullopt: none resolved or none needed).
  [[nodiscard]] std::string region() const;
  [[nodiscard]] std::string account() const;
  [[nodiscard]] std::optional<aws::Credentials> credentials() const;
  [[nodiscard]] std::vector<std::string> describe() const;
  void start();
  void stop();
  void join();

  struct Impl;

private:
  explicit LocalEvents(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// "2026-11-23T12:00:00Z" → a clock that starts there now and runs at the system clock's
// pace (`--clock`, for trying schedules without waiting).
support::Result<std::function<TimePoint()>> clock_starting_at(std::string_view iso_time);

} // namespace wisp::events
