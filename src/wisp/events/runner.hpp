#pragma once
// Running the event sources: pollers for SQS, Kinesis and DynamoDB Streams, the schedules,
// and the push sources (SNS, EventBridge rules, S3 notifications) through queues wisp
// subscribes in the backend. Every delivery goes through the engine's `invoke`, like the
// gateway's requests; nothing here reaches into workers.
//
// Contract
// - `create` checks each mapping against the backend as Lambda does when it creates one (a
//   queue whose visibility timeout is below the function's timeout is refused with Lambda's
//   message) and sets up the push sources' plumbing (a queue per push source, its
//   subscription, rule and target, or bucket notification). Missing plumbing is created only
//   with `create_resources`.
// - The functions must be registered on the engine (under their logical ids) before `start`.
// - Messages are deleted only after the batch that holds them succeeded (or, with
//   ReportBatchItemFailures, was reported as processed), or when a filter rejects them, as
//   Lambda does. A backend that fails or throttles is retried with backoff; nothing received
//   is lost.
// - `stop` (any thread, also from a signal handler's context) stops receiving at once; `join`
//   waits for the pollers: a batch interrupted by the engine's shutdown is released to its
//   queue (visible again at once), never deleted.
// - Each delivery is one access-log line (source, batch size, function, outcome, time) and a
//   record in the function's local log store (`wisp logs --local`); retries, filtered
//   messages, DLQ moves and OnFailure records get lines too.

#include <wisp/events/backend.hpp>
#include <wisp/events/resources.hpp>
#include <wisp/events/schedule.hpp>
#include <wisp/events/sources.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::runtime {
class Engine;
} // namespace wisp::runtime

namespace wisp::events {

struct RunnerOptions {
  std::function<void(std::string_view)> log;  // delivery lines (the access log)
  std::function<void(std::string_view)> warn; // problems that do not stop anything
  // The clock schedules follow (default: the system clock). Tests start it elsewhere in time.
  std::function<TimePoint()> now;
  std::filesystem::path log_store_dir; // the local log store; empty: none
  bool create_resources = false;
  int sqs_wait_seconds = 1; // long polling per ReceiveMessage (bounds how long stop waits)
};

class EventRunner {
public:
  // `model`: the bound model (bind_model); `sources`: read_sources(model) without errors.
  static support::Result<std::unique_ptr<EventRunner>>
  create(runtime::Engine& engine, const sam::Model& model, std::vector<Source> sources,
         Binding binding, std::shared_ptr<Backend> backend, RunnerOptions options);
  ~EventRunner();
  EventRunner(const EventRunner&) = delete;
  EventRunner& operator=(const EventRunner&) = delete;

  // One line per source: what is polled or scheduled, for which function, and when a
  // schedule fires next.
  [[nodiscard]] std::vector<std::string> describe() const;

  void start();
  void stop();
  void join();

  struct Impl;

private:
  explicit EventRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

} // namespace wisp::events
