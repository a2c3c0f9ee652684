// Lambda function URLs (url_door.hpp).

#include <wisp/aws/sigv4_verify.hpp>
#include <wisp/gateway/cors.hpp>
#include <wisp/gateway/incoming.hpp>
#include <wisp/gateway/text.hpp>
#include <wisp/gateway/url_door.hpp>
#include <wisp/runtime/lambda_text.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace wisp::gateway {

namespace json = boost::json;

namespace {

constexpr std::uint64_t k_url_payload_limit = 6291456;         // 6 MB
constexpr std::uint64_t k_stream_limit = 200ull * 1024 * 1024; // 200 MB per response
constexpr std::string_view k_prelude_type = "application/vnd.awslambda.http-integration-response";
constexpr std::string_view k_prelude_end("\0\0\0\0\0\0\0\0", 8);
constexpr std::size_t k_prelude_limit = 1024u * 1024;
constexpr std::string_view k_internal = "Internal Server Error";
constexpr std::string_view k_forbidden =
    R"({"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"})";

std::string string_of(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::optional<sam::Cors> cors_of(const json::value* value) {
  if (value == nullptr || !value->is_object())
    return std::nullopt;
  const auto& object = value->as_object();
  const auto strings = [&](std::string_view key) {
    std::vector<std::string> out;
    if (const auto* list = object.if_contains(key); list != nullptr && list->is_array())
      for (const auto& item : list->as_array())
        if (item.is_string())
          out.emplace_back(item.as_string());
    return out;
  };
  sam::Cors cors;
  cors.allow_origins = strings("AllowOrigins");
  cors.allow_methods = strings("AllowMethods");
  cors.allow_headers = strings("AllowHeaders");
  cors.expose_headers = strings("ExposeHeaders");
  if (const auto* credentials = object.if_contains("AllowCredentials"))
    cors.allow_credentials = (credentials->is_bool() && credentials->as_bool()) ||
                             (credentials->is_string() && credentials->as_string() == "true");
  if (const auto* age = object.if_contains("MaxAge")) {
    if (age->is_int64())
      cors.max_age = static_cast<int>(age->as_int64());
    else if (age->is_string())
      cors.max_age = std::atoi(std::string(age->as_string()).c_str());
  }
  return cors;
}

// The function a TargetFunctionArn names: {Ref: F}, {Fn::GetAtt: [F, Arn]}, a name or ARN.
std::string target_function(const sam::Model& model, const json::value* value) {
  if (value == nullptr)
    return {};
  if (value->is_object()) {
    const auto& object = value->as_object();
    if (const auto* ref = object.if_contains("Ref"); ref != nullptr && ref->is_string())
      return std::string(ref->as_string());
    if (const auto* att = object.if_contains("Fn::GetAtt"); att != nullptr) {
      if (att->is_array() && !att->as_array().empty() && att->as_array()[0].is_string())
        return std::string(att->as_array()[0].as_string());
      if (att->is_string()) {
        const std::string text(att->as_string());
        return text.substr(0, text.find('.'));
      }
    }
    return {};
  }
  if (!value->is_string())
    return {};
  std::string text(value->as_string());
  if (const auto colon = text.find(":function:"); colon != std::string::npos) {
    text = text.substr(colon + 10);
    text = text.substr(0, text.find(':'));
  }
  if (const auto* fn = model.find_function(text))
    return fn->logical_id;
  return {};
}

bool read_config(const json::object& config, FunctionUrl& url, std::string_view where,
                 std::vector<std::string>& warnings) {
  const auto auth = string_of(config, "AuthType");
  if (auth == "AWS_IAM") {
    url.iam = true;
  } else if (auth != "NONE") {
    warnings.push_back(fmt::format("{}: AuthType must be NONE or AWS_IAM (is '{}'); the URL is "
                                   "not served",
                                   where, auth));
    return false;
  }
  const auto mode = string_of(config, "InvokeMode");
  if (mode == "RESPONSE_STREAM") {
    url.streaming = true;
  } else if (!mode.empty() && mode != "BUFFERED") {
    warnings.push_back(fmt::format("{}: InvokeMode must be BUFFERED or RESPONSE_STREAM (is '{}'); "
                                   "the URL is not served",
                                   where, mode));
    return false;
  }
  url.cors = cors_of(config.if_contains("Cors"));
  return true;
}

} // namespace

std::vector<FunctionUrl> function_urls(const sam::Model& model,
                                       std::vector<std::string>& warnings) {
  std::vector<FunctionUrl> urls;
  for (const auto& fn : model.functions) {
    if (!fn.function_url_config)
      continue;
    FunctionUrl url;
    url.function_id = fn.logical_id;
    url.resource_id = fn.logical_id + "Url";
    if (read_config(*fn.function_url_config, url, fn.logical_id + ".FunctionUrlConfig", warnings))
      urls.push_back(std::move(url));
  }
  for (const auto& resource : model.resources) {
    if (resource.type != "AWS::Lambda::Url")
      continue;
    FunctionUrl url;
    url.resource_id = resource.logical_id;
    url.function_id = target_function(model, resource.properties.if_contains("TargetFunctionArn"));
    if (url.function_id.empty() || model.find_function(url.function_id) == nullptr) {
      warnings.push_back(fmt::format("{}: TargetFunctionArn is not a function of this template; "
                                     "the URL is not served",
                                     resource.logical_id));
      continue;
    }
    if (const auto* qualifier = resource.properties.if_contains("Qualifier");
        qualifier != nullptr && qualifier->is_string() && !qualifier->as_string().empty()) {
      // An alias URL serves the same local code ($LATEST).
    }
    const bool duplicate = std::any_of(urls.begin(), urls.end(), [&](const FunctionUrl& other) {
      return other.function_id == url.function_id && other.resource_id == url.resource_id;
    });
    if (!duplicate && read_config(resource.properties, url, resource.logical_id, warnings))
      urls.push_back(std::move(url));
  }
  return urls;
}

// ------------------------------------------------------------------ door

FunctionUrlDoor::FunctionUrlDoor(Host& host, const sam::Model& model, FunctionUrl url,
                                 const ServeOptions& options)
    : Door(host), m_url(std::move(url)) {
  m_function = &host.function(model, m_url.function_id);
  // A URL id looks like AWS's: 32 lowercase letters and digits, stable across restarts.
  m_url_id = stable_id(m_url.resource_id + " url", 32);
  m_info.http_api = true;
  m_info.api_id = m_url_id;
  m_info.stage = "$default";
  m_info.region = options.region;
  m_info.account_id = "anonymous";
  m_credentials.access_key_id = options.access_key_id;
  m_credentials.secret_access_key = options.secret_access_key;
}

std::uint64_t FunctionUrlDoor::body_limit() const {
  return k_url_payload_limit;
}

void FunctionUrlDoor::payload_too_large(Exchange& ex) {
  answer(
      ex, 413,
      fmt::format(
          R"({{"Message":"Request must be smaller than {} bytes for the InvokeFunction operation"}})",
          k_url_payload_limit),
      "application/json", "RequestTooLargeException");
}

void FunctionUrlDoor::headers_too_large(Exchange& ex) {
  answer(ex, 431, k_header_too_large);
}

void FunctionUrlDoor::common_headers(Exchange& ex, std::string& out) {
  if (ex.request_id.empty())
    ex.request_id = runtime::make_uuid(rng());
  out.append("x-amzn-RequestId: ");
  out.append(ex.request_id);
  out.append("\r\n");
  if (!ex.trace_id.empty()) {
    out.append("X-Amzn-Trace-Id: ");
    out.append(ex.trace_id);
    out.append("\r\n");
  }
}

bool FunctionUrlDoor::authorize(Exchange& ex) {
  const auto incoming = incoming_request(ex);
  const auto result =
      aws::verify_sigv4(incoming, m_credentials, "lambda", std::chrono::system_clock::now());
  if (result.check == aws::SignatureCheck::ok) {
    ex.authorizer_json = fmt::format(
        R"({{"iam":{{"accessKey":"{}","accountId":"{}","callerId":"{}","cognitoIdentity":null,"principalOrgId":null,"userArn":"arn:aws:iam::{}:root","userId":"{}"}}}})",
        result.access_key, m_host.options.account_id, result.access_key, m_host.options.account_id,
        m_host.options.account_id);
    return true;
  }
  if (!ex.claim())
    return false;
  if (result.check == aws::SignatureCheck::missing) {
    answer(ex, 403, k_forbidden, "application/json", "AccessDeniedException");
    return false;
  }
  std::string body = R"({"message":)";
  append_json_string(body, result.message);
  body.push_back('}');
  answer(ex, 403, body, "application/json", aws::signature_error_type(result.check));
  return false;
}

void FunctionUrlDoor::handle(Exchange& ex) {
  auto& request = ex.request;
  ex.request_id = runtime::make_uuid(rng());
  if (m_url.cors && is_preflight(request)) {
    if (ex.claim()) {
      http_preflight(*m_url.cors, request, ex.mapped);
      finish(ex);
    }
    return;
  }
  ex.authorizer_json.clear();
  if (m_url.iam && !authorize(ex))
    return;
  if (m_function == nullptr || !m_function->ok) {
    if (ex.claim())
      answer(ex, 502, k_internal, "application/json");
    return;
  }
  ex.time_ms = now_ms();
  // The front end's X-Forwarded-* headers, as for API Gateway.
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
  ApiEventInfo info_api = m_info;
  if (m_url.iam)
    info_api.account_id = m_host.options.account_id;
  RouteEventInfo route;
  route.route_key = "$default";
  route.resource_path = "$default";
  route.v2 = true;
  RequestEventInfo info;
  info.request_id = ex.request_id;
  info.time_ms = ex.time_ms;
  info.request_time = request_time(ex.time_ms);
  info.base64_body = !is_http_api_text_type(request.header("content-type"));
  info.authorizer_json = ex.authorizer_json;
  ex.event.clear();
  ex.event.reserve(1024 + request.body.size() * 4 / 3);
  write_v2_event(ex.event, request, info_api, route, info);
  ex.function_id = m_function->id;
  ex.version = m_function->version;
  ex.invoked = true;
  ex.phase = Exchange::Phase::integration;
  ex.streamed.clear();
  ex.self = ex.shared_from_this();
  runtime::InvokeRequest invoke;
  invoke.payload = ex.event;
  invoke.trace_id = ex.trace_id;
  invoke.request_id = ex.request_id;
  m_host.engine->invoke(m_function->handle, invoke, ex);
}

// Streams begin when the status and headers are known: at once for a plain content type,
// after the prelude (JSON, then 8 NUL bytes) for the HTTP integration type.
void FunctionUrlDoor::on_stream_start(Exchange& ex, std::string_view content_type) {
  ex.stream_type.assign(content_type);
  if (!m_url.streaming || content_type == k_prelude_type)
    return;
  if (!ex.claim())
    return;
  ex.mapped.clear();
  ex.mapped.status = 200;
  ex.mapped.headers.emplace_back("Content-Type", std::string(content_type));
  begin_stream(ex, {});
}

void FunctionUrlDoor::begin_stream(Exchange& ex, std::string_view bytes) {
  if (m_url.cors)
    http_apply_cors(*m_url.cors, ex.request.header("origin"), ex.mapped);
  if (auto stream = start_stream(ex)) {
    // Lambda's bandwidth: the first 6 MB uncapped, then 2 MB/s.
    ResponseStream::Limits limits;
    limits.free_bytes = k_url_payload_limit;
    limits.bytes_per_second = 2u * 1024 * 1024;
    stream->set_limits(limits);
  }
  if (!bytes.empty())
    on_stream_data(ex, bytes);
}

void FunctionUrlDoor::on_stream_data(Exchange& ex, std::string_view bytes) {
  if (!m_url.streaming) {
    ex.streamed.append(bytes);
    return;
  }
  if (ex.stream) {
    ex.streamed_bytes += bytes.size();
    if (ex.streamed_bytes > k_stream_limit) {
      ex.stream->abort(); // Lambda ends a response past 200 MB
      return;
    }
    ex.stream->write(bytes);
    return;
  }
  if (ex.stream_type != k_prelude_type || ex.is_answered())
    return;
  // Still reading the prelude.
  const auto before = ex.prelude.size();
  ex.prelude.append(bytes);
  const auto from = before >= k_prelude_end.size() ? before - k_prelude_end.size() + 1 : 0;
  const auto end = ex.prelude.find(k_prelude_end, from);
  if (end == std::string::npos) {
    if (ex.prelude.size() > k_prelude_limit && ex.claim()) {
      ex.mapped.clear();
      ex.mapped.status = 200;
      std::string rest = std::move(ex.prelude);
      ex.prelude.clear();
      begin_stream(ex, rest);
    }
    return;
  }
  if (!ex.claim())
    return;
  std::string prelude = ex.prelude.substr(0, end);
  std::string rest = ex.prelude.substr(end + k_prelude_end.size());
  ex.prelude.clear();
  boost::system::error_code ec;
  auto value = json::parse(prelude, ec);
  ex.mapped.clear();
  if (!ec && value.is_object()) {
    auto& object = value.as_object();
    if (!object.contains("statusCode"))
      object["statusCode"] = 200;
    object.erase("body");
    object.erase("isBase64Encoded");
    if (!map_v2_response(json::serialize(object), ex.mapped)) {
      ex.mapped.clear();
      ex.mapped.status = 200;
    }
    ex.mapped.body.clear();
  } else {
    ex.mapped.status = 200;
  }
  begin_stream(ex, rest);
}

void FunctionUrlDoor::map_buffered(Exchange& ex, std::string_view output, bool prelude) {
  ex.mapped.clear();
  bool ok = false;
  if (prelude) {
    const auto end = output.find(k_prelude_end);
    const auto head = output.substr(0, end);
    boost::system::error_code ec;
    auto value = json::parse(head, ec);
    if (!ec && value.is_object() && end != std::string_view::npos) {
      auto& object = value.as_object();
      if (!object.contains("statusCode"))
        object["statusCode"] = 200;
      object.erase("body");
      object.erase("isBase64Encoded");
      ok = map_v2_response(json::serialize(object), ex.mapped);
      ex.mapped.body.assign(output.substr(end + k_prelude_end.size()));
    }
  } else {
    ok = map_v2_response(output, ex.mapped);
  }
  if (!ok) {
    m_host.log.line(fmt::format("{} function URL of {}: the function's response is not a valid "
                                "function URL response",
                                clock_text(), m_url.function_id));
    answer(ex, 502, k_internal, "application/json");
    return;
  }
  if (m_url.cors)
    http_apply_cors(*m_url.cors, ex.request.header("origin"), ex.mapped);
  finish(ex);
}

void FunctionUrlDoor::on_complete(Exchange& ex, const runtime::InvokeResult& result) {
  auto keep = std::move(ex.self);
  ex.cold = result.cold;
  if (!result.executed_version.empty())
    ex.version.assign(result.executed_version);
  using runtime::Outcome;
  if (ex.stream) {
    // Streaming began: a later error ends the stream without its last chunk.
    if (result.outcome == Outcome::success) {
      ex.stream->end();
    } else {
      m_host.log.line(fmt::format("{} function URL of {}: the stream ended with {} {}",
                                  clock_text(), m_url.function_id,
                                  runtime::to_string(result.outcome), result.error_type));
      ex.stream->abort();
    }
    return;
  }
  if (!ex.claim())
    return;
  switch (result.outcome) {
  case Outcome::success: {
    const bool prelude = ex.stream_type == k_prelude_type;
    std::string_view output = result.body;
    if (result.streamed)
      output = m_url.streaming ? std::string_view(ex.prelude) : std::string_view(ex.streamed);
    map_buffered(ex, output, prelude);
    return;
  }
  case Outcome::throttled:
    answer(
        ex, 429,
        R"({"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."})",
        "application/json", "TooManyRequestsException");
    return;
  case Outcome::request_too_large:
    answer(
        ex, 413,
        fmt::format(
            R"({{"Message":"Request must be smaller than {} bytes for the InvokeFunction operation"}})",
            k_url_payload_limit),
        "application/json", "RequestTooLargeException");
    return;
  default:
    answer(ex, 502, k_internal, "application/json");
    return;
  }
}

// ------------------------------------------------------------------ composition

support::Status add_function_url_doors(Host& host, const sam::Model& model,
                                       const ServeOptions& options, int& next_port,
                                       std::vector<std::unique_ptr<Door>>& doors,
                                       int reserved_port) {
  std::vector<std::string> warnings;
  auto urls = function_urls(model, warnings);
  for (const auto& warning : warnings)
    host.warn(warning);
  bool iam = false;
  for (auto& url : urls) {
    auto door = std::make_unique<FunctionUrlDoor>(host, model, url, options);
    if (next_port != 0 && next_port == reserved_port)
      ++next_port;
    WISP_TRY(door->listen(options.host, next_port));
    if (next_port != 0)
      ++next_port;
    host.info(fmt::format(
        "{} function URL ({}, {}): http://{}:{}/", url.function_id, url.iam ? "AWS_IAM" : "NONE",
        url.streaming ? "RESPONSE_STREAM" : "BUFFERED", options.host, door->port()));
    iam = iam || url.iam;
    doors.push_back(std::move(door));
  }
  if (iam && options.access_key_id.empty())
    host.warn("function URLs with AuthType AWS_IAM refuse every request: no AWS credentials are "
              "configured to verify signatures against");
  return {};
}

} // namespace wisp::gateway
