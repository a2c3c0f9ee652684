#include <wisp/template/scalar.hpp>

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace wisp::sam::detail {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view strip_sign(std::string_view text) {
  if (!text.empty() && (text.front() == '+' || text.front() == '-'))
    text.remove_prefix(1);
  return text;
}

bool all_of(std::string_view text, bool (*predicate)(char)) {
  for (const char c : text)
    if (!predicate(c))
      return false;
  return true;
}

// `:[0-5]?[0-9]` groups after a leading digit run (base 60), starting at the first ':'.
bool sexagesimal_tail(std::string_view tail) {
  if (tail.empty())
    return false;
  while (!tail.empty()) {
    if (tail.front() != ':')
      return false;
    tail.remove_prefix(1);
    std::size_t n = 0;
    while (n < tail.size() && is_digit(tail[n]))
      ++n;
    if (n == 0 || n > 2 || (n == 2 && tail[0] > '5'))
      return false;
    tail.remove_prefix(n);
  }
  return true;
}

} // namespace

bool is_yaml11_null(std::string_view text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

std::optional<bool> yaml11_bool(std::string_view text) {
  for (const auto* word : {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
    if (text == word)
      return true;
  for (const auto* word : {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
    if (text == word)
      return false;
  return std::nullopt;
}

bool is_yaml11_int(std::string_view text) {
  const auto body = strip_sign(text);
  if (body.empty())
    return false;
  if (body.starts_with("0b"))
    return body.size() > 2 &&
           all_of(body.substr(2), [](char c) { return c == '0' || c == '1' || c == '_'; });
  if (body.starts_with("0x"))
    return body.size() > 2 && all_of(body.substr(2), [](char c) {
             return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '_';
           });
  if (body == "0")
    return true;
  if (body.front() == '0')
    return all_of(body.substr(1), [](char c) { return (c >= '0' && c <= '7') || c == '_'; });
  if (!is_digit(body.front()))
    return false;
  std::size_t n = 0;
  while (n < body.size() && (is_digit(body[n]) || body[n] == '_'))
    ++n;
  if (n == body.size())
    return true;
  return sexagesimal_tail(body.substr(n));
}

bool is_yaml11_float(std::string_view text) {
  if (text == ".nan" || text == ".NaN" || text == ".NAN")
    return true;
  const auto body = strip_sign(text);
  if (body == ".inf" || body == ".Inf" || body == ".INF")
    return true;
  if (body.empty())
    return false;
  std::size_t i = 0;
  if (body[0] == '.') {
    // \.[0-9_]+ (no sign allowed by PyYAML's pattern, but tolerate it)
    i = 1;
    const std::size_t start = i;
    while (i < body.size() && (is_digit(body[i]) || body[i] == '_'))
      ++i;
    if (i == start)
      return false;
  } else {
    if (!is_digit(body[0]))
      return false;
    while (i < body.size() && (is_digit(body[i]) || body[i] == '_'))
      ++i;
    if (i < body.size() && body[i] == ':') {
      // base 60 float: digits(:[0-5]?[0-9])+\.[0-9_]*
      const auto dot = body.find('.', i);
      if (dot == std::string_view::npos || !sexagesimal_tail(body.substr(i, dot - i)))
        return false;
      return all_of(body.substr(dot + 1), [](char c) { return is_digit(c) || c == '_'; });
    }
    if (i >= body.size() || body[i] != '.')
      return false;
    ++i;
    while (i < body.size() && (is_digit(body[i]) || body[i] == '_'))
      ++i;
  }
  if (i == body.size())
    return true;
  // exponent: [eE][-+][0-9]+
  if (body[i] != 'e' && body[i] != 'E')
    return false;
  ++i;
  if (i >= body.size() || (body[i] != '+' && body[i] != '-'))
    return false;
  ++i;
  const std::size_t start = i;
  while (i < body.size() && is_digit(body[i]))
    ++i;
  return i > start && i == body.size();
}

std::optional<std::int64_t> number_as_int(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  std::string digits;
  int base = 10;
  if (text.starts_with("0b")) {
    base = 2;
    text.remove_prefix(2);
  } else if (text.starts_with("0x")) {
    base = 16;
    text.remove_prefix(2);
  } else if (text.size() > 1 && text.front() == '0' && text.find_first_of(".eE:") == text.npos) {
    base = 8;
    text.remove_prefix(1);
  }
  if (text.find(':') != std::string_view::npos) {
    // base 60
    std::int64_t value = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
      auto end = text.find(':', start);
      if (end == std::string_view::npos)
        end = text.size();
      std::int64_t part = 0;
      const auto piece = text.substr(start, end - start);
      std::string clean;
      for (const char c : piece)
        if (c != '_')
          clean += c;
      if (std::from_chars(clean.data(), clean.data() + clean.size(), part).ec != std::errc{})
        return std::nullopt;
      if (value > std::numeric_limits<std::int64_t>::max() / 60)
        return std::nullopt;
      value = value * 60 + part;
      start = end + 1;
      if (end == text.size())
        break;
    }
    return negative ? -value : value;
  }
  for (const char c : text)
    if (c != '_')
      digits += c;
  if (digits.empty())
    return base == 8 ? std::optional<std::int64_t>(0) : std::nullopt;
  std::int64_t value = 0;
  const auto* end = digits.data() + digits.size();
  const auto result = std::from_chars(digits.data(), end, value, base);
  if (result.ec != std::errc{} || result.ptr != end)
    return std::nullopt;
  return negative ? -value : value;
}

std::optional<double> number_as_double(std::string_view text) {
  if (auto integer = number_as_int(text))
    return static_cast<double>(*integer);
  std::string clean;
  for (const char c : text)
    if (c != '_')
      clean += c;
  if (clean == ".nan" || clean == ".NaN" || clean == ".NAN")
    return std::numeric_limits<double>::quiet_NaN();
  bool negative = false;
  std::string_view body = clean;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (body == ".inf" || body == ".Inf" || body == ".INF")
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  double value = 0;
  const auto* end = body.data() + body.size();
  const auto result = std::from_chars(body.data(), end, value);
  if (result.ec != std::errc{} || result.ptr != end)
    return std::nullopt;
  return negative ? -value : value;
}

} // namespace wisp::sam::detail
