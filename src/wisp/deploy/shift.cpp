#include <wisp/deploy/shift.hpp>

#include <wisp/support/strings.hpp>

#include <fmt/format.h>

namespace wisp::deploy {

using namespace std::chrono_literals;

std::chrono::milliseconds ShiftPlan::total() const {
  std::chrono::milliseconds sum{};
  for (const auto& step : steps)
    sum += step.hold;
  return sum;
}

const std::vector<std::string>& deployment_types() {
  static const std::vector<std::string> k_types = {"Canary10Percent5Minutes",
                                                   "Canary10Percent10Minutes",
                                                   "Canary10Percent15Minutes",
                                                   "Canary10Percent30Minutes",
                                                   "Linear10PercentEvery1Minute",
                                                   "Linear10PercentEvery2Minutes",
                                                   "Linear10PercentEvery3Minutes",
                                                   "Linear10PercentEvery10Minutes",
                                                   "AllAtOnce"};
  return k_types;
}

support::Result<ShiftPlan> shift_plan(std::string_view type,
                                      std::optional<std::chrono::milliseconds> step_interval) {
  std::string_view name = type;
  if (name.starts_with("CodeDeployDefault.Lambda"))
    name.remove_prefix(std::string_view("CodeDeployDefault.Lambda").size());
  ShiftPlan plan;
  plan.type = std::string(name);
  const auto hold = [&](std::chrono::minutes minutes) {
    return step_interval ? *step_interval : std::chrono::milliseconds(minutes);
  };
  struct Canary {
    std::string_view name;
    std::chrono::minutes minutes;
  };
  for (const auto& canary :
       {Canary{"Canary10Percent5Minutes", 5min}, Canary{"Canary10Percent10Minutes", 10min},
        Canary{"Canary10Percent15Minutes", 15min}, Canary{"Canary10Percent30Minutes", 30min}}) {
    if (name == canary.name) {
      plan.steps = {{0.1, hold(canary.minutes)}, {1.0, {}}};
      return plan;
    }
  }
  for (const auto& linear :
       {Canary{"Linear10PercentEvery1Minute", 1min}, Canary{"Linear10PercentEvery2Minutes", 2min},
        Canary{"Linear10PercentEvery3Minutes", 3min},
        Canary{"Linear10PercentEvery10Minutes", 10min}}) {
    if (name == linear.name) {
      for (int i = 1; i <= 9; ++i)
        plan.steps.push_back({i / 10.0, hold(linear.minutes)});
      plan.steps.push_back({1.0, {}});
      return plan;
    }
  }
  if (name == "AllAtOnce") {
    plan.steps = {{1.0, {}}};
    return plan;
  }
  std::string hint;
  if (auto close = support::closest_match(name, deployment_types()))
    hint = fmt::format("; did you mean '{}'?", *close);
  return support::failf("unknown DeploymentPreference Type '{}'{} (one of: {})", type, hint,
                        support::join(deployment_types(), ", "));
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  text = support::trim(text);
  if (text.empty())
    return std::nullopt;
  if (text == "0")
    return std::chrono::milliseconds(0);
  std::chrono::milliseconds total{};
  std::size_t i = 0;
  while (i < text.size()) {
    long long value = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i] - '0');
      if (value > 1'000'000'000)
        return std::nullopt;
      ++i;
      ++digits;
    }
    if (digits == 0)
      return std::nullopt;
    if (text.substr(i).starts_with("ms")) {
      total += std::chrono::milliseconds(value);
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      total += std::chrono::seconds(value);
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      total += std::chrono::minutes(value);
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      total += std::chrono::hours(value);
      ++i;
    } else {
      return std::nullopt;
    }
  }
  return total;
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms < 1000)
    return fmt::format("{}ms", ms);
  const auto seconds = (ms + 500) / 1000;
  if (seconds < 60)
    return fmt::format("{}s", seconds);
  const auto minutes = seconds / 60;
  const auto rest = seconds % 60;
  if (minutes < 60)
    return rest == 0 ? fmt::format("{}m", minutes) : fmt::format("{}m{}s", minutes, rest);
  return fmt::format("{}h{}m", minutes / 60, minutes % 60);
}

} // namespace wisp::deploy
