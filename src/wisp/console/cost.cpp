// The pay-per-use cost model (cost.hpp).

#include <wisp/console/cost.hpp>

#include <algorithm>
#include <map>
#include <utility>

namespace wisp::console {

double gb_seconds(double billed_ms, double memory_mb) {
  return (billed_ms / 1000.0) * (memory_mb / 1024.0);
}

double tiered_duration_cost(const std::vector<DurationTier>& tiers, double amount, double already) {
  double cost = 0;
  double position = already;
  double remaining = amount;
  double tier_start = 0;
  for (const auto& tier : tiers) {
    if (remaining <= 0)
      break;
    const double tier_end = tier.up_to_gb_seconds;
    if (position < tier_end) {
      const double start = std::max(position, tier_start);
      const double in_tier = std::min(remaining, tier_end - start);
      cost += in_tier * tier.per_gb_second;
      remaining -= in_tier;
      position = start + in_tier;
    }
    tier_start = tier_end;
  }
  return cost;
}

CostBreakdown price(const PriceTable& table, std::span<const FunctionUsage> usage,
                    bool apply_free_tier) {
  CostBreakdown out;
  out.functions.resize(usage.size());

  // Totals per (region, architecture) for the tiers; all requests and GB-s for the free tier.
  struct Group {
    double gb_seconds = 0;
    double requests = 0;
    std::vector<std::size_t> members;
  };
  std::map<std::pair<std::string, Architecture>, Group> groups;
  double all_requests = 0;
  double all_gb_seconds = 0;
  for (std::size_t i = 0; i < usage.size(); ++i) {
    auto& group = groups[{usage[i].region, usage[i].architecture}];
    group.gb_seconds += usage[i].gb_seconds;
    group.requests += usage[i].requests;
    group.members.push_back(i);
    all_requests += usage[i].requests;
    all_gb_seconds += usage[i].gb_seconds;
  }
  const double free_requests =
      apply_free_tier ? std::min(all_requests, static_cast<double>(table.free_requests)) : 0;
  const double free_gbs = apply_free_tier ? std::min(all_gb_seconds, table.free_gb_seconds) : 0;
  out.free_requests_used = free_requests;
  out.free_gb_seconds_used = free_gbs;

  for (const auto& [key, group] : groups) {
    const auto& prices = table.region(key.first);
    const auto& tiers = prices.duration(key.second);
    const double full_duration = tiered_duration_cost(tiers, group.gb_seconds);
    // The free GB-seconds this group takes: its share of the free tier, at its first tier.
    const double group_free_gbs =
        all_gb_seconds > 0 ? free_gbs * (group.gb_seconds / all_gb_seconds) : 0;
    const double billed_duration =
        tiered_duration_cost(tiers, std::max(0.0, group.gb_seconds - group_free_gbs), 0);
    const double duration_credit = full_duration - billed_duration;
    for (const auto i : group.members) {
      const auto& u = usage[i];
      auto& cost = out.functions[i];
      const double share = group.gb_seconds > 0 ? u.gb_seconds / group.gb_seconds : 0;
      const double request_share = all_requests > 0 ? u.requests / all_requests : 0;
      const double price_per_request = prices.requests_per_million / 1e6;
      const double request_credit = free_requests * request_share * price_per_request;
      cost.requests = u.requests * price_per_request - request_credit;
      cost.duration = billed_duration * share;
      cost.ephemeral = u.ephemeral_gb_seconds * prices.ephemeral_storage_per_gb_second;
      out.free_tier_credit.requests += request_credit;
      out.free_tier_credit.duration += duration_credit * share;
      out.total.requests += cost.requests;
      out.total.duration += cost.duration;
      out.total.ephemeral += cost.ephemeral;
    }
  }
  return out;
}

std::vector<FunctionUsage> project_month(const PriceTable& table,
                                         std::span<const FunctionUsage> usage,
                                         double window_seconds) {
  const double factor = window_seconds > 0 ? table.month_seconds() / window_seconds : 0;
  std::vector<FunctionUsage> month(usage.begin(), usage.end());
  for (auto& u : month) {
    u.requests *= factor;
    u.gb_seconds *= factor;
    u.ephemeral_gb_seconds *= factor;
  }
  return month;
}

} // namespace wisp::console
