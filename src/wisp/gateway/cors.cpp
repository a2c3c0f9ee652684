#include <wisp/gateway/cors.hpp>
#include <wisp/gateway/text.hpp>
#include <wisp/support/strings.hpp>

#include <algorithm>
#include <set>

namespace wisp::gateway {

namespace {

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& value : values) {
    if (!out.empty())
      out.push_back(',');
    out.append(value);
  }
  return out;
}

bool contains_star(const std::vector<std::string>& values) {
  return std::find(values.begin(), values.end(), "*") != values.end();
}

} // namespace

void rest_preflight(const sam::Cors& cors, const std::vector<std::string>& path_methods,
                    MappedResponse& out) {
  out.clear();
  out.status = 200;
  out.headers.emplace_back("Content-Type", "application/json");
  out.headers.emplace_back("Access-Control-Allow-Origin",
                           cors.allow_origins.empty() ? std::string() : cors.allow_origins.front());
  if (!cors.allow_headers.empty())
    out.headers.emplace_back("Access-Control-Allow-Headers", join(cors.allow_headers));
  std::string methods;
  if (!cors.allow_methods.empty()) {
    methods = join(cors.allow_methods);
  } else {
    std::set<std::string> all;
    const bool any =
        std::find(path_methods.begin(), path_methods.end(), "ANY") != path_methods.end();
    if (any) {
      all = {"OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};
    } else {
      all.insert(path_methods.begin(), path_methods.end());
      all.insert("OPTIONS");
    }
    methods = join(std::vector<std::string>(all.begin(), all.end()));
  }
  out.headers.emplace_back("Access-Control-Allow-Methods", methods);
  if (cors.max_age)
    out.headers.emplace_back("Access-Control-Max-Age", std::to_string(*cors.max_age));
  if (cors.allow_credentials)
    out.headers.emplace_back("Access-Control-Allow-Credentials", "true");
  out.body = "{}";
}

bool is_preflight(const Request& request) {
  return request.method == "OPTIONS" && request.has_header("origin") &&
         request.has_header("access-control-request-method");
}

bool origin_allowed(const sam::Cors& cors, std::string_view origin) {
  if (origin.empty())
    return false;
  for (const auto& allowed : cors.allow_origins)
    if (allowed == "*" || iequals_ascii(allowed, origin))
      return true;
  return false;
}

void http_preflight(const sam::Cors& cors, const Request& request, MappedResponse& out) {
  out.clear();
  out.status = 204;
  const auto origin = request.header("origin");
  if (!origin_allowed(cors, origin))
    return;
  const bool star = contains_star(cors.allow_origins) && !cors.allow_credentials;
  out.headers.emplace_back("access-control-allow-origin",
                           star ? std::string("*") : std::string(origin));
  if (cors.allow_credentials)
    out.headers.emplace_back("access-control-allow-credentials", "true");
  if (!cors.allow_methods.empty())
    out.headers.emplace_back("access-control-allow-methods", join(cors.allow_methods));
  if (!cors.allow_headers.empty()) {
    // "*" echoes what the browser asks for.
    if (contains_star(cors.allow_headers) && request.has_header("access-control-request-headers"))
      out.headers.emplace_back("access-control-allow-headers",
                               std::string(request.header("access-control-request-headers")));
    else
      out.headers.emplace_back("access-control-allow-headers", join(cors.allow_headers));
  }
  if (cors.max_age)
    out.headers.emplace_back("access-control-max-age", std::to_string(*cors.max_age));
}

void http_apply_cors(const sam::Cors& cors, std::string_view origin, MappedResponse& out) {
  std::erase_if(out.headers, [](const auto& header) {
    return header.first.size() > 15 && iequals_ascii(header.first.substr(0, 15), "access-control-");
  });
  if (!origin_allowed(cors, origin))
    return;
  const bool star = contains_star(cors.allow_origins) && !cors.allow_credentials;
  out.headers.emplace_back("access-control-allow-origin",
                           star ? std::string("*") : std::string(origin));
  if (cors.allow_credentials)
    out.headers.emplace_back("access-control-allow-credentials", "true");
  if (!cors.expose_headers.empty())
    out.headers.emplace_back("access-control-expose-headers", join(cors.expose_headers));
}

} // namespace wisp::gateway
