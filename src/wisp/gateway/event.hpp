#pragma once
// The Lambda proxy events API Gateway builds, written straight into a reused buffer:
// REST (payload 1.0), HTTP API payload 1.0 and 2.0, and the Lambda authorizer events.
// Rules and sources: docs/local-api.md; ../shared/reference/protocols.md §2.
//
// - REST 1.0: header names as sent; `headers`/`queryStringParameters` hold the last value,
//   `multiValue*` every value; empty maps are null; `path` is the raw (still encoded) path;
//   `requestContext.path` carries the stage prefix; `body` is null when empty.
// - HTTP API 1.0: the same shape plus "version":"1.0", header names lower-cased, the path
//   decoded. HTTP API 2.0: lower-cased headers and query parameters with duplicates joined by
//   commas, `cookies` from the Cookie header(s) (not in `headers`), `rawPath` decoded and with
//   the stage prefix unless the stage is $default; empty fields are left out.
// - `isBase64Encoded` is decided by the caller (binaryMediaTypes for REST, the text-type rule
//   for HTTP APIs) and the body encoded here.

#include <wisp/gateway/router.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wisp::gateway {

struct Header {
  std::string_view name;
  std::string_view value;
};

// One client request as the gateway received it (views into the connection's buffers).
struct Request {
  std::string_view method;
  std::string_view raw_path;  // percent-encoded, without the query
  std::string_view raw_query; // after '?', as sent
  std::vector<Header> headers;
  std::string_view body;
  std::string_view source_ip;
  std::string_view protocol = "HTTP/1.1";

  // The first value of a header (case-insensitive name); empty when absent.
  [[nodiscard]] std::string_view header(std::string_view name) const;
  [[nodiscard]] bool has_header(std::string_view name) const;
};

// What an API contributes to every event (fixed while the gateway runs).
struct ApiEventInfo {
  bool http_api = false;
  std::string api_id;
  std::string stage; // "Prod", "$default"
  std::string account_id = "123456789012";
  std::string region = "us-east-1";
  std::map<std::string, std::string> stage_variables;
};

// What a route contributes (fixed).
struct RouteEventInfo {
  std::string method;        // GET, ANY
  std::string resource_path; // "/users/{id}", "$default"
  std::string route_key;     // HTTP APIs: "GET /users/{id}" or "$default"
  std::string resource_id;   // REST: a stable 6-character id
  bool v2 = false;           // payload format 2.0
};

// What changes with every request.
struct RequestEventInfo {
  std::string_view request_id;
  std::string_view extended_request_id;
  std::int64_t time_ms = 0;
  std::string_view request_time; // format_request_time(time_ms)
  const RouteMatch* match = nullptr;
  bool base64_body = false;
  // The JSON value of requestContext.authorizer (an object), or empty for none.
  std::string_view authorizer_json;
  // REST methods that require an API key: identity.apiKey and identity.apiKeyId (both left
  // out for other methods; apiKeyId also when empty: a REQUEST authorizer's event carries
  // the key the client sent, valid or not).
  std::string_view api_key;
  std::string_view api_key_id;
};

// The client's Host without its port, and the part before its first dot: the event's
// domainName and domainPrefix.
std::string_view domain_prefix(std::string_view host);

// Proxy integration events.
void write_v1_event(std::string& out, const Request& request, const ApiEventInfo& api,
                    const RouteEventInfo& route, const RequestEventInfo& info);
void write_v2_event(std::string& out, const Request& request, const ApiEventInfo& api,
                    const RouteEventInfo& route, const RequestEventInfo& info);

// execute-api ARN of a request:
// arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>
std::string method_arn(const ApiEventInfo& api, std::string_view method, std::string_view path);

// Lambda authorizer events. REST TOKEN: {"type":"TOKEN","authorizationToken":..,"methodArn":..}.
void write_token_authorizer_event(std::string& out, std::string_view token,
                                  std::string_view method_arn);
// REST REQUEST (and HTTP API 1.0 with `identity_source`): the proxy event's request part with
// "type":"REQUEST" and "methodArn"; maps are {} rather than null.
void write_request_authorizer_event(std::string& out, const Request& request,
                                    const ApiEventInfo& api, const RouteEventInfo& route,
                                    const RequestEventInfo& info, std::string_view method_arn,
                                    const std::vector<std::string>* identity_source);
// HTTP API 2.0: the 2.0 event's request part with "type":"REQUEST", "routeArn" and the
// identity source values.
void write_v2_authorizer_event(std::string& out, const Request& request, const ApiEventInfo& api,
                               const RouteEventInfo& route, const RequestEventInfo& info,
                               std::string_view route_arn,
                               const std::vector<std::string>& identity_source);

// Writes `map` as a JSON object of strings ("null" when empty and `null_if_empty`).
void write_string_map(std::string& out, const std::map<std::string, std::string>& map,
                      bool null_if_empty);

} // namespace wisp::gateway
