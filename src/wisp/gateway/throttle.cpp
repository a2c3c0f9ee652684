#include <wisp/gateway/throttle.hpp>

#include <algorithm>
#include <cctype>

namespace wisp::gateway {

TokenBucket::TokenBucket(double rate, double burst)
    : m_rate(std::max(0.0, rate)), m_burst(std::max(0.0, burst)), m_tokens(m_burst),
      m_last(Clock::now()) {}

bool TokenBucket::take(Clock::time_point now) {
  std::lock_guard lock(m_mutex);
  if (now > m_last) {
    const double elapsed = std::chrono::duration<double>(now - m_last).count();
    m_tokens = std::min(m_burst, m_tokens + elapsed * m_rate);
    m_last = now;
  }
  if (m_tokens < 1.0)
    return false;
  m_tokens -= 1.0;
  return true;
}

std::string StageThrottle::decode_resource_path(std::string_view encoded) {
  if (encoded == "/*" || encoded == "*")
    return "/*";
  if (encoded.starts_with('/'))
    encoded.remove_prefix(1);
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '~' && i + 1 < encoded.size() &&
        (encoded[i + 1] == '1' || encoded[i + 1] == '0')) {
      out.push_back(encoded[i + 1] == '1' ? '/' : '~');
      ++i;
    } else {
      out.push_back(encoded[i]);
    }
  }
  if (!out.starts_with('/'))
    out.insert(out.begin(), '/');
  return out;
}

StageThrottle::StageThrottle(const std::vector<sam::MethodSetting>& settings) {
  for (const auto& setting : settings) {
    if (!setting.throttling_rate_limit && !setting.throttling_burst_limit)
      continue;
    // A missing half is unlimited in practice (the account's defaults: 10000 rps, 5000 burst).
    const double rate = setting.throttling_rate_limit.value_or(10000.0);
    const double burst = setting.throttling_burst_limit ? *setting.throttling_burst_limit : 5000.0;
    Entry entry;
    entry.path = decode_resource_path(setting.resource_path);
    entry.method = setting.http_method.empty() ? "*" : setting.http_method;
    std::transform(entry.method.begin(), entry.method.end(), entry.method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    entry.bucket = std::make_unique<TokenBucket>(rate, burst);
    m_entries.push_back(std::move(entry));
  }
}

bool StageThrottle::admit(std::string_view resource_path, std::string_view method) {
  Entry* best = nullptr;
  int best_rank = -1;
  for (auto& entry : m_entries) {
    int rank = -1;
    const bool method_ok = entry.method == "*" || entry.method == method;
    if (!method_ok)
      continue;
    if (entry.path == resource_path)
      rank = entry.method == "*" ? 2 : 3;
    else if (entry.path == "/*")
      rank = entry.method == "*" ? 0 : 1;
    if (rank > best_rank) {
      best_rank = rank;
      best = &entry;
    }
  }
  return best == nullptr || best->bucket->take();
}

} // namespace wisp::gateway
