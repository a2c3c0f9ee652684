#pragma once
// Internal to the gateway: WebSocket APIs (docs/local-api.md, "WebSocket APIs").
//
// One door per AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET, on its own port (after the
// API and function-URL ports). On that port:
// - a WebSocket upgrade (any path) runs the $connect route: its REQUEST authorizer, then its
//   integration; a 2xx (or no $connect route) upgrades the connection (Beast's websocket,
//   the socket handed over by the HTTP session), anything else answers the upgrade request
//   with that status. Each message is routed by the API's RouteSelectionExpression (else
//   $default) to its function (or, for HTTP / HTTP_PROXY integrations, to its endpoint:
//   websocket_http.hpp); routes with a route response send the answer's body back.
//   A closed connection invokes $disconnect. Quotas as API Gateway's: 32 KB frames and
//   128 KB messages (larger: close 1009), 10 minutes idle, 2 hours per connection, the
//   integration timeout (29 s).
// - the @connections management API (`[/<stage>]/@connections/<id>`: POST sends, GET
//   describes, DELETE closes; 410 GoneException for a connection that is gone), over HTTP and
//   over TLS (the first byte of a connection tells) with a certificate of wisp's local CA,
//   so `https://<domainName>/<stage>` built from an event reaches it.

#include <wisp/gateway/api_keys.hpp>
#include <wisp/gateway/door.hpp>
#include <wisp/gateway/websocket_event.hpp>
#include <wisp/template/websocket.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace wisp::aws {
struct IncomingRequest;
} // namespace wisp::aws

namespace wisp::gateway {

class WsConnection;
struct LocalTls;
class TlsContext;

struct WsRouteSlot {
  sam::WebSocketRoute route;
  FunctionSlot* function = nullptr;
};

class WebSocketDoor final : public Door {
public:
  WebSocketDoor(Host& host, const sam::Model& model, const sam::WebSocketApi& api,
                const ServeOptions& options, const std::string& stage,
                std::shared_ptr<TlsContext> tls);
  ~WebSocketDoor() override;

  [[nodiscard]] const sam::WebSocketApi& api() const { return m_api; }
  [[nodiscard]] const WsApiInfo& info() const { return m_info; }
  [[nodiscard]] const std::vector<WsRouteSlot>& routes() const { return m_routes; }
  // --disable-authorizer: connections skip the $connect authorizer.
  void set_disable_authorizer(bool disable) { m_disable_auth = disable; }

  [[nodiscard]] std::uint64_t body_limit() const override;
  void payload_too_large(Exchange& ex) override;
  void headers_too_large(Exchange& ex) override;
  void handle(Exchange& ex) override;
  void on_complete(Exchange& ex, const runtime::InvokeResult& result) override;
  void on_accepted(TcpSocket&& socket) override;

  // ---- for connections (any thread)
  [[nodiscard]] const WsRouteSlot* route_for(std::string_view key) const;
  // A message's route: its selected key's, else $default; null when neither exists.
  [[nodiscard]] const WsRouteSlot* select(std::string_view body) const;
  void established(const std::shared_ptr<WsConnection>& connection);
  void gone(const std::string& connection_id);

  // The @connections API: status, x-amzn-ErrorType (empty for none), JSON body.
  struct Answer {
    unsigned status = 200;
    std::string error_type;
    std::string body;
  };
  // One management request (its SigV4 signature, service execute-api, is verified against
  // the configured credentials, as API Gateway verifies the IAM caller).
  Answer manage(const aws::IncomingRequest& request);

private:
  void upgrade(Exchange& ex);
  // AWS_IAM on $connect: the upgrade request's SigV4 (execute-api); false when refused.
  bool authorize_iam(Exchange& ex);
  void authorize(Exchange& ex);
  void on_authorizer(Exchange& ex, const runtime::InvokeResult& result);
  void connect(Exchange& ex);
  void on_connect(Exchange& ex, const runtime::InvokeResult& result);
  void accept_upgrade(Exchange& ex, std::string subprotocol);
  void manage_http(Exchange& ex);
  // SigV4 (execute-api) against the configured credentials: null when it holds, else the
  // 403 API Gateway answers (MissingAuthenticationToken, InvalidSignature, ...). With none
  // configured, `functions_credentials` verifies against the stand-ins every function gets
  // (so its SDK reaches @connections); otherwise every request is refused.
  [[nodiscard]] std::optional<Answer> verify_signature(const aws::IncomingRequest& request,
                                                       bool functions_credentials) const;
  // What the connection's events carry of the upgrade request (and its AWS_IAM caller).
  [[nodiscard]] WsConnectionInfo connection_info(const Exchange& ex) const;

  sam::WebSocketApi m_api;
  WsApiInfo m_info;
  std::vector<WsRouteSlot> m_routes;
  const WsRouteSlot* m_connect = nullptr;
  const WsRouteSlot* m_default = nullptr;
  const sam::Authorizer* m_authorizer = nullptr; // $connect's REQUEST authorizer
  FunctionSlot* m_authorizer_function = nullptr;
  bool m_iam = false; // $connect's AuthorizationType AWS_IAM
  // $connect's ApiKeyRequired: the key named by ApiKeySelectionExpression (a request header,
  // or the authorizer's usageIdentifierKey) must be valid.
  bool m_api_key_required = false;
  bool m_api_key_from_authorizer = false;
  std::string m_api_key_header;
  ApiKeys m_api_keys;
  bool m_disable_auth = false;
  std::shared_ptr<TlsContext> m_tls;
  mutable std::mutex m_mutex;
  std::unordered_map<std::string, std::weak_ptr<WsConnection>> m_connections;
};

// TLS for the management API (websocket_tls.cpp): a server context with the local CA's
// certificate (null, with the reason in `problem`, when OpenSSL refuses it), and one HTTPS
// connection served with WebSocketDoor::manage.
std::shared_ptr<TlsContext> make_tls_context(const LocalTls& tls, std::string& problem);
void serve_tls(const std::shared_ptr<TlsContext>& context, TcpSocket&& socket, WebSocketDoor& door);

struct WebSocketOptions {
  bool disable_authorizer = false; // connections skip the $connect authorizers
  std::string stage;               // the stage events report; empty: each API's StageName
};

// WebSocket APIs for `local start-api` and `local start`: one door per API, listening on
// `next_port` onwards (0: ephemeral; advanced past the ports taken), each announced on
// `host.info` as `<Api> (WebSocket API, stage <stage>): ws://host:port` with its routes.
// Functions get what they need to reach the doors' @connections API: NODE_EXTRA_CA_CERTS and
// AWS_CA_BUNDLE (wisp's local CA), and template variables holding an API's execute-api URL
// pointed at its door. `reserved_port` (another door's, e.g. `local start`'s Invoke API) is
// passed over.
support::Status add_websocket_doors(Host& host, const sam::Model& model,
                                    const ServeOptions& options,
                                    const WebSocketOptions& websocket_options, int& next_port,
                                    std::vector<std::unique_ptr<Door>>& doors,
                                    int reserved_port = -1);

} // namespace wisp::gateway
