"""Conformance: the events `wisp local start-api` hands to functions and authorizers validate
against the API Gateway v1 and v2 event schemas of @aws-lambda-powertools/parser (zod).
Functions record every event they receive; a Node script validates them all."""

import os
import subprocess
import unittest

import harness
from gateway_helpers import Server

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.11
    CodeUri: src/
    Environment:
      Variables:
        EVENTS_DIR: {events}
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Variables: {{a: "1"}}
      BinaryMediaTypes: ["application~1octet-stream"]
      Auth:
        Authorizers:
          Token:
            FunctionArn: !GetAtt TokenAuth.Arn
            Identity: {{ReauthorizeEvery: 0}}
          Request:
            FunctionPayloadType: REQUEST
            FunctionArn: !GetAtt RequestAuth.Arn
            Identity: {{Headers: [X-User], ReauthorizeEvery: 0}}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageVariables: {{b: "2"}}
      Auth:
        Authorizers:
          Lambda:
            FunctionArn: !GetAtt V2Auth.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: {{Headers: [Authorization]}}
  Recorder:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.record
      Events:
        RestRoot: {{Type: Api, Properties: {{RestApiId: !Ref Rest, Path: /, Method: any}}}}
        RestItem: {{Type: Api, Properties: {{RestApiId: !Ref Rest, Path: "/items/{{id}}", Method: any}}}}
        RestProxy: {{Type: Api, Properties: {{RestApiId: !Ref Rest, Path: "/{{proxy+}}", Method: any}}}}
        RestToken: {{Type: Api, Properties: {{RestApiId: !Ref Rest, Path: /token, Method: get, Auth: {{Authorizer: Token}}}}}}
        RestRequest: {{Type: Api, Properties: {{RestApiId: !Ref Rest, Path: /request, Method: get, Auth: {{Authorizer: Request}}}}}}
        HttpDefault: {{Type: HttpApi, Properties: {{ApiId: !Ref Http}}}}
        HttpItem: {{Type: HttpApi, Properties: {{ApiId: !Ref Http, Path: "/items/{{id}}", Method: any}}}}
        HttpV1: {{Type: HttpApi, Properties: {{ApiId: !Ref Http, Path: "/v1/{{proxy+}}", Method: any, PayloadFormatVersion: "1.0"}}}}
        HttpAuth: {{Type: HttpApi, Properties: {{ApiId: !Ref Http, Path: /secure, Method: get, Auth: {{Authorizer: Lambda}}}}}}
  TokenAuth:
    Type: AWS::Serverless::Function
    Properties: {{Handler: app.token}}
  RequestAuth:
    Type: AWS::Serverless::Function
    Properties: {{Handler: app.request}}
  V2Auth:
    Type: AWS::Serverless::Function
    Properties: {{Handler: app.v2auth}}
"""

APP = r'''
import json, os, uuid
def save(kind, event):
    with open(os.path.join(os.environ["EVENTS_DIR"], "%s-%s.json" % (kind, uuid.uuid4().hex)), "w") as f:
        json.dump(event, f)
def record(event, context):
    if event.get("version") == "2.0":
        kind = "http2"
    elif event.get("version") == "1.0":
        kind = "http1"
    else:
        kind = "rest"
    save(kind, event)
    return {"statusCode": 200, "body": "recorded " + kind}
def allow(event, principal):
    return {"principalId": principal, "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]},
        "context": {"s": "x", "n": 1, "b": True}}
def token(event, context):
    save("token", event)
    return allow(event, "tok")
def request(event, context):
    save("request", event)
    return allow(event, "req")
def v2auth(event, context):
    save("v2auth", event)
    return {"isAuthorized": True, "context": {"who": "me", "nested": {"a": [1]}}}
'''

REQUESTS = [
    ("GET", "/", None, {}),
    ("GET", "/items/42?a=1&a=2&b=", None, {"Cookie": "c=1; d=2", "X-Multi": "1"}),
    ("POST", "/items/7", b'{"json": true}', {"Content-Type": "application/json"}),
    ("PUT", "/items/%E2%82%AC", bytes(range(256)), {"Content-Type": "application/octet-stream"}),
    ("DELETE", "/deep/path/here/", None, {}),
    ("PATCH", "/x", "é ü text", {"Content-Type": "text/plain; charset=utf-8"}),
    ("HEAD", "/items/1", None, {}),
    ("OPTIONS", "/items/1", None, {}),
]


class ConformanceTest(harness.WispTestCase):
    def test_events_validate_against_powertools_schemas(self):
        harness.require_peer("python3.11", "Python runtime")
        harness.require_peer("node", "Node.js to run the powertools schemas")
        modules = os.path.join(harness.PEERS_DIR, "powertools", "node_modules")
        if not os.path.isdir(os.path.join(modules, "@aws-lambda-powertools", "parser")):
            raise unittest.SkipTest(
                "PEER MISSING: @aws-lambda-powertools/parser (packaging/install-deps.sh --with-peers)")
        events = self.path("events")
        os.makedirs(events)
        self.write("template.yaml", TEMPLATE.format(events=events))
        self.write("src/app.py", APP)
        with Server(self.tmp, "--no-watch") as server:
            for api in ("Rest", "Http"):
                for method, path, body, headers in REQUESTS:
                    for route in (path, "/v1" + path) if api == "Http" else (path,):
                        status, _, data = server.request(api, method, route, body=body, headers=headers)
                        self.assertEqual(status, 200, (api, method, route, data, server.stderr()[-2000:]))
            for path, headers in (("/token", {"Authorization": "abc"}), ("/request", {"X-User": "u"})):
                self.assertEqual(server.request("Rest", "GET", path, headers=headers)[0], 200)
            self.assertEqual(server.request("Http", "GET", "/secure", headers={"Authorization": "t"})[0], 200)
        kinds = sorted({name.split("-")[0] for name in os.listdir(events)})
        self.assertEqual(kinds, ["http1", "http2", "request", "rest", "token", "v2auth"])
        proc = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "powertools_validate.cjs"), events],
                              capture_output=True, text=True, env=harness.env(NODE_PATH=modules), timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("failed 0", proc.stdout)
        self.assertGreaterEqual(len(os.listdir(events)), 30)


if __name__ == "__main__":
    harness.main()
