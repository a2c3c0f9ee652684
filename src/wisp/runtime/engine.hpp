#pragma once
// The local execution engine: wisp's Lambda Runtime API server and a warm worker pool per
// function, driven asynchronously on the caller's io_context. This is the hot-path API the
// gateway (`local start-api`, `local start-lambda`) and `local invoke` use.
//
// Contract
// - An Engine lives on one boost::asio::io_context, which may be run by one or several
//   threads. `invoke` may be called from any thread; sink callbacks run on a thread that
//   runs the io_context, never while the engine holds its lock (a sink may call `invoke`).
// - Each worker is a child process in its own process group, with its own Runtime API
//   address (`AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>`, one listening port per worker):
//   a connection's worker identity is the port it connected to, so a worker can only
//   answer (or fail) its own invocation. docs/local-execution.md has the details.
// - Warm by default: a worker that answered takes the next invocation (module state
//   persists). Per function, workers scale up on demand up to the function's
//   ReservedConcurrentExecutions (beyond it: throttled at once, no queue) or else up to
//   EngineOptions::max_concurrency (beyond it: FIFO queue). With EngineOptions::eager_workers,
//   only that many start at once; beyond them a queued invocation starts another worker
//   only while the busy ones leave the CPU unused (they wait on I/O or sleep): more workers
//   than the CPU can run only add context switches. Idle workers retire after
//   EngineOptions::idle_timeout.
// - Every invocation completes exactly once through InvokeSink::on_complete, whatever
//   happens (function error, timeout, crash, throttle, engine shutdown).
// - Observers (observer.hpp) see every invocation's start and end and every log line, in one
//   interface: the local log store, a server's function log and the console are observers.
// - Zero copies on the hot path: the views in InvokeRequest must stay valid until
//   on_complete has returned; the views in InvokeResult are valid only during on_complete.

#include <wisp/runtime/observer.hpp>
#include <wisp/runtime/runtimes.hpp>
#include <wisp/support/error.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
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

namespace wisp::runtime {

// Lambda's synchronous payload limit for responses (RIE: 6 MiB + 100 bytes).
inline constexpr std::size_t k_max_response_size = 6u * 1024 * 1024 + 100;
// Lambda's synchronous payload limit for requests (InvokeFunction: 6 MiB).
inline constexpr std::size_t k_max_request_size = 6u * 1024 * 1024;
// X-Amz-Log-Result carries at most the last 4 KB of the execution log.
inline constexpr std::size_t k_log_tail_size = 4096;

// What the engine needs to run one function, fully resolved (see function.hpp for building
// it from the template model and --env-vars).
struct FunctionConfig {
  std::string id;                 // the template's logical id: how callers name the function
  std::string name;               // AWS_LAMBDA_FUNCTION_NAME (FunctionName, else the logical id)
  std::string runtime;            // python3.12, nodejs22.x, provided.al2023, ...
  std::string handler;            // _HANDLER
  std::filesystem::path code_dir; // LAMBDA_TASK_ROOT and the workers' cwd
  std::vector<std::filesystem::path> layer_dirs; // local layer contents, in template order
  int memory_size = 128;                         // MB
  int timeout = 3;                               // seconds
  std::optional<int> reserved_concurrency;       // ReservedConcurrentExecutions
  std::string log_group;                         // empty: /aws/lambda/<name>
  // LoggingConfig: LogFormat "JSON" gives the runtime's JSON log lines and platform records as
  // JSON (filtered by the levels); anything else is Lambda's text format, unfiltered.
  std::string log_format;
  std::string application_log_level; // JSON only; empty: INFO
  std::string system_log_level;      // JSON only; empty: INFO
  // TenancyConfig.TenantIsolationMode PER_TENANT: every invocation carries a tenant id.
  bool multi_tenant = false;
  int ephemeral_storage = 512;         // MB: the size of the worker's private /tmp
  bool recursive_loop_allowed = false; // RecursiveLoop: Allow (never stopped; lineage.hpp)
  std::string version = "$LATEST";
  std::string architecture = "x86_64";
  // The function's Environment.Variables. Lambda's reserved variables win over these (a
  // reserved name here is ignored with a warning: Lambda would reject the deployment).
  std::vector<std::pair<std::string, std::string>> environment;
  // Local overrides (--env-vars), applied last, over Lambda's own variables as SAM CLI does;
  // only the Runtime API plumbing (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT,
  // LAMBDA_RUNTIME_DIR, AWS_LAMBDA_LOG_STREAM_NAME) cannot be overridden.
  std::vector<std::pair<std::string, std::string>> env_overrides;
};

// A function registered with an engine: cheap to copy, what `invoke` takes.
struct FunctionHandle {
  std::uint32_t index = UINT32_MAX;
  [[nodiscard]] bool valid() const { return index != UINT32_MAX; }
};

// One invocation. Every view must stay valid until InvokeSink::on_complete returns.
struct InvokeRequest {
  std::string_view payload; // the event (≤ k_max_request_size)
  std::string_view content_type = "application/json";
  std::string_view request_id;          // empty: the engine generates a UUID
  std::string_view invoked_arn;         // empty: arn:aws:lambda:<region>:<account>:function:<name>
  std::string_view qualifier;           // alias or version named by the caller (ARN suffix)
  std::string_view client_context;      // JSON (already base64-decoded), or empty
  std::string_view cognito_identity;    // JSON {"cognitoIdentityId":..,..}, or empty
  std::string_view trace_id;            // X-Amzn-Trace-Id; empty: the engine generates one
  std::string_view tenant_id;           // Lambda-Runtime-Aws-Tenant-Id, or empty
  std::chrono::milliseconds timeout{0}; // 0: the function's Timeout
  bool tail_log = false;                // collect the last 4 KB of the log (X-Amz-Log-Result)
};

enum class Outcome : std::uint8_t {
  success,            // body: the function's response
  function_error,     // the runtime posted /error (or a mid-stream error trailer)
  timeout,            // killed at the deadline (Sandbox.Timedout)
  throttled,          // beyond ReservedConcurrentExecutions (TooManyRequestsException)
  init_error,         // the runtime failed during init (/init/error, bad handler, ...)
  exit_error,         // the runtime exited or crashed mid-invocation (Runtime.ExitError)
  response_too_large, // buffered response > k_max_response_size (413 to the runtime)
  request_too_large,  // payload > k_max_request_size (RequestTooLargeException)
  engine_error,       // the engine could not run the function (spawn failed, shutdown)
  recursive_loop,     // stopped: the 17th invocation of a chain (RecursiveInvocationException)
};

std::string_view to_string(Outcome outcome);

// How an invocation ended. Views are valid only during InvokeSink::on_complete.
struct InvokeResult {
  Outcome outcome = Outcome::engine_error;
  std::string_view request_id;
  // success: the response as the runtime posted it. Errors: the payload Lambda's Invoke API
  // returns, e.g. {"errorType":"Runtime.ExitError","errorMessage":"RequestId: .. Error: .."}
  // or, when throttled, {"Reason":..,"Type":"User","message":"Rate Exceeded."}.
  std::string_view body;
  std::string_view content_type; // of `body` (success: the runtime's Content-Type)
  // Function errors: Lambda-Runtime-Function-Error-Type or the body's errorType. Platform
  // outcomes: Sandbox.Timedout, Runtime.ExitError, Function.ResponseSizeTooLarge,
  // TooManyRequestsException, RequestTooLargeException, ...
  std::string_view error_type;
  std::string_view throttle_reason; // throttled: ReservedFunctionConcurrentInvocationLimitExceeded
  bool streamed = false; // the response went through on_stream_*; `body` holds only an error
  bool cold = false;     // this invocation started a new worker
  double duration_ms = 0;
  double init_duration_ms = 0; // cold starts: spawn until the runtime's first /next
  std::uint64_t billed_duration_ms = 0;
  int memory_size_mb = 0;
  int max_memory_used_mb = 0;
  std::string_view log_tail; // request.tail_log: last ≤ 4096 bytes, START … REPORT
  std::string_view executed_version;

  [[nodiscard]] bool ok() const { return outcome == Outcome::success; }
};

// Receives one invocation's outcome. The engine calls, in order: for a streaming
// response on_stream_start once and on_stream_data as chunks arrive, then on_complete
// exactly once. The sink must outlive the invocation (until on_complete returns).
class InvokeSink {
public:
  virtual void on_stream_start(std::string_view content_type) { (void)content_type; }
  virtual void on_stream_data(std::string_view bytes) { (void)bytes; }
  // Flow control of a streamed response (optional), asked after on_stream_data: false pauses
  // reading the function's response — its writes block once the connection's buffers fill,
  // as in Lambda — until `resume` is called (from any thread, once). By default the response
  // is read as fast as it comes.
  virtual bool stream_ready(std::function<void()> resume) {
    (void)resume;
    return true;
  }
  virtual void on_complete(const InvokeResult& result) = 0;

protected:
  InvokeSink() = default;
  ~InvokeSink() = default;
  InvokeSink(const InvokeSink&) = default;
  InvokeSink& operator=(const InvokeSink&) = default;
};

struct EngineOptions {
  int max_concurrency = 10; // per function, without ReservedConcurrentExecutions
  // Workers started at once per function (0: up to max_concurrency); more start on demand
  // when the busy ones are mostly off the CPU. Not for ReservedConcurrentExecutions (Lambda
  // runs that many at once, and throttles beyond).
  int eager_workers = 0;
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)}; // 0: never retire
  bool enforce_memory = false; // kill a worker whose RSS exceeds MemorySize
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  // Credentials handed to functions; empty: dummy ones.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  // Host variables passed to every worker before the Lambda ones (PATH, HOME, LANG, ...).
  std::vector<std::string> passthrough_env{"PATH",   "HOME",   "USER",     "LOGNAME", "SHELL",
                                           "TMPDIR", "LC_ALL", "LC_CTYPE", "TERM"};
  // The local log store root (…/.wisp/logs); empty: no store. The store is an observer the
  // engine adds first (log_store.hpp).
  std::filesystem::path log_store_dir;
  // Every log line, as it is read (on an io thread). Empty: not echoed. An observer the engine
  // adds after the log store.
  std::function<void(const LogLine&)> on_log;
  // Warnings (interpreter fallbacks, reserved variables overridden, ...).
  std::function<void(std::string_view)> on_warning;
  // Where embedded bootstraps and the interpreter cache live; empty: $XDG_CACHE_HOME/wisp.
  std::filesystem::path cache_dir;
  // Interpreters named by runtime (--interpreter, samconfig); the environment's
  // WISP_INTERPRETER_<RUNTIME> after these, then the closest installed version.
  InterpreterChoices interpreters;
  // The libraries Lambda's runtimes ship (the AWS SDK for JavaScript v3, boto3, ...) for
  // functions that use them without bundling them: installed into the cache on first need
  // (docs/local-execution.md#what-the-runtimes-ship).
  bool runtime_libraries = true;
  // Lambda's file layout: the code at /var/task, layers merged at /opt, a private /tmp, through
  // an unprivileged mount namespace; without one (or when the OS refuses it, or with
  // WISP_LAMBDA_LAYOUT=0 in the environment) functions see host paths.
  bool lambda_layout = true;
  // Long work on a function's behalf (installing runtime libraries): one line per step.
  std::function<void(std::string_view)> on_progress;
};

struct EngineStats {
  std::uint64_t invocations = 0;
  std::uint64_t cold_starts = 0;
  std::uint64_t throttles = 0;
  std::uint32_t workers = 0; // alive now
  std::uint32_t idle_workers = 0;
  std::uint32_t queued = 0;
};

class Engine {
public:
  Engine(boost::asio::io_context& io, EngineOptions options);
  ~Engine(); // stop(), then waits for no I/O
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Adds an observer of invocations, log lines and workers (observer.hpp). Only before the
  // first invoke: the list is read without a lock afterwards.
  void add_observer(std::shared_ptr<EngineObserver> observer);

  // Registers a function: resolves its runtime (interpreter or bootstrap) once. Fails with
  // a clear message when the runtime is unknown or no interpreter can run it.
  support::Result<FunctionHandle> add_function(FunctionConfig config);
  [[nodiscard]] std::optional<FunctionHandle> find(std::string_view id) const;
  [[nodiscard]] const FunctionConfig& config(FunctionHandle function) const;

  // Starts an invocation; completes through `sink` (see InvokeSink).
  void invoke(FunctionHandle function, const InvokeRequest& request, InvokeSink& sink);

  // Sets environment variables of the function's workers started from now on (replacing a
  // variable of the same name): values known only once a server listens, such as a local
  // endpoint.
  void set_environment(FunctionHandle function,
                       const std::vector<std::pair<std::string, std::string>>& variables);

  // Starts `count` workers ahead of traffic (SAM's --warm-containers EAGER).
  void prewarm(FunctionHandle function, int count = 1);
  // Retires the function's workers (new code): idle ones now, busy ones after their
  // invocation. The next invocation starts a fresh worker.
  void reload(FunctionHandle function);
  // Kills every worker; pending and running invocations complete with engine_error.
  void stop();

  [[nodiscard]] EngineStats stats() const;

  struct Impl;

private:
  std::shared_ptr<Impl> m_impl;
};

// Keeps an owned copy of one invocation's outcome: for `local invoke`, tests and benchmarks.
// Thread-safe: the engine may complete it on any io thread.
class CollectingSink final : public InvokeSink {
public:
  void on_stream_start(std::string_view content_type) override;
  void on_stream_data(std::string_view bytes) override;
  void on_complete(const InvokeResult& result) override;

  [[nodiscard]] bool done() const;
  // After done(): the result, its views pointing into this sink's own storage.
  [[nodiscard]] const InvokeResult& result() const { return m_result; }
  // A streamed response's bytes and content type.
  [[nodiscard]] const std::string& streamed_body() const { return m_streamed; }
  [[nodiscard]] const std::string& stream_content_type() const { return m_stream_type; }
  // Resets for reuse.
  void reset();

  std::function<void(std::string_view)> on_data; // optional: sees streamed chunks live
  std::function<void()> on_done;                 // optional: called after completion

private:
  InvokeResult m_result;
  std::string m_body;
  std::string m_content_type;
  std::string m_error_type;
  std::string m_throttle_reason;
  std::string m_request_id;
  std::string m_log_tail;
  std::string m_version;
  std::string m_streamed;
  std::string m_stream_type;
  std::atomic<bool> m_done{false};
};

} // namespace wisp::runtime
