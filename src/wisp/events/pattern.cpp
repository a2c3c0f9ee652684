#include <wisp/events/pattern.hpp>

#include <wisp/support/strings.hpp>

#include <arpa/inet.h>
#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <array>
#include <cstring>
#include <optional>

namespace wisp::events {

namespace json = boost::json;

namespace {

using Check = tl::expected<void, std::string>;

Check refuse(const std::string& path, std::string_view message) {
  return tl::unexpected(fmt::format("{}: {}", path.empty() ? "pattern" : path, message));
}

bool is_scalar(const json::value& v) {
  return v.is_string() || v.is_number() || v.is_bool() || v.is_null();
}

Check check_string_or_list(const json::value& v, const std::string& path, std::string_view op) {
  if (v.is_string())
    return {};
  if (v.is_array() && !v.as_array().empty()) {
    for (const auto& item : v.as_array())
      if (!item.is_string())
        return refuse(path, fmt::format("\"{}\" takes strings", op));
    return {};
  }
  return refuse(path, fmt::format("\"{}\" takes a string or a list of strings", op));
}

// prefix/suffix: a string, or {"equals-ignore-case": string}.
Check check_affix(const json::value& v, const std::string& path, std::string_view op) {
  if (v.is_string())
    return {};
  if (v.is_object() && v.as_object().size() == 1 && v.as_object().contains("equals-ignore-case") &&
      v.as_object().at("equals-ignore-case").is_string())
    return {};
  return refuse(path,
                fmt::format("\"{}\" takes a string or {{\"equals-ignore-case\": string}}", op));
}

std::optional<std::array<unsigned char, 16>> parse_ip(std::string_view text, int& family);

Check check_matcher(const json::value& m, const std::string& path) {
  if (is_scalar(m))
    return {};
  if (!m.is_object() || m.as_object().size() != 1)
    return refuse(path, "a matcher is a string, number, boolean, null or an object with one "
                        "operator");
  const auto& [key, value] = *m.as_object().begin();
  const std::string op(key);
  if (op == "prefix" || op == "suffix")
    return check_affix(value, path, op);
  if (op == "equals-ignore-case" || op == "wildcard") {
    if (!value.is_string())
      return refuse(path, fmt::format("\"{}\" takes a string", op));
    return {};
  }
  if (op == "exists") {
    if (!value.is_bool())
      return refuse(path, "\"exists\" takes true or false");
    return {};
  }
  if (op == "cidr") {
    if (!value.is_string())
      return refuse(path, "\"cidr\" takes a string such as \"10.0.0.0/24\"");
    const std::string text(value.as_string());
    const auto slash = text.find('/');
    int family = 0;
    if (slash == std::string::npos || !parse_ip(std::string_view(text).substr(0, slash), family))
      return refuse(path, fmt::format("\"{}\" is not a CIDR block", text));
    const auto bits = std::atoi(text.c_str() + slash + 1);
    if (bits < 0 || bits > (family == AF_INET ? 32 : 128))
      return refuse(path, fmt::format("\"{}\" is not a CIDR block", text));
    return {};
  }
  if (op == "numeric") {
    if (!value.is_array() || (value.as_array().size() != 2 && value.as_array().size() != 4))
      return refuse(path, "\"numeric\" takes [op, number] or [op, number, op, number]");
    const auto& list = value.as_array();
    for (std::size_t i = 0; i < list.size(); i += 2) {
      if (!list[i].is_string() || !list[i + 1].is_number())
        return refuse(path, "\"numeric\" takes [op, number] or [op, number, op, number]");
      const std::string o(list[i].as_string());
      if (o != "=" && o != "<" && o != "<=" && o != ">" && o != ">=")
        return refuse(path, fmt::format("\"{}\" is not a numeric operator (=, <, <=, >, >=)", o));
    }
    return {};
  }
  if (op == "anything-but") {
    if (is_scalar(value) && !value.is_null())
      return {};
    if (value.is_array()) {
      for (const auto& item : value.as_array())
        if (!item.is_string() && !item.is_number())
          return refuse(path, "\"anything-but\" lists take strings or numbers");
      return {};
    }
    if (value.is_object() && value.as_object().size() == 1) {
      const auto& [inner_key, inner] = *value.as_object().begin();
      const std::string inner_op(inner_key);
      if (inner_op == "prefix" || inner_op == "suffix" || inner_op == "equals-ignore-case" ||
          inner_op == "wildcard")
        return check_string_or_list(inner, path, "anything-but/" + inner_op);
    }
    return refuse(path, "\"anything-but\" takes a value, a list, or {\"prefix\"|\"suffix\"|"
                        "\"equals-ignore-case\"|\"wildcard\": ..}");
  }
  return refuse(path, fmt::format("\"{}\" is not a pattern operator", op));
}

Check check_object(const json::value& pattern, const std::string& path) {
  if (!pattern.is_object())
    return refuse(path, "a pattern is a JSON object");
  for (const auto& [key, value] : pattern.as_object()) {
    const std::string child = path.empty() ? std::string(key) : path + "." + std::string(key);
    if (key == "$or") {
      if (!value.is_array() || value.as_array().size() < 2)
        return refuse(child, "\"$or\" takes a list of at least two patterns");
      for (const auto& alternative : value.as_array())
        if (auto ok = check_object(alternative, child); !ok)
          return ok;
      continue;
    }
    if (value.is_object()) {
      if (auto ok = check_object(value, child); !ok)
        return ok;
      continue;
    }
    if (!value.is_array())
      return refuse(child, "a pattern's values are lists of matchers or nested patterns");
    if (value.as_array().empty())
      return refuse(child, "an empty list matches nothing");
    for (const auto& matcher : value.as_array())
      if (auto ok = check_matcher(matcher, child); !ok)
        return ok;
  }
  return {};
}

std::optional<std::array<unsigned char, 16>> parse_ip(std::string_view text, int& family) {
  std::array<unsigned char, 16> out{};
  const std::string copy(text);
  if (inet_pton(AF_INET, copy.c_str(), out.data()) == 1) {
    family = AF_INET;
    return out;
  }
  if (inet_pton(AF_INET6, copy.c_str(), out.data()) == 1) {
    family = AF_INET6;
    return out;
  }
  return std::nullopt;
}

bool in_cidr(std::string_view value, std::string_view cidr) {
  const auto slash = cidr.find('/');
  int net_family = 0;
  int value_family = 0;
  const auto net = parse_ip(cidr.substr(0, slash), net_family);
  const auto ip = parse_ip(value, value_family);
  if (!net || !ip || net_family != value_family)
    return false;
  const int bits = std::atoi(std::string(cidr.substr(slash + 1)).c_str());
  for (int i = 0; i < bits; ++i) {
    const auto byte = static_cast<std::size_t>(i / 8);
    const auto mask = static_cast<unsigned char>(0x80u >> static_cast<unsigned>(i % 8));
    if (((*net)[byte] & mask) != ((*ip)[byte] & mask))
      return false;
  }
  return true;
}

// '*' matches any run of characters; "\*" a literal star, "\\" a backslash.
bool wildcard_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
      continue;
    }
    if (p < pattern.size()) {
      char expected = pattern[p];
      std::size_t width = 1;
      if (expected == '\\' && p + 1 < pattern.size()) {
        expected = pattern[p + 1];
        width = 2;
      }
      if (expected == text[t]) {
        p += width;
        ++t;
        continue;
      }
    }
    if (star == std::string_view::npos)
      return false;
    p = star + 1;
    t = ++resume;
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

bool numbers_equal(const json::value& a, const json::value& b) {
  const bool a_integer = a.is_int64() || a.is_uint64();
  const bool b_integer = b.is_int64() || b.is_uint64();
  if (a_integer != b_integer)
    return false;
  if (a_integer) {
    if (a.is_int64() && b.is_int64())
      return a.as_int64() == b.as_int64();
    if (a.is_uint64() && b.is_uint64())
      return a.as_uint64() == b.as_uint64();
    return false;
  }
  return a.as_double() == b.as_double();
}

double number_of(const json::value& v) {
  if (v.is_int64())
    return static_cast<double>(v.as_int64());
  if (v.is_uint64())
    return static_cast<double>(v.as_uint64());
  return v.as_double();
}

bool literal_equal(const json::value& literal, const json::value& v) {
  if (literal.is_string())
    return v.is_string() && v.as_string() == literal.as_string();
  if (literal.is_number())
    return v.is_number() && numbers_equal(literal, v);
  if (literal.is_bool())
    return v.is_bool() && v.as_bool() == literal.as_bool();
  return literal.is_null() && v.is_null();
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && support::iequals(text.substr(0, prefix.size()), prefix);
}

bool ends_with_ci(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         support::iequals(text.substr(text.size() - suffix.size()), suffix);
}

bool affix_match(const json::value& arg, std::string_view text, bool prefix) {
  if (arg.is_string()) {
    const std::string_view a = arg.as_string();
    return prefix ? text.starts_with(a) : text.ends_with(a);
  }
  const std::string_view a = arg.as_object().at("equals-ignore-case").as_string();
  return prefix ? starts_with_ci(text, a) : ends_with_ci(text, a);
}

// Applies `test` to a string or to each string of a list; true when any passes.
template <class Test> bool any_string(const json::value& arg, Test test) {
  if (arg.is_string())
    return test(std::string_view(arg.as_string()));
  for (const auto& item : arg.as_array())
    if (test(std::string_view(item.as_string())))
      return true;
  return false;
}

bool numeric_match(const json::array& ops, double value) {
  for (std::size_t i = 0; i + 1 < ops.size(); i += 2) {
    const std::string_view op = ops[i].as_string();
    const double bound = number_of(ops[i + 1]);
    bool ok = false;
    if (op == "=")
      ok = value == bound;
    else if (op == "<")
      ok = value < bound;
    else if (op == "<=")
      ok = value <= bound;
    else if (op == ">")
      ok = value > bound;
    else if (op == ">=")
      ok = value >= bound;
    if (!ok)
      return false;
  }
  return true;
}

bool anything_but(const json::value& arg, const json::value& v) {
  if (arg.is_array()) {
    for (const auto& item : arg.as_array())
      if (literal_equal(item, v))
        return false;
    return true;
  }
  if (arg.is_object()) {
    if (!v.is_string())
      return true;
    const std::string_view text = v.as_string();
    const auto& [key, inner] = *arg.as_object().begin();
    if (key == "prefix")
      return !any_string(inner, [&](std::string_view a) { return text.starts_with(a); });
    if (key == "suffix")
      return !any_string(inner, [&](std::string_view a) { return text.ends_with(a); });
    if (key == "equals-ignore-case")
      return !any_string(inner, [&](std::string_view a) { return support::iequals(text, a); });
    if (key == "wildcard")
      return !any_string(inner, [&](std::string_view a) { return wildcard_match(a, text); });
    return true;
  }
  return !literal_equal(arg, v);
}

// One matcher against one (present) value.
bool match_one(const json::value& m, const json::value& v) {
  if (!m.is_object())
    return literal_equal(m, v);
  const auto& [key, arg] = *m.as_object().begin();
  if (key == "prefix" || key == "suffix")
    return v.is_string() && affix_match(arg, v.as_string(), key == "prefix");
  if (key == "equals-ignore-case")
    return v.is_string() && support::iequals(v.as_string(), arg.as_string());
  if (key == "wildcard")
    return v.is_string() && wildcard_match(arg.as_string(), v.as_string());
  if (key == "numeric")
    return v.is_number() && numeric_match(arg.as_array(), number_of(v));
  if (key == "cidr")
    return v.is_string() && in_cidr(v.as_string(), arg.as_string());
  if (key == "anything-but")
    return anything_but(arg, v);
  if (key == "exists")
    return arg.as_bool();
  return false;
}

bool match_leaf(const json::array& matchers, const json::value* field) {
  const bool absent = field == nullptr || (field->is_array() && field->as_array().empty());
  for (const auto& m : matchers) {
    if (m.is_object()) {
      if (const auto* exists = m.as_object().if_contains("exists")) {
        if (exists->as_bool() != absent)
          return true;
        continue;
      }
    }
    if (absent)
      continue;
    if (field->is_array()) {
      for (const auto& item : field->as_array())
        if (match_one(m, item))
          return true;
    } else if (match_one(m, *field)) {
      return true;
    }
  }
  return false;
}

bool match_object(const json::object& pattern, const json::value* value) {
  for (const auto& [key, sub] : pattern) {
    if (key == "$or") {
      bool any = false;
      for (const auto& alternative : sub.as_array())
        if (match_object(alternative.as_object(), value)) {
          any = true;
          break;
        }
      if (!any)
        return false;
      continue;
    }
    const json::value* field = nullptr;
    if (value != nullptr && value->is_object())
      field = value->as_object().if_contains(key);
    if (sub.is_object()) {
      if (field != nullptr && field->is_array()) {
        bool any = false;
        for (const auto& item : field->as_array())
          if (match_object(sub.as_object(), &item)) {
            any = true;
            break;
          }
        if (!any)
          return false;
      } else if (!match_object(sub.as_object(), field)) {
        return false;
      }
      continue;
    }
    if (!match_leaf(sub.as_array(), field))
      return false;
  }
  return true;
}

} // namespace

tl::expected<EventPattern, std::string> EventPattern::parse(std::string_view json_text) {
  boost::system::error_code ec;
  auto value = json::parse(json_text, ec);
  if (ec)
    return tl::unexpected(fmt::format("the pattern is not valid JSON ({})", ec.message()));
  return from_json(value);
}

tl::expected<EventPattern, std::string> EventPattern::from_json(const json::value& pattern) {
  if (auto ok = check_object(pattern, ""); !ok)
    return tl::unexpected(ok.error());
  EventPattern out;
  out.m_pattern = pattern;
  return out;
}

bool EventPattern::matches(const json::value& event) const {
  if (!m_pattern.is_object())
    return true;
  return match_object(m_pattern.as_object(), &event);
}

bool EventPattern::empty() const {
  return !m_pattern.is_object() || m_pattern.as_object().empty();
}

} // namespace wisp::events
