"""`wisp local start-api` for HTTP APIs (payload 2.0 and 1.0) over real HTTP: routes and
$default, the 2.0 event (lower-case comma-joined headers, cookies, decoded rawPath, stage
prefix), response inference, cookies → Set-Cookie, base64 rules, CorsConfiguration, Lambda
authorizers (simple and IAM-policy responses), 404/500 texts; and several APIs side by side."""

import base64
import json
import os
import shutil
import tempfile
import unittest

import harness
from gateway_helpers import Server, header, raw_exchange

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.11
    CodeUri: src/
Resources:
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageVariables:
        v: "1"
      CorsConfiguration:
        AllowOrigins: ["https://app.example"]
        AllowMethods: [GET, POST]
        AllowHeaders: [authorization, content-type]
        ExposeHeaders: [x-total]
        MaxAge: 300
        AllowCredentials: true
      Auth:
        Authorizers:
          Simple:
            FunctionArn: !GetAtt SimpleAuthFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers: [Authorization]
              ReauthorizeEvery: 60
          Policy:
            FunctionArn: !GetAtt PolicyAuthFunction.Arn
            AuthorizerPayloadFormatVersion: "1.0"
            Identity:
              Headers: [X-Token]
  Staged:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: beta
      CorsConfiguration:
        AllowOrigins: ["*"]
        AllowMethods: [GET]
        AllowHeaders: ["*"]
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      Events:
        Default: {Type: HttpApi, Properties: {ApiId: !Ref Http}}
        Item: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: "/items/{id}", Method: get}}
        Greedy: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: "/files/{path+}", Method: any}}
        V1: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: "/v1/{id}", Method: get, PayloadFormatVersion: "1.0"}}
        Secure:
          Type: HttpApi
          Properties: {ApiId: !Ref Http, Path: /secure, Method: get, Auth: {Authorizer: Simple}}
        Policy:
          Type: HttpApi
          Properties: {ApiId: !Ref Http, Path: /policy, Method: get, Auth: {Authorizer: Policy}}
        Beta: {Type: HttpApi, Properties: {ApiId: !Ref Staged, Path: /where, Method: get}}
  ShapesFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.shapes
      Events:
        Shapes: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: "/shapes/{kind}", Method: get}}
        ShapesV1: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: "/shapes1/{kind}", Method: get, PayloadFormatVersion: "1.0"}}
  SimpleAuthFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: auth.simple
  PolicyAuthFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: auth.policy
"""

APP = r'''
import base64, json
def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json",
                                           "access-control-allow-origin": "https://function.example"},
            "body": json.dumps(event)}
def shapes(event, context):
    kind = event["pathParameters"]["kind"]
    if kind == "infer-object":
        return {"message": "Hello from Lambda!"}
    if kind == "infer-string":
        return "Hello from Lambda!"
    if kind == "cookies":
        return {"statusCode": 200, "cookies": ["a=1; Path=/", "b=2"], "body": "c",
                "headers": {"x-total": "2"}}
    if kind == "binary":
        return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                "isBase64Encoded": True, "body": base64.b64encode(b"\x00\x01\xfe").decode()}
    if kind == "bad-status":
        return {"statusCode": "abc"}
    if kind == "no-status-v1":
        return {"body": "x"}
    raise RuntimeError("boom")
'''

AUTH = r'''
calls = 0
def simple(event, context):
    global calls
    calls += 1
    token = event["headers"].get("authorization")
    return {"isAuthorized": token == "secret",
            "context": {"user": "u1", "n": 1, "list": [1, 2], "src": event["identitySource"],
                        "calls": calls,
                        "route": event["routeKey"], "version": event["version"]}}
def policy(event, context):
    effect = "Allow" if event["headers"].get("x-token") == "ok" else "Deny"
    return {"principalId": "p1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
            "context": {"k": "v", "version": event["version"], "src": event["identitySource"]}}
'''


class HttpApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("python3.11", "Python runtime")
        cls.tmp = tempfile.mkdtemp(prefix="wisp-http-")
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(TEMPLATE)
        os.makedirs(f"{cls.tmp}/src")
        for name, text in (("app.py", APP), ("auth.py", AUTH)):
            with open(f"{cls.tmp}/src/{name}", "w") as f:
                f.write(text)
        cls.server = Server(cls.tmp, "--no-watch")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path, api="Http", **kw):
        return self.server.request(api, kw.pop("method", "GET"), path, **kw)

    def event(self, path, **kw):
        status, headers, body = self.get(path, **kw)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_apis_side_by_side(self):
        self.assertEqual(set(self.server.ports), {"Http", "Staged"})
        self.assertNotEqual(self.server.port("Http"), self.server.port("Staged"))
        self.assertEqual(self.server.stages, {"Http": "$default", "Staged": "beta"})
        event = self.event("/where", api="Staged")
        self.assertEqual(event["rawPath"], "/beta/where")
        self.assertEqual(event["requestContext"]["stage"], "beta")
        self.assertEqual(event["requestContext"]["http"]["path"], "/beta/where")
        status, _, body = self.get("/where")  # not a route of Http: its $default takes it
        self.assertEqual(json.loads(body)["routeKey"], "$default")

    def test_v2_event(self):
        event = self.event(
            "/items/a%20b?q=1&q=2&x=y%26z",
            headers={"X-Dup": "one", "Cookie": "a=1; b=2", "User-Agent": "tester/2"},
        )
        self.assertEqual(event["version"], "2.0")
        self.assertEqual(event["routeKey"], "GET /items/{id}")
        self.assertEqual(event["rawPath"], "/items/a b")
        self.assertEqual(event["rawQueryString"], "q=1&q=2&x=y%26z")
        self.assertEqual(event["cookies"], ["a=1", "b=2"])
        self.assertEqual(event["queryStringParameters"], {"q": "1,2", "x": "y&z"})
        self.assertEqual(event["pathParameters"], {"id": "a b"})
        self.assertEqual(event["stageVariables"], {"v": "1"})
        self.assertEqual(event["headers"]["x-dup"], "one")
        self.assertEqual(event["headers"]["user-agent"], "tester/2")
        self.assertNotIn("cookie", event["headers"])
        self.assertFalse(any(k != k.lower() for k in event["headers"]))
        self.assertNotIn("body", event)
        self.assertFalse(event["isBase64Encoded"])
        ctx = event["requestContext"]
        self.assertEqual(ctx["routeKey"], "GET /items/{id}")
        self.assertEqual(ctx["stage"], "$default")
        self.assertEqual(ctx["http"], {"method": "GET", "path": "/items/a b", "protocol": "HTTP/1.1",
                                       "sourceIp": "127.0.0.1", "userAgent": "tester/2"})
        self.assertRegex(ctx["requestId"], r"^[A-Za-z0-9_-]{15}=$")
        self.assertRegex(ctx["time"], r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000$")
        self.assertIsInstance(ctx["timeEpoch"], int)
        self.assertNotIn("authorizer", ctx)

    def test_duplicate_headers_are_comma_joined(self):
        # http.client takes a dict: send the duplicates raw.
        raw = raw_exchange(
            self.server.port("Http"),
            b"GET /items/1 HTTP/1.1\r\nHost: x\r\nX-Dup: one\r\nx-dup: two\r\nConnection: close\r\n\r\n",
        )
        body = raw.split(b"\r\n\r\n", 1)[1]
        self.assertEqual(json.loads(body)["headers"]["x-dup"], "one,two")

    def test_default_route_and_greedy(self):
        event = self.event("/anything/else?z=1", method="POST", body="hello",
                           headers={"Content-Type": "text/plain"})
        self.assertEqual(event["routeKey"], "$default")
        self.assertEqual(event["body"], "hello")
        self.assertFalse(event["isBase64Encoded"])
        self.assertNotIn("pathParameters", event)
        event = self.event("/files/a/b%2Fc.txt")
        self.assertEqual(event["routeKey"], "ANY /files/{path+}")
        self.assertEqual(event["pathParameters"], {"path": "a/b/c.txt"})

    def test_request_bodies_base64_by_content_type(self):
        for content_type, encoded in (("application/json", False), ("text/csv; charset=utf-8", False),
                                      ("application/xml", False), ("application/octet-stream", True),
                                      ("application/x-www-form-urlencoded", True), (None, True)):
            headers = {"Content-Type": content_type} if content_type else {}
            event = self.event("/x", method="POST", body="a=1", headers=headers)
            self.assertEqual(event["isBase64Encoded"], encoded, content_type)
            self.assertEqual(base64.b64decode(event["body"]) if encoded else event["body"].encode(), b"a=1")

    def test_payload_1_0_route(self):
        event = self.event("/v1/7?a=1&a=2", headers={"X-One": "1"})
        self.assertEqual(event["version"], "1.0")
        self.assertEqual(event["resource"], "/v1/{id}")
        self.assertEqual(event["path"], "/v1/7")
        self.assertEqual(event["httpMethod"], "GET")
        self.assertEqual(event["headers"]["x-one"], "1")
        self.assertEqual(event["multiValueQueryStringParameters"], {"a": ["1", "2"]})
        self.assertEqual(event["queryStringParameters"], {"a": "2"})
        self.assertEqual(event["requestContext"]["stage"], "$default")
        self.assertIsNone(event["requestContext"]["resourceId"])

    def test_response_inference_cookies_binary(self):
        status, headers, body = self.get("/shapes/infer-object")
        self.assertEqual((status, body), (200, b'{"message": "Hello from Lambda!"}'))
        self.assertEqual(header(headers, "content-type"), "application/json")
        status, headers, body = self.get("/shapes/infer-string")
        self.assertEqual((status, body), (200, b"Hello from Lambda!"))
        status, headers, body = self.get("/shapes/cookies")
        self.assertEqual(header(headers, "set-cookie"), "a=1; Path=/|b=2")
        self.assertEqual(body, b"c")
        status, headers, body = self.get("/shapes/binary")
        self.assertEqual(body, b"\x00\x01\xfe")  # HTTP APIs decode whenever isBase64Encoded

    def test_errors_are_500_and_unknown_routes_404(self):
        for path in ("/shapes/bad-status", "/shapes/raise", "/shapes1/no-status-v1"):
            status, _, body = self.get(path)
            self.assertEqual((status, body), (500, b'{"message":"Internal Server Error"}'), path)
        status, _, body = self.get("/x", method="BREW")
        self.assertEqual((status, body), (404, b'{"message":"Not Found"}'))

    def test_cors_preflight(self):
        preflight = {"Origin": "https://site.example", "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "x-custom"}
        status, headers, body = self.get("/where", api="Staged", method="OPTIONS", headers=preflight)
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(header(headers, "access-control-allow-origin"), "*")
        self.assertEqual(header(headers, "access-control-allow-methods"), "GET")
        self.assertEqual(header(headers, "access-control-allow-headers"), "x-custom")
        # Answered even for paths without a route.
        status, headers, _ = self.get("/nowhere", api="Staged", method="OPTIONS", headers=preflight)
        self.assertEqual(status, 204)
        self.assertEqual(header(headers, "access-control-allow-origin"), "*")
        # A plain OPTIONS (no preflight headers) is an ordinary request: no route → 404.
        status, _, body = self.get("/nowhere", api="Staged", method="OPTIONS")
        self.assertEqual((status, body), (404, b'{"message":"Not Found"}'))

    def test_cors(self):
        origin = {"Origin": "https://app.example"}
        # With a $default route, preflights reach $default (AWS's documented behaviour); the
        # configured CORS headers are added to its response.
        status, headers, body = self.get("/items/1", method="OPTIONS",
                                         headers={**origin, "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["routeKey"], "$default")
        self.assertEqual(header(headers, "access-control-allow-origin"), "https://app.example")
        self.assertEqual(header(headers, "access-control-allow-credentials"), "true")
        # Actual responses: the configured headers for an allowed origin; the function's own
        # CORS headers are ignored.
        status, headers, _ = self.get("/items/1", headers=origin)
        self.assertEqual(header(headers, "access-control-allow-origin"), "https://app.example")
        self.assertEqual(header(headers, "access-control-expose-headers"), "x-total")
        status, headers, _ = self.get("/items/1", headers={"Origin": "https://evil.example"})
        self.assertEqual(header(headers, "access-control-allow-origin"), "")
        status, headers, _ = self.get("/where", api="Staged", method="OPTIONS",
                                      headers={"Origin": "https://evil.example",
                                               "Access-Control-Request-Method": "PUT"})
        self.assertEqual(status, 204)
        self.assertEqual(header(headers, "access-control-allow-origin"), "*")

    def test_simple_authorizer(self):
        status, _, body = self.get("/secure")
        self.assertEqual((status, body), (401, b'{"message":"Unauthorized"}'))
        status, _, body = self.get("/secure", headers={"Authorization": "wrong"})
        self.assertEqual((status, body), (403, b'{"message":"Forbidden"}'))
        event = self.event("/secure", headers={"Authorization": "secret"})
        lam = event["requestContext"]["authorizer"]["lambda"]
        self.assertEqual(lam["user"], "u1")
        self.assertEqual(lam["list"], [1, 2])
        self.assertEqual(lam["src"], ["secret"])
        self.assertEqual(lam["route"], "GET /secure")
        self.assertEqual(lam["version"], "2.0")
        # Cached by the identity source's value for ReauthorizeEvery (60 s): no new call.
        again = self.event("/secure?x=1", headers={"Authorization": "secret"})
        self.assertEqual(again["requestContext"]["authorizer"]["lambda"]["calls"], lam["calls"])

    def test_policy_authorizer_format_1_0(self):
        status, _, body = self.get("/policy")
        self.assertEqual((status, body), (401, b'{"message":"Unauthorized"}'))
        status, _, body = self.get("/policy", headers={"X-Token": "no"})
        self.assertEqual((status, body), (403, b'{"message":"Forbidden"}'))
        event = self.event("/policy", headers={"X-Token": "ok"})
        lam = event["requestContext"]["authorizer"]["lambda"]
        self.assertEqual(lam["k"], "v")
        self.assertEqual(lam["version"], "1.0")
        self.assertEqual(lam["src"], "ok")


if __name__ == "__main__":
    harness.main()
