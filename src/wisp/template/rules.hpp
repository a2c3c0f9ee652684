#pragma once
// Internal to the template area: facts the checks use — Lambda runtimes and their
// deprecation dates, GetAtt attributes per resource type, handler shapes, route path
// syntax, deployment types, name patterns.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::sam::detail {

enum class RuntimeFamily { python, nodejs, java, dotnet, ruby, provided, go };

struct RuntimeInfo {
  std::string_view name;
  RuntimeFamily family;
  std::string_view deprecated;   // YYYY-MM-DD: AWS stops security patches
  std::string_view create_block; // no new functions from this date
  std::string_view update_block; // no updates from this date
  std::string_view successor;
};

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

// Today's date as YYYY-MM-DD (UTC).
std::string today_utc();

} // namespace wisp::sam::detail
