#pragma once
// WebSocket APIs of a model: AWS::ApiGatewayV2::Api resources with ProtocolType WEBSOCKET,
// read from Model::resources (resolved properties, references kept symbolic) with their
// routes (Route → Target `integrations/<Integration>` → IntegrationUri → function), route
// responses, REQUEST authorizers and first stage. SAM has no WebSocket resource type of its
// own: templates write these resources directly.

#include <wisp/template/model.hpp>

#include <map>
#include <string>
#include <vector>

namespace wisp::sam {

// A route of a WebSocket API (AWS::ApiGatewayV2::Route).
struct WebSocketRoute {
  std::string route_key;           // $connect, $disconnect, $default, or a custom key
  std::string function_logical_id; // the AWS_PROXY integration's function (empty: none here)
  std::string integration_type;    // the integration's IntegrationType; empty: no integration
  std::string authorization_type;  // NONE | AWS_IAM | CUSTOM ($connect only)
  std::string authorizer;          // CUSTOM: the AWS::ApiGatewayV2::Authorizer's logical id
  bool two_way = false;            // a RouteResponse ($default) sends the result back
  int timeout_ms = 29000;          // the integration's TimeoutInMillis
  bool api_key_required = false;   // ApiKeyRequired ($connect only)
  // HTTP and HTTP_PROXY integrations: IntegrationUri (empty when it is not a plain string),
  // IntegrationMethod (POST when absent) and RequestParameters (integration.request.header.X /
  // integration.request.querystring.X → its source expression).
  std::string integration_uri;
  std::string integration_method;
  std::map<std::string, std::string> request_parameters;
  // MOCK and HTTP integrations: the integration's RequestTemplates (by template key) and its
  // integration responses (AWS::ApiGatewayV2::IntegrationResponse), in template order.
  std::map<std::string, std::string> request_templates;
  struct IntegrationResponse {
    std::string key;                                       // $default, or /regex/ over the status
    std::map<std::string, std::string> response_templates; // by template key
  };
  std::vector<IntegrationResponse> integration_responses;
  SourceRef source;
};

struct WebSocketApi {
  std::string logical_id;
  std::string name;
  std::string route_selection_expression;   // e.g. $request.body.action
  std::string api_key_selection_expression; // $request.header.x-api-key (the default)
  std::string stage_name;                   // empty when the template declares no stage
  std::string stage_logical_id;             // the AWS::ApiGatewayV2::Stage resource
  std::map<std::string, std::string> stage_variables;
  std::map<std::string, Authorizer> authorizers; // REQUEST authorizers, by logical id
  std::vector<WebSocketRoute> routes;            // in template order
  SourceRef source;
};

// The model's WebSocket APIs, in template order.
std::vector<WebSocketApi> websocket_apis(const Model& model);

} // namespace wisp::sam
