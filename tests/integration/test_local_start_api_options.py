"""`wisp local start-api` options and template features: OpenAPI DefinitionBody routes,
--env-vars, --parameter-overrides, --stage, --disable-authorizer, JWT authorizers (served
unverified, with a warning), samconfig.toml parameters, bad --host."""

import json

import harness
from gateway_helpers import Server, wait_until

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
    Default: hello
Globals:
  Function:
    Runtime: python3.11
    CodeUri: src/
    Environment:
      Variables:
        GREETING: !Ref Greeting
        FROM_TEMPLATE: "t"
Resources:
  Defined:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Variables:
        greeting: !Ref Greeting
      DefinitionBody:
        openapi: "3.0.1"
        info: {title: defined, version: "1"}
        paths:
          /from-openapi/{id}:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${EchoFunction.Arn}/invocations"
      Auth:
        DefaultAuthorizer: Gate
        Authorizers:
          Gate:
            FunctionArn: !GetAtt GateFunction.Arn
  Jwt:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          Oidc:
            IdentitySource: "$request.header.Authorization"
            JwtConfiguration:
              issuer: "https://issuer.example"
              audience: [app]
        DefaultAuthorizer: Oidc
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      Events:
        Guarded: {Type: Api, Properties: {RestApiId: !Ref Defined, Path: /guarded, Method: get}}
        Open:
          Type: Api
          Properties: {RestApiId: !Ref Defined, Path: /open, Method: get, Auth: {Authorizer: NONE}}
        Jwt: {Type: HttpApi, Properties: {ApiId: !Ref Jwt, Path: /jwt, Method: get}}
  GateFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.gate
"""

APP = r'''
import json, os
def echo(event, context):
    return {"statusCode": 200, "body": json.dumps({
        "greeting": os.environ["GREETING"], "from_template": os.environ["FROM_TEMPLATE"],
        "extra": os.environ.get("EXTRA"), "stage": event["requestContext"]["stage"],
        "vars": event.get("stageVariables"), "resource": event.get("resource") or event.get("routeKey"),
        "authorizer": event["requestContext"].get("authorizer")})}
def gate(event, context):
    return {"principalId": "gate", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": event["methodArn"]}]}}
'''


class OptionsTest(harness.WispTestCase):
    def setUp(self):
        super().setUp()
        harness.require_peer("python3.11", "Python runtime")
        self.write("template.yaml", TEMPLATE)
        self.write("src/app.py", APP)

    def test_openapi_routes_default_authorizer_and_none(self):
        with Server(self.tmp, "--no-watch") as server:
            # DefaultAuthorizer (TOKEN) covers the OpenAPI route too: no token → 401, the
            # authorizer's Deny → 403.
            status, _, body = server.request("Defined", "GET", "/from-openapi/3")
            self.assertEqual((status, body), (401, b'{"message":"Unauthorized"}'))
            status, _, body = server.request("Defined", "GET", "/from-openapi/3", headers={"Authorization": "x"})
            self.assertEqual(status, 403, body)
            self.assertEqual(server.request("Defined", "GET", "/guarded", headers={"Authorization": "x"})[0], 403)
            result = server.json("Defined", "GET", "/open")
            self.assertEqual(result["resource"], "/open")
            self.assertEqual(result["stage"], "v1")
            self.assertEqual(result["vars"], {"greeting": "hello"})

    def test_disable_authorizer(self):
        with Server(self.tmp, "--no-watch", "--disable-authorizer") as server:
            result = server.json("Defined", "GET", "/from-openapi/3")
            self.assertEqual(result["resource"], "/from-openapi/{id}")
            self.assertIsNone(result["authorizer"])
            self.assertEqual(server.json("Defined", "GET", "/guarded")["resource"], "/guarded")

    def test_jwt_authorizer_is_verified(self):
        # No token: 401 without calling the function (the issuer is not even asked). Tokens
        # themselves: test_local_jwt_authorizers.py.
        with Server(self.tmp, "--no-watch") as server:
            status, _, body = server.request("Jwt", "GET", "/jwt")
            self.assertEqual((status, body), (401, b'{"message":"Unauthorized"}'))
        with Server(self.tmp, "--no-watch", "--disable-authorizer") as server:
            result = server.json("Jwt", "GET", "/jwt")
            self.assertEqual(result["resource"], "GET /jwt")

    def test_parameter_overrides_env_vars_and_stage(self):
        self.write("env.json", json.dumps({"EchoFunction": {"EXTRA": "from-env-vars", "GREETING": "env-wins"},
                                           "Parameters": {"FROM_TEMPLATE": "all"}}))
        with Server(self.tmp, "--no-watch", "--parameter-overrides", "Greeting=howdy",
                    "--env-vars", "env.json", "--stage", "local") as server:
            result = server.json("Defined", "GET", "/open")
            self.assertEqual(result["greeting"], "env-wins")
            self.assertEqual(result["extra"], "from-env-vars")
            self.assertEqual(result["from_template"], "all")
            self.assertEqual(result["vars"], {"greeting": "howdy"})
            self.assertEqual(result["stage"], "local")
            self.assertIn("Defined (REST API, stage local)", server.stdout())

    def test_samconfig_parameters(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.local_start_api.parameters]\n'
                                     'warm_containers = "EAGER"\nparameter_overrides = "Greeting=bonjour"\n')
        with Server(self.tmp, "--no-watch") as server:
            # EAGER from samconfig: workers before any request.
            self.assertTrue(wait_until(lambda: len(server.children()) >= 2, timeout=10))
            self.assertEqual(server.json("Defined", "GET", "/open")["greeting"], "bonjour")

    def test_bad_inputs(self):
        proc = harness.wisp("local", "start-api", "--host", "not-an-ip", "--port", "0", cwd=self.tmp, timeout=30)
        self.assertWisp(proc, 1, stderr_has="--host not-an-ip: not an IP address")
        proc = harness.wisp("local", "start-api", "--env-vars", "missing.json", cwd=self.tmp, timeout=30)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("missing.json", proc.stderr)
        self.write("bad.json", '{"EchoFunction": {"A": [1]}}')
        proc = harness.wisp("local", "start-api", "--env-vars", "bad.json", cwd=self.tmp, timeout=30)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("bad.json:1:", proc.stderr)
        proc = harness.wisp("local", "start-api", "--warm-containers", "SOMETIMES", cwd=self.tmp, timeout=30)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.write("broken.yaml", "Resources: [")
        proc = harness.wisp("local", "start-api", "-t", "broken.yaml", cwd=self.tmp, timeout=30)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("broken.yaml:2:1: error: YAML syntax error", proc.stderr)


if __name__ == "__main__":
    harness.main()
