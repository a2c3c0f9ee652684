"""WebSocket APIs under `wisp local start-api`: an AWS::ApiGatewayV2::Api with ProtocolType
WEBSOCKET, its $connect REQUEST authorizer (allow, deny, unauthorized), $connect's answer (a
subprotocol, a refusal), messages routed by `$request.body.action`, a two-way route (route
response), functions answering through @connections with the real AWS SDKs (boto3 with an
endpoint from a template variable, Node's @aws-sdk/client-apigatewaymanagementapi with the
`https://{domainName}/{stage}` built from the event — both over TLS to wisp's local CA),
$disconnect, the quotas (a frame over 32 KB and a message over 128 KB close with 1009), 410 for a
gone connection, and the management API signed by botocore. The client is a raw-socket
RFC 6455 client (ws_client.py); events are checked against @aws-lambda-powertools/parser."""

import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from gateway_helpers import Server, raw_exchange, wait_until
from ws_client import Closed, HandshakeRefused, WebSocket

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  RecordDir: {Type: String}
Globals:
  Function:
    CodeUri: src/
    Runtime: python3.11
    Timeout: 10
    Environment:
      Variables:
        RECORD_DIR: !Ref RecordDir
Resources:
  Chat:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: chat
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Chat, StageName: prod}
  AuthFunction:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.authorize}
  ConnectFunction:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.connect}
  DisconnectFunction:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.disconnect}
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.echo}
  SendFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.send
      Environment:
        Variables:
          CALLBACK_URL: !Sub https://${Chat}.execute-api.${AWS::Region}.amazonaws.com/${Stage}
  NodeFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: node/, Runtime: nodejs20.x, Handler: index.handler}
  Authorizer:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      ApiId: !Ref Chat
      Name: token
      AuthorizerType: REQUEST
      AuthorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${AuthFunction.Arn}/invocations
      IdentitySource: [route.request.querystring.token]
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $connect
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Authorizer
      Target: !Join [/, [integrations, !Ref ConnectIntegration]]
  ConnectIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${ConnectFunction.Arn}/invocations
  DisconnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $disconnect
      Target: !Join [/, [integrations, !Ref DisconnectIntegration]]
  DisconnectIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${DisconnectFunction.Arn}/invocations
  DefaultRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $default
      Target: !Join [/, [integrations, !Ref EchoIntegration]]
  DefaultResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {ApiId: !Ref Chat, RouteId: !Ref DefaultRoute, RouteResponseKey: $default}
  EchoIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${EchoFunction.Arn}/invocations
  SendRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: send
      Target: !Join [/, [integrations, !Ref SendIntegration]]
  SendIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${SendFunction.Arn}/invocations
  NodeRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: node
      Target: !Join [/, [integrations, !Ref NodeIntegration]]
  NodeIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${NodeFunction.Arn}/invocations
  Bare:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: bare
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  BareRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Bare
      RouteKey: only
      Target: !Join [/, [integrations, !Ref BareIntegration]]
  BareResponse:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {ApiId: !Ref Bare, RouteId: !Ref BareRoute, RouteResponseKey: $default}
  BareIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Bare
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt EchoFunction.Arn
  Guarded:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: guarded
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  GuardedConnect:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Guarded
      RouteKey: $connect
      AuthorizationType: AWS_IAM
      Target: !Join [/, [integrations, !Ref GuardedIntegration]]
  GuardedIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Guarded
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt ConnectFunction.Arn
"""

APP = r'''
import json, os, time, uuid

def record(kind, event):
    path = os.path.join(os.environ["RECORD_DIR"], f"{kind}-{time.time_ns()}-{uuid.uuid4().hex[:6]}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(event, f)
    os.rename(path + ".tmp", path)

def authorize(event, context):
    record("wsauth", event)
    token = (event.get("queryStringParameters") or {}).get("token")
    if token == "unauth":
        raise Exception("Unauthorized")
    effect = "Allow" if token == "allow" else "Deny"
    return {"principalId": "user-1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
            "context": {"tier": "gold"}}

def connect(event, context):
    record("connect", event)
    q = event.get("queryStringParameters") or {}
    if q.get("reject"):
        return {"statusCode": 400, "body": "not today"}
    if q.get("crash"):
        raise ValueError("boom")
    headers = {}
    offered = (event.get("headers") or {}).get("Sec-WebSocket-Protocol")
    if offered:
        headers["Sec-WebSocket-Protocol"] = offered.split(",")[0].strip()
    return {"statusCode": 200, "headers": headers}

def disconnect(event, context):
    record("disconnect", event)
    return {"statusCode": 200}

def echo(event, context):
    record("message", event)
    if event["body"] == "fail":
        raise ValueError("the function failed")
    if event["body"] == "size":
        return {"statusCode": 200, "body": "size"}
    body = event["body"]
    return {"statusCode": 200, "body": "echo:" + (body if len(body) < 100 else str(len(body)))}

def send(event, context):
    import boto3
    body = json.loads(event["body"])
    me = event["requestContext"]["connectionId"]
    client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["CALLBACK_URL"])
    target = body.get("to") or me
    try:
        client.post_to_connection(ConnectionId=target, Data=json.dumps(
            {"from": "python", "url": os.environ["CALLBACK_URL"], "text": body.get("text")}).encode())
    except client.exceptions.GoneException as error:
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        client.post_to_connection(ConnectionId=me, Data=f"gone:{status}:{target}".encode())
    return {"statusCode": 200}
'''

NODE = r'''
const { ApiGatewayManagementApiClient, PostToConnectionCommand, GetConnectionCommand } =
  require("@aws-sdk/client-apigatewaymanagementapi");
exports.handler = async (event) => {
  const { domainName, stage, connectionId } = event.requestContext;
  const client = new ApiGatewayManagementApiClient({ endpoint: `https://${domainName}/${stage}` });
  const info = await client.send(new GetConnectionCommand({ ConnectionId: connectionId }));
  await client.send(new PostToConnectionCommand({
    ConnectionId: connectionId,
    Data: JSON.stringify({ from: "node", sourceIp: info.Identity.SourceIp,
                           connected: info.ConnectedAt instanceof Date }),
  }));
  return { statusCode: 200 };
};
'''


def sdk_modules():
    return os.path.join(harness.PEERS_DIR, "websocket", "node_modules")


class WebSocketApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("python3.11", "Python runtime")
        cls.tmp = tempfile.mkdtemp(prefix="wisp-ws-")
        cls.records = os.path.join(cls.tmp, "records")
        os.makedirs(cls.records)
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(TEMPLATE)
        os.makedirs(f"{cls.tmp}/src")
        with open(f"{cls.tmp}/src/app.py", "w") as f:
            f.write(APP)
        os.makedirs(f"{cls.tmp}/node")
        with open(f"{cls.tmp}/node/index.js", "w") as f:
            f.write(NODE)
        if os.path.isdir(sdk_modules()):
            os.symlink(sdk_modules(), f"{cls.tmp}/node/node_modules")
        cls.server = Server(cls.tmp, "--no-watch", "--parameter-overrides",
                            f"RecordDir={cls.records}",
                            extra_env={"XDG_CACHE_HOME": os.path.join(cls.tmp, "cache")})
        cls.port = cls.server.port("Chat")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def records_of(self, kind, where=lambda event: True):
        found = []
        for path in sorted(glob.glob(os.path.join(self.records, f"{kind}-*.json"))):
            with open(path) as f:
                event = json.load(f)
            if where(event):
                found.append(event)
        return found

    def wait_record(self, kind, where):
        self.assertTrue(wait_until(lambda: self.records_of(kind, where), timeout=30),
                        f"no {kind} event\n{self.server.stderr()[-3000:]}")
        return self.records_of(kind, where)[-1]

    def connect(self, token="allow", **kwargs):
        return WebSocket(self.port, f"/?token={token}", **kwargs)

    def connection_id(self, ws_marker):
        """The connectionId of the connection whose $connect carried query marker=<ws_marker>."""
        event = self.wait_record(
            "connect", lambda e: (e.get("queryStringParameters") or {}).get("marker") == ws_marker)
        return event["requestContext"]["connectionId"]

    # ---- startup

    def test_startup_lines(self):
        out = self.server.stdout()
        self.assertIn("Chat (WebSocket API, stage prod): ws://127.0.0.1:", out)
        self.assertIn("Bare (WebSocket API, stage $default): ws://127.0.0.1:", out)
        self.assertIn("$connect        ConnectFunction", out)
        self.assertIn("Guarded (WebSocket API, stage $default): ws://127.0.0.1:", out)
        self.assertNotEqual(self.server.port("Chat"), self.server.port("Bare"))

    # ---- $connect

    def signed_headers(self, port, path, key="testing", secret="testing"):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        request = AWSRequest(method="GET", url=f"http://127.0.0.1:{port}{path}")
        SigV4Auth(Credentials(key, secret), "execute-api", "us-east-1").add_auth(request)
        return {name: value for name, value in request.headers.items()
                if name.lower() in ("authorization", "x-amz-date")}

    def test_iam_connect_verifies_the_signature(self):
        port = self.server.port("Guarded")
        with self.assertRaises(HandshakeRefused) as unsigned:
            WebSocket(port, "/?marker=iam-unsigned")
        self.assertEqual(unsigned.exception.status, 403)
        self.assertEqual(unsigned.exception.headers.get("x-amzn-errortype"),
                         "MissingAuthenticationTokenException")
        path = "/?marker=iam-wrong"
        with self.assertRaises(HandshakeRefused) as wrong:
            WebSocket(port, path, headers=self.signed_headers(port, path, secret="not-it"))
        self.assertEqual(wrong.exception.status, 403)
        self.assertEqual(wrong.exception.headers.get("x-amzn-errortype"), "InvalidSignatureException")
        self.assertIn(b"signature we calculated does not match", wrong.exception.body)
        self.assertFalse(self.records_of(
            "connect", lambda e: (e.get("queryStringParameters") or {}).get("marker", "").startswith(
                "iam-") and e["queryStringParameters"]["marker"] != "iam-signed"))
        path = "/?marker=iam-signed"
        ws = WebSocket(port, path, headers=self.signed_headers(port, path))
        ws.close()
        event = self.wait_record(
            "connect", lambda e: (e.get("queryStringParameters") or {}).get("marker") == "iam-signed")
        identity = event["requestContext"]["identity"]
        self.assertEqual(identity["accessKey"], "testing")
        self.assertEqual(identity["accountId"], "123456789012")
        self.assertEqual(identity["userArn"], "arn:aws:iam::123456789012:root")
        self.assertEqual(identity["sourceIp"], "127.0.0.1")

    def test_authorizer_allows_denies_and_refuses(self):
        with self.assertRaises(HandshakeRefused) as missing:
            WebSocket(self.port, "/")
        self.assertEqual(missing.exception.status, 401)
        with self.assertRaises(HandshakeRefused) as denied:
            self.connect("deny")
        self.assertEqual(denied.exception.status, 403)
        with self.assertRaises(HandshakeRefused) as unauthorized:
            self.connect("unauth")
        self.assertEqual(unauthorized.exception.status, 401)
        ws = self.connect("allow")
        ws.close()
        event = self.wait_record("wsauth", lambda e: e["queryStringParameters"].get("token") == "deny")
        self.assertEqual(event["type"], "REQUEST")
        self.assertRegex(event["methodArn"],
                         r"^arn:aws:execute-api:us-east-1:123456789012:[a-z0-9]{10}/prod/\$connect$")
        self.assertEqual(event["requestContext"]["eventType"], "CONNECT")

    def test_connect_event_subprotocol_and_authorizer_context(self):
        ws = WebSocket(self.port, "/?token=allow&marker=proto",
                       headers={"Sec-WebSocket-Protocol": "chat, other", "User-Agent": "ws-test"})
        self.assertEqual(ws.headers.get("sec-websocket-protocol"), "chat")
        ws.close()
        event = self.wait_record(
            "connect", lambda e: (e.get("queryStringParameters") or {}).get("marker") == "proto")
        ctx = event["requestContext"]
        self.assertEqual(ctx["routeKey"], "$connect")
        self.assertEqual(ctx["eventType"], "CONNECT")
        self.assertEqual(ctx["stage"], "prod")
        self.assertEqual(ctx["domainName"], f"127.0.0.1:{self.port}")
        self.assertEqual(ctx["identity"], {"userAgent": "ws-test", "sourceIp": "127.0.0.1"})
        self.assertEqual(ctx["authorizer"]["principalId"], "user-1")
        self.assertEqual(ctx["authorizer"]["tier"], "gold")
        self.assertEqual(len(ctx["connectionId"]), 16)
        self.assertIn("Sec-WebSocket-Key", event["headers"])
        self.assertNotIn("Upgrade", event["headers"])
        self.assertEqual(event["headers"]["X-Forwarded-Proto"], "http")
        self.assertFalse(event["isBase64Encoded"])

    def test_connect_refused_by_the_function(self):
        with self.assertRaises(HandshakeRefused) as refused:
            self.connect("allow&reject=1")
        self.assertEqual((refused.exception.status, refused.exception.body), (400, b"not today"))
        with self.assertRaises(HandshakeRefused) as crashed:
            self.connect("allow&crash=1")
        self.assertEqual(crashed.exception.status, 500)

    # ---- messages

    def test_two_way_default_route(self):
        ws = self.connect()
        try:
            ws.send("hello there")
            self.assertEqual(ws.recv(), "echo:hello there")
            ws.send(json.dumps({"action": "unknown-goes-to-default"}))
            self.assertEqual(ws.recv(), 'echo:{"action": "unknown-goes-to-default"}')
        finally:
            ws.close()
        event = self.wait_record("message", lambda e: e["body"] == "hello there")
        ctx = event["requestContext"]
        self.assertEqual((ctx["routeKey"], ctx["eventType"]), ("$default", "MESSAGE"))
        self.assertEqual(len(ctx["messageId"]), 16)
        self.assertEqual(ctx["authorizer"]["tier"], "gold")
        self.assertFalse(event["isBase64Encoded"])

    def test_binary_message_is_base64(self):
        ws = self.connect()
        try:
            ws.send(b"\x00\x01\x02")
            ws.recv()
        finally:
            ws.close()
        event = self.wait_record("message", lambda e: e.get("isBase64Encoded"))
        self.assertEqual(event["body"], "AAEC")

    def test_function_error_and_missing_route(self):
        ws = self.connect()
        try:
            ws.send("fail")
            answer = json.loads(ws.recv())
            self.assertEqual(answer["message"], "Internal server error")
            self.assertEqual(len(answer["connectionId"]), 16)
            self.assertTrue(answer["requestId"])
        finally:
            ws.close()
        bare = WebSocket(self.server.port("Bare"), "/")
        try:
            bare.send(json.dumps({"action": "only"}))
            self.assertEqual(bare.recv(), 'echo:{"action": "only"}')
            bare.send(json.dumps({"action": "nothing-routes-this"}))
            self.assertEqual(json.loads(bare.recv())["message"], "Forbidden")
        finally:
            bare.close()

    def test_python_function_replies_through_connections_with_boto3(self):
        ws = self.connect()
        try:
            ws.send(json.dumps({"action": "send", "text": "hi"}))
            answer = json.loads(ws.recv())
        finally:
            ws.close()
        # The template's execute-api URL was pointed at this door, over https.
        self.assertEqual(answer, {"from": "python", "url": f"https://127.0.0.1:{self.port}/prod",
                                  "text": "hi"})

    def test_node_function_replies_through_connections_with_the_sdk(self):
        harness.require_peer("node", "Node.js runtime")
        if not os.path.isdir(os.path.join(sdk_modules(), "@aws-sdk", "client-apigatewaymanagementapi")):
            raise unittest.SkipTest("PEER MISSING: @aws-sdk/client-apigatewaymanagementapi "
                                    "(packaging/install-deps.sh --with-peers)")
        ws = self.connect()
        try:
            ws.send(json.dumps({"action": "node"}))
            answer = json.loads(ws.recv())
        finally:
            ws.close()
        self.assertEqual(answer, {"from": "node", "sourceIp": "127.0.0.1", "connected": True})

    def test_the_ws_package_as_client(self):
        harness.require_peer("node", "Node.js to run the ws client")
        if not os.path.isdir(os.path.join(sdk_modules(), "ws")):
            raise unittest.SkipTest("PEER MISSING: ws (packaging/install-deps.sh --with-peers)")
        script = r"""
const WebSocket = require("ws");
const ws = new WebSocket(process.argv[process.argv.length - 1], ["chat"]);
ws.on("open", () => ws.send(JSON.stringify({ action: "send", text: "from ws" })));
ws.on("message", (data) => { console.log(ws.protocol + " " + data.toString()); ws.close(1000); });
ws.on("error", (err) => { console.error(err.message); process.exit(1); });
"""
        proc = subprocess.run(["node", "-e", script, f"ws://127.0.0.1:{self.port}/?token=allow"],
                              capture_output=True, text=True, timeout=60,
                              env=harness.env(NODE_PATH=sdk_modules()))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        protocol, _, message = proc.stdout.strip().partition(" ")
        self.assertEqual(protocol, "chat")
        self.assertEqual(json.loads(message)["text"], "from ws")

    # ---- closing, quotas, the management API

    def test_disconnect_is_invoked_with_the_close_code(self):
        ws = self.connect("allow&marker=bye")
        connection = self.connection_id("bye")
        ws.close(4000, "done here")
        event = self.wait_record("disconnect",
                                 lambda e: e["requestContext"]["connectionId"] == connection)
        ctx = event["requestContext"]
        self.assertEqual((ctx["routeKey"], ctx["eventType"]), ("$disconnect", "DISCONNECT"))
        self.assertEqual(ctx["disconnectStatusCode"], 4000)
        self.assertEqual(ctx["disconnectReason"], "done here")
        self.assertEqual(event["headers"]["Host"], f"127.0.0.1:{self.port}")

    def test_a_gone_connection_answers_410(self):
        gone = self.connect("allow&marker=gone")
        gone_id = self.connection_id("gone")
        gone.close()
        self.wait_record("disconnect", lambda e: e["requestContext"]["connectionId"] == gone_id)
        ws = self.connect()
        try:
            ws.send(json.dumps({"action": "send", "to": gone_id}))
            self.assertEqual(ws.recv(), f"gone:410:{gone_id}")
        finally:
            ws.close()

    def test_management_api_with_botocore(self):
        import boto3
        from botocore.exceptions import ClientError

        client = boto3.client("apigatewaymanagementapi",
                              endpoint_url=f"http://127.0.0.1:{self.port}/prod")
        ws = self.connect("allow&marker=managed", headers={"User-Agent": "managed-agent"})
        connection = self.connection_id("managed")
        info = client.get_connection(ConnectionId=connection)
        self.assertEqual(info["Identity"], {"SourceIp": "127.0.0.1", "UserAgent": "managed-agent"})
        self.assertLess(abs(info["ConnectedAt"].timestamp() - time.time()), 120)
        client.post_to_connection(ConnectionId=connection, Data=b"pushed")
        self.assertEqual(ws.recv(), "pushed")
        with self.assertRaises(ClientError) as too_big:
            client.post_to_connection(ConnectionId=connection, Data=b"x" * (128 * 1024 + 1))
        self.assertEqual(too_big.exception.response["Error"]["Code"], "PayloadTooLargeException")
        client.delete_connection(ConnectionId=connection)
        with self.assertRaises(Closed):
            ws.recv()
        ws.abort()
        self.wait_record("disconnect", lambda e: e["requestContext"]["connectionId"] == connection)
        with self.assertRaises(ClientError) as gone:
            client.post_to_connection(ConnectionId=connection, Data=b"late")
        self.assertEqual(gone.exception.response["Error"]["Code"], "GoneException")
        self.assertEqual(gone.exception.response["ResponseMetadata"]["HTTPStatusCode"], 410)

    def test_management_api_verifies_signatures(self):
        import urllib.error
        import urllib.request
        import boto3
        from botocore.exceptions import ClientError

        ws = self.connect("allow&marker=verified")
        connection = self.connection_id("verified")
        try:
            # Unsigned (curl-like, urllib): refused as API Gateway refuses IAM-protected calls.
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}/prod/@connections/{connection}",
                data=b"unsigned", method="POST")
            with self.assertRaises(urllib.error.HTTPError) as unsigned:
                urllib.request.urlopen(request, timeout=10)
            self.assertEqual(unsigned.exception.code, 403)
            self.assertEqual(unsigned.exception.headers["x-amzn-ErrorType"],
                             "MissingAuthenticationTokenException")
            self.assertEqual(json.loads(unsigned.exception.read()),
                             {"message": "Missing Authentication Token"})
            # Signed by botocore with credentials other than the configured ones.
            for key, secret, code, text in (
                    ("testing", "not-the-secret", "InvalidSignatureException",
                     "signature we calculated does not match"),
                    ("AKIDOTHER", "testing", "UnrecognizedClientException",
                     "security token included in the request is invalid")):
                client = boto3.client("apigatewaymanagementapi", aws_access_key_id=key,
                                      aws_secret_access_key=secret, region_name="us-east-1",
                                      endpoint_url=f"http://127.0.0.1:{self.port}/prod")
                with self.assertRaises(ClientError) as wrong:
                    client.post_to_connection(ConnectionId=connection, Data=b"wrongly signed")
                self.assertEqual(wrong.exception.response["Error"]["Code"], code)
                self.assertEqual(wrong.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
                self.assertIn(text, wrong.exception.response["Error"]["Message"])
            # The configured credentials (the ones functions get) work, over https as well.
            good = boto3.client("apigatewaymanagementapi", region_name="us-east-1",
                                endpoint_url=f"https://127.0.0.1:{self.port}/prod",
                                verify=os.path.join(self.tmp, "cache", "wisp", "tls", "ca.pem"))
            good.post_to_connection(ConnectionId=connection, Data=b"signed")
            self.assertEqual(ws.recv(), "signed")
        finally:
            ws.close()

    def test_frame_and_message_quotas(self):
        ws = self.connect()
        try:
            # 100 KB in 32 KB frames is one message within the quota.
            ws.send("y" * (100 * 1024), fragment=32 * 1024)
            self.assertEqual(ws.recv(), f"echo:{100 * 1024}")
        finally:
            ws.close()
        ws = self.connect()
        with self.assertRaises(Closed) as frame:
            ws.send("z" * (40 * 1024))  # one 40 KB frame
            ws.recv()
        self.assertEqual(frame.exception.code, 1009)
        ws.abort()
        ws = self.connect()
        with self.assertRaises(Closed) as message:
            ws.send("w" * (130 * 1024), fragment=32 * 1024)
            ws.recv()
        self.assertEqual(message.exception.code, 1009)
        ws.abort()

    def test_events_validate_against_powertools(self):
        harness.require_peer("node", "Node.js to run the powertools schemas")
        modules = os.path.join(harness.PEERS_DIR, "powertools", "node_modules")
        if not os.path.isdir(os.path.join(modules, "@aws-lambda-powertools", "parser")):
            raise unittest.SkipTest(
                "PEER MISSING: @aws-lambda-powertools/parser (packaging/install-deps.sh --with-peers)")
        ws = self.connect()
        ws.close()
        self.wait_record("wsauth", lambda e: True)
        events = tempfile.mkdtemp(dir=self.tmp)
        for n, event in enumerate(self.records_of("wsauth")):
            with open(os.path.join(events, f"wsauth-{n}.json"), "w") as f:
                json.dump(event, f)
        proc = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "powertools_validate.cjs"),
                               events], capture_output=True, text=True,
                              env=harness.env(NODE_PATH=modules))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


class NoCredentialsTest(unittest.TestCase):
    """No AWS credentials anywhere: functions get stand-ins, and @connections accepts what they
    sign (a function still answers through it), while an unsigned request is refused."""

    TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Chat:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: chat, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Reply:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: app.handler
      CodeUri: src/
      Environment:
        Variables:
          CALLBACK: !Sub https://${Chat}.execute-api.${AWS::Region}.amazonaws.com/$default
  ReplyRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $default
      Target: !Join [/, [integrations, !Ref ReplyIntegration]]
  ReplyIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Chat, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Reply.Arn}
"""

    APP = """import os, boto3
def handler(event, context):
    client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["CALLBACK"])
    client.post_to_connection(ConnectionId=event["requestContext"]["connectionId"],
                              Data=("got " + event["body"] + " as " + os.environ["AWS_ACCESS_KEY_ID"]).encode())
    return {"statusCode": 200}
"""

    def test_functions_reach_connections_with_their_stand_in_credentials(self):
        harness.require_peer("python3.11", "Python runtime")
        tmp = tempfile.mkdtemp(prefix="wisp-ws-nocred-")
        try:
            with open(f"{tmp}/template.yaml", "w") as f:
                f.write(self.TEMPLATE)
            os.makedirs(f"{tmp}/src")
            with open(f"{tmp}/src/app.py", "w") as f:
                f.write(self.APP)
            missing = os.path.join(tmp, "no-such-file")
            with Server(tmp, "--no-watch", extra_env={
                    "XDG_CACHE_HOME": os.path.join(tmp, "cache"), "AWS_ACCESS_KEY_ID": "",
                    "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": missing,
                    "AWS_CONFIG_FILE": missing}) as server:
                self.assertIn("no AWS credentials are configured", server.stderr())
                port = server.port("Chat")
                ws = WebSocket(port, "/")
                try:
                    ws.send("hello")
                    self.assertEqual(ws.recv(), "got hello as defaultkey")
                finally:
                    ws.close()
                answer = raw_exchange(port, b"POST /@connections/abc HTTP/1.1\r\nHost: x\r\n"
                                            b"Content-Length: 2\r\nConnection: close\r\n\r\nhi")
                self.assertTrue(answer.startswith(b"HTTP/1.1 403 "), answer)
                self.assertIn(b"MissingAuthenticationTokenException", answer)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    harness.main()
