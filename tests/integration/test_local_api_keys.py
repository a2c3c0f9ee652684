"""API keys and MOCK integrations under `wisp local start-api`: REST methods with
`Auth.ApiKeyRequired` (API-wide, switched off per event), an AWS::ApiGateway::Method with
`ApiKeyRequired` and an OpenAPI operation whose security names an apiKey scheme answer 403
{"message":"Forbidden"} without a valid `x-api-key` (valid: an Enabled AWS::ApiGateway::ApiKey's
Value of the template) and put the key in `requestContext.identity` as API Gateway does; a
WebSocket API's $connect with `ApiKeyRequired` refuses the upgrade without a key; WebSocket MOCK
integrations answer from their integration response templates (a MOCK $connect answering 403
refuses the upgrade); an AWS (service) integration is a start-up warning and "Internal server
error", not a crash. Clients: http.client and a raw-socket RFC 6455 client."""

import json
import os
import shutil
import tempfile
import unittest

import harness
from gateway_helpers import Server, header
from ws_client import HandshakeRefused, WebSocket

GOOD_KEY = "local-key-0123456789abcdef"
DISABLED_KEY = "disabled-key-0123456789abc"

TEMPLATE = f"""
Transform: AWS::Serverless-2016-10-31
Resources:
  KeyedApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Auth:
        ApiKeyRequired: true
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Runtime: python3.11
      Handler: app.echo
      Events:
        Keyed:
          Type: Api
          Properties: {{RestApiId: !Ref KeyedApi, Path: /keyed, Method: get}}
        Open:
          Type: Api
          Properties:
            RestApiId: !Ref KeyedApi
            Path: /open
            Method: get
            Auth: {{ApiKeyRequired: false}}
  DocApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      DefinitionBody:
        swagger: "2.0"
        info: {{title: doc, version: "1"}}
        securityDefinitions:
          api_key: {{type: apiKey, name: x-api-key, in: header}}
        paths:
          /doc:
            get:
              security: [{{api_key: []}}]
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{EchoFunction.Arn}}/invocations
          /free:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{EchoFunction.Arn}}/invocations
  RawApi:
    Type: AWS::ApiGateway::RestApi
    Properties: {{Name: raw}}
  RawResource:
    Type: AWS::ApiGateway::Resource
    Properties: {{RestApiId: !Ref RawApi, ParentId: !GetAtt RawApi.RootResourceId, PathPart: raw}}
  RawMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref RawApi
      ResourceId: !Ref RawResource
      HttpMethod: GET
      AuthorizationType: NONE
      ApiKeyRequired: true
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{EchoFunction.Arn}}/invocations
  RawDeployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: RawMethod
    Properties: {{RestApiId: !Ref RawApi, StageName: v1}}
  Closed:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: closed
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  ClosedConnect:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Closed
      RouteKey: $connect
      Target: !Join [/, [integrations, !Ref ClosedIntegration]]
  ClosedIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Closed
      IntegrationType: MOCK
      RequestTemplates:
        $default: '{{"statusCode": 403}}'
  GoodKey:
    Type: AWS::ApiGateway::ApiKey
    Properties: {{Enabled: true, Value: {GOOD_KEY}}}
  DisabledKey:
    Type: AWS::ApiGateway::ApiKey
    Properties: {{Enabled: false, Value: {DISABLED_KEY}}}
  Chat:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: chat
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
      ApiKeySelectionExpression: $request.header.x-api-key
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {{ApiId: !Ref Chat, StageName: live}}
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $connect
      ApiKeyRequired: true
      Target: !Join [/, [integrations, !Ref ConnectIntegration]]
  ConnectIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{ConnectFunction.Arn}}/invocations
  ConnectFunction:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: src/, Runtime: python3.11, Handler: app.connect}}
  PingRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: ping
      Target: !Join [/, [integrations, !Ref PingIntegration]]
  PingResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {{ApiId: !Ref Chat, RouteId: !Ref PingRoute, RouteResponseKey: $default}}
  PingIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: MOCK
      TemplateSelectionExpression: \\$default
      RequestTemplates:
        $default: '{{"statusCode": 200}}'
  PingIntegrationResponse:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Chat
      IntegrationId: !Ref PingIntegration
      IntegrationResponseKey: /2\\d\\d/
      TemplateSelectionExpression: \\$default
      ResponseTemplates:
        $default: '{{"pong": "$context.connectionId", "route": "${{context.routeKey}}", "stage": "$context.stage", "got": $input.body}}'
  QuietRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: quiet
      Target: !Join [/, [integrations, !Ref QuietIntegration]]
  QuietIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: MOCK
      RequestTemplates:
        $default: '{{"statusCode": 200}}'
  ProxyRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $default
      Target: !Join [/, [integrations, !Ref ProxyIntegration]]
  ProxyIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS
      IntegrationMethod: POST
      IntegrationUri: !Sub arn:aws:apigateway:${{AWS::Region}}:sqs:path/${{AWS::AccountId}}/queue
"""

APP = r'''
import json, os

def echo(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["identity"])}

def connect(event, context):
    path = os.path.join(os.environ["RECORD_DIR"], event["requestContext"]["connectionId"] + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(event, f)
    os.rename(path + ".tmp", path)
    return {"statusCode": 200}
'''


class ApiKeyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("python3.11", "Python runtime")
        cls.tmp = tempfile.mkdtemp(prefix="wisp-keys-", dir=harness.SCRATCH)
        cls.records = os.path.join(cls.tmp, "records")
        os.makedirs(cls.records)
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(TEMPLATE)
        os.makedirs(f"{cls.tmp}/src")
        with open(f"{cls.tmp}/src/app.py", "w") as f:
            f.write(APP)
        env_vars = os.path.join(cls.tmp, "env.json")
        with open(env_vars, "w") as f:
            json.dump({"ConnectFunction": {"RECORD_DIR": cls.records}}, f)
        cls.server = Server(cls.tmp, "--no-watch", "--env-vars", env_vars,
                            extra_env={"XDG_CACHE_HOME": os.path.join(cls.tmp, "cache")})

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- REST

    def test_rest_method_refuses_missing_wrong_and_disabled_keys(self):
        for headers in ({}, {"x-api-key": "not-a-key-of-this-template"},
                        {"x-api-key": DISABLED_KEY}, {"x-api-key": ""}):
            status, response_headers, body = self.server.request("KeyedApi", "GET", "/keyed",
                                                                 headers=headers)
            self.assertEqual(status, 403, headers)
            self.assertEqual(json.loads(body), {"message": "Forbidden"})
            self.assertEqual(header(response_headers, "x-amzn-ErrorType"), "ForbiddenException")

    def test_rest_method_with_a_valid_key_reaches_the_function(self):
        identity = self.server.json("KeyedApi", "GET", "/keyed", headers={"x-api-key": GOOD_KEY})
        self.assertEqual(identity["apiKey"], GOOD_KEY)
        self.assertRegex(identity["apiKeyId"], r"^[a-z0-9]{10}$")
        self.assertEqual(identity["sourceIp"], "127.0.0.1")

    def test_event_level_api_key_required_false(self):
        identity = self.server.json("KeyedApi", "GET", "/open")
        self.assertNotIn("apiKey", identity)
        self.assertNotIn("apiKeyId", identity)

    def test_startup_says_which_keys_are_accepted(self):
        self.assertIn("API KeyedApi: methods with ApiKeyRequired need an x-api-key header "
                      "(one of the template's 2 API key value(s))", self.server.stdout())

    def test_openapi_security_naming_an_api_key_scheme(self):
        status, _, body = self.server.request("DocApi", "GET", "/doc")
        self.assertEqual((status, json.loads(body)), (403, {"message": "Forbidden"}))
        identity = self.server.json("DocApi", "GET", "/doc", headers={"x-api-key": GOOD_KEY})
        self.assertEqual(identity["apiKey"], GOOD_KEY)
        self.assertNotIn("apiKey", self.server.json("DocApi", "GET", "/free"))

    def test_method_resource_with_api_key_required(self):
        status, _, body = self.server.request("RawApi", "GET", "/raw")
        self.assertEqual((status, json.loads(body)), (403, {"message": "Forbidden"}))
        identity = self.server.json("RawApi", "GET", "/raw", headers={"x-api-key": GOOD_KEY})
        self.assertEqual(identity["apiKey"], GOOD_KEY)

    # ---- WebSocket

    def test_mock_connect_refuses_with_its_status(self):
        with self.assertRaises(HandshakeRefused) as refused:
            WebSocket(self.server.port("Closed"), "/")
        self.assertEqual(refused.exception.status, 403)
        self.assertIn("$connect        MOCK", self.server.stdout())

    def test_websocket_connect_requires_a_key(self):
        port = self.server.port("Chat")
        before = set(os.listdir(self.records))
        for headers in ({}, {"x-api-key": "wrong-key-0123456789abcdef"}):
            with self.assertRaises(HandshakeRefused) as refused:
                WebSocket(port, "/", headers=headers)
            self.assertEqual(refused.exception.status, 403)
            self.assertEqual(json.loads(refused.exception.body), {"message": "Forbidden"})
        self.assertEqual(set(os.listdir(self.records)), before)  # $connect never ran
        ws = WebSocket(port, "/", headers={"x-api-key": GOOD_KEY})
        ws.close()
        new = set(os.listdir(self.records)) - before
        self.assertEqual(len(new), 1)
        with open(os.path.join(self.records, new.pop())) as f:
            event = json.load(f)
        identity = event["requestContext"]["identity"]
        self.assertEqual(identity["apiKey"], GOOD_KEY)
        self.assertRegex(identity["apiKeyId"], r"^[a-z0-9]{10}$")

    def test_mock_integration_answers_from_its_response_template(self):
        ws = WebSocket(self.server.port("Chat"), "/", headers={"x-api-key": GOOD_KEY})
        try:
            ws.send(json.dumps({"action": "quiet"}))  # one-way MOCK: nothing comes back
            ws.send(json.dumps({"action": "ping", "n": 7}))
            answer = json.loads(ws.recv())
        finally:
            ws.close()
        self.assertEqual(answer["route"], "ping")
        self.assertEqual(answer["stage"], "live")
        self.assertEqual(answer["got"], {"action": "ping", "n": 7})
        self.assertEqual(len(answer["pong"]), 16)

    def test_unsupported_integration_warns_and_answers_internal_server_error(self):
        self.assertIn("route $default integrates AWS integration, which wisp does not run "
                      "locally", self.server.stderr() + self.server.stdout())
        ws = WebSocket(self.server.port("Chat"), "/", headers={"x-api-key": GOOD_KEY})
        try:
            ws.send("anything else")
            answer = json.loads(ws.recv())
        finally:
            ws.close()
        self.assertEqual(answer["message"], "Internal server error")
        self.assertEqual(len(answer["connectionId"]), 16)


if __name__ == "__main__":
    harness.main()
