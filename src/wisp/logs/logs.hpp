#pragma once
// `wisp logs`: which logs to read (plan) and reading them (run), from CloudWatch Logs or the
// local log store (docs/logs.md).
//
// plan() resolves everything that can fail before any log is read: the template and its
// functions, -n names (logical ids, FunctionNames or, without a template, physical names),
// log groups (LoggingConfig.LogGroup, else /aws/lambda/<physical name>), the filter
// pattern, the time window and, with --stage, the versions the stage alias routes to.
// Errors: unknown function (with a suggestion), malformed pattern or time, missing
// --stack-name — exit 1; contradictory flags — usage (exit 2).
//
// run() reads. Without tail: every event in the window, all sources merged by timestamp,
// then returns. A missing log group is an error. With tail: first what is already there
// from the start time, then new events as they arrive (CloudWatch: a poll every second,
// slower while throttled or failing; local: the store is re-scanned every 250 ms), each
// exactly once and in order (logs/tail.hpp). A backend that fails mid-tail is reported
// through `warning` and retried; run() returns only when `stopped` says so.

#include <wisp/aws/client.hpp>
#include <wisp/logs/event.hpp>
#include <wisp/logs/pattern.hpp>
#include <wisp/logs/tail.hpp>
#include <wisp/support/error.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::logs {

struct LogsRequest {
  std::vector<std::string> names;      // -n: logical ids, FunctionNames or physical names
  std::string stack_name;              // --stack-name
  std::string stage;                   // --stage: the stage alias
  std::vector<std::string> log_groups; // --cw-log-group
  bool tail = false;
  std::string filter;     // --filter (CloudWatch filter pattern)
  std::string start_time; // empty: "10m ago"
  std::string end_time;   // empty: no end
  bool local = false;
  std::filesystem::path template_path; // empty: template.yaml, then template.yml
  std::vector<std::string> parameter_overrides;
  aws::ClientOptions client; // remote only
};

// One stream of events being read: a function's log group (or a log group given directly).
struct Source {
  std::string label;     // what the output calls it: logical id, function name or log group
  std::string function;  // remote: physical function name; local: logical id; else empty
  std::string log_group; // remote: the group; local: only records of this group (may be empty)
  std::vector<std::string> versions; // --stage: only streams of these versions; empty: all
};

struct Plan {
  bool local = false;
  bool tail = false;
  std::vector<Source> sources;
  FilterPattern pattern;
  std::int64_t start_ms = 0;
  std::optional<std::int64_t> end_ms;
  std::string stage;
  std::filesystem::path store_root;    // local: <template dir>/.wisp/logs
  std::shared_ptr<aws::Client> client; // remote
  std::vector<std::string> warnings;   // for the user, before any event
  TailTuning tuning;
  std::chrono::milliseconds poll_interval{1000}; // remote; local polls every 250 ms
  // Without tail: a log group that does not exist is reported through Sink::warning and
  // skipped instead of failing the run (`wisp cost`: a function never invoked has none).
  bool skip_missing_groups = false;
};

support::Result<Plan>
plan(const LogsRequest& request,
     std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

struct Sink {
  std::function<void(const LogEvent&)> event;
  std::function<void(std::string_view)> warning; // e.g. a failed poll, then retried
  std::function<void(std::string_view)> notice;  // e.g. the backend answers again
  std::function<bool()> stopped;                 // tail: true once the user asked to stop
};

support::Status run(const Plan& plan, const Sink& sink);

// Versions a Lambda alias routes to: its FunctionVersion, then AdditionalVersionWeights'.
support::Result<std::vector<std::string>>
alias_versions(const aws::Client& client, std::string_view function_name, std::string_view alias);

} // namespace wisp::logs
