#pragma once
// Figures of one function's invocations, built from their REPORTs: counts, cold starts,
// errors, duration and INIT distributions, memory used, billed GB-seconds. The live console
// and `wisp cost` fill the same FunctionStats, so they show the same numbers.
//
// Memory stays bounded: distributions are log-scale histograms (buckets 1% wide, so a
// percentile read from one is within 1% of the exact value). `wisp cost` also keeps every
// value (keep_exact) and reads exact percentiles (nearest rank).

#include <wisp/console/report.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace wisp::console {

class Histogram {
public:
  void add(double ms);
  [[nodiscard]] std::uint64_t count() const { return m_count; }
  // The p-th percentile (0 < p ≤ 100), nearest rank, to the bucket's middle; 0 when empty.
  [[nodiscard]] double percentile(double p) const;

  struct Bin {
    double lower_ms = 0;
    double upper_ms = 0;
    std::uint64_t count = 0;
  };
  // The occupied range merged into at most `max_bins` bins of equal log width.
  [[nodiscard]] std::vector<Bin> bins(int max_bins) const;

  // Buckets of 1% from 1 µs: bucket i holds [1.01^i, 1.01^(i+1)) µs; bucket 0 also holds
  // everything below 1 µs; the last one everything above ~10^4 s.
  static constexpr int k_buckets = 2400;
  static double bucket_lower_ms(int index);
  static int bucket_of(double ms);

private:
  std::array<std::uint32_t, k_buckets> m_buckets{};
  std::uint64_t m_count = 0;
  int m_min = k_buckets;
  int m_max = -1;
};

// Nearest-rank percentile of values (sorted here); 0 when empty.
double exact_percentile(std::vector<double>& values, double p);

struct Distribution {
  double p50 = 0;
  double p95 = 0;
  double p99 = 0;
  double max = 0;
  double mean = 0;
};

class FunctionStats {
public:
  explicit FunctionStats(bool keep_exact = false) : m_keep_exact(keep_exact) {}

  // One finished invocation. `ephemeral_mb`: its EphemeralStorage (billed beyond 512 MB);
  // `cpu_ms`: CPU time when measured.
  void add(const Report& report, std::int64_t time_ms, int ephemeral_mb = 512,
           std::optional<double> cpu_ms = std::nullopt);
  void add_throttle(std::int64_t time_ms);

  std::uint64_t invocations = 0; // REPORTs (throttled invocations have none)
  std::uint64_t cold_starts = 0;
  std::uint64_t errors = 0; // REPORT status error/failure (function errors are not in REPORT)
  std::uint64_t timeouts = 0;
  std::uint64_t throttles = 0;
  double duration_sum_ms = 0;
  double init_sum_ms = 0;
  std::uint64_t billed_ms = 0;
  double gb_seconds = 0;
  double ephemeral_gb_seconds = 0; // beyond 512 MB
  int memory_size_mb = 0;          // of the last invocation
  int max_memory_used_mb = 0;
  double cpu_sum_ms = 0;          // of the invocations whose CPU time was measured
  double cpu_duration_sum_ms = 0; // their durations (the engine measures a sample of them)
  std::uint64_t cpu_samples = 0;
  std::int64_t first_ms = 0; // 0: none yet
  std::int64_t last_ms = 0;
  Histogram duration;
  Histogram init;

  [[nodiscard]] Distribution duration_distribution() const;
  [[nodiscard]] Distribution init_distribution() const;
  [[nodiscard]] double cold_share() const {
    return invocations ? static_cast<double>(cold_starts) / static_cast<double>(invocations) : 0;
  }

private:
  bool m_keep_exact = false;
  mutable std::vector<double> m_durations;
  mutable std::vector<double> m_inits;
  double m_duration_max = 0;
  double m_init_max = 0;
};

} // namespace wisp::console
