#include <wisp/scaffold/runtimes.hpp>

#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>

namespace wisp::scaffold {

namespace {

// AWS Lambda's runtime deprecation table (docs: "Lambda runtimes", "Runtime deprecation
// policy"), as also shipped in cfn-lint 1.51's LmbdRuntimeLifecycle data.
constexpr std::array k_lifecycles = {
    RuntimeLifecycle{"python3.8", "2024-10-14", "2026-06-01"},
    RuntimeLifecycle{"python3.9", "2025-12-15", "2026-06-01"},
    RuntimeLifecycle{"python3.10", "2026-06-30", "2026-07-31"},
    RuntimeLifecycle{"python3.11", "2026-06-30", "2026-07-31"},
    RuntimeLifecycle{"python3.12", "2028-10-31", "2028-11-30"},
    RuntimeLifecycle{"python3.13", "2029-06-30", "2029-07-31"},
    RuntimeLifecycle{"python3.14", "2029-06-30", "2029-07-31"},
    RuntimeLifecycle{"nodejs16.x", "2024-06-12", "2026-06-01"},
    RuntimeLifecycle{"nodejs18.x", "2025-09-01", "2026-06-01"},
    RuntimeLifecycle{"nodejs20.x", "2026-04-30", "2026-06-01"},
    RuntimeLifecycle{"nodejs22.x", "2027-04-30", "2027-06-01"},
    RuntimeLifecycle{"nodejs24.x", "2028-04-30", "2028-06-01"},
    RuntimeLifecycle{"provided", "2024-01-08", "2024-02-08"},
    RuntimeLifecycle{"provided.al2", "2026-06-30", "2026-07-31"},
    RuntimeLifecycle{"provided.al2023", "2029-06-30", "2029-07-31"},
};

// Must match the `runtimes` of the manifests in templates/ (a unit test checks).
const std::array<std::string, 9>& served_list() {
  static const std::array<std::string, 9> runtimes = {
      "python3.14", "python3.13", "python3.12", "python3.11",     "python3.10",
      "nodejs24.x", "nodejs22.x", "nodejs20.x", "provided.al2023"};
  return runtimes;
}

std::string_view family(std::string_view runtime) {
  const auto end = runtime.find_first_of("0123456789.");
  return runtime.substr(0, end);
}

bool served(std::string_view runtime) {
  return std::find(served_list().begin(), served_list().end(), runtime) != served_list().end();
}

bool creatable(std::string_view runtime, std::string_view day) {
  const auto* lifecycle = find_lifecycle(runtime);
  return lifecycle == nullptr || day < lifecycle->create_blocked;
}

// "a, b or c"
std::string or_list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0)
      out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

std::string instead(std::string_view runtime, std::string_view day) {
  std::vector<std::string> same_family;
  for (const auto& candidate : creatable_runtimes(day))
    if (family(candidate) == family(runtime) && candidate != runtime)
      same_family.push_back(candidate);
  if (same_family.empty())
    same_family = creatable_runtimes(day);
  return or_list(same_family);
}

} // namespace

std::span<const RuntimeLifecycle> runtime_lifecycles() {
  return k_lifecycles;
}

const RuntimeLifecycle* find_lifecycle(std::string_view runtime) {
  for (const auto& lifecycle : k_lifecycles)
    if (lifecycle.name == runtime)
      return &lifecycle;
  return nullptr;
}

std::string today() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  return fmt::format("{:04}-{:02}-{:02}", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday);
}

RuntimeCheck check_runtime(std::string_view runtime, std::string_view day) {
  const auto* lifecycle = find_lifecycle(runtime);
  if (lifecycle != nullptr && day >= lifecycle->create_blocked)
    return {RuntimeState::blocked,
            fmt::format("{} can no longer be created on AWS Lambda (blocked since {}); use {}",
                        runtime, lifecycle->create_blocked, instead(runtime, day))};
  if (!served(runtime)) {
    if (lifecycle != nullptr)
      return {RuntimeState::unserved, fmt::format("wisp init has no scaffold for {}; use {}",
                                                  runtime, instead(runtime, day))};
    const auto choices = creatable_runtimes(day);
    std::string hint;
    if (auto close = support::closest_match(runtime, choices))
      hint = fmt::format("did you mean {}? ", *close);
    return {RuntimeState::unknown, fmt::format("unknown runtime '{}'; {}wisp init scaffolds {}",
                                               runtime, hint, or_list(choices))};
  }
  if (lifecycle != nullptr && day >= lifecycle->deprecated)
    return {RuntimeState::deprecated,
            fmt::format("{} is deprecated on AWS Lambda since {} and can no longer be created from "
                        "{}; consider {}",
                        runtime, lifecycle->deprecated, lifecycle->create_blocked,
                        instead(runtime, day))};
  return {RuntimeState::supported, {}};
}

std::span<const std::string> served_runtimes() {
  return served_list();
}

std::vector<std::string> creatable_runtimes(std::string_view day) {
  std::vector<std::string> out;
  for (const auto& runtime : served_list())
    if (creatable(runtime, day))
      out.push_back(runtime);
  return out;
}

std::string default_runtime(std::string_view day) {
  const auto choices = creatable_runtimes(day);
  if (std::find(choices.begin(), choices.end(), "python3.13") != choices.end())
    return "python3.13";
  return choices.empty() ? std::string() : choices.front();
}

} // namespace wisp::scaffold
