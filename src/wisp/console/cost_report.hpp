#pragma once
// `wisp cost`: what an app's functions cost, from their REPORTs — in the local log store
// (functions run by wisp) or in CloudWatch Logs (a deployed stack) — per function and in
// total, for the time window and projected to a month at the window's request rate.
//
// Contract
// - Which functions and which logs: as `wisp logs` resolves them (logs::plan: -n,
//   --stack-name, --stage, --cw-log-group, -s/-e, --local); the window starts 24 hours ago
//   unless -s says otherwise and ends now unless -e does. A function whose log group does not
//   exist is listed with a note, not an error.
// - Each REPORT (text line or JSON platform.report) counts once (by request id per function).
//   Billed Duration is taken as written; MemorySize is the REPORT's; the architecture and
//   EphemeralStorage come from the template (x86_64 and 512 MB without one).
// - The window's cost has no free tier (it is monthly and per account); the month's
//   projection applies it.
// - No REPORT in the window: an empty report that says so (success).
// - Locally, a chain of invocations wisp stopped as a recursive loop (the event sources' note
//   "recursive loop: …" in the function's log) is counted and flagged; CloudWatch Logs has no
//   such line (AWS reports it in the RecursiveInvocationsDropped metric, not read here).

#include <wisp/console/advice.hpp>
#include <wisp/console/cost.hpp>
#include <wisp/console/prices.hpp>
#include <wisp/console/stats.hpp>
#include <wisp/logs/logs.hpp>
#include <wisp/support/error.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace wisp::console {

struct CostRequest {
  logs::LogsRequest logs;            // names, stack, stage, groups, window, local, template
  std::filesystem::path prices_file; // empty: the built-in table
  std::function<void(std::string_view)> warning;
};

struct FunctionCost {
  std::string id;        // logical id, or the log group / physical name given
  std::string log_group; // remote: the group read
  std::string region;
  Architecture architecture = Architecture::x86_64;
  int ephemeral_storage_mb = 512;
  FunctionStats stats{true};
  Distribution duration;
  Distribution init;
  Cost window;
  Cost month; // projected, free tier applied
  std::optional<MemoryAdvice> advice;
  std::string note; // e.g. "no log group"
  // Invocations stopped as a recursive loop (wisp's local store: the event sources' notes).
  std::uint64_t recursion_stops = 0;
};

struct CostReport {
  std::string source; // "local log store (<dir>)" or "CloudWatch Logs"
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string region;
  PriceTable prices;
  std::vector<FunctionCost> functions;
  Cost window_total;
  Cost month_total;
  Cost month_free_tier_credit;
  std::uint64_t invocations = 0;
  double gb_seconds = 0;
  [[nodiscard]] bool empty() const { return invocations == 0; }
  [[nodiscard]] double window_seconds() const {
    return static_cast<double>(end_ms - start_ms) / 1000.0;
  }
};

support::Result<CostReport>
cost_report(const CostRequest& request,
            std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Renders for people (colour on a terminal) and as one JSON document.
std::string render_text(const CostReport& report, bool color);
std::string render_json(const CostReport& report);

// "$0.000408", "$12.35", "$0".
std::string format_money(double dollars);

} // namespace wisp::console
