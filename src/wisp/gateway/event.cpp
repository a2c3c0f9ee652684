#include <wisp/gateway/event.hpp>
#include <wisp/gateway/text.hpp>
#include <wisp/support/hash.hpp>

#include <algorithm>

namespace wisp::gateway {

namespace {

// Values grouped by name in first-seen order. Reused per thread: no allocation once warm.
struct Group {
  std::string name;
  std::vector<std::string> values;
};

class Groups {
public:
  void clear() { m_used = 0; }
  Group& add(std::string_view name, bool lower) {
    for (std::size_t i = 0; i < m_used; ++i) {
      auto& group = m_groups[i];
      if (lower ? iequals_ascii(group.name, name) : group.name == name)
        return group;
    }
    if (m_used == m_groups.size())
      m_groups.emplace_back();
    auto& group = m_groups[m_used++];
    group.name.clear();
    if (lower)
      append_lower(group.name, name);
    else
      group.name.assign(name);
    group.values.clear();
    return group;
  }
  [[nodiscard]] std::size_t size() const { return m_used; }
  [[nodiscard]] const Group& operator[](std::size_t i) const { return m_groups[i]; }

private:
  std::vector<Group> m_groups;
  std::size_t m_used = 0;
};

void group_headers(Groups& groups, const Request& request, bool lower, bool skip_cookie) {
  groups.clear();
  for (const auto& header : request.headers) {
    if (skip_cookie && iequals_ascii(header.name, "cookie"))
      continue;
    groups.add(header.name, lower).values.emplace_back(header.value);
  }
}

void group_query(Groups& groups, std::string_view raw_query) {
  groups.clear();
  thread_local std::string key;
  while (!raw_query.empty()) {
    const auto amp = raw_query.find('&');
    const auto part = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
    if (part.empty())
      continue;
    const auto eq = part.find('=');
    key.clear();
    append_percent_decoded(key, part.substr(0, eq), true);
    auto& group = groups.add(key, false);
    group.values.emplace_back();
    if (eq != std::string_view::npos)
      append_percent_decoded(group.values.back(), part.substr(eq + 1), true);
  }
}

// {"k": "last value", ...} or null.
void write_single(std::string& out, const Groups& groups, bool null_if_empty) {
  if (groups.size() == 0) {
    out.append(null_if_empty ? "null" : "{}");
    return;
  }
  out.push_back('{');
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    append_json_string(out, groups[i].name);
    out.push_back(':');
    append_json_string(out, groups[i].values.back());
  }
  out.push_back('}');
}

// {"k": ["v1", "v2"], ...} or null.
void write_multi(std::string& out, const Groups& groups, bool null_if_empty) {
  if (groups.size() == 0) {
    out.append(null_if_empty ? "null" : "{}");
    return;
  }
  out.push_back('{');
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    append_json_string(out, groups[i].name);
    out.append(":[");
    for (std::size_t k = 0; k < groups[i].values.size(); ++k) {
      if (k > 0)
        out.push_back(',');
      append_json_string(out, groups[i].values[k]);
    }
    out.push_back(']');
  }
  out.push_back('}');
}

// {"k": "v1,v2", ...}
void write_joined(std::string& out, const Groups& groups) {
  out.push_back('{');
  thread_local std::string joined;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    append_json_string(out, groups[i].name);
    out.push_back(':');
    joined.clear();
    for (std::size_t k = 0; k < groups[i].values.size(); ++k) {
      if (k > 0)
        joined.push_back(',');
      joined.append(groups[i].values[k]);
    }
    append_json_string(out, joined);
  }
  out.push_back('}');
}

void write_path_parameters(std::string& out, const RouteMatch* match, bool null_if_empty) {
  if (match == nullptr || match->parameters.empty()) {
    out.append(null_if_empty ? "null" : "{}");
    return;
  }
  out.push_back('{');
  bool first = true;
  for (const auto& [name, value] : match->parameters) {
    if (!first)
      out.push_back(',');
    first = false;
    append_json_string(out, name);
    out.push_back(':');
    append_json_string(out, value);
  }
  out.push_back('}');
}

void write_body(std::string& out, const Request& request, bool base64, bool null_if_empty) {
  if (request.body.empty()) {
    out.append(null_if_empty ? "null" : "\"\"");
    return;
  }
  if (base64) {
    out.push_back('"');
    out.append(support::base64_encode(request.body));
    out.push_back('"');
    return;
  }
  append_json_string(out, request.body);
}

void write_key(std::string& out, std::string_view key) {
  out.push_back('"');
  out.append(key);
  out.append("\":");
}

// The path a client used, as API Gateway reports it (HTTP APIs: decoded).
std::string event_path(const Request& request, bool http_api) {
  return http_api ? percent_decoded(request.raw_path, false) : std::string(request.raw_path);
}

std::string staged(const ApiEventInfo& api, std::string_view path) {
  if (api.stage == "$default")
    return std::string(path);
  std::string out = "/";
  out.append(api.stage);
  if (path != "/" || !api.http_api)
    out.append(path);
  return out;
}

void write_identity(std::string& out, const Request& request, const RequestEventInfo& info) {
  out.append("{\"cognitoIdentityPoolId\":null,\"accountId\":null,\"cognitoIdentityId\":null,"
             "\"caller\":null,");
  if (!info.api_key.empty()) {
    out.append("\"apiKey\":");
    append_json_string(out, info.api_key);
    out.push_back(',');
    if (!info.api_key_id.empty()) {
      out.append("\"apiKeyId\":");
      append_json_string(out, info.api_key_id);
      out.push_back(',');
    }
  }
  out.append("\"sourceIp\":");
  append_json_string(out, request.source_ip);
  out.append(",\"principalOrgId\":null,\"accessKey\":null,\"cognitoAuthenticationType\":null,"
             "\"cognitoAuthenticationProvider\":null,\"userArn\":null,\"userAgent\":");
  if (request.has_header("user-agent"))
    append_json_string(out, request.header("user-agent"));
  else
    out.append("null");
  out.append(",\"user\":null}");
}

// The v1 request context.
void write_v1_context(std::string& out, const Request& request, const ApiEventInfo& api,
                      const RouteEventInfo& route, const RequestEventInfo& info,
                      std::string_view path) {
  out.append("{\"resourceId\":");
  if (api.http_api)
    out.append("null");
  else
    append_json_string(out, route.resource_id);
  out.append(",\"resourcePath\":");
  append_json_string(out, route.resource_path);
  out.append(",\"httpMethod\":");
  append_json_string(out, request.method);
  out.append(",\"extendedRequestId\":");
  append_json_string(out, info.extended_request_id);
  out.append(",\"requestTime\":");
  append_json_string(out, info.request_time);
  out.append(",\"path\":");
  append_json_string(out, staged(api, path));
  out.append(",\"accountId\":");
  append_json_string(out, api.account_id);
  out.append(",\"protocol\":");
  append_json_string(out, request.protocol);
  out.append(",\"stage\":");
  append_json_string(out, api.stage);
  const auto host = request.header("host");
  out.append(",\"domainPrefix\":");
  append_json_string(out, domain_prefix(host));
  out.append(",\"requestTimeEpoch\":");
  out.append(std::to_string(info.time_ms));
  out.append(",\"requestId\":");
  append_json_string(out, info.request_id);
  out.append(",\"identity\":");
  write_identity(out, request, info);
  out.append(",\"domainName\":");
  append_json_string(out, host);
  out.append(",\"apiId\":");
  append_json_string(out, api.api_id);
  if (!info.authorizer_json.empty()) {
    out.append(",\"authorizer\":");
    out.append(info.authorizer_json);
  }
  out.push_back('}');
}

void write_v2_context(std::string& out, const Request& request, const ApiEventInfo& api,
                      const RouteEventInfo& route, const RequestEventInfo& info,
                      std::string_view path) {
  const auto host = request.header("host");
  out.append("{\"accountId\":");
  append_json_string(out, api.account_id);
  out.append(",\"apiId\":");
  append_json_string(out, api.api_id);
  if (!info.authorizer_json.empty()) {
    out.append(",\"authorizer\":");
    out.append(info.authorizer_json);
  }
  out.append(",\"domainName\":");
  append_json_string(out, host);
  out.append(",\"domainPrefix\":");
  append_json_string(out, domain_prefix(host));
  out.append(",\"http\":{\"method\":");
  append_json_string(out, request.method);
  out.append(",\"path\":");
  append_json_string(out, path);
  out.append(",\"protocol\":");
  append_json_string(out, request.protocol);
  out.append(",\"sourceIp\":");
  append_json_string(out, request.source_ip);
  out.append(",\"userAgent\":");
  append_json_string(out, request.header("user-agent"));
  out.append("},\"requestId\":");
  append_json_string(out, info.request_id);
  out.append(",\"routeKey\":");
  append_json_string(out, route.route_key);
  out.append(",\"stage\":");
  append_json_string(out, api.stage);
  out.append(",\"time\":");
  append_json_string(out, info.request_time);
  out.append(",\"timeEpoch\":");
  out.append(std::to_string(info.time_ms));
  out.push_back('}');
}

void write_cookies(std::string& out, const Request& request) {
  bool any = false;
  for (const auto& header : request.headers) {
    if (!iequals_ascii(header.name, "cookie"))
      continue;
    std::string_view value = header.value;
    while (!value.empty()) {
      const auto semicolon = value.find(';');
      auto cookie = value.substr(0, semicolon);
      value =
          semicolon == std::string_view::npos ? std::string_view{} : value.substr(semicolon + 1);
      while (!cookie.empty() && (cookie.front() == ' ' || cookie.front() == '\t'))
        cookie.remove_prefix(1);
      while (!cookie.empty() && (cookie.back() == ' ' || cookie.back() == '\t'))
        cookie.remove_suffix(1);
      if (cookie.empty())
        continue;
      out.append(any ? "," : ",\"cookies\":[");
      any = true;
      append_json_string(out, cookie);
    }
  }
  if (any)
    out.push_back(']');
}

Groups& thread_groups() {
  thread_local Groups groups;
  return groups;
}

} // namespace

std::string_view Request::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals_ascii(h.name, name))
      return h.value;
  return {};
}

bool Request::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const Header& h) { return iequals_ascii(h.name, name); });
}

std::string_view domain_prefix(std::string_view host) {
  if (host.starts_with('[')) // IPv6 literal
    return host.substr(0, host.find(']') + 1);
  host = host.substr(0, host.find(':'));
  return host.substr(0, host.find('.'));
}

void write_string_map(std::string& out, const std::map<std::string, std::string>& map,
                      bool null_if_empty) {
  if (map.empty()) {
    out.append(null_if_empty ? "null" : "{}");
    return;
  }
  out.push_back('{');
  bool first = true;
  for (const auto& [key, value] : map) {
    if (!first)
      out.push_back(',');
    first = false;
    append_json_string(out, key);
    out.push_back(':');
    append_json_string(out, value);
  }
  out.push_back('}');
}

void write_v1_event(std::string& out, const Request& request, const ApiEventInfo& api,
                    const RouteEventInfo& route, const RequestEventInfo& info) {
  auto& groups = thread_groups();
  const auto path = event_path(request, api.http_api);
  out.push_back('{');
  if (api.http_api)
    out.append("\"version\":\"1.0\",");
  write_key(out, "resource");
  append_json_string(out, route.resource_path);
  out.push_back(',');
  write_key(out, "path");
  append_json_string(out, path);
  out.push_back(',');
  write_key(out, "httpMethod");
  append_json_string(out, request.method);
  group_headers(groups, request, api.http_api, false);
  out.push_back(',');
  write_key(out, "headers");
  write_single(out, groups, true);
  out.push_back(',');
  write_key(out, "multiValueHeaders");
  write_multi(out, groups, true);
  group_query(groups, request.raw_query);
  out.push_back(',');
  write_key(out, "queryStringParameters");
  write_single(out, groups, true);
  out.push_back(',');
  write_key(out, "multiValueQueryStringParameters");
  write_multi(out, groups, true);
  out.push_back(',');
  write_key(out, "pathParameters");
  write_path_parameters(out, info.match, true);
  out.push_back(',');
  write_key(out, "stageVariables");
  write_string_map(out, api.stage_variables, true);
  out.push_back(',');
  write_key(out, "requestContext");
  write_v1_context(out, request, api, route, info, path);
  out.push_back(',');
  write_key(out, "body");
  write_body(out, request, info.base64_body, true);
  out.push_back(',');
  write_key(out, "isBase64Encoded");
  out.append(info.base64_body && !request.body.empty() ? "true" : "false");
  out.push_back('}');
}

// "routeKey" to "queryStringParameters": what payload 2.0 events and REQUEST authorizer events
// share.
void write_v2_request(std::string& out, Groups& groups, const Request& request,
                      const RouteEventInfo& route, std::string_view path) {
  out.append("\"routeKey\":");
  append_json_string(out, route.route_key);
  out.append(",\"rawPath\":");
  append_json_string(out, path);
  out.append(",\"rawQueryString\":");
  append_json_string(out, request.raw_query);
  write_cookies(out, request);
  group_headers(groups, request, true, true);
  out.append(",\"headers\":");
  write_joined(out, groups);
  group_query(groups, request.raw_query);
  if (groups.size() > 0) {
    out.append(",\"queryStringParameters\":");
    write_joined(out, groups);
  }
}

void write_v2_event(std::string& out, const Request& request, const ApiEventInfo& api,
                    const RouteEventInfo& route, const RequestEventInfo& info) {
  auto& groups = thread_groups();
  const auto path = staged(api, percent_decoded(request.raw_path, false));
  out.append("{\"version\":\"2.0\",");
  write_v2_request(out, groups, request, route, path);
  out.append(",\"requestContext\":");
  write_v2_context(out, request, api, route, info, path);
  if (info.match != nullptr && !info.match->parameters.empty()) {
    out.append(",\"pathParameters\":");
    write_path_parameters(out, info.match, false);
  }
  if (!api.stage_variables.empty()) {
    out.append(",\"stageVariables\":");
    write_string_map(out, api.stage_variables, false);
  }
  if (!request.body.empty()) {
    out.append(",\"body\":");
    write_body(out, request, info.base64_body, false);
  }
  out.append(",\"isBase64Encoded\":");
  out.append(info.base64_body && !request.body.empty() ? "true" : "false");
  out.push_back('}');
}

std::string method_arn(const ApiEventInfo& api, std::string_view method, std::string_view path) {
  std::string out = "arn:aws:execute-api:";
  out.append(api.region);
  out.push_back(':');
  out.append(api.account_id);
  out.push_back(':');
  out.append(api.api_id);
  out.push_back('/');
  out.append(api.stage);
  out.push_back('/');
  out.append(method);
  out.append(path.empty() ? "/" : path);
  return out;
}

void write_token_authorizer_event(std::string& out, std::string_view token,
                                  std::string_view method_arn) {
  out.append("{\"type\":\"TOKEN\",\"methodArn\":");
  append_json_string(out, method_arn);
  out.append(",\"authorizationToken\":");
  append_json_string(out, token);
  out.push_back('}');
}

void write_request_authorizer_event(std::string& out, const Request& request,
                                    const ApiEventInfo& api, const RouteEventInfo& route,
                                    const RequestEventInfo& info, std::string_view method_arn,
                                    const std::vector<std::string>* identity_source) {
  auto& groups = thread_groups();
  const auto path = event_path(request, api.http_api);
  out.push_back('{');
  if (api.http_api)
    out.append("\"version\":\"1.0\",");
  out.append("\"type\":\"REQUEST\",\"methodArn\":");
  append_json_string(out, method_arn);
  if (identity_source != nullptr) {
    std::string joined;
    for (const auto& value : *identity_source) {
      if (!joined.empty())
        joined.push_back(',');
      joined.append(value);
    }
    out.append(",\"identitySource\":");
    append_json_string(out, joined);
    out.append(",\"authorizationToken\":");
    append_json_string(out, joined);
  }
  out.append(",\"resource\":");
  append_json_string(out, route.resource_path);
  out.append(",\"path\":");
  append_json_string(out, path);
  out.append(",\"httpMethod\":");
  append_json_string(out, request.method);
  group_headers(groups, request, api.http_api, false);
  out.append(",\"headers\":");
  write_single(out, groups, false);
  out.append(",\"multiValueHeaders\":");
  write_multi(out, groups, false);
  group_query(groups, request.raw_query);
  out.append(",\"queryStringParameters\":");
  write_single(out, groups, false);
  out.append(",\"multiValueQueryStringParameters\":");
  write_multi(out, groups, false);
  out.append(",\"pathParameters\":");
  write_path_parameters(out, info.match, false);
  out.append(",\"stageVariables\":");
  write_string_map(out, api.stage_variables, false);
  out.append(",\"requestContext\":");
  RequestEventInfo without_authorizer = info;
  without_authorizer.authorizer_json = {};
  write_v1_context(out, request, api, route, without_authorizer, path);
  out.push_back('}');
}

void write_v2_authorizer_event(std::string& out, const Request& request, const ApiEventInfo& api,
                               const RouteEventInfo& route, const RequestEventInfo& info,
                               std::string_view route_arn,
                               const std::vector<std::string>& identity_source) {
  auto& groups = thread_groups();
  const auto path = staged(api, percent_decoded(request.raw_path, false));
  out.append("{\"version\":\"2.0\",\"type\":\"REQUEST\",\"routeArn\":");
  append_json_string(out, route_arn);
  out.append(",\"identitySource\":[");
  for (std::size_t i = 0; i < identity_source.size(); ++i) {
    if (i > 0)
      out.push_back(',');
    append_json_string(out, identity_source[i]);
  }
  out.append("],");
  write_v2_request(out, groups, request, route, path);
  out.append(",\"requestContext\":");
  RequestEventInfo without_authorizer = info;
  without_authorizer.authorizer_json = {};
  write_v2_context(out, request, api, route, without_authorizer, path);
  if (info.match != nullptr && !info.match->parameters.empty()) {
    out.append(",\"pathParameters\":");
    write_path_parameters(out, info.match, false);
  }
  if (!api.stage_variables.empty()) {
    out.append(",\"stageVariables\":");
    write_string_map(out, api.stage_variables, false);
  }
  out.push_back('}');
}

} // namespace wisp::gateway
