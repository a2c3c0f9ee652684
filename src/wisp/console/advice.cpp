// Memory advice (advice.hpp).

#include <wisp/console/advice.hpp>

#include <wisp/console/cost.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace wisp::console {

namespace {

double vcpus(int memory_mb) {
  return static_cast<double>(memory_mb) / k_mb_per_vcpu;
}

struct Split {
  double cpu_ms = 0; // CPU work at one full vCPU
  double wait_ms = 0;
  double parallelism = 1;
};

Split split(const Workload& w) {
  Split s;
  if (w.cpu_ms && w.measured_unthrottled) {
    s.cpu_ms = std::max(0.0, *w.cpu_ms);
    s.parallelism = w.duration_ms > 0 ? std::max(1.0, s.cpu_ms / w.duration_ms) : 1.0;
    s.wait_ms = std::max(0.0, w.duration_ms - s.cpu_ms / s.parallelism);
  } else if (w.measured_unthrottled) {
    s.cpu_ms = w.duration_ms;
  } else {
    // Measured on Lambda at the configured size: all CPU work at that size's share.
    s.cpu_ms = w.duration_ms * std::min(1.0, vcpus(w.memory_mb));
  }
  return s;
}

std::string basis_of(const Workload& w) {
  if (w.cpu_ms && w.measured_unthrottled)
    return "CPU time measured locally (full CPU); waiting does not change with memory";
  if (w.measured_unthrottled)
    return "durations measured locally with a full CPU and no CPU time: taken as all CPU "
           "work, the most memory can help (wisp local tune measures it)";
  return fmt::format("durations at {} MB taken as all CPU work, the most memory can help "
                     "(wisp local tune measures it)",
                     w.memory_mb);
}

} // namespace

double predicted_duration_ms(const Workload& workload, int memory_mb) {
  const auto s = split(workload);
  const double speed = std::min(s.parallelism, vcpus(memory_mb));
  return s.wait_ms + (speed > 0 ? s.cpu_ms / speed : 0);
}

double invocation_cost(const PriceTable& table, std::string_view region, Architecture architecture,
                       int memory_mb, double duration_ms, double cold_share, double init_ms) {
  const auto& prices = table.region(region);
  const auto& tiers = prices.duration(architecture);
  const double per_gb_second = tiers.empty() ? 0 : tiers.front().per_gb_second;
  const double warm_billed = std::max(1.0, std::ceil(duration_ms));
  const double cold_billed = std::max(1.0, std::ceil(duration_ms + init_ms));
  const double billed = (1 - cold_share) * warm_billed + cold_share * cold_billed;
  return prices.requests_per_million / 1e6 + gb_seconds(billed, memory_mb) * per_gb_second;
}

MemoryAdvice advise_memory(const PriceTable& table, std::string_view region,
                           Architecture architecture, const Workload& workload) {
  MemoryAdvice advice;
  advice.current_mb = workload.memory_mb;
  advice.basis = basis_of(workload);
  std::vector<int> sizes{128,  256,  512,  768,  1024, 1536, 1769, 2048,
                         3008, 4096, 5120, 6144, 7168, 8192, 10240};
  if (workload.memory_mb >= k_min_memory_mb && workload.memory_mb <= k_max_memory_mb)
    sizes.push_back(workload.memory_mb);
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());

  const double needed = workload.max_memory_used_mb * 1.1;
  for (const int mb : sizes) {
    SizeEstimate e;
    e.memory_mb = mb;
    e.duration_ms = predicted_duration_ms(workload, mb);
    e.cost_per_invocation = invocation_cost(table, region, architecture, mb, e.duration_ms,
                                            workload.cold_share, workload.init_ms);
    e.fits = mb >= needed;
    advice.sizes.push_back(e);
  }
  const SizeEstimate* cheapest = nullptr;
  double shortest = 0;
  bool any = false;
  for (const auto& e : advice.sizes) {
    if (!e.fits)
      continue;
    // Costs within a thousandth of each other are a tie: the faster size wins.
    if (cheapest == nullptr || e.cost_per_invocation < cheapest->cost_per_invocation * 0.999 ||
        (e.cost_per_invocation <= cheapest->cost_per_invocation * 1.001 &&
         e.duration_ms < cheapest->duration_ms))
      cheapest = &e;
    if (!any || e.duration_ms < shortest)
      shortest = e.duration_ms;
    any = true;
  }
  if (cheapest != nullptr)
    advice.cost_minimising_mb = cheapest->memory_mb;
  for (const auto& e : advice.sizes) {
    if (e.fits && e.duration_ms <= shortest * 1.01) {
      advice.duration_minimising_mb = e.memory_mb;
      break;
    }
  }
  return advice;
}

} // namespace wisp::console
