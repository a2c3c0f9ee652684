// Times for wisp logs -s/-e (src/wisp/logs/time.hpp): the forms SAM CLI accepts.

#include <wisp/logs/time.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

using wisp::logs::format_utc;
using wisp::logs::parse_time;

namespace {

// 2026-11-23T12:00:00.000Z
const auto k_now =
    std::chrono::system_clock::time_point(std::chrono::milliseconds(1'795'435'200'000));
constexpr std::int64_t k_now_ms = 1'795'435'200'000;
constexpr std::int64_t k_minute = 60'000;
constexpr std::int64_t k_hour = 60 * k_minute;

std::int64_t at(const char* text) {
  auto result = parse_time(text, k_now);
  REQUIRE_MESSAGE(result.has_value(), text);
  return *result;
}

} // namespace

TEST_CASE("times: relative to now") {
  CHECK(at("10m ago") == k_now_ms - 10 * k_minute);
  CHECK(at("10 minutes ago") == k_now_ms - 10 * k_minute);
  CHECK(at("10min") == k_now_ms - 10 * k_minute);
  CHECK(at("2h") == k_now_ms - 2 * k_hour);
  CHECK(at("2 hours ago") == k_now_ms - 2 * k_hour);
  CHECK(at("an hour ago") == k_now_ms - k_hour);
  CHECK(at("a minute ago") == k_now_ms - k_minute);
  CHECK(at("30s") == k_now_ms - 30'000);
  CHECK(at("45 seconds ago") == k_now_ms - 45'000);
  CHECK(at("3 days ago") == k_now_ms - 72 * k_hour);
  CHECK(at("1w") == k_now_ms - 7 * 24 * k_hour);
  CHECK(at("  5M AGO ") == k_now_ms - 5 * k_minute);
  CHECK(at("now") == k_now_ms);
  CHECK(at("today") == k_now_ms);
  CHECK(at("yesterday") == k_now_ms - 24 * k_hour);
}

TEST_CASE("times: ISO 8601 with a zone, and epoch milliseconds") {
  CHECK(at("2026-11-23T12:00:00Z") == k_now_ms);
  CHECK(at("2026-11-23T12:00:00.250Z") == k_now_ms + 250);
  CHECK(at("2026-11-23T12:00:00.5Z") == k_now_ms + 500);
  CHECK(at("2026-11-23T14:00:00+02:00") == k_now_ms);
  CHECK(at("2026-11-23T07:30:00-0430") == k_now_ms);
  CHECK(at("2026-11-23T12:00Z") == k_now_ms);
  CHECK(at("2026-11-23 12:00:00Z") == k_now_ms);
  CHECK(at("1795435200000") == k_now_ms);
  CHECK(at("0") == 0);
}

TEST_CASE("times: without a zone, local time (as SAM CLI)") {
  const char* old = std::getenv("TZ");
  const std::string saved = old != nullptr ? old : "";
  setenv("TZ", "Europe/Paris", 1); // UTC+1 in November
  tzset();
  CHECK(at("2026-11-23T13:00:00") == k_now_ms);
  CHECK(at("2026-11-23") == k_now_ms - 13 * k_hour);
  if (old != nullptr)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
}

TEST_CASE("times: what is not a time is an error naming the accepted forms") {
  for (const char* bad :
       {"", "soon", "10 parsecs ago", "2026-13-01", "2026-11-23T25:00:00Z",
        "2026-11-23T12:00:00Zjunk", "ago", "10m later", "-5m", "12345678901234567890"}) {
    CAPTURE(bad);
    auto result = parse_time(bad, k_now);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().message.find("use e.g. '10m ago', '2h', 'yesterday'") !=
          std::string::npos);
  }
}

TEST_CASE("times: UTC rendering with milliseconds") {
  CHECK(format_utc(k_now_ms) == "2026-11-23T12:00:00.000Z");
  CHECK(format_utc(k_now_ms + 7) == "2026-11-23T12:00:00.007Z");
  CHECK(format_utc(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_utc(-1) == "1969-12-31T23:59:59.999Z");
}
