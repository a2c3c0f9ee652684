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

// Lambda's error body {"Type":"User","Message":".."}.
std::string lambda_error_body(std::string_view message);

// "Function not found: arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]"
std::string function_not_found_message(std::string_view region, std::string_view account,
                                       std::string_view name, std::string_view qualifier);

} // namespace wisp::gateway
