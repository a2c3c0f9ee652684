#pragma once
// AWS Lambda's managed runtimes with their published lifecycle dates (docs: "Lambda runtimes",
// "Runtime deprecation policy"). This is the one table wisp has: `wisp init` reads it to decide
// what it scaffolds, `wisp validate` to report unknown and deprecated runtimes, so the two
// cannot disagree. Dates are ISO "YYYY-MM-DD" strings (they compare correctly as text).

#include <span>
#include <string>
#include <string_view>

namespace wisp::support {

enum class RuntimeFamily { python, nodejs, java, dotnet, ruby, provided, go };

struct LambdaRuntime {
  std::string_view name; // "python3.13"
  RuntimeFamily family;
  std::string_view deprecated;     // AWS stops applying security patches
  std::string_view create_blocked; // from this day Lambda refuses to create functions on it
  std::string_view update_blocked; // from this day Lambda refuses to update them
  std::string_view successor;      // what AWS suggests instead; empty for the newest of a family
};

// Every runtime wisp knows, newest first within a family.
std::span<const LambdaRuntime> lambda_runtimes();
// nullptr when `name` is no Lambda runtime wisp knows.
const LambdaRuntime* find_lambda_runtime(std::string_view name);

// Today's UTC date, "YYYY-MM-DD": what lifecycle dates are compared with.
std::string today_utc();

} // namespace wisp::support
