#pragma once
// Text renderings of executions for the CLI (`wisp local execution get|history|list`, the end
// of `wisp local invoke`). JSON output uses the API shapes (control.hpp) instead.

#include <wisp/durable/execution.hpp>
#include <wisp/durable/store.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace wisp::durable {

// A few labelled lines: name, status, ARN, function, start/end and duration, input, result or
// error.
std::string format_summary(const Execution& execution);
// One row per history event: id, type, name, time (UTC), details, payload or error; long
// values shortened to `width` characters (0: never).
std::string format_history(const Execution& execution, std::size_t width = 60);
// One row per execution: name, status, start (UTC), duration, ARN.
std::string format_list(const std::vector<ExecutionSummary>& executions);
// "2026-11-23 10:45:48.123 UTC"
std::string format_time(std::int64_t ms);
// JSON with a 2-space indent and a trailing newline (--format json, --output json).
std::string format_json(const boost::json::value& value);

} // namespace wisp::durable
