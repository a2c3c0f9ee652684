#pragma once
// Traffic-shifting schedules for SAM's DeploymentPreference types (CodeDeploy's predefined
// Lambda configurations), as the weights the alias routes to the new version.
//
//   Canary10Percent{5,10,15,30}Minutes: 10% for N minutes, then 100%.
//   Linear10PercentEvery{1,2,3,10}Minute(s): 10%, 20%, ... 90%, each for N minutes, then 100%.
//   AllAtOnce: 100% at once.
// "CodeDeployDefault.Lambda<Type>" names are accepted too. `step_interval` replaces every
// step's duration (tests, hurried users).

#include <wisp/support/error.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::deploy {

struct ShiftStep {
  double weight = 1.0;              // share of traffic on the new version, 0..1
  std::chrono::milliseconds hold{}; // how long before the next step (0 for the last)
};

struct ShiftPlan {
  std::string type;             // the SAM name, e.g. Canary10Percent5Minutes
  std::vector<ShiftStep> steps; // the last one has weight 1.0
  [[nodiscard]] std::chrono::milliseconds total() const;
};

// The nine predefined types, in a stable order.
const std::vector<std::string>& deployment_types();

support::Result<ShiftPlan> shift_plan(std::string_view type,
                                      std::optional<std::chrono::milliseconds> step_interval = {});

// "2s", "500ms", "1m30s", "1h", "0" → milliseconds. nullopt on anything else.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// 90500ms → "1m30s"; under a minute "12s"; under a second "500ms".
std::string format_duration(std::chrono::milliseconds duration);

} // namespace wisp::deploy
