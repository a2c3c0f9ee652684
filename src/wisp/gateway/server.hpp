#pragma once
// `wisp local start-api` and `wisp local start-lambda`: the local API Gateway and the Lambda
// Invoke API, serving a template's functions from the execution engine's warm workers.
//
// Contract
// - serve_api / serve_lambda block until SIGINT or SIGTERM (or a fatal setup error), then
//   stop: listeners close, every worker is killed, in-flight requests are answered or
//   dropped, and the call returns success.
// - The template's APIs share `port` when none of their routes can match the same request (as
//   SAM CLI serves them); an API that would collide gets the following port (all ephemeral
//   with port 0). Startup prints one line per API
//   (`<LogicalId> (<REST|HTTP> API, stage <name>): http://<host>:<port>`) and one per route to
//   `output.info`, then `output.ready` once every listener accepts.
// - One access-log line per request and the functions' own log lines go to `output.log`
//   from a background thread (never on the request path).
// - Hot reload: a change in a function's code (or layers) retires its workers; for a function
//   that runs from its build, a change in its sources rebuilds it first when it can
//   (ServeOptions::built), and its requests wait for the new build.
// - Behaviour, limits and documented deviations from AWS: docs/local-api.md.

#include <wisp/runtime/function.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::gateway {

enum class WarmContainers { lazy, eager };

struct ServeOutput {
  std::function<void(std::string_view)> info;    // startup lines (stdout)
  std::function<void(std::string_view)> warning; // problems that do not stop serving
  std::function<void(std::string_view)> ready;   // after the listeners accept
  std::function<void(std::string_view)> log; // access + function logs: lines, batched (no final \n)
};

// What a rebuild of a built function did (ServeOptions::rebuild).
struct RebuildResult {
  std::vector<std::string> functions; // every function the build serves (shared builds)
  bool ok = false;
  std::string message; // why it failed (esbuild errors as file:line:col: message)
  std::string detail;  // the tool's own output
};

// Functions that run from a build (`wisp build`), and how to rebuild them when their sources
// change (hot reload): a change to a function that `rebuild` can redo rebuilds it before its
// next request (requests wait for it); a change to another built function is reported
// ("run `wisp build`").
struct BuiltFunctions {
  std::map<std::string, std::filesystem::path> sources; // logical id → CodeUri
  std::vector<std::filesystem::path> ignore;            // not sources (node_modules, build dir)
  std::function<bool(const std::string& id)> can_rebuild;
  std::function<RebuildResult(const std::string& id)> rebuild; // called off the I/O threads
};

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 3000;
  WarmContainers warm = WarmContainers::lazy;
  bool watch = true;                              // hot reload on code changes
  const runtime::EnvVarsFile* env_vars = nullptr; // --env-vars
  int threads = 0;                                // I/O threads; 0: 1 up to 4 cores, then cores/4
  int max_concurrency = 0; // workers per function; 0: twice the cores, at least 4
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  std::filesystem::path cache_dir;     // empty: the engine's default
  std::filesystem::path log_store_dir; // empty: no local log store
  // Durable functions (DurableConfig): their executions' waits run this many times faster
  // (--time-scale, DURABLE_EXECUTIONS_TIME_SCALE); with skip_waits a wait ends as soon as the
  // function suspends (docs/durable.md).
  double time_scale = 1.0;
  bool skip_waits = false;
  // Resume, at startup, the durable executions left RUNNING by a wisp that stopped.
  bool resume_durable = true;
  // Given to the functions: AWS_ENDPOINT_URL (before --env-vars, which may override it).
  std::string endpoint_url;
  // The resolved credentials (`local start`: the backend's): given to the functions (empty:
  // dummy ones), and the ones
  // IAM-authorized requests must be signed with (function URLs with AuthType AWS_IAM, AWS_IAM
  // routes; empty: such requests are refused, 403).
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  // --jwks [ISSUER=]FILE|URL: where JWT and Cognito authorizers find an issuer's keys (without
  // ISSUER: every issuer that has no source of its own); an issuer without any is asked
  // through its discovery document.
  std::vector<std::string> jwks;
  BuiltFunctions built;
};

struct StartApiOptions : ServeOptions {
  std::string stage;                // empty: each API's StageName
  std::filesystem::path static_dir; // empty or missing: no static files
  bool disable_authorizer = false;
};

struct StartLambdaOptions : ServeOptions {
  StartLambdaOptions() { port = 3001; }
  std::vector<std::string> functions; // logical ids or names to serve; empty: all
};

// `wisp local invoke` of a durable function: the durable execution service and an Invoke API
// on a loopback port of their own (the function's SDK calls the service there), one execution
// started (or attached to, by name and payload) and run to its end.
struct DurableInvokeOptions : ServeOptions {
  DurableInvokeOptions() {
    port = 0;
    watch = false;
    resume_durable = false; // only its own execution (attached by name) runs again
  }
  std::string function; // logical id or FunctionName
  std::string name;     // DurableExecutionName; empty: a generated one
  std::string event = "{}";
  // On a terminal: while the execution waits on a callback, ask what to do with it (succeed,
  // fail, heartbeat, stop, or keep waiting for an answer from elsewhere).
  bool prompt_callbacks = false;
};

struct DurableInvokeResult {
  std::string arn;
  bool attached = false; // an execution of that name and payload existed
  bool finished = false; // false: interrupted (the execution stays RUNNING in the store)
  int signal = 0;
  std::string status; // SUCCEEDED, FAILED, TIMED_OUT, STOPPED
  std::string body;   // the result, or the error payload
};

support::Result<DurableInvokeResult> invoke_durable(const sam::Model& model,
                                                    const DurableInvokeOptions& options,
                                                    const ServeOutput& output);

// `wisp local start`: the APIs (as start-api, on `port`) and the Invoke API (as start-lambda,
// on `lambda_port`) on one Host, plus attachments on the same engine.
struct StartOptions : StartApiOptions {
  int lambda_port = 3001;
};

// Something else served on the Host's engine (the event sources, ...), composed by the command.
struct Attachment {
  std::string title;                  // heads its startup lines ("Event sources")
  std::vector<std::string> functions; // logical ids it invokes: registered on the engine first
  // Called once the functions are registered; `log` writes to the one access log.
  std::function<support::Status(runtime::Engine&, std::function<void(std::string_view)> log)>
      attach;
  std::function<std::vector<std::string>()> describe; // startup lines, after attach
  std::function<void()> start;
  std::function<void()> stop; // at SIGINT/SIGTERM, before the engine stops
  std::function<void()> join; // after the I/O threads end
};

support::Status serve_api(const sam::Model& model, const StartApiOptions& options,
                          const ServeOutput& output);
support::Status serve_lambda(const sam::Model& model, const StartLambdaOptions& options,
                             const ServeOutput& output);
// Blocks like serve_api; a template without APIs serves the Invoke API and the attachments.
support::Status serve_start(const sam::Model& model, const StartOptions& options,
                            const ServeOutput& output, std::vector<Attachment> attachments);

} // namespace wisp::gateway
