#include <wisp/gateway/text.hpp>

#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <array>
#include <ctime>

namespace wisp::gateway {

namespace {

constexpr std::string_view k_hex = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

constexpr std::array<const char*, 12> k_months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<const char*, 7> k_days = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

void append_2(std::string& out, int value) {
  out.push_back(static_cast<char>('0' + value / 10));
  out.push_back(static_cast<char>('0' + value % 10));
}

std::tm utc(std::int64_t epoch_seconds) {
  const auto seconds = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  return tm;
}

} // namespace

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  std::size_t i = 0;
  std::size_t run = 0; // start of the pending run of bytes copied as they are
  const auto flush = [&](std::size_t end) { out.append(text.data() + run, end - run); };
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const auto length = support::utf8_sequence_length(text, i); length > 0) {
        i += length;
        continue;
      }
      flush(i);
      out.append("\xEF\xBF\xBD"); // U+FFFD
      run = ++i;
      continue;
    }
    flush(i);
    switch (c) {
    case '"':
      out.append("\\\"");
      break;
    case '\\':
      out.append("\\\\");
      break;
    case '\n':
      out.append("\\n");
      break;
    case '\r':
      out.append("\\r");
      break;
    case '\t':
      out.append("\\t");
      break;
    case '\b':
      out.append("\\b");
      break;
    case '\f':
      out.append("\\f");
      break;
    default:
      out.append("\\u00");
      out.push_back(k_hex[c >> 4u]);
      out.push_back(k_hex[c & 0xFu]);
    }
    run = ++i;
  }
  flush(i);
  out.push_back('"');
}

void append_percent_decoded(std::string& out, std::string_view text, bool plus_as_space) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_as_space && c == '+' ? ' ' : c);
  }
}

std::string percent_decoded(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  append_percent_decoded(out, text, plus_as_space);
  return out;
}

std::string format_request_time(std::int64_t epoch_ms) {
  const auto tm = utc(epoch_ms / 1000);
  std::string out;
  out.reserve(26);
  append_2(out, tm.tm_mday);
  out.push_back('/');
  out.append(k_months.at(static_cast<std::size_t>(tm.tm_mon)));
  out.push_back('/');
  out.append(std::to_string(tm.tm_year + 1900));
  out.push_back(':');
  append_2(out, tm.tm_hour);
  out.push_back(':');
  append_2(out, tm.tm_min);
  out.push_back(':');
  append_2(out, tm.tm_sec);
  out.append(" +0000");
  return out;
}

std::string format_http_date(std::int64_t epoch_seconds) {
  const auto tm = utc(epoch_seconds);
  std::string out;
  out.reserve(29);
  out.append(k_days.at(static_cast<std::size_t>(tm.tm_wday)));
  out.append(", ");
  append_2(out, tm.tm_mday);
  out.push_back(' ');
  out.append(k_months.at(static_cast<std::size_t>(tm.tm_mon)));
  out.push_back(' ');
  out.append(std::to_string(tm.tm_year + 1900));
  out.push_back(' ');
  append_2(out, tm.tm_hour);
  out.push_back(':');
  append_2(out, tm.tm_min);
  out.push_back(':');
  append_2(out, tm.tm_sec);
  out.append(" GMT");
  return out;
}

std::string make_rest_request_id(std::mt19937_64& rng) {
  const std::uint64_t a = rng();
  const std::uint64_t b = rng();
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    const std::uint64_t word = i < 16 ? a : b;
    auto nibble = static_cast<unsigned>((word >> (4 * (i % 16))) & 0xFu);
    if (i == 12)
      nibble = 4; // version 4
    if (i == 16)
      nibble = 8 | (nibble & 3u); // variant 10xx
    if (i == 8 || i == 12 || i == 16 || i == 20)
      out.push_back('-');
    out.push_back(k_hex[nibble]);
  }
  return out;
}

std::string make_short_request_id(std::mt19937_64& rng) {
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve(16);
  std::uint64_t bits = rng();
  for (int i = 0; i < 15; ++i) {
    if (i == 10)
      bits = rng();
    out.push_back(alphabet[bits & 63u]);
    bits >>= 6u;
  }
  out.push_back('=');
  return out;
}

std::string stable_id(std::string_view seed, std::size_t length) {
  constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const auto digest = support::sha256(seed);
  std::string out;
  out.reserve(length);
  for (std::size_t i = 0; i < length; ++i)
    out.push_back(alphabet[digest.at(i % digest.size()) % alphabet.size()]);
  return out;
}

std::string media_type(std::string_view value) {
  if (const auto semicolon = value.find(';'); semicolon != std::string_view::npos)
    value = value.substr(0, semicolon);
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == ' ' || c == '\t')
      continue;
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

std::string first_accept_type(std::string_view accept) {
  if (const auto comma = accept.find(','); comma != std::string_view::npos)
    accept = accept.substr(0, comma);
  return media_type(accept);
}

bool matches_media_types(std::string_view type, std::span<const std::string> patterns) {
  if (type.empty())
    return false;
  const auto slash = type.find('/');
  const std::string_view major = type.substr(0, slash);
  for (const auto& pattern_text : patterns) {
    const auto pattern = media_type(pattern_text);
    if (pattern == "*/*" || pattern == type)
      return true;
    if (pattern.size() >= 2 && pattern.ends_with("/*") &&
        pattern.substr(0, pattern.size() - 2) == major)
      return true;
  }
  return false;
}

bool is_http_api_text_type(std::string_view content_type) {
  const auto type = media_type(content_type);
  return type.starts_with("text/") || type == "application/json" || type == "application/xml" ||
         type == "application/javascript";
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z')
      x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = static_cast<char>(y - 'A' + 'a');
    if (x != y)
      return false;
  }
  return true;
}

void append_lower(std::string& out, std::string_view text) {
  for (const char c : text)
    out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
}

} // namespace wisp::gateway
