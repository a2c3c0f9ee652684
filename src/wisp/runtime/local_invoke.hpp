#pragma once
// `wisp local invoke`: one invocation of one function of a loaded template, through the
// engine (a cold start, then the worker is stopped). Logs stream to a callback as they are
// written; a streaming response streams to another.

#include <wisp/runtime/engine.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::runtime {

struct LocalInvokeOptions {
  std::string function; // logical id or FunctionName; empty: the template's only function
  std::string event = "{}";
  std::optional<std::filesystem::path> env_vars; // SAM's --env-vars file
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  std::string access_key_id; // empty: dummy credentials
  std::string secret_access_key;
  std::string session_token;
  std::string endpoint_url; // given to the function as AWS_ENDPOINT_URL (SDKs call it)
  std::string tenant_id;    // --tenant-id (TenancyConfig functions need one, others refuse it)
  InterpreterChoices interpreters; // --interpreter RUNTIME=PATH
  bool enforce_memory = false;
  bool log_store = true;           // append to <template dir>/.wisp/logs
  std::filesystem::path cache_dir; // empty: the default
};

struct LocalInvokeCallbacks {
  std::function<void(std::string_view)> log_line;     // each log line (no newline)
  std::function<void(std::string_view)> warning;      // messages for the user
  std::function<void(std::string_view)> stream_chunk; // a streaming response's bytes
  std::function<void(std::string_view)> progress;     // long setup work (installing libraries)
};

struct LocalInvokeResult {
  Outcome outcome = Outcome::engine_error;
  std::string function_id;
  std::string request_id;
  std::string body; // response, or the error payload Lambda's Invoke API would return
  std::string content_type;
  std::string error_type;
  bool streamed = false;
  double duration_ms = 0;
  double init_duration_ms = 0;
  int max_memory_used_mb = 0;
  int interrupted_by = 0; // SIGINT/SIGTERM received: the worker was stopped
};

// The function named `name` (logical id or FunctionName), or the template's only one when
// `name` is empty; a usage error with a "did you mean" otherwise.
support::Result<const sam::Function*> pick_function(const sam::Model& model,
                                                    const std::string& name);

// Picks the function (with a "did you mean" when the name is unknown) and runs it once.
support::Result<LocalInvokeResult> local_invoke(const sam::Model& model,
                                                const LocalInvokeOptions& options,
                                                const LocalInvokeCallbacks& callbacks);

} // namespace wisp::runtime
