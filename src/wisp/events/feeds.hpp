#pragma once
// Internal to the events area: what the runner's feeds (queue pollers, stream pollers, the
// scheduler) share — blocking invocation through the engine, the delivery log, interruptible
// waits — and the feeds themselves.

#include <wisp/events/backend.hpp>
#include <wisp/events/records.hpp>
#include <wisp/events/resources.hpp>
#include <wisp/events/runner.hpp>
#include <wisp/events/sources.hpp>
#include <wisp/runtime/engine.hpp>
#include <wisp/runtime/log_store.hpp>

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::events::detail {

// An owned copy of an invocation's outcome.
struct Invocation {
  runtime::Outcome outcome = runtime::Outcome::engine_error;
  std::string body;
  std::string error_type;
  std::string request_id;
  double duration_ms = 0;
  bool cold = false;
  [[nodiscard]] bool ok() const { return outcome == runtime::Outcome::success; }
  // "ok", "Unhandled (Error)", "timeout", "throttled", ...
  [[nodiscard]] std::string describe() const;
};

// The shared state of every feed.
class Context {
public:
  Context(runtime::Engine& engine, const sam::Model& model, Binding binding,
          std::shared_ptr<Backend> backend, RunnerOptions options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Runs the function with each payload at once; blocks until all have completed. `trace` is
  // the X-Ray trace header the event carried (SQS's AWSTraceHeader), empty for a new trace: its
  // Lineage is how the engine stops a recursive loop (runtime/lineage.hpp).
  std::vector<Invocation> invoke(const std::string& function_id,
                                 const std::vector<std::string>& payloads,
                                 std::string_view trace = {});
  Invocation invoke(const std::string& function_id, const std::string& payload,
                    std::string_view trace = {});

  // A delivery's access-log line and log-store record.
  void delivered(const std::string& function_id, std::string_view kind, std::string_view source,
                 std::size_t items, std::string_view unit, const Invocation& result,
                 std::string_view outcome);
  // A note about a source (retries, filtered messages, DLQ moves, backend trouble).
  void note(const std::string& function_id, std::string_view kind, std::string_view source,
            std::string_view text, std::string_view request_id = {});
  void warn(std::string_view text);

  // Waits up to `duration`; false when stopping (at once when already stopping).
  bool sleep_for(std::chrono::milliseconds duration);
  [[nodiscard]] bool stopping() const { return m_stopping.load(); }
  void stop();

  [[nodiscard]] TimePoint now() const;
  [[nodiscard]] const Backend& backend() const { return *m_backend; }
  [[nodiscard]] const Binding& binding() const { return m_binding; }
  [[nodiscard]] const sam::Model& model() const { return m_model; }
  [[nodiscard]] const RunnerOptions& options() const { return m_options; }
  [[nodiscard]] SourceInfo source_info(std::string arn) const;
  // The function's timeout (seconds) and ARN, its role's ARN, its asynchronous retries.
  [[nodiscard]] int function_timeout(const std::string& function_id) const;
  [[nodiscard]] std::string function_arn(const std::string& function_id) const;
  [[nodiscard]] std::string role_arn(const std::string& function_id) const;
  [[nodiscard]] int async_retries(const std::string& function_id) const;

  // Stream checkpoints (the last sequence number processed per shard), kept for this backend
  // in <template dir>/.wisp/events/checkpoints.json so a restart resumes where it stopped.
  [[nodiscard]] std::optional<std::string> checkpoint(const std::string& key);
  void save_checkpoint(const std::string& key, const std::string& sequence);

private:
  runtime::Engine& m_engine;
  const sam::Model& m_model;
  Binding m_binding;
  std::shared_ptr<Backend> m_backend;
  RunnerOptions m_options;
  std::atomic<bool> m_stopping{false};
  std::mutex m_sleep_mutex;
  std::condition_variable m_sleep_cv;
  std::mutex m_store_mutex;
  std::map<std::string, std::unique_ptr<runtime::LogStoreWriter>> m_stores;
  std::mutex m_checkpoint_mutex;
  std::optional<boost::json::object> m_checkpoints; // loaded on first use
};

// A source being delivered: started once, joined once.
class Feed {
public:
  virtual ~Feed() = default;
  virtual void start() = 0;
  virtual void join() = 0;
  [[nodiscard]] virtual std::string describe() const = 0;
};

// A queue the runner polls: an SQS source, or the queue wisp subscribed for a push source.
struct QueueSpec {
  Source source;
  enum class Mode { sqs, sns, eventbridge, s3 } mode = Mode::sqs;
  std::string url;
  std::string arn;
  std::string name;
  bool fifo = false;
  int visibility_timeout = 30;
  std::string dead_letter_arn; // the queue's RedrivePolicy
  int max_receive_count = 0;
  std::string subscription_arn; // SNS
  std::string rule_arn;         // EventBridge
  std::string origin;           // what the log calls the source (topic, bus, bucket, queue)
};

std::unique_ptr<Feed> make_queue_feed(Context& context, QueueSpec spec);

struct StreamSpec {
  Source source;
  std::string stream_arn;
  std::string origin; // the table or stream name
  std::string on_failure_arn;
  // Tells one life of a stream from the next of the same name (a Kinesis stream's creation
  // time; a DynamoDB stream's ARN already does): checkpoints are kept per incarnation.
  std::string incarnation;
};

std::unique_ptr<Feed> make_stream_feed(Context& context, StreamSpec spec);

struct ScheduleSpec {
  Source source;
  std::string arn; // the rule's or the schedule's ARN
};

std::unique_ptr<Feed> make_schedule_feed(Context& context, std::vector<ScheduleSpec> schedules);

// "12:03:04.567" in local time (the access log's clock).
std::string clock_text();

// The payload of an async push event for a Scheduler schedule or a rule's schedule.
std::string schedule_payload(const ScheduleSpec& spec, TimePoint scheduled, const SourceInfo& info,
                             std::string_view execution_id, int attempt);

} // namespace wisp::events::detail
