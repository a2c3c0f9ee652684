#pragma once
// Stage throttling from MethodSettings (ThrottlingRateLimit / ThrottlingBurstLimit): a token
// bucket per method setting, as API Gateway throttles. The bucket holds at most `burst`
// tokens, starts full and refills at `rate` tokens per second; a request takes one token or
// is answered 429 {"message":"Too Many Requests"}. A rate or burst of 0 throttles everything.

#include <wisp/template/model.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::gateway {

class TokenBucket {
public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(double rate, double burst);
  // Takes a token at `now`; false when the bucket is empty.
  bool take(Clock::time_point now = Clock::now());

private:
  std::mutex m_mutex;
  double m_rate;
  double m_burst;
  double m_tokens;
  Clock::time_point m_last;
};

// The buckets of one stage: the most specific MethodSetting (resource path and method, then
// the path with `*`, then `/*` `*`) decides. Settings without limits are skipped.
class StageThrottle {
public:
  explicit StageThrottle(const std::vector<sam::MethodSetting>& settings);
  // False when the request must be throttled. `resource_path` is the route's path template.
  bool admit(std::string_view resource_path, std::string_view method);
  [[nodiscard]] bool empty() const { return m_entries.empty(); }

  // MethodSettings' ResourcePath encoding: "/~1users~1{id}" → "/users/{id}", "/*" stays.
  static std::string decode_resource_path(std::string_view encoded);

private:
  struct Entry {
    std::string path; // decoded, or "/*"
    std::string method;
    std::unique_ptr<TokenBucket> bucket;
  };
  std::vector<Entry> m_entries;
};

} // namespace wisp::gateway
