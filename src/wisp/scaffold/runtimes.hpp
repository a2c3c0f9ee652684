#pragma once
// Which Lambda runtimes `wisp init` scaffolds, judged by AWS Lambda's published lifecycle dates
// (support/lambda_runtimes.hpp, the table `wisp validate` uses too): wisp never scaffolds a
// runtime whose creation is blocked; a deprecated one still creatable is scaffolded with a
// warning. Dates are ISO "YYYY-MM-DD" strings (they compare as text).

#include <wisp/support/lambda_runtimes.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::scaffold {

// The lifecycle of a runtime; nullptr when wisp knows none for it.
const support::LambdaRuntime* find_lifecycle(std::string_view runtime);

// The day the lifecycle table was last checked against AWS's. Completions and `--help` list
// the runtimes creatable on that day, so their text does not change with the clock.
inline constexpr std::string_view k_lifecycle_reviewed = "2026-11-23";

// Today's UTC date, "YYYY-MM-DD".
std::string today();

enum class RuntimeState {
  unknown,    // no scaffold serves it and wisp knows no lifecycle for it
  supported,  // a scaffold serves it and it is not deprecated
  deprecated, // a scaffold serves it; deprecated but still creatable (warn)
  blocked,    // Lambda no longer creates functions on it (refuse)
  unserved,   // creatable on Lambda, but no wisp scaffold for it (refuse)
};

struct RuntimeCheck {
  RuntimeState state = RuntimeState::unknown;
  // Empty for `supported`; otherwise one line saying why and what to use instead, e.g.
  // "python3.11 can no longer be created on AWS Lambda (blocked since 2026-07-31); use
  // python3.14, python3.13 or python3.12".
  std::string message;
};

// Whether `wisp init --runtime runtime` scaffolds on `day`.
RuntimeCheck check_runtime(std::string_view runtime, std::string_view day);

// Runtimes some scaffold serves (including ones the lifecycle may refuse), prompt order.
std::span<const std::string> served_runtimes();

// Served runtimes creatable on `day`, in prompt order (newest first within a family).
std::vector<std::string> creatable_runtimes(std::string_view day);

// The runtime the prompt proposes: python3.13 while it is creatable, else the first creatable.
std::string default_runtime(std::string_view day);

} // namespace wisp::scaffold
