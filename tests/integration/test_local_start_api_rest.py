"""`wisp local start-api` for a REST API (payload 1.0), over real HTTP: routing and its
priorities, the event API Gateway builds, response mapping, binary media types, CORS
preflight, stage variables, gateway-level answers, stage throttling, reserved concurrency,
Lambda TOKEN/REQUEST authorizers with caching."""

import base64
import json
import shutil
import tempfile
import threading
import unittest

import harness
from gateway_helpers import Server, header, wait_until

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.11
    CodeUri: src/
    Timeout: 5
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Variables:
        env: local
        color: blue
      BinaryMediaTypes: ["image~1png", "application~1octet-stream"]
      Cors:
        AllowOrigin: "'*'"
        AllowHeaders: "'Content-Type,Authorization'"
        MaxAge: "'600'"
      MethodSettings:
        - ResourcePath: "/~1throttled"
          HttpMethod: GET
          ThrottlingRateLimit: 1
          ThrottlingBurstLimit: 1
      Auth:
        Authorizers:
          TokenAuth:
            FunctionArn: !GetAtt TokenAuthFunction.Arn
            Identity:
              Header: Authorization
              ValidationExpression: "^[a-z]+$"
              ReauthorizeEvery: 300
          RequestAuth:
            FunctionPayloadType: REQUEST
            FunctionArn: !GetAtt RequestAuthFunction.Arn
            Identity:
              Headers: [X-User]
              QueryStrings: [tenant]
              ReauthorizeEvery: 0
          CachedRequestAuth:
            FunctionPayloadType: REQUEST
            FunctionArn: !GetAtt RequestAuthFunction.Arn
            Identity:
              Headers: [X-User]
              QueryStrings: [tenant]
              ReauthorizeEvery: 300
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      Events:
        Root: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /, Method: get}}
        User: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/users/{id}", Method: get}}
        Me: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /users/me, Method: post}}
        Proxy: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/{proxy+}", Method: any}}
        Upload: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /upload, Method: post}}
        Throttled: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /throttled, Method: get}}
        Token:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /token, Method: get, Auth: {Authorizer: TokenAuth}}
        Request:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /request, Method: get, Auth: {Authorizer: RequestAuth}}
        CachedRequest:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /request-cached
            Method: get
            Auth: {Authorizer: CachedRequestAuth}
  NodeFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
      Events:
        Node: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /node, Method: get}}
  ShapesFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.shapes
      Events:
        Shapes: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/shapes/{kind}", Method: get}}
  BoomFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.boom
      Events:
        Boom: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /boom, Method: get}}
  SlowFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.slow
      Timeout: 1
      ReservedConcurrentExecutions: 1
      Events:
        Slow: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /slow, Method: get}}
  TokenAuthFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: auth.token
  RequestAuthFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: auth.request
"""

APP = r'''
import base64, json, time
def echo(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(event)}
def shapes(event, context):
    kind = event["pathParameters"]["kind"]
    if kind == "multi":
        return {"statusCode": 201, "headers": {"X-One": "1", "Set-Cookie": "a=1"},
                "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": "multi"}
    if kind == "png":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                "isBase64Encoded": True,
                "body": base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\xff").decode()}
    if kind == "nobody":
        return {"statusCode": 204}
    if kind == "string-status":
        return {"statusCode": "202", "body": "accepted"}
    if kind == "object-body":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if kind == "no-status":
        return {"body": "x"}
    if kind == "text":
        return "just text"
    if kind == "remapped":
        return {"statusCode": 200, "headers": {"Server": "mine", "Content-Length": "999"}, "body": "ok"}
    return {"statusCode": 400, "body": "unknown"}
def boom(event, context):
    raise ValueError("boom")
def slow(event, context):
    time.sleep(float((event.get("queryStringParameters") or {}).get("s", "0.6")))
    return {"statusCode": 200, "body": "done"}
'''

AUTH = r'''
calls = 0
def policy(effect, event, principal, extra=None):
    global calls
    calls += 1
    context = {"role": "admin", "count": 3, "ok": True, "calls": calls}
    context.update(extra or {})
    return {"principalId": principal,
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
            "context": context}
def token(event, context):
    t = event["authorizationToken"]
    if t == "unauthorized":
        raise Exception("Unauthorized")
    if t == "broken":
        return {"nope": 1}
    if t == "other":
        doc = policy("Allow", event, "u")
        doc["policyDocument"]["Statement"][0]["Resource"] = "arn:aws:execute-api:*:*:*/*/POST/nothing"
        return doc
    return policy("Deny" if t == "deny" else "Allow", event, "user-" + t,
                  {"type": event["type"], "arn": event["methodArn"]})
def request(event, context):
    user = event["headers"].get("X-User")
    tenant = (event.get("queryStringParameters") or {}).get("tenant")
    return policy("Allow" if user == "ann" else "Deny", event, user or "nobody",
                  {"tenant": tenant or "", "type": event["type"]})
'''

NODE = r"""
exports.handler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'text/plain' },
  body: `node ${event.httpMethod} ${event.requestContext.stage}`,
});
"""


class RestApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("python3.11", "Python runtime")
        harness.require_peer("node", "Node.js runtime")
        cls.tmp = tempfile.mkdtemp(prefix="wisp-rest-")
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(TEMPLATE)
        import os

        os.makedirs(f"{cls.tmp}/src")
        for name, text in (("app.py", APP), ("auth.py", AUTH), ("index.js", NODE)):
            with open(f"{cls.tmp}/src/{name}", "w") as f:
                f.write(text)
        cls.server = Server(cls.tmp, "--no-watch")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path, **kw):
        return self.server.request("Api", kw.pop("method", "GET"), path, **kw)

    def event(self, path, **kw):
        status, headers, body = self.get(path, **kw)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_startup_lines(self):
        self.assertIn("Api (REST API, stage dev): http://127.0.0.1:", self.server.stdout())
        self.assertRegex(self.server.stdout(), r"GET\s+/users/\{id\}\s+EchoFunction")

    def test_event_fields(self):
        event = self.event(
            "/users/a%20b?q=1&q=2&x=y%26z",
            headers={"X-Dup": "one", "User-Agent": "tester/1", "Cookie": "a=1; b=2"},
        )
        self.assertEqual(event["resource"], "/users/{id}")
        self.assertEqual(event["path"], "/users/a%20b")
        self.assertEqual(event["httpMethod"], "GET")
        self.assertEqual(event["pathParameters"], {"id": "a b"})
        self.assertEqual(event["queryStringParameters"], {"q": "2", "x": "y&z"})
        self.assertEqual(event["multiValueQueryStringParameters"], {"q": ["1", "2"], "x": ["y&z"]})
        self.assertEqual(event["headers"]["X-Dup"], "one")
        self.assertEqual(event["headers"]["Cookie"], "a=1; b=2")
        self.assertEqual(event["headers"]["X-Forwarded-Proto"], "http")
        self.assertEqual(event["headers"]["X-Forwarded-For"], "127.0.0.1")
        self.assertEqual(event["headers"]["X-Forwarded-Port"], str(self.server.port("Api")))
        self.assertTrue(event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-"))
        self.assertEqual(event["multiValueHeaders"]["X-Dup"], ["one"])
        self.assertEqual(event["stageVariables"], {"env": "local", "color": "blue"})
        self.assertIsNone(event["body"])
        self.assertFalse(event["isBase64Encoded"])
        ctx = event["requestContext"]
        self.assertEqual(ctx["path"], "/dev/users/a%20b")
        self.assertEqual(ctx["stage"], "dev")
        self.assertEqual(ctx["resourcePath"], "/users/{id}")
        self.assertEqual(ctx["httpMethod"], "GET")
        self.assertEqual(ctx["identity"]["sourceIp"], "127.0.0.1")
        self.assertEqual(ctx["identity"]["userAgent"], "tester/1")
        self.assertEqual(ctx["accountId"], "123456789012")
        self.assertRegex(ctx["apiId"], r"^[a-z0-9]{10}$")
        self.assertRegex(ctx["resourceId"], r"^[a-z0-9]{6}$")
        self.assertRegex(ctx["requestId"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertRegex(ctx["requestTime"], r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000$")
        self.assertGreater(ctx["requestTimeEpoch"], 1700000000000)
        self.assertNotIn("authorizer", ctx)

    def test_fresh_request_id_and_time_per_request(self):
        first = self.event("/users/1")["requestContext"]
        second = self.event("/users/1")["requestContext"]
        self.assertNotEqual(first["requestId"], second["requestId"])
        self.assertNotEqual(first["extendedRequestId"], second["extendedRequestId"])
        self.assertLessEqual(first["requestTimeEpoch"], second["requestTimeEpoch"])
        # The response carries API Gateway's request id header.
        status, headers, body = self.get("/users/1")
        self.assertEqual(header(headers, "x-amzn-RequestId"), json.loads(body)["requestContext"]["requestId"])

    def test_route_priorities(self):
        self.assertEqual(self.event("/users/me", method="POST", body="{}")["resource"], "/users/me")
        # /users/me has no GET: the request falls to /users/{id}, not to a 403.
        self.assertEqual(self.event("/users/me")["resource"], "/users/{id}")
        # No DELETE on /users/{id}: the greedy ANY /{proxy+} takes it.
        event = self.event("/users/me", method="DELETE")
        self.assertEqual(event["resource"], "/{proxy+}")
        self.assertEqual(event["pathParameters"], {"proxy": "users/me"})
        self.assertEqual(self.event("/")["resource"], "/")
        self.assertEqual(self.event("/a/b/c/")["pathParameters"], {"proxy": "a/b/c"})

    def test_unknown_route_is_403_missing_authentication_token(self):
        status, headers, body = self.get("/", method="POST")
        self.assertEqual(status, 403)
        self.assertEqual(body, b'{"message":"Missing Authentication Token"}')
        self.assertEqual(header(headers, "x-amzn-ErrorType"), "MissingAuthenticationTokenException")
        status, _, body = self.get("/x", method="PROPFIND")
        self.assertEqual((status, body), (403, b'{"message":"Missing Authentication Token"}'))

    def test_post_body_and_binary_media_types(self):
        event = self.event("/upload", method="POST", body='{"a": 1}',
                           headers={"Content-Type": "application/json"})
        self.assertEqual(event["body"], '{"a": 1}')
        self.assertFalse(event["isBase64Encoded"])
        raw = bytes(range(256))
        event = self.event("/upload", method="POST", body=raw,
                           headers={"Content-Type": "application/octet-stream"})
        self.assertTrue(event["isBase64Encoded"])
        self.assertEqual(base64.b64decode(event["body"]), raw)
        # The response: decoded only when the first Accept type is binary.
        status, headers, body = self.get("/shapes/png", headers={"Accept": "image/png"})
        self.assertEqual((status, body), (200, b"\x89PNG\r\n\x1a\n\x00\xff"))
        self.assertEqual(header(headers, "Content-Type"), "image/png")
        status, _, body = self.get("/shapes/png", headers={"Accept": "text/html,image/png"})
        self.assertEqual(body, base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\xff"))

    def test_response_mapping(self):
        status, headers, body = self.get("/shapes/multi")
        self.assertEqual((status, body), (201, b"multi"))
        self.assertEqual(header(headers, "X-One"), "1")
        self.assertEqual(header(headers, "Set-Cookie"), "a=1|b=2")
        self.assertEqual(header(headers, "Content-Type"), "application/json")
        status, headers, body = self.get("/shapes/nobody")
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(self.get("/shapes/string-status")[0], 202)
        status, headers, body = self.get("/shapes/remapped")
        self.assertEqual(header(headers, "X-Amzn-Remapped-Server"), "mine")
        self.assertEqual(header(headers, "X-Amzn-Remapped-Content-Length"), "999")
        self.assertEqual(header(headers, "Content-Length"), "2")
        status, headers, body = self.get("/node")
        self.assertEqual((status, body), (200, b"node GET dev"))
        # HEAD: the headers without the body.
        status, headers, body = self.server.request("Api", "HEAD", "/users/1")
        self.assertEqual((status, body), (200, b""))
        self.assertGreater(int(header(headers, "Content-Length")), 100)

    def test_malformed_responses_and_errors_are_502(self):
        for kind in ("object-body", "no-status", "text"):
            status, headers, body = self.get(f"/shapes/{kind}")
            self.assertEqual((status, body), (502, b'{"message": "Internal server error"}'), kind)
        status, _, body = self.get("/boom")
        self.assertEqual((status, body), (502, b'{"message": "Internal server error"}'))
        # A function timeout (Timeout: 1) is a function error too.
        status, _, body = self.get("/slow?s=3")
        self.assertEqual((status, body), (502, b'{"message": "Internal server error"}'))
        self.assertTrue(wait_until(lambda: "malformed Lambda proxy response" in self.server.stderr()))

    def test_reserved_concurrency_throttle_is_500(self):
        results = []

        def call():
            results.append(self.get("/slow?s=0.8"))

        threads = [threading.Thread(target=call) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r[0] for r in results)
        self.assertEqual(statuses.count(200), 1, results)
        for status, _, body in results:
            if status != 200:
                self.assertEqual((status, body), (500, b'{"message": "Internal server error"}'))

    def test_stage_throttling_from_method_settings(self):
        statuses = [self.get("/throttled")[0] for _ in range(3)]
        self.assertEqual(statuses[0], 200)
        self.assertIn(429, statuses)
        status, _, body = next(r for r in (self.get("/throttled") for _ in range(3)) if r[0] == 429)
        self.assertEqual(body, b'{"message":"Too Many Requests"}')

    def test_cors_preflight_only(self):
        status, headers, body = self.get("/users/1", method="OPTIONS",
                                         headers={"Origin": "https://x.example",
                                                  "Access-Control-Request-Method": "GET"})
        self.assertEqual(status, 200)
        self.assertEqual(header(headers, "Access-Control-Allow-Origin"), "*")
        self.assertEqual(header(headers, "Access-Control-Allow-Headers"), "Content-Type,Authorization")
        self.assertEqual(header(headers, "Access-Control-Allow-Methods"), "GET,OPTIONS")
        self.assertEqual(header(headers, "Access-Control-Max-Age"), "600")
        # ANY on the greedy path: every method.
        status, headers, _ = self.get("/any/thing", method="OPTIONS")
        self.assertEqual(header(headers, "Access-Control-Allow-Methods"),
                         "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT")
        # Actual responses carry only what the function returns (unlike SAM CLI).
        status, headers, _ = self.get("/users/1", headers={"Origin": "https://x.example"})
        self.assertEqual(header(headers, "Access-Control-Allow-Origin"), "")

    def test_token_authorizer(self):
        event = self.event("/token", headers={"Authorization": "alice"})
        authorizer = event["requestContext"]["authorizer"]
        self.assertEqual(authorizer["principalId"], "user-alice")
        self.assertEqual(authorizer["role"], "admin")
        self.assertEqual(authorizer["count"], 3)
        self.assertEqual(authorizer["type"], "TOKEN")
        self.assertTrue(authorizer["arn"].endswith(f":{event['requestContext']['apiId']}/dev/GET/token"))
        self.assertIsInstance(authorizer["integrationLatency"], int)
        # Cached by token for ReauthorizeEvery: the authorizer is not called again.
        again = self.event("/token", headers={"Authorization": "alice"})["requestContext"]["authorizer"]
        self.assertEqual(again["calls"], authorizer["calls"])
        self.assertEqual(again["integrationLatency"], 0)

    def test_token_authorizer_denials(self):
        status, headers, body = self.get("/token")
        self.assertEqual((status, body), (401, b'{"message":"Unauthorized"}'))
        status, _, body = self.get("/token", headers={"Authorization": "NotLower"})
        self.assertEqual((status, body), (401, b'{"message":"Unauthorized"}'))  # ValidationExpression
        status, _, body = self.get("/token", headers={"Authorization": "unauthorized"})
        self.assertEqual((status, body), (401, b'{"message":"Unauthorized"}'))
        status, headers, body = self.get("/token", headers={"Authorization": "deny"})
        self.assertEqual(status, 403)
        self.assertEqual(body, b'{"Message":"User is not authorized to access this resource with an explicit deny"}')
        self.assertEqual(header(headers, "x-amzn-ErrorType"), "AccessDeniedException")
        status, _, body = self.get("/token", headers={"Authorization": "other"})
        self.assertEqual((status, body), (403, b'{"Message":"User is not authorized to access this resource"}'))
        status, headers, body = self.get("/token", headers={"Authorization": "broken"})
        self.assertEqual((status, body), (500, b'{"message": null}'))
        self.assertEqual(header(headers, "x-amzn-ErrorType"), "AuthorizerConfigurationException")

    def test_request_authorizer(self):
        event = self.event("/request?tenant=t1", headers={"X-User": "ann"})
        authorizer = event["requestContext"]["authorizer"]
        self.assertEqual(authorizer["principalId"], "ann")
        self.assertEqual(authorizer["tenant"], "t1")
        self.assertEqual(authorizer["type"], "REQUEST")
        # No caching (ReauthorizeEvery: 0): the identity sources are not required.
        status, _, body = self.get("/request")
        self.assertEqual(status, 403)
        second = self.event("/request?tenant=t1", headers={"X-User": "ann"})["requestContext"]["authorizer"]
        self.assertGreater(second["calls"], authorizer["calls"])

    def test_request_authorizer_cached_by_identity_sources(self):
        # With caching every identity source is required: a missing one is 401 without a call.
        for kw in ({"headers": {"X-User": "ann"}}, {}):
            status, _, body = self.get("/request-cached", **kw)
            self.assertEqual((status, body), (401, b'{"message":"Unauthorized"}'))
        status, _, body = self.get("/request-cached?tenant=t1")
        self.assertEqual((status, body), (401, b'{"message":"Unauthorized"}'))
        first = self.event("/request-cached?tenant=t1", headers={"X-User": "ann"})
        first = first["requestContext"]["authorizer"]
        self.assertEqual((first["principalId"], first["tenant"]), ("ann", "t1"))
        # Same identity values within ReauthorizeEvery: the cached answer, no new call.
        again = self.event("/request-cached?tenant=t1&other=x", headers={"X-User": "ann"})
        self.assertEqual(again["requestContext"]["authorizer"]["calls"], first["calls"])
        # Another value of any identity source is another cache entry.
        other = self.event("/request-cached?tenant=t2", headers={"X-User": "ann"})
        other = other["requestContext"]["authorizer"]
        self.assertEqual(other["tenant"], "t2")
        self.assertGreater(other["calls"], first["calls"])
        # A cached Deny keeps denying; the uncached authorizer's entries are its own.
        for _ in range(2):
            status, _, body = self.get("/request-cached?tenant=t1", headers={"X-User": "bob"})
            self.assertEqual(status, 403)
            self.assertEqual(
                body, b'{"Message":"User is not authorized to access this resource with an explicit deny"}')
        uncached = self.event("/request?tenant=t1", headers={"X-User": "ann"})
        self.assertGreater(uncached["requestContext"]["authorizer"]["calls"], other["calls"])
        again = self.event("/request-cached?tenant=t1", headers={"X-User": "ann"})
        self.assertEqual(again["requestContext"]["authorizer"]["calls"], first["calls"])


if __name__ == "__main__":
    harness.main()
