#include <wisp/gateway/response.hpp>
#include <wisp/gateway/text.hpp>
#include <wisp/support/hash.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cmath>

namespace wisp::gateway {

namespace json = boost::json;

namespace {

bool is_owned_header(std::string_view name, bool rest) {
  for (const char* owned : {"connection", "content-length", "date", "server", "transfer-encoding",
                            "keep-alive", "upgrade"})
    if (iequals_ascii(name, owned))
      return true;
  return rest && iequals_ascii(name, "www-authenticate");
}

bool valid_header_name(std::string_view name) {
  if (name.empty())
    return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == ':' || c == '(' || c == ')' || c == ',' || c == '/' ||
        c == ';' || c == '<' || c == '=' || c == '>' || c == '?' || c == '@' || c == '[' ||
        c == '\\' || c == ']' || c == '{' || c == '}' || c == '"')
      return false;
  }
  return true;
}

std::string clean_value(std::string_view value) {
  std::string out(value);
  for (auto& c : out)
    if (c == '\r' || c == '\n' || c == '\0')
      c = ' ';
  return out;
}

// A header value as API Gateway accepts it: a string, number or boolean.
bool scalar_text(const json::value& value, std::string& out) {
  switch (value.kind()) {
  case json::kind::string:
    out.assign(value.get_string().data(), value.get_string().size());
    return true;
  case json::kind::int64:
    out = std::to_string(value.get_int64());
    return true;
  case json::kind::uint64:
    out = std::to_string(value.get_uint64());
    return true;
  case json::kind::double_: {
    const double d = value.get_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15)
      out = std::to_string(static_cast<long long>(d));
    else
      out = json::serialize(value);
    return true;
  }
  case json::kind::bool_:
    out = value.get_bool() ? "true" : "false";
    return true;
  default:
    return false;
  }
}

bool status_code(const json::value* value, unsigned& out) {
  if (value == nullptr)
    return false;
  long long code = 0;
  if (value->is_int64()) {
    code = value->get_int64();
  } else if (value->is_uint64()) {
    code = static_cast<long long>(std::min<std::uint64_t>(value->get_uint64(), 1000));
  } else if (value->is_double()) {
    const double d = value->get_double();
    if (d != std::floor(d))
      return false;
    code = static_cast<long long>(d);
  } else if (value->is_string()) {
    const auto& text = value->get_string();
    if (text.empty() || text.size() > 3)
      return false;
    for (const char c : text) {
      if (c < '0' || c > '9')
        return false;
      code = code * 10 + (c - '0');
    }
  } else {
    return false;
  }
  if (code < 100 || code > 599)
    return false;
  out = static_cast<unsigned>(code);
  return true;
}

void add_header(MappedResponse& out, std::string_view name, std::string_view value, bool rest) {
  if (!valid_header_name(name))
    return;
  if (is_owned_header(name, rest)) {
    if (rest)
      out.headers.emplace_back("X-Amzn-Remapped-" + std::string(name), clean_value(value));
    return;
  }
  out.headers.emplace_back(std::string(name), clean_value(value));
}

// headers / multiValueHeaders of a 1.0 response (and headers of a 2.0 one).
bool read_headers(const json::object& object, MappedResponse& out, bool rest, bool multi_allowed) {
  const json::object* multi = nullptr;
  if (multi_allowed) {
    if (const auto* value = object.if_contains("multiValueHeaders");
        value != nullptr && !value->is_null()) {
      if (!value->is_object())
        return false;
      multi = &value->get_object();
    }
  }
  std::string text;
  if (const auto* value = object.if_contains("headers"); value != nullptr && !value->is_null()) {
    if (!value->is_object())
      return false;
    for (const auto& [key, header] : value->get_object()) {
      if (header.is_null())
        continue;
      if (!scalar_text(header, text))
        return false;
      bool duplicate = false;
      if (multi != nullptr) {
        for (const auto& [multi_key, values] : *multi) {
          if (!iequals_ascii(multi_key, key) || !values.is_array())
            continue;
          std::string item;
          for (const auto& v : values.get_array())
            if (scalar_text(v, item) && item == text)
              duplicate = true;
        }
      }
      if (!duplicate)
        add_header(out, key, text, rest);
    }
  }
  if (multi != nullptr) {
    for (const auto& [key, values] : *multi) {
      if (values.is_null())
        continue;
      if (!values.is_array())
        return false;
      for (const auto& v : values.get_array()) {
        if (!scalar_text(v, text))
          return false;
        add_header(out, key, text, rest);
      }
    }
  }
  return true;
}

bool read_body(const json::object& object, bool decode, MappedResponse& out) {
  const auto* body = object.if_contains("body");
  if (body == nullptr || body->is_null())
    return true;
  if (!body->is_string())
    return false;
  const auto& text = body->get_string();
  if (!decode) {
    out.body.assign(text.data(), text.size());
    return true;
  }
  auto decoded = support::base64_decode(std::string_view(text.data(), text.size()));
  if (!decoded)
    return false;
  out.body = std::move(*decoded);
  return true;
}

bool is_base64(const json::object& object, bool& out) {
  const auto* flag = object.if_contains("isBase64Encoded");
  out = false;
  if (flag == nullptr || flag->is_null())
    return true;
  if (!flag->is_bool())
    return false;
  out = flag->get_bool();
  return true;
}

// Parses with a per-thread arena: no allocation for small outputs once warm.
json::value parse(std::string_view text, json::monotonic_resource& arena, bool& ok) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec, &arena);
  ok = !ec;
  return value;
}

} // namespace

bool MappedResponse::has_header(std::string_view name) const {
  for (const auto& header : headers)
    if (iequals_ascii(header.first, name))
      return true;
  return false;
}

bool map_v1_response(std::string_view output, bool rest, bool rest_binary_accept,
                     MappedResponse& out) {
  out.clear();
  std::array<unsigned char, 4096> buffer{};
  json::monotonic_resource arena(buffer.data(), buffer.size());
  bool ok = false;
  const auto value = parse(output, arena, ok);
  if (!ok || !value.is_object())
    return false;
  const auto& object = value.get_object();
  if (!status_code(object.if_contains("statusCode"), out.status))
    return false;
  bool base64 = false;
  if (!is_base64(object, base64))
    return false;
  if (!read_headers(object, out, rest, true))
    return false;
  const bool decode = base64 && (!rest || rest_binary_accept);
  if (!read_body(object, decode, out))
    return false;
  if (rest && !out.has_header("content-type"))
    out.headers.emplace_back("Content-Type", "application/json");
  return true;
}

bool map_v2_response(std::string_view output, MappedResponse& out) {
  out.clear();
  std::array<unsigned char, 4096> buffer{};
  json::monotonic_resource arena(buffer.data(), buffer.size());
  bool ok = false;
  const auto value = parse(output, arena, ok);
  if (!ok)
    return false;
  if (!value.is_object() || !value.get_object().contains("statusCode")) {
    // Inference: the output is the body of a 200 JSON response.
    out.status = 200;
    out.headers.emplace_back("content-type", "application/json");
    if (value.is_string())
      out.body.assign(value.get_string().data(), value.get_string().size());
    else
      out.body.assign(output);
    return true;
  }
  const auto& object = value.get_object();
  if (!status_code(object.if_contains("statusCode"), out.status))
    return false;
  bool base64 = false;
  if (!is_base64(object, base64))
    return false;
  if (!read_headers(object, out, false, false))
    return false;
  if (const auto* cookies = object.if_contains("cookies");
      cookies != nullptr && !cookies->is_null()) {
    if (!cookies->is_array())
      return false;
    for (const auto& cookie : cookies->get_array()) {
      if (!cookie.is_string())
        return false;
      out.headers.emplace_back(
          "set-cookie",
          clean_value(std::string_view(cookie.get_string().data(), cookie.get_string().size())));
    }
  }
  return read_body(object, base64, out);
}

} // namespace wisp::gateway
