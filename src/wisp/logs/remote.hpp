#pragma once
// Internal to the logs area: reading CloudWatch Logs with FilterLogEvents.

#include <wisp/aws/client.hpp>
#include <wisp/logs/event.hpp>
#include <wisp/logs/logs.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace wisp::logs::detail {

struct FilterQuery {
  std::string log_group;
  std::int64_t start_ms = 0;
  std::optional<std::int64_t> end_ms;
  std::string filter_pattern;
};

// Every page of one FilterLogEvents query (interleaved), in the order CloudWatch returned
// them; request ids are read from the messages. Stops early (with what it has) once
// `stopped` returns true.
aws::AwsResult<std::vector<LogEvent>> filter_log_events(const aws::Client& client,
                                                        const FilterQuery& query,
                                                        const std::function<bool()>& stopped);

support::Status run_remote(const Plan& plan, const Sink& sink);

} // namespace wisp::logs::detail
