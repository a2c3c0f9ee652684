#pragma once
// The durable execution service: Lambda's durable-execution data plane (checkpoint, state) and
// control plane (get, history, stop, list, callbacks), and the orchestrator that runs each
// execution's function through the engine: the first invocation, a re-invocation whenever what
// it waits on is done (a wait ends, a retry is due, a callback completes, times out or misses
// its heartbeat, a chained invoke returns), one invocation in flight per execution, failed
// invocations retried, ExecutionTimeout, stop. Behaviour and deviations: docs/durable.md.
//
// Contract
// - Lives on the caller's io_context (which may be run by several threads) and calls only
//   engine.invoke: it never reaches into workers. Every public call is thread-safe.
// - handle() answers the HTTP routes under /2025-12-01/ (owns_path); any transport can mount
//   it (the gateway's Invoke API door, a loopback door of `local invoke`).
// - Every state change reaches the store (store.hpp) before the request that caused it is
//   answered; on startup resume() picks up RUNNING executions no live wisp holds.
// - Time: waits, retry delays, callback timeouts and ExecutionTimeout run on each execution's
//   model clock, which follows the wall clock; `time_scale` makes waits N× faster and
//   `skip_waits` ends a wait as soon as the function suspends. Histories show the model time,
//   i.e. the timestamps a real run would have.

#include <wisp/durable/execution.hpp>
#include <wisp/durable/store.hpp>
#include <wisp/runtime/engine.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace wisp::durable {

// A function's DurableConfig (on the function or in Globals), as the template gives it.
struct DurableConfig {
  std::int64_t execution_timeout_s = k_default_execution_timeout_s;
  std::int64_t retention_days = k_default_retention_days;
};
// nullopt when the function has no DurableConfig. Out-of-range values are reported in
// `problems` (Lambda's limits: ExecutionTimeout 1–31622400, RetentionPeriodInDays 1–90) and
// clamped.
std::optional<DurableConfig> durable_config(const sam::Model& model, const sam::Function& function,
                                            std::vector<std::string>* problems = nullptr);

// The variables a durable function's workers get so the SDKs reach this service (Lambda's
// endpoint override; credentials and region come from the engine as for every function).
std::vector<std::pair<std::string, std::string>>
function_environment(std::string_view endpoint_url);

struct ServiceOptions {
  std::filesystem::path store_dir; // <app>/.wisp/durable
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  double time_scale = 1.0; // waits N× faster (DURABLE_EXECUTIONS_TIME_SCALE)
  bool skip_waits = false; // a wait ends when the function suspends
  // Access-log lines: one per invocation the service makes (replays marked).
  std::function<void(std::string_view)> log;
  std::function<void(std::string_view)> warning;
  // The URL this process serves the durable API on, published for `wisp local execution` and
  // `wisp local callback` in other terminals (empty: not published).
  std::string endpoint_url;
  // Failed invocations (crash, timeout, bad output) retried this many times, this far apart
  // (model time), before the execution fails.
  int invocation_attempts = 5;
  std::int64_t invocation_retry_ms = 5000;
};

struct DurableFunction {
  std::string id;   // logical id
  std::string name; // FunctionName, else the logical id (the ARN's function name)
  runtime::FunctionHandle handle;
  std::string version = "$LATEST";
  DurableConfig config;
};

struct HttpRequest {
  std::string_view method;
  std::string_view raw_path; // percent-encoded, without the query
  std::string_view raw_query;
  std::string_view body;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string error_type; // x-amzn-ErrorType
  std::vector<std::pair<std::string, std::string>> headers;
};
HttpResponse error_response(const ApiError& error);
// 200 with `body` as JSON.
HttpResponse ok(boost::json::object body);

// How an execution ended, for a caller that waited on it (synchronous Invoke, local invoke).
struct ExecutionOutcome {
  std::string arn;
  ExecutionStatus status = ExecutionStatus::running;
  std::optional<std::string> result;
  std::optional<ErrorObject> error;
  // The function error payload Lambda's Invoke returns for a closed, unsuccessful execution:
  // {"errorType": .., "errorMessage": .., "stackTrace": [..]}.
  [[nodiscard]] std::string error_payload() const;
};

struct StartRequest {
  std::string function_id; // logical id or name
  std::string name;        // DurableExecutionName; empty: a generated one
  std::string payload = "{}";
};

struct Started {
  std::string arn;
  bool attached = false; // an execution by that name and input existed: no new one
};

class Service {
public:
  Service(boost::asio::io_context& io, runtime::Engine& engine, ServiceOptions options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  void add_function(DurableFunction function);
  [[nodiscard]] bool is_durable(std::string_view function_id) const;

  // Starts an execution, or attaches to the one of that name when its input is the same
  // (Lambda's idempotent start). `done` (optional) is called once, when the execution closes
  // (at once for a closed one), on an io thread.
  tl::expected<Started, ApiError> start(const StartRequest& request,
                                        std::function<void(const ExecutionOutcome&)> done = {});

  // True for the paths this service answers (/2025-12-01/durable-executions/...,
  // /2025-12-01/durable-execution-callbacks/..., /2025-12-01/functions/<fn>/durable-executions).
  static bool owns_path(std::string_view raw_path);
  HttpResponse handle(const HttpRequest& request);

  // Resumes the RUNNING executions of the registered functions that no live wisp holds.
  // Returns how many.
  std::size_t resume();
  // Stops timers and releases the executions (they stay RUNNING on disk).
  void shutdown();

  // Read API (console, tests): executions of a function (empty: all), newest last, and one
  // execution's state (from memory when this process runs it, else from the store).
  [[nodiscard]] std::vector<ExecutionSummary> list(std::string_view function_name = {}) const;
  [[nodiscard]] std::optional<Execution> find(std::string_view arn) const;
  // Called (on an io thread) after any change of an execution this process runs.
  void on_change(std::function<void(std::string_view arn)> callback);
  // The CallbackIds an execution this process runs waits on while suspended (no invocation in
  // flight); empty otherwise.
  [[nodiscard]] std::vector<std::string> awaited_callbacks(std::string_view arn) const;

  [[nodiscard]] const Store& store() const;

  struct Impl;

private:
  std::shared_ptr<Impl> m_impl;
};

} // namespace wisp::durable
