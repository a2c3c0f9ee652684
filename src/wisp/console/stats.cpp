// A function's invocation figures (stats.hpp).

#include <wisp/console/stats.hpp>

#include <wisp/console/cost.hpp>

#include <algorithm>
#include <cmath>

namespace wisp::console {

namespace {

const double k_log_step = std::log(1.01);

} // namespace

double Histogram::bucket_lower_ms(int index) {
  return std::pow(1.01, index) / 1000.0;
}

int Histogram::bucket_of(double ms) {
  const double us = ms * 1000.0;
  if (!(us > 1.0))
    return 0;
  const auto index = static_cast<int>(std::floor(std::log(us) / k_log_step));
  return std::clamp(index, 0, k_buckets - 1);
}

void Histogram::add(double ms) {
  const int index = bucket_of(ms);
  ++m_buckets[static_cast<std::size_t>(index)];
  ++m_count;
  m_min = std::min(m_min, index);
  m_max = std::max(m_max, index);
}

double Histogram::percentile(double p) const {
  if (m_count == 0)
    return 0;
  const auto rank = static_cast<std::uint64_t>(
      std::max(1.0, std::ceil(p / 100.0 * static_cast<double>(m_count))));
  std::uint64_t seen = 0;
  for (int i = m_min; i <= m_max; ++i) {
    seen += m_buckets[static_cast<std::size_t>(i)];
    if (seen >= rank)
      return (bucket_lower_ms(i) + bucket_lower_ms(i + 1)) / 2;
  }
  return bucket_lower_ms(m_max);
}

std::vector<Histogram::Bin> Histogram::bins(int max_bins) const {
  std::vector<Bin> out;
  if (m_count == 0 || max_bins <= 0)
    return out;
  const int span = m_max - m_min + 1;
  const int width = std::max(1, (span + max_bins - 1) / max_bins);
  for (int start = m_min; start <= m_max; start += width) {
    Bin bin;
    bin.lower_ms = bucket_lower_ms(start);
    bin.upper_ms = bucket_lower_ms(std::min(start + width, m_max + 1));
    for (int i = start; i < start + width && i <= m_max; ++i)
      bin.count += m_buckets[static_cast<std::size_t>(i)];
    out.push_back(bin);
  }
  return out;
}

double exact_percentile(std::vector<double>& values, double p) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(
      std::max(1.0, std::ceil(p / 100.0 * static_cast<double>(values.size()))));
  return values[std::min(rank, values.size()) - 1];
}

void FunctionStats::add(const Report& report, std::int64_t time_ms, int ephemeral_mb,
                        std::optional<double> cpu_ms) {
  ++invocations;
  if (report.cold()) {
    ++cold_starts;
    init_sum_ms += *report.init_duration_ms;
    init.add(*report.init_duration_ms);
    m_init_max = std::max(m_init_max, *report.init_duration_ms);
    if (m_keep_exact)
      m_inits.push_back(*report.init_duration_ms);
  }
  if (report.status == "timeout")
    ++timeouts;
  else if (report.failed())
    ++errors;
  duration_sum_ms += report.duration_ms;
  duration.add(report.duration_ms);
  m_duration_max = std::max(m_duration_max, report.duration_ms);
  if (m_keep_exact)
    m_durations.push_back(report.duration_ms);
  billed_ms += report.billed_duration_ms;
  const auto billed = static_cast<double>(report.billed_duration_ms);
  gb_seconds += console::gb_seconds(billed, report.memory_size_mb);
  if (ephemeral_mb > 512)
    ephemeral_gb_seconds += console::gb_seconds(billed, ephemeral_mb - 512);
  memory_size_mb = report.memory_size_mb;
  max_memory_used_mb = std::max(max_memory_used_mb, report.max_memory_used_mb);
  if (cpu_ms) {
    cpu_sum_ms += *cpu_ms;
    cpu_duration_sum_ms += report.duration_ms;
    ++cpu_samples;
  }
  if (first_ms == 0 || time_ms < first_ms)
    first_ms = time_ms;
  last_ms = std::max(last_ms, time_ms);
}

void FunctionStats::add_throttle(std::int64_t time_ms) {
  ++throttles;
  if (first_ms == 0 || time_ms < first_ms)
    first_ms = time_ms;
  last_ms = std::max(last_ms, time_ms);
}

Distribution FunctionStats::duration_distribution() const {
  Distribution d;
  if (invocations == 0)
    return d;
  d.mean = duration_sum_ms / static_cast<double>(invocations);
  d.max = m_duration_max;
  if (m_keep_exact) {
    d.p50 = exact_percentile(m_durations, 50);
    d.p95 = exact_percentile(m_durations, 95);
    d.p99 = exact_percentile(m_durations, 99);
  } else {
    d.p50 = duration.percentile(50);
    d.p95 = duration.percentile(95);
    d.p99 = duration.percentile(99);
  }
  return d;
}

Distribution FunctionStats::init_distribution() const {
  Distribution d;
  if (cold_starts == 0)
    return d;
  d.mean = init_sum_ms / static_cast<double>(cold_starts);
  d.max = m_init_max;
  if (m_keep_exact) {
    d.p50 = exact_percentile(m_inits, 50);
    d.p95 = exact_percentile(m_inits, 95);
    d.p99 = exact_percentile(m_inits, 99);
  } else {
    d.p50 = init.percentile(50);
    d.p95 = init.percentile(95);
    d.p99 = init.percentile(99);
  }
  return d;
}

} // namespace wisp::console
