#pragma once
// Internal to the gateway: what a WebSocket API (docs/local-api.md, "WebSocket APIs") hands
// its Lambda proxy integrations and its $connect authorizer, and how it picks a route.
//
// Event shapes follow AWS's captured events (aws-lambda-go events/testdata apigw-websocket-*,
// 2024; the REQUEST authorizer input in AWS's developer guide):
// - CONNECT: the upgrade request's headers (without Connection and Upgrade) and query, plus
//   requestContext {routeKey "$connect", eventType CONNECT, extendedRequestId, requestTime,
//   messageDirection IN, stage, connectedAt, requestTimeEpoch, identity, requestId,
//   domainName, connectionId, apiId[, authorizer]}, isBase64Encoded false.
// - MESSAGE: requestContext with messageId, the body (base64 for binary frames).
// - DISCONNECT: headers {Host, x-api-key, X-Forwarded-For, x-restapi}, requestContext with
//   disconnectStatusCode and disconnectReason.
// - The REQUEST authorizer: type, methodArn (…/<stage>/$connect), headers (as sent, with
//   content-length 0), query, stageVariables, the CONNECT requestContext, isBase64Encoded.

#include <wisp/gateway/event.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace wisp::gateway {

// What an API contributes to every event.
struct WsApiInfo {
  std::string api_id;
  std::string stage;
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  std::map<std::string, std::string> stage_variables;
};

// What a connection contributes (fixed once it is accepted).
struct WsConnectionInfo {
  std::string connection_id;
  std::int64_t connected_at = 0; // epoch ms
  std::string domain_name;       // the upgrade request's Host
  std::string source_ip;
  std::string user_agent; // empty: left out of identity
  // More members of requestContext.identity ("name":value,... with a trailing comma), e.g. the
  // caller of an AWS_IAM-authorized $connect; empty for none.
  std::string identity_json;
  // requestContext.authorizer's JSON object from the $connect authorizer, or empty.
  std::string authorizer_json;
};

// What changes with every event.
struct WsEventInfo {
  std::string_view route_key;
  std::string_view request_id; // also extendedRequestId
  std::int64_t time_ms = 0;
};

void write_ws_connect_event(std::string& out, const WsApiInfo& api, const WsConnectionInfo& conn,
                            const Request& request, const WsEventInfo& info);
void write_ws_message_event(std::string& out, const WsApiInfo& api, const WsConnectionInfo& conn,
                            const WsEventInfo& info, std::string_view message_id,
                            std::string_view body, bool binary);
void write_ws_disconnect_event(std::string& out, const WsApiInfo& api, const WsConnectionInfo& conn,
                               const WsEventInfo& info, int status_code, std::string_view reason);
void write_ws_authorizer_event(std::string& out, const WsApiInfo& api, const WsConnectionInfo& conn,
                               const Request& request, const WsEventInfo& info,
                               std::string_view method_arn);

// The route key a message selects with `expression` (`$request.body.action`,
// `${request.body.a.b}`, literal text around `${…}` parts): nullopt when the body is not a
// JSON object or a selected value is missing (the message then takes $default).
std::optional<std::string> select_route_key(std::string_view expression, std::string_view body);

// The value of an identity source of a WebSocket authorizer (`route.request.header.Name`,
// `route.request.querystring.name`, `stageVariables.name`); nullopt when missing or empty.
std::optional<std::string> ws_identity_value(std::string_view source, const Request& request,
                                             const WsApiInfo& api);

// WebSocket frame headers in a byte stream the client sends: notices a data frame longer than
// API Gateway's 32 KB frame quota (the connection is then closed with 1009).
class FrameMeter {
public:
  static constexpr std::uint64_t k_frame_limit = 32u * 1024;
  void consume(std::string_view bytes);
  [[nodiscard]] bool oversized() const { return m_oversized; }

private:
  unsigned char m_header[14] = {};
  std::size_t m_have = 0;
  std::uint64_t m_skip = 0; // payload bytes of the current frame still to pass
  bool m_oversized = false;
};

} // namespace wisp::gateway
