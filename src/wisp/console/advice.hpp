#pragma once
// Memory advice: which MemorySize minimises cost and which minimises duration, from what an
// invocation of a function costs in time.
//
// Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB (a share of
// one below), up to 6 vCPUs at 10,240 MB. The model splits an invocation's duration into
// CPU work and waiting (I/O, sleeps): CPU work measured at one full vCPU takes
// cpu / min(parallelism, memory / 1769) at a given memory, waiting takes as long at any size.
// The parallelism is what was measured (CPU time over duration, at least 1). Without a
// measured CPU time (REPORT lines from CloudWatch) the whole duration is taken as CPU work
// done at the configured memory's share: the most memory can help (the advice says so).
// INIT runs with an unthrottled CPU burst, so its duration does not change with memory.
//
// Costs are per invocation at the region's first duration tier, cold starts included at the
// observed share (their billed INIT), without the free tier.

#include <wisp/console/prices.hpp>

#include <optional>
#include <string>
#include <vector>

namespace wisp::console {

inline constexpr int k_mb_per_vcpu = 1769;
inline constexpr int k_min_memory_mb = 128;
inline constexpr int k_max_memory_mb = 10240;

// What invocations of one function looked like (means over the observed invocations).
struct Workload {
  int memory_mb = 128;               // configured MemorySize when they ran
  double duration_ms = 0;            // mean Duration
  std::optional<double> cpu_ms;      // mean CPU time, measured at full CPU (local runs)
  bool measured_unthrottled = false; // durations were measured with a full CPU (wisp locally)
  double cold_share = 0;             // cold starts / invocations
  double init_ms = 0;                // mean Init Duration of the cold starts
  int max_memory_used_mb = 0;        // the largest Max Memory Used seen
};

struct SizeEstimate {
  int memory_mb = 0;
  double duration_ms = 0;         // predicted mean Duration
  double cost_per_invocation = 0; // requests + duration (+ billed INIT share)
  bool fits = true;               // at least the max memory used (with 10% headroom)
};

struct MemoryAdvice {
  std::vector<SizeEstimate> sizes; // ascending memory
  int current_mb = 0;
  int cost_minimising_mb = 0;     // cheapest size that fits (the faster one on a tie)
  int duration_minimising_mb = 0; // the smallest size within 1% of the shortest duration
  std::string basis;              // how durations were estimated, for the reader
};

// The predicted mean duration of `workload` at `memory_mb`.
double predicted_duration_ms(const Workload& workload, int memory_mb);

// Advice over the usual sizes (128 … 10240 MB, 1769 MB and the current size included).
MemoryAdvice advise_memory(const PriceTable& table, std::string_view region,
                           Architecture architecture, const Workload& workload);

// Cost of one invocation lasting `duration_ms` (billed rounded up to 1 ms) at `memory_mb`,
// with a share `cold_share` of cold starts adding `init_ms` of billed INIT.
double invocation_cost(const PriceTable& table, std::string_view region, Architecture architecture,
                       int memory_mb, double duration_ms, double cold_share = 0,
                       double init_ms = 0);

} // namespace wisp::console
