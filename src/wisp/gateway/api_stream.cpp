// REST API response streaming (docs/local-api.md, "REST response streaming"): routes whose
// Lambda proxy integration sets responseTransferMode STREAM (API Gateway, November 2025).
//
// The function streams (InvokeWithResponseStream); its output is a metadata JSON object
// (statusCode, headers, multiValueHeaders, cookies) within the first 16 KB, 8 NUL bytes, then
// the payload, which goes to the client chunk by chunk as the function writes it. Limits as
// API Gateway's: the first 10 MB at full speed, then 2 MB/s; an idle stream (no bytes from
// the function) is cut after 30 s on EDGE endpoints and 5 minutes on REGIONAL and PRIVATE
// ones; a stream ends after 15 minutes. A response without the metadata and delimiter is a
// malformed response (502).

#include <wisp/gateway/api_door.hpp>
#include <wisp/gateway/text.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace wisp::gateway {

namespace json = boost::json;

namespace {

constexpr std::string_view k_delimiter("\0\0\0\0\0\0\0\0", 8);
constexpr std::size_t k_metadata_limit = 16u * 1024;
constexpr std::uint64_t k_free_bytes = 10u * 1024 * 1024;
constexpr std::uint64_t k_rate = 2u * 1024 * 1024;
constexpr auto k_duration = std::chrono::minutes(15);
constexpr std::string_view k_internal = R"({"message": "Internal server error"})";

std::string string_of(const json::value* value) {
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

// responseTransferMode of an x-amazon-apigateway-integration (OpenAPI) or an
// AWS::ApiGateway::Method's Integration (ResponseTransferMode).
bool streams(const json::value* integration) {
  if (integration == nullptr || !integration->is_object())
    return false;
  const auto& object = integration->as_object();
  auto mode = string_of(object.if_contains("responseTransferMode"));
  if (mode.empty())
    mode = string_of(object.if_contains("ResponseTransferMode"));
  return mode == "STREAM";
}

const json::value* openapi_integration(const json::value& body, const std::string& path,
                                       const std::string& method) {
  if (!body.is_object())
    return nullptr;
  const auto* paths = body.as_object().if_contains("paths");
  if (paths == nullptr || !paths->is_object())
    return nullptr;
  const auto* item = paths->as_object().if_contains(path);
  if (item == nullptr || !item->is_object())
    return nullptr;
  std::string key;
  for (const char c : method)
    key.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  const auto* operation =
      item->as_object().if_contains(key == "any" ? std::string_view("x-amazon-apigateway-"
                                                                    "any-method")
                                                 : std::string_view(key));
  if (operation == nullptr || !operation->is_object())
    return nullptr;
  return operation->as_object().if_contains("x-amazon-apigateway-integration");
}

} // namespace

void ApiDoor::find_streaming_routes(const sam::Model& model) {
  // The endpoint type decides the idle timeout (AWS::Serverless::Api EndpointConfiguration
  // as a string or {Type}, AWS::ApiGateway::RestApi {Types: [..]}; EDGE by default).
  if (const auto* config = m_api.properties.if_contains("EndpointConfiguration")) {
    std::string type = string_of(config);
    if (config->is_object()) {
      type = string_of(config->as_object().if_contains("Type"));
      if (const auto* types = config->as_object().if_contains("Types");
          types != nullptr && types->is_array() && !types->as_array().empty())
        type = string_of(&types->as_array()[0]);
    }
    if (type == "REGIONAL" || type == "PRIVATE")
      m_stream_idle = std::chrono::minutes(5);
  }
  for (auto& slot : m_routes) {
    const auto& route = slot.route;
    if (route.event_name.empty() && m_api.definition_body)
      slot.stream = streams(openapi_integration(*m_api.definition_body, route.path, route.method));
    if (!slot.stream) {
      // A raw AWS::ApiGateway::Method: the resource declared where the route was.
      for (const auto& resource : model.resources)
        if (resource.type == "AWS::ApiGateway::Method" &&
            resource.source.line == route.source.line &&
            resource.source.column == route.source.column &&
            resource.source.file == route.source.file)
          slot.stream = streams(resource.properties.if_contains("Integration"));
    }
    if (slot.stream)
      m_host.info(fmt::format("API {}: {} {} streams its responses (responseTransferMode STREAM)",
                              m_api.logical_id, route.method, route.path));
  }
}

namespace {

bool streaming(const Exchange& ex, const std::vector<RouteSlot>& routes) {
  return ex.phase == Exchange::Phase::integration && ex.route < routes.size() &&
         routes[ex.route].stream;
}

} // namespace

void ApiDoor::on_stream_start(Exchange& ex, std::string_view content_type) {
  if (streaming(ex, m_routes))
    ex.stream_type.assign(content_type);
}

void ApiDoor::on_stream_data(Exchange& ex, std::string_view bytes) {
  if (!streaming(ex, m_routes)) {
    ex.streamed.append(bytes);
    return;
  }
  if (ex.stream) {
    ex.streamed_bytes += bytes.size();
    ex.stream->write(bytes);
    return;
  }
  if (ex.is_answered())
    return; // refused (malformed metadata) or timed out: the rest is dropped
  ex.prelude.append(bytes);
  begin_rest_stream(ex);
}

// Once the metadata and its delimiter are in: the status and headers go out, then the payload.
void ApiDoor::begin_rest_stream(Exchange& ex) {
  const auto end = ex.prelude.find(k_delimiter);
  if (end == std::string::npos) {
    if (ex.prelude.size() > k_metadata_limit && ex.claim()) {
      m_host.log.line(fmt::format("{} {}: {} wrote no response metadata within 16 KB", clock_text(),
                                  m_api.logical_id, m_routes[ex.route].function->id));
      answer(ex, 502, k_internal, "application/json", "InternalServerErrorException");
    }
    return;
  }
  if (end > k_metadata_limit || !ex.claim()) {
    if (ex.claim())
      answer(ex, 502, k_internal, "application/json", "InternalServerErrorException");
    return;
  }
  boost::system::error_code ec;
  auto metadata = json::parse(std::string_view(ex.prelude).substr(0, end), ec);
  ex.mapped.clear();
  bool ok = !ec && metadata.is_object();
  if (ok) {
    // The proxy response's head: statusCode, headers, multiValueHeaders (cookies separately).
    auto object = metadata.as_object();
    if (!object.contains("statusCode"))
      object["statusCode"] = 200;
    const auto cookies =
        object.if_contains("cookies") != nullptr ? object["cookies"] : json::value();
    object.erase("cookies");
    object.erase("body");
    object.erase("isBase64Encoded");
    ok = map_v1_response(json::serialize(object), true, false, ex.mapped);
    ex.mapped.body.clear();
    if (ok && cookies.is_array())
      for (const auto& cookie : cookies.as_array())
        if (cookie.is_string())
          ex.mapped.headers.emplace_back("Set-Cookie", std::string(cookie.as_string()));
  }
  if (!ok) {
    m_host.log.line(fmt::format("{} {}: malformed response metadata from {}", clock_text(),
                                m_api.logical_id, m_routes[ex.route].function->id));
    answer(ex, 502, k_internal, "application/json", "InternalServerErrorException");
    return;
  }
  std::string rest = ex.prelude.substr(end + k_delimiter.size());
  ex.prelude.clear();
  auto stream = start_stream(ex);
  if (!stream)
    return;
  ResponseStream::Limits limits;
  limits.free_bytes = k_free_bytes;
  limits.bytes_per_second = k_rate;
  limits.idle = m_stream_idle;
  limits.duration = k_duration;
  stream->set_limits(limits);
  if (!rest.empty()) {
    ex.streamed_bytes += rest.size();
    stream->write(rest);
  }
}

void ApiDoor::complete_rest_stream(Exchange& ex, const runtime::InvokeResult& result) {
  auto keep = std::move(ex.self);
  ex.cold = result.cold;
  if (!result.executed_version.empty())
    ex.version.assign(result.executed_version);
  if (ex.stream) {
    if (result.ok()) {
      ex.stream->end();
    } else {
      m_host.log.line(fmt::format("{} {}: the stream ended with {} {}", clock_text(),
                                  m_api.logical_id, runtime::to_string(result.outcome),
                                  result.error_type));
      ex.stream->abort();
    }
    return;
  }
  if (!ex.claim())
    return;
  using runtime::Outcome;
  if (result.outcome == Outcome::success) {
    // Streamed without the metadata delimiter, or not streamed at all (a buffered answer).
    m_host.log.line(fmt::format("{} {}: {} did not answer in the streaming format (metadata "
                                "JSON, 8 NUL bytes, payload)",
                                clock_text(), m_api.logical_id, m_routes[ex.route].function->id));
    answer(ex, 502, k_internal, "application/json", "InternalServerErrorException");
    return;
  }
  if (result.outcome == Outcome::throttled || result.outcome == Outcome::engine_error) {
    answer(ex, 500, k_internal, "application/json", "InternalServerErrorException");
    return;
  }
  answer(ex, 502, k_internal, "application/json", "InternalServerErrorException");
}

} // namespace wisp::gateway
