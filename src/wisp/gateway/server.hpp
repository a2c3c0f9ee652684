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
  std::function<void(std::string_view)> progress; // long setup work (installing libraries)
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
  runtime::InterpreterChoices interpreters; // --interpreter RUNTIME=PATH
  std::filesystem::path log_store_dir; // empty: no local log store
  // The credentials IAM-authorized requests must be signed with (function URLs with AuthType
  // AWS_IAM, AWS_IAM routes); empty: such requests are refused (403).
  std::string access_key_id;
  std::string secret_access_key;
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

support::Status serve_api(const sam::Model& model, const StartApiOptions& options,
                          const ServeOutput& output);
support::Status serve_lambda(const sam::Model& model, const StartLambdaOptions& options,
                             const ServeOutput& output);

} // namespace wisp::gateway
