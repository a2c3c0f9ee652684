// WebSocket APIs in the model: AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET, its routes
// (Target → Integration → function), route responses, the REQUEST authorizer and the stage.
#include "template_test_support.hpp"

#include <wisp/template/websocket.hpp>

#include <doctest/doctest.h>

using namespace wisp;
using namespace wisp::test;

TEST_CASE("a WebSocket API with routes, a route response, an authorizer and a stage") {
  TemplateFixture t;
  t.write("src/app.py", "def handler(e, c): return {}\n");
  const auto r = t.load(R"(
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {CodeUri: src/, Runtime: python3.12, Handler: app.handler}
Resources:
  Chat:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: chat
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  Plain:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: plain, ProtocolType: HTTP}
  OnConnect:
    Type: AWS::Serverless::Function
  Send:
    Type: AWS::Serverless::Function
  Auth:
    Type: AWS::Serverless::Function
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $connect
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref ChatAuthorizer
      Target: !Join ['/', [integrations, !Ref ConnectIntegration]]
  ConnectIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${OnConnect.Arn}/invocations
  SendRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: sendmessage
      Target: !Sub integrations/${SendIntegration}
  SendIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Send.Arn}/invocations
      TimeoutInMillis: 5000
  SendResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties:
      ApiId: !Ref Chat
      RouteId: !Ref SendRoute
      RouteResponseKey: $default
  MockRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: ping
      Target: !Join ['/', [integrations, !Ref MockIntegration]]
  MockIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Chat, IntegrationType: MOCK}
  ChatAuthorizer:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Chat
      Name: auth
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Auth.Arn}/invocations
      IdentitySource: [route.request.querystring.token]
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Chat
      StageName: prod
      StageVariables: {tier: gold}
)");
  std::string problems;
  for (const auto& line : lines(r))
    problems += line + "\n";
  INFO(problems);
  REQUIRE_FALSE(r.diagnostics.has_errors());
  const auto& model = r.model;
  const auto apis = sam::websocket_apis(model);
  REQUIRE(apis.size() == 1); // the HTTP API is not one
  const auto& api = apis.front();
  CHECK(api.logical_id == "Chat");
  CHECK(api.name == "chat");
  CHECK(api.route_selection_expression == "$request.body.action");
  CHECK(api.stage_name == "prod");
  CHECK(api.stage_logical_id == "Stage");
  CHECK(api.stage_variables.at("tier") == "gold");
  REQUIRE(api.routes.size() == 3);
  const auto& connect = api.routes[0];
  CHECK(connect.route_key == "$connect");
  CHECK(connect.function_logical_id == "OnConnect");
  CHECK(connect.integration_type == "AWS_PROXY");
  CHECK(connect.authorization_type == "CUSTOM");
  CHECK(connect.authorizer == "ChatAuthorizer");
  CHECK_FALSE(connect.two_way);
  CHECK(connect.timeout_ms == 29000);
  const auto& send = api.routes[1];
  CHECK(send.route_key == "sendmessage");
  CHECK(send.function_logical_id == "Send");
  CHECK(send.two_way);
  CHECK(send.timeout_ms == 5000);
  const auto& ping = api.routes[2];
  CHECK(ping.integration_type == "MOCK");
  CHECK(ping.function_logical_id.empty());
  REQUIRE(api.authorizers.count("ChatAuthorizer") == 1);
  const auto& authorizer = api.authorizers.at("ChatAuthorizer");
  CHECK(authorizer.kind == sam::Authorizer::Kind::lambda_request);
  CHECK(authorizer.function_logical_id == "Auth");
  CHECK(authorizer.identity_sources == std::vector<std::string>{"route.request.querystring.token"});
  // The WebSocket routes are not HTTP routes.
  for (const auto& route : model.routes)
    CHECK(route.api_logical_id != "Chat");
}

TEST_CASE("WebSocket HTTP and HTTP_PROXY integrations keep their URI, method and parameters") {
  TemplateFixture t;
  const auto r = t.load(R"(
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Backend: {Type: String, Default: 'http://127.0.0.1:9000'}
Resources:
  Chat:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: chat, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  ProxyRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Chat, RouteKey: $default, Target: !Sub 'integrations/${Proxy}'}
  Proxy:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: HTTP_PROXY
      IntegrationUri: !Sub '${Backend}/hook'
      RequestParameters:
        integration.request.header.connectionId: context.connectionId
  PlainRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Chat, RouteKey: plain, Target: !Sub 'integrations/${Plain}'}
  Plain:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: HTTP
      IntegrationMethod: put
      IntegrationUri: https://example.com/x
      RequestTemplates: {$default: '{"m": $input.body}'}
  PlainResponse:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Chat
      IntegrationId: !Ref Plain
      IntegrationResponseKey: $default
      ResponseTemplates: {$default: '$input.body'}
)");
  REQUIRE_FALSE(r.diagnostics.has_errors());
  const auto apis = sam::websocket_apis(r.model);
  REQUIRE(apis.size() == 1);
  REQUIRE(apis.front().routes.size() == 2);
  const auto& proxy = apis.front().routes[0];
  CHECK(proxy.integration_type == "HTTP_PROXY");
  CHECK(proxy.integration_uri == "http://127.0.0.1:9000/hook");
  CHECK(proxy.integration_method == "POST");
  CHECK(proxy.request_parameters.at("integration.request.header.connectionId") ==
        "context.connectionId");
  const auto& plain = apis.front().routes[1];
  CHECK(plain.integration_type == "HTTP");
  CHECK(plain.integration_method == "PUT");
  CHECK(plain.integration_uri == "https://example.com/x");
  CHECK(plain.request_templates.at("$default") == R"({"m": $input.body})");
  REQUIRE(plain.integration_responses.size() == 1);
  CHECK(plain.integration_responses.front().response_templates.at("$default") == "$input.body");
}
