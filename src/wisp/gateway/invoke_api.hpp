#pragma once
// The Lambda Invoke API's request parsing and error shapes (`local start-lambda`), as in
// Lambda's API_Invoke: POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=].

#include <optional>
#include <string>
#include <string_view>

namespace wisp::gateway {

// A FunctionName as Invoke takes it: `name`, `name:qualifier`, a full ARN
// `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` or a partial ARN
// `<account>:function:<name>[:<qualifier>]`.
struct FunctionReference {
  std::string name;
  std::string qualifier; // empty: none given
};
std::optional<FunctionReference> parse_function_reference(std::string_view text);

// The function name of an invocation path `/2015-03-31/functions/<name>/invocations`
// (percent-decoded); nullopt for any other path.
std::optional<std::string> invocation_function(std::string_view raw_path);
// InvokeWithResponseStream: `/2021-11-15/functions/<name>/response-streaming-invocations`.
std::optional<std::string> streaming_invocation_function(std::string_view raw_path);
std::optional<std::string> invocation_function(std::string_view raw_path, std::string_view prefix,
                                               std::string_view suffix);

// One message of the `application/vnd.amazon.eventstream` framing InvokeWithResponseStream
// answers with: total and header lengths, the prelude's CRC-32, string headers `:event-type`,
// `:content-type` and `:message-type: event`, the payload, the message's CRC-32 (big-endian).
void append_event_message(std::string& out, std::string_view event_type,
                          std::string_view content_type, std::string_view payload);

// Lambda's error body {"Type":"User","Message":".."}.
std::string lambda_error_body(std::string_view message);

// "Function not found: arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]"
std::string function_not_found_message(std::string_view region, std::string_view account,
                                       std::string_view name, std::string_view qualifier);

} // namespace wisp::gateway
