#pragma once
// Internal to the gateway: MOCK integrations of WebSocket API routes (docs/local-api.md,
// "WebSocket APIs"). API Gateway renders the integration's request template (VTL); its
// `statusCode` selects an integration response (AWS::ApiGatewayV2::IntegrationResponse, key
// `$default` or `/regex/` over the status), whose response template is what a two-way route
// sends back. wisp renders templates with a small subset of VTL: `$context.<name>` and
// `${context.<name>}` for the names below, `$input.body` and `$input.json('$')`; anything
// else is left as written.

#include <wisp/template/websocket.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace wisp::gateway {

struct MockContext {
  std::string_view connection_id;
  std::string_view request_id;
  std::string_view route_key;
  std::string_view event_type; // CONNECT | MESSAGE
  std::string_view message_id;
  std::string_view stage;
  std::string_view api_id;
  std::string_view domain_name;
  std::string_view body; // the message ($connect: empty)
};

struct MockAnswer {
  unsigned status = 200;
  std::optional<std::string> body; // the integration response's rendered template; none: none
};

// The template with its $context/$input references replaced.
std::string render_mock_template(std::string_view text, const MockContext& context);

MockAnswer run_mock(const sam::WebSocketRoute& route, const MockContext& context);

// The integration response a status selects (`/regex/` keys first, then `$default`), its
// template rendered; nullopt when none (or it has no template). HTTP integrations use it
// with `context.body` the endpoint's response body.
std::optional<std::string> integration_response(const sam::WebSocketRoute& route, unsigned status,
                                                const MockContext& context);
// The integration's request template (`$default`, or its only one) rendered; nullopt: none.
std::optional<std::string> request_template(const sam::WebSocketRoute& route,
                                            const MockContext& context);
// `$context.<name>` as templates see it (nullopt for a name not emulated).
std::optional<std::string_view> mock_context_value(std::string_view name,
                                                   const MockContext& context);

} // namespace wisp::gateway
