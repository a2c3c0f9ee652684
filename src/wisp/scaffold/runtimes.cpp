#include <wisp/scaffold/runtimes.hpp>

#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace wisp::scaffold {

namespace {

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

const support::LambdaRuntime* find_lifecycle(std::string_view runtime) {
  return support::find_lambda_runtime(runtime);
}

std::string today() {
  return support::today_utc();
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
