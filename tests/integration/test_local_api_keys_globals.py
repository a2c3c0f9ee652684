"""API keys inherited from `Globals.Api.Auth.ApiKeyRequired` under `wisp local start-api`, as
SAM's Globals merge gives them (checked against aws-sam-translator's output): the implicit
ServerlessRestApi and every AWS::Serverless::Api require a key (an event's `ApiKeyRequired:
false` exempts its method), so does every operation of a DefinitionBody (even `security: []`),
and the CORS preflights wisp answers need one too unless the API says
`AddApiKeyRequiredToCorsPreflight: false`. A REQUEST authorizer of a keyed method sees the key
the client sent in `requestContext.identity.apiKey` (it runs before the key is checked).
Client: http.client."""

import json
import os
import shutil
import tempfile
import unittest

import harness
from gateway_helpers import Server, header

GOOD_KEY = "globals-key-0123456789abcdef"
PREFLIGHT = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}

TEMPLATE = f"""
Transform: AWS::Serverless-2016-10-31
Globals:
  Api:
    Cors: "'*'"
    Auth:
      ApiKeyRequired: true
Resources:
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Runtime: python3.11
      Handler: app.echo
      Events:
        Hello:
          Type: Api
          Properties: {{Path: /hello, Method: get}}
        Open:
          Type: Api
          Properties: {{Path: /open, Method: get, Auth: {{ApiKeyRequired: false}}}}
        Other:
          Type: Api
          Properties: {{RestApiId: !Ref OtherApi, Path: /other, Method: get}}
        Guarded:
          Type: Api
          Properties: {{RestApiId: !Ref GuardedApi, Path: /guarded, Method: get}}
  OtherApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
        AddApiKeyRequiredToCorsPreflight: false
  GuardedApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
        DefaultAuthorizer: Gate
        Authorizers:
          Gate:
            FunctionArn: !GetAtt GateFunction.Arn
            FunctionPayloadType: REQUEST
            Identity: {{ReauthorizeEvery: 0}}
  GateFunction:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: src/, Runtime: python3.11, Handler: app.gate}}
  DocApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      DefinitionBody:
        swagger: "2.0"
        info: {{title: doc, version: "1"}}
        paths:
          /free:
            get:
              security: []
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{EchoFunction.Arn}}/invocations
  GoodKey:
    Type: AWS::ApiGateway::ApiKey
    Properties: {{Enabled: true, Value: {GOOD_KEY}}}
"""

APP = r'''
import json

def echo(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"])}

def gate(event, context):
    identity = event["requestContext"]["identity"]
    return {
        "principalId": "someone",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]},
        "context": {"seenKey": str(identity.get("apiKey")),
                    "seenKeyId": str(identity.get("apiKeyId"))},
    }
'''


class GlobalsApiKeyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("python3.11", "Python runtime")
        cls.tmp = tempfile.mkdtemp(prefix="wisp-keys-globals-", dir=harness.SCRATCH)
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(TEMPLATE)
        os.makedirs(f"{cls.tmp}/src")
        with open(f"{cls.tmp}/src/app.py", "w") as f:
            f.write(APP)
        cls.server = Server(cls.tmp, "--no-watch")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def assert_forbidden(self, api, method, path, headers=None):
        status, response_headers, body = self.server.request(api, method, path, headers=headers)
        self.assertEqual((status, json.loads(body)), (403, {"message": "Forbidden"}),
                         f"{api} {method} {path}")
        self.assertEqual(header(response_headers, "x-amzn-ErrorType"), "ForbiddenException")

    def test_implicit_api_inherits_the_globals_requirement(self):
        self.assert_forbidden("ServerlessRestApi", "GET", "/hello")
        self.assert_forbidden("ServerlessRestApi", "GET", "/hello", {"x-api-key": "wrong"})
        context = self.server.json("ServerlessRestApi", "GET", "/hello",
                                   headers={"x-api-key": GOOD_KEY})
        self.assertEqual(context["identity"]["apiKey"], GOOD_KEY)
        # An event's own ApiKeyRequired: false exempts its method.
        self.assertNotIn("apiKey", self.server.json("ServerlessRestApi", "GET", "/open")["identity"])

    def test_explicit_apis_inherit_it_and_definition_body_operations_too(self):
        self.assert_forbidden("OtherApi", "GET", "/other")
        self.server.json("OtherApi", "GET", "/other", headers={"x-api-key": GOOD_KEY})
        self.assert_forbidden("DocApi", "GET", "/free")
        self.server.json("DocApi", "GET", "/free", headers={"x-api-key": GOOD_KEY})

    def test_preflights_need_a_key_by_default(self):
        # SAM puts the api_key security on the OPTIONS methods it adds, including the one of a
        # path whose GET is exempt.
        for path in ("/hello", "/open"):
            self.assert_forbidden("ServerlessRestApi", "OPTIONS", path, PREFLIGHT)
        status, response_headers, _ = self.server.request(
            "ServerlessRestApi", "OPTIONS", "/hello", headers={**PREFLIGHT, "x-api-key": GOOD_KEY})
        self.assertEqual(status, 200)
        self.assertEqual(header(response_headers, "Access-Control-Allow-Origin"), "*")

    def test_add_api_key_required_to_cors_preflight_false(self):
        status, response_headers, _ = self.server.request("OtherApi", "OPTIONS", "/other",
                                                          headers=PREFLIGHT)
        self.assertEqual(status, 200)
        self.assertEqual(header(response_headers, "Access-Control-Allow-Origin"), "*")

    def test_request_authorizer_sees_the_key_the_client_sent(self):
        context = self.server.json("GuardedApi", "GET", "/guarded",
                                   headers={"x-api-key": GOOD_KEY})
        self.assertEqual(context["authorizer"]["seenKey"], GOOD_KEY)
        self.assertEqual(context["authorizer"]["seenKeyId"], context["identity"]["apiKeyId"])
        # A wrong key reaches the authorizer (it runs first), then the key check refuses it.
        self.assert_forbidden("GuardedApi", "GET", "/guarded", {"x-api-key": "not-the-key"})

    def test_startup_says_preflights_need_a_key(self):
        self.assertIn("API ServerlessRestApi: methods with ApiKeyRequired need an x-api-key header "
                      "(one of the template's 1 API key value(s)), CORS preflights too",
                      self.server.stdout())


if __name__ == "__main__":
    harness.main()
