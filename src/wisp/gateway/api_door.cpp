// The API Gateway front door (`local start-api`): routing, authorizers, static files, CORS,
// throttling, events and response mapping for one API (api_door.hpp).

#include <wisp/aws/sigv4_verify.hpp>
#include <wisp/gateway/api_door.hpp>
#include <wisp/gateway/cors.hpp>
#include <wisp/gateway/incoming.hpp>
#include <wisp/gateway/text.hpp>
#include <wisp/runtime/lambda_config.hpp>
#include <wisp/runtime/lambda_text.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace wisp::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace fs = std::filesystem;

namespace {

// ------------------------------------------------------------------ limits and texts

constexpr std::size_t k_header_values_limit = 10240;            // API Gateway's limit
constexpr std::uint64_t k_api_payload_limit = 10485760;         // 10 MB
constexpr auto k_authorizer_timeout = std::chrono::seconds(10); // API Gateway's

constexpr std::string_view k_rest_missing_token = R"({"message":"Missing Authentication Token"})";
constexpr std::string_view k_rest_internal = R"({"message": "Internal server error"})";
constexpr std::string_view k_rest_timeout = R"({"message": "Endpoint request timed out"})";
constexpr std::string_view k_too_many = R"({"message":"Too Many Requests"})";
constexpr std::string_view k_unauthorized = R"({"message":"Unauthorized"})";
constexpr std::string_view k_rest_explicit_deny =
    R"({"Message":"User is not authorized to access this resource with an explicit deny"})";
constexpr std::string_view k_rest_implicit_deny =
    R"({"Message":"User is not authorized to access this resource"})";
constexpr std::string_view k_rest_authorizer_error = R"({"message": null})";
constexpr std::string_view k_request_too_long = R"({"message": "Request Too Long"})";
constexpr std::string_view k_http_not_found = R"({"message":"Not Found"})";
constexpr std::string_view k_http_internal = R"({"message":"Internal Server Error"})";
constexpr std::string_view k_http_unavailable = R"({"message":"Service Unavailable"})";
constexpr std::string_view k_http_forbidden = R"({"message":"Forbidden"})";
constexpr std::string_view k_payload_exceeded = "HTTP content length exceeded 10485760 bytes.";

bool api_method(std::string_view method) {
  return method == "GET" || method == "POST" || method == "PUT" || method == "DELETE" ||
         method == "PATCH" || method == "HEAD" || method == "OPTIONS";
}

std::string_view content_type_for(const fs::path& path) {
  static const std::map<std::string, std::string_view, std::less<>> types = {
      {".html", "text/html"},        {".htm", "text/html"},        {".css", "text/css"},
      {".js", "text/javascript"},    {".mjs", "text/javascript"},  {".json", "application/json"},
      {".txt", "text/plain"},        {".xml", "application/xml"},  {".svg", "image/svg+xml"},
      {".png", "image/png"},         {".jpg", "image/jpeg"},       {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},         {".webp", "image/webp"},      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"}, {".pdf", "application/pdf"},  {".woff", "font/woff"},
      {".woff2", "font/woff2"},      {".map", "application/json"},
  };
  std::string ext;
  append_lower(ext, path.extension().string());
  const auto it = types.find(ext);
  return it == types.end() ? std::string_view("application/octet-stream") : it->second;
}

// The route's AuthorizationScopes: its event's Auth, else the authorizer's (HTTP APIs).
std::vector<std::string> route_scopes(const sam::Model& model, const sam::Api& api,
                                      const sam::Route& route, const std::string& authorizer) {
  const auto strings = [](const boost::json::value* value) {
    std::vector<std::string> out;
    if (value != nullptr && value->is_array())
      for (const auto& item : value->as_array())
        if (item.is_string())
          out.emplace_back(item.as_string());
    return out;
  };
  if (const auto* fn = model.find_function(route.function_logical_id))
    for (const auto& event : fn->events)
      if (event.name == route.event_name)
        if (const auto* auth = event.properties.if_contains("Auth"); auth && auth->is_object())
          if (const auto* scopes = auth->as_object().if_contains("AuthorizationScopes"))
            return strings(scopes);
  if (const auto* auth = api.properties.if_contains("Auth"); auth && auth->is_object())
    if (const auto* all = auth->as_object().if_contains("Authorizers"); all && all->is_object())
      if (const auto* mine = all->as_object().if_contains(authorizer); mine && mine->is_object())
        return strings(mine->as_object().if_contains("AuthorizationScopes"));
  return {};
}

} // namespace

// ------------------------------------------------------------------ setup

ApiDoor::ApiDoor(Host& host, const sam::Model& model, const sam::Api& api,
                 const StartApiOptions& options, std::vector<const sam::Route*> routes)
    : Door(host), m_api(api), m_http(api.kind == sam::ApiKind::http),
      m_disable_auth(options.disable_authorizer), m_throttle(api.method_settings) {
  m_info.http_api = m_http;
  m_info.api_id = stable_id(api.logical_id, 10);
  m_info.stage = options.stage.empty() ? api.stage_name : options.stage;
  if (m_info.stage.empty())
    m_info.stage = m_http ? "$default" : "Prod";
  m_info.account_id = options.account_id;
  m_info.region = options.region;
  m_info.stage_variables = api.stage_variables;
  std::vector<RouteSpec> specs;
  for (const auto* route : routes) {
    RouteSlot slot;
    slot.route = *route;
    slot.info.method = route->method;
    slot.info.resource_path = route->path;
    slot.info.route_key =
        route->path == "$default" ? std::string("$default") : route->method + " " + route->path;
    slot.info.resource_id = stable_id(api.logical_id + " " + route->path, 6);
    slot.info.v2 = m_http && route->payload_format_version != "1.0";
    slot.function = &host.function(model, route->function_logical_id);
    // An OpenAPI security requirement that names an API key scheme is not an authorizer.
    if (!m_disable_auth && !is_api_key_scheme(api, route->authorizer))
      slot.auth = bind_authorizer(model, *route);
    if (slot.auth != nullptr && slot.auth->jwt)
      slot.scopes = route_scopes(model, api, *route, slot.auth->authorizer.name);
    slot.api_key = api_key_required(model, api, *route);
    specs.push_back(RouteSpec{route->method, route->path});
    m_routes.push_back(std::move(slot));
  }
  m_preflight_key = preflight_api_key_required(model, api);
  if (m_preflight_key ||
      std::any_of(m_routes.begin(), m_routes.end(), [](const auto& s) { return s.api_key; })) {
    m_api_keys = ApiKeys(model);
    host.info(fmt::format(
        "API {}: methods with ApiKeyRequired need an x-api-key header ({}){}", api.logical_id,
        m_api_keys.any_key()
            ? std::string("any non-empty key: the template gives no key value")
            : fmt::format("one of the template's {} API key value(s)", m_api_keys.count()),
        m_preflight_key ? ", CORS preflights too (AddApiKeyRequiredToCorsPreflight)" : ""));
  }
  const auto kind = m_http ? RouterKind::http : RouterKind::rest;
  for (const auto& problem : Router::conflicts(kind, specs))
    host.warn(fmt::format("API {}: {}", api.logical_id, problem));
  m_router = Router(kind, specs);
  if (!options.static_dir.empty())
    m_static_dir = options.static_dir;
  if (!m_http)
    find_streaming_routes(model);
}

bool ApiDoor::overlaps(const ApiDoor& other) const {
  for (const auto& a : m_routes)
    for (const auto& b : other.m_routes)
      if (Router::overlap(RouteSpec{a.route.method, a.route.path},
                          RouteSpec{b.route.method, b.route.path}))
        return true;
  return false;
}

// ------------------------------------------------------------------ door hooks

std::uint64_t ApiDoor::body_limit() const {
  return k_api_payload_limit;
}

void ApiDoor::payload_too_large(Exchange& ex) {
  answer(ex, 413, k_payload_exceeded, "text; charset=utf-8");
}

void ApiDoor::headers_too_large(Exchange& ex) {
  answer(ex, 431, k_header_too_large);
}

void ApiDoor::common_headers(Exchange& ex, std::string& out) {
  if (ex.request_id.empty())
    ex.request_id = m_http ? make_short_request_id(rng()) : make_rest_request_id(rng());
  if (m_http) {
    out.append("Apigw-Requestid: ");
    out.append(ex.request_id);
    out.append("\r\n");
  } else {
    out.append("x-amzn-RequestId: ");
    out.append(ex.request_id);
    out.append("\r\n");
    if (!ex.extended_id.empty()) {
      out.append("x-amz-apigw-id: ");
      out.append(ex.extended_id);
      out.append("\r\n");
    }
  }
}

AuthBinding* ApiDoor::bind_authorizer(const sam::Model& model, const sam::Route& route) {
  std::string name = route.authorizer;
  if (name.empty())
    name = m_api.default_authorizer;
  if (name.empty() || name == "NONE")
    return nullptr;
  for (auto& bound : m_auths)
    if (bound.authorizer.name == name)
      return &bound;
  using Kind = sam::Authorizer::Kind;
  const auto it = m_api.authorizers.find(name);
  if (it == m_api.authorizers.end() && name != "AWS_IAM") {
    if (m_unverified.insert(name).second)
      m_host.warn(fmt::format("API {}: authorizer '{}' is not defined; requests to its routes "
                              "are not authenticated",
                              m_api.logical_id, name));
    return nullptr;
  }
  if (it == m_api.authorizers.end() || it->second.kind == Kind::iam) {
    AuthBinding binding;
    binding.authorizer.name = name;
    binding.authorizer.kind = Kind::iam;
    binding.iam = true;
    if (m_host.options.access_key_id.empty() && m_unverified.insert(name).second)
      m_host.warn(fmt::format("API {}: AWS_IAM routes refuse every request: no AWS credentials "
                              "are configured to verify signatures against",
                              m_api.logical_id));
    m_auths.push_back(std::move(binding));
    return &m_auths.back();
  }
  const auto& declared = it->second;
  if (declared.kind == Kind::jwt || declared.kind == Kind::cognito) {
    AuthBinding binding;
    binding.authorizer = declared;
    binding.jwt = true;
    const bool symbolic =
        [](const std::string& text) {
          return text.empty() || text.find("${") != std::string::npos ||
                 text.find("Fn::") != std::string::npos || text.front() == '{';
        }(declared.kind == Kind::jwt
              ? declared.jwt_issuer
              : (declared.user_pool_arns.empty() ? std::string() : declared.user_pool_arns[0]));
    if (declared.kind == Kind::jwt) {
      if (!symbolic)
        binding.rules.issuer = declared.jwt_issuer;
      binding.rules.audience = declared.jwt_audience;
      for (const auto& audience : declared.jwt_audience)
        if (audience.find("${") != std::string::npos || audience.starts_with("{"))
          binding.rules.audience.clear(); // not known locally: not checked
    } else {
      binding.rules.cognito = true;
      // arn:aws:cognito-idp:<region>:<account>:userpool/<pool id>
      const auto& arn =
          declared.user_pool_arns.empty() ? std::string() : declared.user_pool_arns[0];
      const auto parts = support::split(arn, ':');
      const auto slash = arn.rfind('/');
      if (!symbolic && parts.size() >= 6 && slash != std::string::npos)
        binding.rules.issuer =
            fmt::format("https://cognito-idp.{}.amazonaws.com/{}", parts[3], arn.substr(slash + 1));
    }
    if (binding.rules.issuer.empty())
      m_host.warn(fmt::format("API {}: the issuer of authorizer '{}' is not known locally; tokens "
                              "are verified with the keys of --jwks FILE|URL (without an issuer) "
                              "and their iss is not checked",
                              m_api.logical_id, name));
    if (binding.authorizer.identity_sources.empty())
      binding.authorizer.identity_sources.push_back(m_http ? "$request.header.Authorization"
                                                           : "method.request.header.Authorization");
    m_auths.push_back(std::move(binding));
    return &m_auths.back();
  }
  const auto& authorizer = declared;

  AuthBinding binding;
  binding.authorizer = authorizer;
  if (!authorizer.function_logical_id.empty())
    binding.function = &m_host.function(model, authorizer.function_logical_id);
  else
    m_host.warn(fmt::format("API {}: authorizer '{}' calls {}, which is not a function of this "
                            "template; its routes answer 500",
                            m_api.logical_id, name, authorizer.function_arn));
  if (!authorizer.identity_validation_expression.empty()) {
    try {
      binding.validation.emplace(authorizer.identity_validation_expression, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      m_host.warn(fmt::format("API {}: authorizer '{}': ValidationExpression '{}' is not a "
                              "valid regular expression; it is ignored",
                              m_api.logical_id, name, authorizer.identity_validation_expression));
    }
  }
  m_auths.push_back(std::move(binding));
  return &m_auths.back();
}

// ------------------------------------------------------------------ gateway-level answers

void ApiDoor::not_found(Exchange& ex) {
  if (m_http)
    answer(ex, 404, k_http_not_found);
  else
    answer(ex, 403, k_rest_missing_token, "application/json",
           "MissingAuthenticationTokenException");
}

void ApiDoor::internal_error(Exchange& ex) {
  if (m_http)
    answer(ex, 500, k_http_internal);
  else
    answer(ex, 502, k_rest_internal, "application/json", "InternalServerErrorException");
}

void ApiDoor::throttled_function(Exchange& ex) {
  if (m_http)
    answer(ex, 500, k_http_internal);
  else
    answer(ex, 500, k_rest_internal, "application/json", "InternalServerErrorException");
}

void ApiDoor::authorizer_failure(Exchange& ex) {
  if (m_http)
    answer(ex, 500, k_http_internal);
  else
    answer(ex, 500, k_rest_authorizer_error, "application/json",
           "AuthorizerConfigurationException");
}

void ApiDoor::unauthorized(Exchange& ex) {
  answer(ex, 401, k_unauthorized, "application/json", m_http ? "" : "UnauthorizedException");
}

void ApiDoor::denied(Exchange& ex, PolicyDecision decision) {
  if (m_http)
    answer(ex, 403, k_http_forbidden);
  else
    answer(ex, 403,
           decision == PolicyDecision::explicit_deny ? k_rest_explicit_deny : k_rest_implicit_deny,
           "application/json", "AccessDeniedException");
}

void ApiDoor::prepare_ids(Exchange& ex) const {
  if (ex.request_id.empty())
    ex.request_id = m_http ? make_short_request_id(rng()) : make_rest_request_id(rng());
  if (ex.extended_id.empty() && !m_http)
    ex.extended_id = make_short_request_id(rng());
}

// ------------------------------------------------------------------ requests

bool ApiDoor::serve_static(Exchange& ex) {
  if (m_static_dir.empty() || (ex.request.method != "GET" && ex.request.method != "HEAD"))
    return false;
  const auto decoded = percent_decoded(ex.request.raw_path, false);
  if (decoded.find('\0') != std::string::npos || decoded.find('\\') != std::string::npos)
    return false;
  // No `..` segment at all: traversal is refused before the filesystem is asked.
  std::string_view rest = decoded;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    if (segment == "..")
      return false;
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  }
  auto relative = fs::path(decoded).relative_path();
  if (relative.empty())
    relative = "index.html";
  auto path = m_static_dir / relative;
  std::error_code error;
  if (fs::is_directory(path, error))
    path /= "index.html";
  if (!fs::is_regular_file(path, error) || !support::is_within(path, m_static_dir))
    return false;
  auto content = support::read_file(path, k_api_payload_limit);
  if (!content)
    return false;
  if (!ex.claim())
    return true;
  ex.mapped.clear();
  ex.mapped.status = 200;
  ex.mapped.headers.emplace_back("Content-Type", std::string(content_type_for(path)));
  ex.mapped.body = std::move(*content);
  finish(ex);
  return true;
}

void ApiDoor::handle(Exchange& ex) {
  auto& request = ex.request;
  if (!api_method(request.method)) {
    if (ex.claim())
      not_found(ex);
    return;
  }
  // API Gateway's limit on the request line and header values.
  std::size_t header_bytes =
      request.method.size() + request.raw_path.size() + request.raw_query.size() + 10;
  for (const auto& header : request.headers)
    header_bytes += header.value.size();
  if (header_bytes > k_header_values_limit) {
    ex.close_after = true;
    if (ex.claim())
      headers_too_large(ex);
    return;
  }
  if (serve_static(ex))
    return;
  const bool matched = m_router.match(request.method, request.raw_path, ex.match);
  if (!m_shared.empty() && (!matched || m_routes[ex.match.index].route.path == "$default")) {
    // APIs sharing this port: the one that routes the request (or, for an OPTIONS request,
    // whose path it is) answers it; a request none of them routes is this API's.
    RouteMatch probe;
    for (auto* other : m_shared) {
      const bool routes = other->m_router.match(request.method, request.raw_path, probe) &&
                          other->m_routes[probe.index].route.path != "$default";
      const bool preflight = request.method == "OPTIONS" && other->m_api.cors &&
                             !other->m_router.path_methods(request.raw_path).empty();
      if (routes || preflight) {
        ex.door = other;
        other->handle_own(ex);
        return;
      }
    }
  }
  handle_routed(ex, matched);
}

void ApiDoor::handle_own(Exchange& ex) {
  handle_routed(ex, m_router.match(ex.request.method, ex.request.raw_path, ex.match));
}

void ApiDoor::handle_routed(Exchange& ex, bool matched) {
  auto& request = ex.request;
  const RouteSlot* slot = matched ? &m_routes[ex.match.index] : nullptr;
  // CORS preflights the gateway answers itself.
  if (m_api.cors && request.method == "OPTIONS" &&
      (slot == nullptr || slot->route.method != "OPTIONS")) {
    if (!m_http) {
      const auto methods = m_router.path_methods(request.raw_path);
      if (!methods.empty()) {
        // SAM's OPTIONS methods carry the API's ApiKeyRequired unless
        // AddApiKeyRequiredToCorsPreflight is false.
        if (m_preflight_key && !m_api_keys.id_of(request.header("x-api-key"))) {
          if (ex.claim())
            answer(ex, 403, k_http_forbidden, "application/json", "ForbiddenException");
          return;
        }
        if (ex.claim()) {
          rest_preflight(*m_api.cors, methods, ex.mapped);
          finish(ex);
        }
        return;
      }
    } else if (is_preflight(request) && (slot == nullptr || slot->route.path != "$default")) {
      if (ex.claim()) {
        http_preflight(*m_api.cors, request, ex.mapped);
        finish(ex);
      }
      return;
    }
  }
  if (slot == nullptr) {
    if (ex.claim())
      not_found(ex);
    return;
  }
  ex.route = ex.match.index;
  if (!m_throttle.empty() && !m_throttle.admit(slot->route.path, request.method)) {
    if (ex.claim())
      answer(ex, 429, k_too_many, "application/json", m_http ? "" : "TooManyRequestsException");
    return;
  }
  prepare_ids(ex);
  ex.time_ms = now_ms();
  // X-Forwarded-* as API Gateway's front end adds them.
  ex.forwarded_for.clear();
  for (const auto& header : ex.parser->get()) {
    const std::string_view name(header.name_string().data(), header.name_string().size());
    if (iequals_ascii(name, "x-forwarded-for")) {
      ex.forwarded_for.assign(header.value().data(), header.value().size());
      ex.forwarded_for.append(", ");
    }
  }
  ex.forwarded_for.append(request.source_ip);
  ex.forwarded_port = ex.session ? ex.session->local_port() : std::string();
  request.headers.push_back({"X-Forwarded-For", ex.forwarded_for});
  request.headers.push_back({"X-Forwarded-Port", ex.forwarded_port});
  request.headers.push_back({"X-Forwarded-Proto", "http"});
  if (!request.has_header("x-amzn-trace-id")) {
    ex.trace_id = runtime::make_trace_id(rng(), WallClock::now());
    request.headers.push_back({"X-Amzn-Trace-Id", ex.trace_id});
  } else {
    ex.trace_id = std::string(request.header("x-amzn-trace-id"));
  }
  if (slot->auth != nullptr) {
    authorize(ex);
    return;
  }
  integrate(ex);
}

std::optional<std::string> ApiDoor::identity_value(const Exchange& ex,
                                                   std::string_view source) const {
  const auto& request = ex.request;
  const auto query_value = [&](std::string_view name) -> std::optional<std::string> {
    std::string_view query = request.raw_query;
    std::optional<std::string> found;
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto part = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      const auto eq = part.find('=');
      if (percent_decoded(part.substr(0, eq), true) == name)
        found = eq == std::string_view::npos ? std::string()
                                             : percent_decoded(part.substr(eq + 1), true);
    }
    return found;
  };
  const auto strip = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (source.starts_with(prefix))
      return source.substr(prefix.size());
    return std::nullopt;
  };
  std::optional<std::string> value;
  if (auto name = strip(m_http ? "$request.header." : "method.request.header.")) {
    if (request.has_header(*name))
      value = std::string(request.header(*name));
  } else if (auto qname = strip(m_http ? "$request.querystring." : "method.request.querystring.")) {
    value = query_value(*qname);
  } else if (auto variable = strip(m_http ? "$stageVariables." : "stageVariables.")) {
    if (const auto it = m_info.stage_variables.find(std::string(*variable));
        it != m_info.stage_variables.end())
      value = it->second;
  } else if (auto context = strip(m_http ? "$context." : "context.")) {
    const auto& slot = m_routes[ex.route];
    if (*context == "routeKey")
      value = slot.info.route_key;
    else if (*context == "httpMethod")
      value = std::string(request.method);
    else if (*context == "stage")
      value = m_info.stage;
    else if (*context == "requestId")
      value = ex.request_id;
    else if (*context == "identity.sourceIp")
      value = std::string(request.source_ip);
    else if (*context == "resourcePath" || *context == "path")
      value = slot.route.path;
  }
  if (value && value->empty())
    return std::nullopt;
  return value;
}

void ApiDoor::fill_event_info(Exchange& ex, RequestEventInfo& info) const {
  info.request_id = ex.request_id;
  info.extended_request_id = ex.extended_id;
  info.time_ms = ex.time_ms;
  info.request_time = request_time(ex.time_ms);
  info.match = &ex.match;
  info.authorizer_json = ex.authorizer_json;
}

void ApiDoor::authorize(Exchange& ex) {
  const auto& slot = m_routes[ex.route];
  auto& binding = *slot.auth;
  if (binding.iam) {
    authorize_iam(ex);
    return;
  }
  if (binding.jwt) {
    authorize_jwt(ex);
    return;
  }
  const auto& authorizer = binding.authorizer;
  const bool token = authorizer.kind == sam::Authorizer::Kind::lambda_token;
  // Identity sources: missing ones answer 401 without calling the authorizer (REST REQUEST
  // authorizers only check them when caching is on).
  std::vector<std::string> identity;
  bool missing = false;
  for (const auto& source : authorizer.identity_sources) {
    auto value = identity_value(ex, source);
    if (!value)
      missing = true;
    identity.push_back(value.value_or(""));
  }
  const bool check_sources = m_http || token || authorizer.ttl_seconds > 0;
  if (check_sources && missing) {
    if (ex.claim())
      unauthorized(ex);
    return;
  }
  if (token && binding.validation && !identity.empty() &&
      !std::regex_match(identity.front(), *binding.validation)) {
    if (ex.claim())
      unauthorized(ex);
    return;
  }
  if (binding.function == nullptr || !binding.function->ok) {
    if (ex.claim())
      authorizer_failure(ex);
    return;
  }
  const auto arn = method_arn(m_info, ex.request.method,
                              m_http ? percent_decoded(ex.request.raw_path, false)
                                     : std::string(ex.request.raw_path));
  // The cache: identity values (per authorizer) within the TTL.
  ex.auth_key.clear();
  if (authorizer.ttl_seconds > 0 && !identity.empty()) {
    ex.auth_key = authorizer.name;
    for (const auto& value : identity) {
      ex.auth_key.push_back('\x1f');
      ex.auth_key.append(value);
    }
    if (auto cached = m_cache.find(ex.auth_key)) {
      const auto decision = evaluate(*cached, arn);
      if (decision != PolicyDecision::allow) {
        if (ex.claim())
          denied(ex, decision);
        return;
      }
      apply_authorizer(ex, *cached, 0);
      integrate(ex);
      return;
    }
  }
  // The authorizer's event.
  RequestEventInfo info;
  fill_event_info(ex, info);
  info.authorizer_json = {};
  // A REQUEST authorizer of a method that requires a key sees the key the client sent
  // (requestContext.identity.apiKey): it runs before the key is checked.
  std::optional<std::string> key_id;
  if (slot.api_key && !token) {
    info.api_key = ex.request.header("x-api-key");
    key_id = m_api_keys.id_of(info.api_key);
    if (key_id)
      info.api_key_id = *key_id;
  }
  ex.event.clear();
  if (token) {
    write_token_authorizer_event(ex.event, identity.empty() ? std::string() : identity.front(),
                                 arn);
  } else if (m_http && authorizer.payload_format_version != "1.0") {
    write_v2_authorizer_event(ex.event, ex.request, m_info, slot.info, info, arn, identity);
  } else {
    write_request_authorizer_event(ex.event, ex.request, m_info, slot.info, info, arn,
                                   m_http ? &identity : nullptr);
  }
  ex.phase = Exchange::Phase::authorizer;
  ex.auth_started = Clock::now();
  ex.self = ex.shared_from_this();
  ex.timer.expires_after(k_authorizer_timeout);
  ex.timer.async_wait([ex_ptr = ex.shared_from_this(), this](beast::error_code ec) {
    if (!ec && ex_ptr->phase == Exchange::Phase::authorizer && ex_ptr->claim()) {
      ex_ptr->detached = true;
      authorizer_failure(*ex_ptr);
    }
  });
  runtime::InvokeRequest invoke;
  invoke.payload = ex.event;
  invoke.trace_id = ex.trace_id;
  m_host.invoke(*binding.function, invoke, ex);
}

// ---- JWT (HTTP API) and Cognito user pool (REST) authorizers

void ApiDoor::authorize_jwt(Exchange& ex) {
  const auto& slot = m_routes[ex.route];
  const auto& binding = *slot.auth;
  const auto source = binding.authorizer.identity_sources.front();
  const auto value = identity_value(ex, source);
  const std::string_view token = value ? bearer_token(*value) : std::string_view();
  if (token.empty()) {
    if (ex.claim())
      unauthorized(ex);
    return;
  }
  ex.auth_key = binding.authorizer.name;
  ex.auth_key.push_back('\x1f');
  ex.auth_key.append(std::to_string(ex.route));
  ex.auth_key.push_back('\x1f');
  ex.auth_key.append(token);
  if (auto cached = m_host.jwks->cached(ex.auth_key)) {
    finish_jwt(ex, *cached);
    return;
  }
  if (auto keys = m_host.jwks->keys(binding.rules.issuer)) {
    on_jwt_keys(ex, std::move(keys), false);
    return;
  }
  // Fetch the issuer's keys off the I/O threads; the request waits (bounded by the fetch).
  ex.self = ex.shared_from_this();
  m_host.jwks->fetch(binding.rules.issuer, false,
                     [this, ex_ptr = ex.shared_from_this()](std::shared_ptr<const KeySet> keys) {
                       asio::post(ex_ptr->timer.get_executor(), [this, ex_ptr, keys] {
                         auto keep = std::move(ex_ptr->self);
                         on_jwt_keys(*ex_ptr, keys, true);
                       });
                     });
}

void ApiDoor::on_jwt_keys(Exchange& ex, std::shared_ptr<const KeySet> keys, bool refetched) {
  if (ex.is_answered())
    return;
  const auto& slot = m_routes[ex.route];
  const auto& binding = *slot.auth;
  if (!keys) {
    m_host.log.line(fmt::format("{} authorizer {}: no keys for issuer {}", clock_text(),
                                binding.authorizer.name, binding.rules.issuer));
    if (ex.claim())
      unauthorized(ex);
    return;
  }
  JwtRules rules = binding.rules;
  rules.scopes = slot.scopes;
  const auto token = std::string_view(ex.auth_key).substr(ex.auth_key.rfind('\x1f') + 1);
  auto outcome = verify_jwt(token, *keys, rules, std::chrono::system_clock::now());
  if (outcome.kind == JwtOutcome::Kind::invalid && !refetched &&
      outcome.reason.starts_with("no key with kid")) {
    // A key rotated in since the keys were fetched: refetch (at most once a minute).
    ex.self = ex.shared_from_this();
    m_host.jwks->fetch(binding.rules.issuer, true,
                       [this, ex_ptr = ex.shared_from_this()](std::shared_ptr<const KeySet> k) {
                         asio::post(ex_ptr->timer.get_executor(), [this, ex_ptr, k] {
                           auto keep = std::move(ex_ptr->self);
                           on_jwt_keys(*ex_ptr, k, true);
                         });
                       });
    return;
  }
  if (outcome.kind != JwtOutcome::Kind::invalid)
    m_host.jwks->remember(ex.auth_key, outcome);
  finish_jwt(ex, outcome);
}

void ApiDoor::finish_jwt(Exchange& ex, const JwtOutcome& outcome) {
  const auto& slot = m_routes[ex.route];
  if (outcome.kind != JwtOutcome::Kind::ok) {
    m_host.log.line(fmt::format("{} authorizer {}: {}", clock_text(), slot.auth->authorizer.name,
                                outcome.reason));
    if (!ex.claim())
      return;
    if (outcome.kind == JwtOutcome::Kind::forbidden) {
      ex.mapped.clear();
      ex.mapped.status = 403;
      ex.mapped.headers.emplace_back("Content-Type", "application/json");
      std::string scopes;
      for (const auto& scope : slot.scopes)
        scopes += (scopes.empty() ? "" : " ") + scope;
      ex.mapped.headers.emplace_back(
          "www-authenticate",
          fmt::format(
              R"(Bearer scope="{}" error="insufficient_scope" error_description="expected scopes: [{}]")",
              scopes, scopes));
      ex.mapped.body.assign(k_http_forbidden);
      finish(ex);
      return;
    }
    ex.mapped.clear();
    ex.mapped.status = 401;
    ex.mapped.headers.emplace_back("Content-Type", "application/json");
    if (m_http)
      ex.mapped.headers.emplace_back(
          "www-authenticate",
          fmt::format(R"(Bearer scope="" error="invalid_token" error_description="{}")",
                      outcome.reason));
    else
      ex.mapped.headers.emplace_back("x-amzn-ErrorType", "UnauthorizedException");
    ex.error_type = m_http ? std::string_view() : std::string_view("UnauthorizedException");
    ex.mapped.body.assign(k_unauthorized);
    finish(ex);
    return;
  }
  // The claims as API Gateway hands them over: HTTP API 2.0 {"jwt":{"claims":..,"scopes":..}},
  // HTTP API 1.0 the same under "jwt"; REST {"claims":{..}} (Cognito).
  std::string json;
  const auto write_claims = [&] {
    json.append("{");
    bool first = true;
    for (const auto& [name, value] : outcome.claims) {
      if (!first)
        json.push_back(',');
      first = false;
      append_json_string(json, name);
      json.push_back(':');
      if (!m_http && (name == "exp" || name == "iat" || name == "auth_time")) {
        // REST renders time claims as Java's Date.toString: "Wed Dec 09 21:46:49 UTC 2020".
        const std::time_t seconds = std::atoll(value.c_str());
        std::tm tm{};
        gmtime_r(&seconds, &tm);
        char buffer[64];
        std::strftime(buffer, sizeof buffer, "%a %b %d %H:%M:%S UTC %Y", &tm);
        append_json_string(json, buffer);
      } else {
        append_json_string(json, value);
      }
    }
    json.append("}");
  };
  if (m_http) {
    json.append("{\"jwt\":{\"claims\":");
    write_claims();
    json.append(",\"scopes\":");
    if (outcome.has_scopes) {
      json.push_back('[');
      for (std::size_t i = 0; i < outcome.scopes.size(); ++i) {
        if (i > 0)
          json.push_back(',');
        append_json_string(json, outcome.scopes[i]);
      }
      json.push_back(']');
    } else {
      json.append("null");
    }
    json.append("}}");
  } else {
    json.append("{\"claims\":");
    write_claims();
    json.append("}");
  }
  ex.authorizer_json = std::move(json);
  integrate(ex);
}

// ---- AWS_IAM routes: SigV4 for execute-api

void ApiDoor::authorize_iam(Exchange& ex) {
  const auto incoming = incoming_request(ex);
  aws::Credentials credentials;
  credentials.access_key_id = m_host.options.access_key_id;
  credentials.secret_access_key = m_host.options.secret_access_key;
  const auto result =
      aws::verify_sigv4(incoming, credentials, "execute-api", std::chrono::system_clock::now());
  if (result.check == aws::SignatureCheck::ok) {
    const auto& account = m_host.options.account_id;
    if (m_http)
      ex.authorizer_json = fmt::format(
          R"({{"iam":{{"accessKey":"{}","accountId":"{}","callerId":"{}","cognitoIdentity":null,"principalOrgId":null,"userArn":"arn:aws:iam::{}:root","userId":"{}"}}}})",
          result.access_key, account, result.access_key, account, account);
    integrate(ex);
    return;
  }
  if (!ex.claim())
    return;
  if (m_http) {
    answer(ex, 403, k_http_forbidden);
    return;
  }
  if (result.check == aws::SignatureCheck::missing) {
    answer(ex, 403, k_rest_missing_token, "application/json",
           "MissingAuthenticationTokenException");
    return;
  }
  std::string body = R"({"message":)";
  append_json_string(body, result.message);
  body.push_back('}');
  answer(ex, 403, body, "application/json", aws::signature_error_type(result.check));
}

void ApiDoor::apply_authorizer(Exchange& ex, const AuthorizerResult& result,
                               std::int64_t latency_ms) {
  const auto& slot = m_routes[ex.route];
  if (m_http && slot.info.v2)
    ex.authorizer_json = http_authorizer_json(result);
  else if (m_http)
    ex.authorizer_json = http_authorizer_json(result);
  else
    ex.authorizer_json = rest_authorizer_json(result, latency_ms);
}

void ApiDoor::on_authorizer(Exchange& ex, const runtime::InvokeResult& result) {
  const auto& slot = m_routes[ex.route];
  const auto& binding = *slot.auth;
  const auto& authorizer = binding.authorizer;
  if (ex.is_answered()) {
    auto keep = std::move(ex.self);
    return;
  }
  const auto latency =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - ex.auth_started).count();
  std::optional<AuthorizerResult> parsed;
  if (result.outcome == runtime::Outcome::success) {
    parsed = parse_authorizer_output(result.streamed ? std::string_view(ex.streamed) : result.body,
                                     m_http && authorizer.enable_simple_responses &&
                                         authorizer.payload_format_version != "1.0",
                                     !m_http);
  } else if (!m_http && result.outcome == runtime::Outcome::function_error) {
    // `throw new Error("Unauthorized")` / `raise Exception("Unauthorized")`: 401.
    boost::system::error_code ec;
    const auto body = boost::json::parse(result.body, ec);
    if (!ec && body.is_object()) {
      const auto* message = body.as_object().if_contains("errorMessage");
      if (message != nullptr && message->is_string() && message->as_string() == "Unauthorized") {
        auto keep = std::move(ex.self);
        if (ex.claim())
          unauthorized(ex);
        return;
      }
    }
  }
  if (!parsed) {
    m_host.log.line(fmt::format("{} authorizer {} failed: {} {}", clock_text(), authorizer.name,
                                runtime::to_string(result.outcome),
                                result.outcome == runtime::Outcome::success ? "(invalid answer)"
                                                                            : result.error_type));
    auto keep = std::move(ex.self);
    if (ex.claim())
      authorizer_failure(ex);
    return;
  }
  if (!ex.auth_key.empty())
    m_cache.store(ex.auth_key, *parsed, std::chrono::seconds(authorizer.ttl_seconds));
  const auto arn = method_arn(m_info, ex.request.method,
                              m_http ? percent_decoded(ex.request.raw_path, false)
                                     : std::string(ex.request.raw_path));
  const auto decision = evaluate(*parsed, arn);
  if (decision != PolicyDecision::allow) {
    auto keep = std::move(ex.self);
    if (ex.claim())
      denied(ex, decision);
    return;
  }
  apply_authorizer(ex, *parsed, latency);
  // The timer belongs to the session's strand: the integration re-arms it there.
  auto keep = std::move(ex.self);
  asio::dispatch(ex.timer.get_executor(), [this, ex_ptr = ex.shared_from_this()] {
    ex_ptr->timer.cancel();
    if (ex_ptr->is_answered())
      return;
    integrate(*ex_ptr);
  });
}

void ApiDoor::integrate(Exchange& ex) {
  const auto& slot = m_routes[ex.route];
  auto& request = ex.request;
  // ApiKeyRequired: checked after the authorizer, as API Gateway does.
  std::optional<std::string> api_key_id;
  if (slot.api_key) {
    api_key_id = m_api_keys.id_of(request.header("x-api-key"));
    if (!api_key_id) {
      if (ex.claim())
        answer(ex, 403, k_http_forbidden, "application/json", "ForbiddenException");
      return;
    }
  }
  if (slot.function == nullptr || !slot.function->ok) {
    if (ex.claim())
      internal_error(ex);
    return;
  }
  // TenancyConfig: SAM CLI answers 400 {"message": ..} when X-Amz-Tenant-Id does not fit.
  const auto tenant_id = request.header("x-amz-tenant-id");
  if (auto problem = runtime::tenant_id_problem(slot.function->multi_tenant, tenant_id);
      !problem.empty()) {
    if (ex.claim()) {
      std::string body = "{\"message\":\"";
      runtime::append_json_escaped(body, problem);
      body += "\"}";
      answer(ex, 400, body);
    }
    return;
  }
  // isBase64Encoded: binaryMediaTypes (REST) or the text-type rule (HTTP APIs).
  const auto content_type = request.header("content-type");
  const bool base64 = m_http
                          ? !is_http_api_text_type(content_type)
                          : matches_media_types(media_type(content_type), m_api.binary_media_types);
  RequestEventInfo info;
  fill_event_info(ex, info);
  info.base64_body = base64;
  if (api_key_id) {
    info.api_key = request.header("x-api-key");
    info.api_key_id = *api_key_id;
  }
  ex.event.clear();
  ex.event.reserve(1024 + request.body.size() * 4 / 3);
  if (slot.info.v2)
    write_v2_event(ex.event, request, m_info, slot.info, info);
  else
    write_v1_event(ex.event, request, m_info, slot.info, info);
  ex.function_id = slot.function->id;
  ex.version = slot.function->version;
  ex.invoked = true;
  ex.phase = Exchange::Phase::integration;
  ex.streamed.clear();
  // The integration timeout (29 s REST, 30 s HTTP API) when the function may run longer.
  const auto integration_limit = std::chrono::seconds(m_http ? 30 : 29);
  if (std::chrono::seconds(slot.function->timeout) >= integration_limit) {
    ex.timer.expires_after(integration_limit);
    ex.timer.async_wait([this, ex_ptr = ex.shared_from_this()](beast::error_code ec) {
      if (!ec && ex_ptr->claim()) {
        ex_ptr->detached = true;
        on_timeout(*ex_ptr);
      }
    });
  }
  ex.self = ex.shared_from_this();
  if (m_host.durable && m_host.durable->is_durable(slot.function->id)) {
    integrate_durable(ex, *slot.function);
    return;
  }
  runtime::InvokeRequest invoke;
  invoke.payload = ex.event;
  invoke.trace_id = ex.trace_id;
  invoke.tenant_id = tenant_id;
  m_host.invoke(*slot.function, invoke, ex);
}

// A durable function behind a route: the request starts an execution (as API Gateway's
// synchronous Invoke does) and its end is the integration's response.
void ApiDoor::integrate_durable(Exchange& ex, const FunctionSlot& function) {
  durable::StartRequest start;
  start.function_id = function.id;
  start.payload = ex.event;
  auto started =
      m_host.durable->start(start, [this, &ex](const durable::ExecutionOutcome& outcome) {
        const bool ok = outcome.status == durable::ExecutionStatus::succeeded;
        const std::string body = ok ? outcome.result.value_or("null") : outcome.error_payload();
        runtime::InvokeResult result;
        result.outcome = ok ? runtime::Outcome::success : runtime::Outcome::function_error;
        result.body = body;
        result.content_type = "application/json";
        on_complete(ex, result);
      });
  if (!started) {
    auto keep = std::move(ex.self);
    if (ex.claim())
      internal_error(ex);
  }
}

void ApiDoor::on_timeout(Exchange& ex) {
  if (m_http)
    answer(ex, 503, k_http_unavailable);
  else
    answer(ex, 504, k_rest_timeout, "application/json", "");
}

void ApiDoor::on_complete(Exchange& ex, const runtime::InvokeResult& result) {
  if (ex.phase == Exchange::Phase::authorizer) {
    on_authorizer(ex, result);
    return;
  }
  if (ex.phase == Exchange::Phase::integration && ex.route < m_routes.size() &&
      m_routes[ex.route].stream) {
    complete_rest_stream(ex, result);
    return;
  }
  auto keep = std::move(ex.self);
  if (!ex.claim())
    return;
  ex.cold = result.cold;
  if (!result.executed_version.empty())
    ex.version.assign(result.executed_version);
  const auto& slot = m_routes[ex.route];
  using runtime::Outcome;
  switch (result.outcome) {
  case Outcome::success: {
    const std::string_view output = result.streamed ? std::string_view(ex.streamed) : result.body;
    bool ok = false;
    if (slot.info.v2) {
      ok = map_v2_response(output, ex.mapped);
    } else {
      const bool binary_accept =
          !m_http && matches_media_types(first_accept_type(ex.request.header("accept")),
                                         m_api.binary_media_types);
      ok = map_v1_response(output, !m_http, binary_accept, ex.mapped);
    }
    if (!ok) {
      m_host.log.line(fmt::format("{} {}: malformed Lambda proxy response from {}", clock_text(),
                                  m_api.logical_id, slot.function->id));
      internal_error(ex);
      return;
    }
    if (m_http && m_api.cors)
      http_apply_cors(*m_api.cors, ex.request.header("origin"), ex.mapped);
    finish(ex);
    return;
  }
  case Outcome::throttled:
  case Outcome::engine_error:
    throttled_function(ex);
    return;
  case Outcome::request_too_large:
    answer(ex, 413, k_request_too_long, "application/json", m_http ? "" : "BadRequestException");
    return;
  default:
    internal_error(ex);
    return;
  }
}

} // namespace wisp::gateway
