#pragma once
// Internal to the template area: facts the checks use — Lambda runtimes (the lifecycle table
// shared with `wisp init`), GetAtt attributes per resource type, handler shapes, route path
// syntax, deployment types, name patterns.

#include <wisp/support/lambda_runtimes.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::sam::detail {

// The runtime table is shared with `wisp init` (support/lambda_runtimes.hpp).
using RuntimeFamily = support::RuntimeFamily;
using RuntimeInfo = support::LambdaRuntime;

const RuntimeInfo* find_runtime(std::string_view name);
std::vector<std::string> runtime_names();

// The attributes Fn::GetAtt accepts for `type`; nullopt when wisp does not know the type
// (no check). An entry ending in ".*" accepts any suffix (Outputs.*).
std::optional<std::span<const std::string_view>> getatt_attributes(std::string_view type);

// Why `handler` does not fit `family` (empty when it does).
std::string handler_shape_problem(RuntimeFamily family, std::string_view handler);
// Candidate files (relative to the code directory) a handler names; empty for families
// where the handler is not a file (java, dotnet, go).
std::vector<std::string> handler_files(RuntimeFamily family, std::string_view handler);

// Why `path` is not a valid API Gateway route path (empty when it is). `http` allows
// "$default".
std::string route_path_problem(std::string_view path, bool http);

std::span<const std::string_view> deployment_types();
std::span<const std::string_view> http_methods(); // GET ... ANY

// Lambda alias names: 1-128 of [A-Za-z0-9_-], not all digits.
bool is_valid_alias_name(std::string_view name);
// Environment variable names: [A-Za-z][A-Za-z0-9_]+
bool is_valid_env_name(std::string_view name);
bool is_reserved_env_name(std::string_view name);

} // namespace wisp::sam::detail
