#pragma once
// Internal to the gateway: the API Gateway front door (`local start-api`), one per API of the
// template: REST (v1 events) or HTTP API (v1/v2 events) routing, Lambda authorizers with their
// cache, static files, CORS preflights, stage throttling, and the integration's timeout.
// APIs whose routes overlap none of another's share its listener (share_port): the door that
// listens hands each request to the API that routes it.

#include <wisp/gateway/api_keys.hpp>
#include <wisp/gateway/authorizer.hpp>
#include <wisp/gateway/door.hpp>
#include <wisp/gateway/jwt.hpp>
#include <wisp/gateway/throttle.hpp>

#include <deque>
#include <filesystem>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace wisp::gateway {

struct AuthBinding {
  sam::Authorizer authorizer;
  FunctionSlot* function = nullptr; // Lambda authorizers
  std::optional<std::regex> validation;
  // JWT (HTTP API) and Cognito (REST) authorizers: the issuer whose keys verify tokens
  // (empty when the template's value cannot be resolved locally: the catch-all --jwks keys
  // verify, and iss is not checked) and the audience.
  bool jwt = false;
  JwtRules rules;
  bool iam = false; // AWS_IAM: SigV4 (execute-api)
};

struct RouteSlot {
  sam::Route route;
  RouteEventInfo info;
  FunctionSlot* function = nullptr;
  AuthBinding* auth = nullptr;     // authorizer to run
  std::vector<std::string> scopes; // the route's AuthorizationScopes
  bool stream = false;             // REST responseTransferMode STREAM (api_stream.cpp)
  bool api_key = false;            // REST ApiKeyRequired: x-api-key must hold a valid key
};

class ApiDoor final : public Door {
public:
  // Registers the routes' functions (and their authorizers') on the host; warns about routes
  // that conflict and authorizers not verified locally.
  ApiDoor(Host& host, const sam::Model& model, const sam::Api& api, const StartApiOptions& options,
          std::vector<const sam::Route*> routes);

  [[nodiscard]] const sam::Api& api() const { return m_api; }
  [[nodiscard]] const ApiEventInfo& info() const { return m_info; }
  // Another API served on this door's port (its routes overlap none of this one's).
  void share_port(ApiDoor& other) { m_shared.push_back(&other); }
  [[nodiscard]] bool overlaps(const ApiDoor& other) const;
  [[nodiscard]] const std::vector<RouteSlot>& routes() const { return m_routes; }
  void clear_static_dir() { m_static_dir.clear(); }

  [[nodiscard]] std::uint64_t body_limit() const override;
  void payload_too_large(Exchange& ex) override;
  void headers_too_large(Exchange& ex) override;
  void common_headers(Exchange& ex, std::string& out) override;
  void handle(Exchange& ex) override;
  void on_complete(Exchange& ex, const runtime::InvokeResult& result) override;
  void on_stream_start(Exchange& ex, std::string_view content_type) override;
  void on_stream_data(Exchange& ex, std::string_view bytes) override;

private:
  // REST response streaming (api_stream.cpp): which routes stream, the metadata prelude, the
  // stream's limits, and how a streamed invocation ends.
  void find_streaming_routes(const sam::Model& model);
  void begin_rest_stream(Exchange& ex);
  void complete_rest_stream(Exchange& ex, const runtime::InvokeResult& result);

  void handle_own(Exchange& ex);
  void handle_routed(Exchange& ex, bool matched);
  AuthBinding* bind_authorizer(const sam::Model& model, const sam::Route& route);

  // Gateway-level answers, as REST or HTTP APIs give them.
  void not_found(Exchange& ex);
  void internal_error(Exchange& ex);
  void throttled_function(Exchange& ex);
  void authorizer_failure(Exchange& ex);
  void unauthorized(Exchange& ex);
  void denied(Exchange& ex, PolicyDecision decision);
  void on_timeout(Exchange& ex); // the integration timeout fired (ex claimed)

  bool serve_static(Exchange& ex);
  void authorize(Exchange& ex);
  void authorize_jwt(Exchange& ex);
  void on_jwt_keys(Exchange& ex, std::shared_ptr<const KeySet> keys, bool refetched);
  void finish_jwt(Exchange& ex, const JwtOutcome& outcome);
  void authorize_iam(Exchange& ex);
  void on_authorizer(Exchange& ex, const runtime::InvokeResult& result);
  void apply_authorizer(Exchange& ex, const AuthorizerResult& result, std::int64_t latency_ms);
  void integrate(Exchange& ex);
  void integrate_durable(Exchange& ex, const FunctionSlot& function);
  std::optional<std::string> identity_value(const Exchange& ex, std::string_view source) const;
  void fill_event_info(Exchange& ex, RequestEventInfo& info) const;
  void prepare_ids(Exchange& ex) const;

  sam::Api m_api;
  bool m_http;
  bool m_disable_auth;
  ApiEventInfo m_info;
  Router m_router;
  std::vector<RouteSlot> m_routes;
  std::deque<AuthBinding> m_auths;
  std::set<std::string> m_unverified;
  StageThrottle m_throttle;
  ApiKeys m_api_keys;
  bool m_preflight_key = false; // the API's CORS preflights need x-api-key (api_keys.hpp)
  AuthorizerCache m_cache;
  std::filesystem::path m_static_dir;
  std::vector<ApiDoor*> m_shared;
  std::chrono::seconds m_stream_idle{30}; // EDGE endpoints; REGIONAL and PRIVATE: 5 minutes
};

} // namespace wisp::gateway
