#pragma once
// The pay-per-use cost model of AWS Lambda (on-demand invocations), over a price table.
//
// - Requests: count × the region's price per million.
// - Duration: Σ Billed Duration × MemorySize, in GB-seconds (MB/1024 × ms/1000), priced by
//   the tiers of the function's region and architecture. Tiers count a month's GB-seconds of
//   the whole account per region and architecture, so they are applied to the summed usage
//   of each (region, architecture) group and each function gets its share in proportion to
//   its GB-seconds.
// - Ephemeral storage: (EphemeralStorage − 512 MB) × Billed Duration, per GB-second.
// - Free tier (when asked for, i.e. for a month): 1M requests and 400,000 GB-seconds per
//   account, both architectures together. It is taken from every (region, architecture)
//   group in proportion to the group's usage, at the group's first tier.
// - Billed Duration is what REPORT says (it includes a billed INIT since 2025-08-01).

#include <wisp/console/prices.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace wisp::console {

// GB-seconds of `billed_ms` at `memory_mb`.
double gb_seconds(double billed_ms, double memory_mb);

// One function's billed usage over some period.
struct FunctionUsage {
  std::string id; // what reports call it
  std::string region;
  Architecture architecture = Architecture::x86_64;
  double requests = 0;             // may be fractional in projections
  double gb_seconds = 0;           // Σ billed ms × memory
  double ephemeral_gb_seconds = 0; // Σ billed ms × (EphemeralStorage − 512 MB), when above 512
};

struct Cost {
  double requests = 0;
  double duration = 0;
  double ephemeral = 0;
  [[nodiscard]] double total() const { return requests + duration + ephemeral; }
};

struct CostBreakdown {
  std::vector<Cost> functions; // in the order of the usages given
  Cost total;
  double free_requests_used = 0;   // when the free tier was applied
  double free_gb_seconds_used = 0; // when the free tier was applied
  Cost free_tier_credit;           // what the free tier saved
};

// Prices usage. `apply_free_tier`: deduct the monthly free tier (for a month's usage).
CostBreakdown price(const PriceTable& table, std::span<const FunctionUsage> usage,
                    bool apply_free_tier);

// The tiered price of `amount` GB-seconds counted from `already` GB-seconds of the month.
double tiered_duration_cost(const std::vector<DurationTier>& tiers, double amount,
                            double already = 0);

// `usage` scaled from a window of `window_seconds` to a month of the table (requests and
// GB-seconds at the observed rate). A window of 0 seconds scales by 0.
std::vector<FunctionUsage>
project_month(const PriceTable& table, std::span<const FunctionUsage> usage, double window_seconds);

} // namespace wisp::console
