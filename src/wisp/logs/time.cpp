#include <wisp/logs/time.hpp>

#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>
#include <optional>

namespace wisp::logs {

namespace {

constexpr std::int64_t k_second = 1000;
constexpr std::int64_t k_minute = 60 * k_second;
constexpr std::int64_t k_hour = 60 * k_minute;
constexpr std::int64_t k_day = 24 * k_hour;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::optional<std::int64_t> unit_ms(std::string_view unit) {
  struct Unit {
    std::string_view name;
    std::int64_t ms;
  };
  static constexpr std::array<Unit, 21> units{{
      {"s", k_second},       {"sec", k_second},     {"secs", k_second}, {"second", k_second},
      {"seconds", k_second}, {"m", k_minute},       {"min", k_minute},  {"mins", k_minute},
      {"minute", k_minute},  {"minutes", k_minute}, {"h", k_hour},      {"hr", k_hour},
      {"hrs", k_hour},       {"hour", k_hour},      {"hours", k_hour},  {"d", k_day},
      {"day", k_day},        {"days", k_day},       {"w", 7 * k_day},   {"week", 7 * k_day},
      {"weeks", 7 * k_day},
  }};
  for (const auto& u : units)
    if (u.name == unit)
      return u.ms;
  return std::nullopt;
}

// "10m ago", "10 minutes ago", "2h", "an hour ago".
std::optional<std::int64_t> parse_relative(std::string_view text, std::int64_t now) {
  std::size_t i = 0;
  std::int64_t count = 0;
  if (text.starts_with("an ")) {
    count = 1;
    i = 3;
  } else if (text.starts_with("a ")) {
    count = 1;
    i = 2;
  } else {
    const auto start = i;
    while (i < text.size() && is_digit(text[i]))
      ++i;
    if (i == start || i - start > 9)
      return std::nullopt;
    std::from_chars(text.data() + start, text.data() + i, count);
  }
  while (i < text.size() && text[i] == ' ')
    ++i;
  const auto unit_start = i;
  while (i < text.size() && text[i] >= 'a' && text[i] <= 'z')
    ++i;
  const auto ms = unit_ms(text.substr(unit_start, i - unit_start));
  if (!ms)
    return std::nullopt;
  auto rest = support::trim(text.substr(i));
  if (!rest.empty() && rest != "ago")
    return std::nullopt;
  return now - count * *ms;
}

// Reads exactly `width` digits.
bool digits(std::string_view text, std::size_t& i, std::size_t width, int& out) {
  if (i + width > text.size())
    return false;
  out = 0;
  for (std::size_t k = 0; k < width; ++k) {
    const char c = text[i + k];
    if (!is_digit(c))
      return false;
    out = out * 10 + (c - '0');
  }
  i += width;
  return true;
}

// ISO 8601 date or date-time; no zone means local time.
std::optional<std::int64_t> parse_iso(std::string_view text) {
  std::size_t i = 0;
  std::tm tm{};
  int year = 0;
  int month = 0;
  int day = 0;
  if (!digits(text, i, 4, year) || i >= text.size() || text[i++] != '-' ||
      !digits(text, i, 2, month) || i >= text.size() || text[i++] != '-' ||
      !digits(text, i, 2, day))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31)
    return std::nullopt;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millis = 0;
  if (i < text.size() && (text[i] == 'T' || text[i] == 't' || text[i] == ' ')) {
    ++i;
    if (!digits(text, i, 2, hour) || i >= text.size() || text[i++] != ':' ||
        !digits(text, i, 2, minute))
      return std::nullopt;
    if (i < text.size() && text[i] == ':') {
      ++i;
      if (!digits(text, i, 2, second))
        return std::nullopt;
      if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
        ++i;
        int scale = 100;
        const auto start = i;
        while (i < text.size() && is_digit(text[i])) {
          millis += (text[i] - '0') * scale;
          scale /= 10;
          ++i;
        }
        if (i == start)
          return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 60)
      return std::nullopt;
  }
  std::optional<std::int64_t> offset_ms; // east of UTC
  if (i < text.size()) {
    const char z = text[i];
    if ((z == 'Z' || z == 'z') && i + 1 == text.size()) {
      offset_ms = 0;
      ++i;
    } else if (z == '+' || z == '-') {
      ++i;
      int oh = 0;
      int om = 0;
      if (!digits(text, i, 2, oh))
        return std::nullopt;
      if (i < text.size() && text[i] == ':')
        ++i;
      if (i < text.size() && !digits(text, i, 2, om))
        return std::nullopt;
      if (oh > 23 || om > 59)
        return std::nullopt;
      offset_ms = (z == '+' ? 1 : -1) * (oh * k_hour + om * k_minute);
    }
  }
  if (i != text.size())
    return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t seconds = 0;
  if (offset_ms) {
    seconds = timegm(&tm);
    return static_cast<std::int64_t>(seconds) * k_second + millis - *offset_ms;
  }
  tm.tm_isdst = -1;
  seconds = mktime(&tm);
  if (seconds == static_cast<std::time_t>(-1))
    return std::nullopt;
  return static_cast<std::int64_t>(seconds) * k_second + millis;
}

} // namespace

std::int64_t to_epoch_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

support::Result<std::int64_t> parse_time(std::string_view text,
                                         std::chrono::system_clock::time_point now_point) {
  const auto now = to_epoch_ms(now_point);
  const auto trimmed = support::trim(text);
  const auto lower = support::to_lower(trimmed);
  if (lower == "now" || lower == "today")
    return now;
  if (lower == "yesterday")
    return now - k_day;
  if (!lower.empty() && lower.size() <= 15 &&
      std::all_of(lower.begin(), lower.end(), [](char c) { return is_digit(c); })) {
    std::int64_t ms = 0;
    std::from_chars(lower.data(), lower.data() + lower.size(), ms);
    return ms;
  }
  if (auto relative = parse_relative(lower, now))
    return *relative;
  if (auto iso = parse_iso(trimmed))
    return *iso;
  return support::failf("invalid time '{}': use e.g. '10m ago', '2h', 'yesterday', "
                        "'2026-11-23T10:00:00Z' or epoch milliseconds",
                        text);
}

std::string format_utc(std::int64_t epoch_ms) {
  auto seconds = static_cast<std::time_t>(epoch_ms / 1000);
  auto millis = epoch_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

} // namespace wisp::logs
