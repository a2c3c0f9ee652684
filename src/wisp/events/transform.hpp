#pragma once
// What an EventBridge rule's target does to an event before the function gets it: Input
// (a constant), InputPath (a JSON path) or InputTransformer (paths into a template).
//
// Contract
// - JSON paths are EventBridge's subset: `$`, dot notation, array indices and `*`. A path
//   that finds nothing yields nothing (null); `*` collects a list.
// - InputTransformer: each <name> of InputPathsMap, plus the predefined
//   <aws.events.rule-arn>, <aws.events.rule-name>, <aws.events.event.ingestion-time>,
//   <aws.events.event> (the event without `detail`) and <aws.events.event.json> (the whole
//   event). In a JSON template a placeholder outside quotes becomes the value's JSON (a
//   string with its quotes), inside quotes its text; a template that is not JSON becomes
//   the JSON string of its text (what a Lambda target receives).
// - `apply` returns the payload as JSON text, or why the target configuration is invalid.

#include <boost/json/value.hpp>
#include <tl/expected.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace wisp::events {

// Evaluates an EventBridge JSON path; nullopt when it finds nothing. Paths it cannot read are
// errors (checked by `check_json_path`).
std::optional<boost::json::value> eval_json_path(const boost::json::value& document,
                                                 std::string_view path);
tl::expected<void, std::string> check_json_path(std::string_view path);

struct TargetInput {
  std::optional<std::string> input;             // Input: JSON text
  std::optional<std::string> input_path;        // InputPath
  std::map<std::string, std::string> paths_map; // InputTransformer.InputPathsMap
  std::optional<std::string> input_template;    // InputTransformer.InputTemplate
  std::string rule_arn;
  std::string rule_name;

  // Reads a SAM event's Input/InputPath/InputTransformer (only one may be given).
  static tl::expected<TargetInput, std::string> from_properties(const boost::json::object& props);
  [[nodiscard]] bool transforms() const { return input || input_path || input_template; }
  // The payload for `event` (ingestion_time: ISO 8601 of when the bus received it).
  [[nodiscard]] std::string apply(const boost::json::value& event,
                                  std::string_view ingestion_time) const;
};

} // namespace wisp::events
