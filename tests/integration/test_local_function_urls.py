"""Function URLs under `wisp local start-api`: FunctionUrlConfig and AWS::Lambda::Url, each on
its own port; the payload-2.0 event with the function-URL request context; the response
mapping; Cors; AuthType AWS_IAM (requests signed by botocore, unsigned and badly signed
ones refused); the 6 MB limit; RESPONSE_STREAM through curl and a raw socket (the first chunk
arrives while the function still waits for the test); the prelude; a mid-stream error; and
start-lambda's InvokeWithResponseStream through boto3's event stream."""

import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

import harness
from gateway_helpers import Server, header

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {CodeUri: src/, Timeout: 20}
Resources:
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: app.echo
      FunctionUrlConfig:
        AuthType: NONE
        Cors:
          AllowOrigins: [https://app.example.com]
          AllowMethods: [GET, POST]
          AllowHeaders: [x-custom]
          ExposeHeaders: [x-answer]
          MaxAge: 60
  PlainFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: app.plain
  PlainUrl:
    Type: AWS::Lambda::Url
    Properties:
      TargetFunctionArn: !GetAtt PlainFunction.Arn
      AuthType: AWS_IAM
  StreamFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: stream.handler
      FunctionUrlConfig:
        AuthType: NONE
        InvokeMode: RESPONSE_STREAM
"""

APP = r'''
import json
def echo(event, context):
    q = event.get("queryStringParameters") or {}
    if q.get("shape") == "string":
        return "just text"
    if q.get("shape") == "dict":
        return {"hello": "world"}
    if q.get("shape") == "fail":
        raise ValueError("boom")
    return {"statusCode": 201, "headers": {"x-answer": "42", "content-type": "application/json"},
            "cookies": ["a=1; Path=/", "b=2"], "body": json.dumps(event)}
def plain(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
'''

STREAM = r'''
const fs = require("fs");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const q = event.queryStringParameters || {};
  let stream = responseStream;
  if (q.plain) {
    responseStream.setContentType("text/plain");
  } else {
    stream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 207, headers: { "content-type": "text/event-stream", "x-streamed": "yes" },
      cookies: ["s=1"] });
  }
  stream.write("first;");
  for (let i = 0; i < 1500 && !fs.existsSync(q.gate); i++) await sleep(10);
  if (q.fail) throw new Error("mid-stream failure");
  stream.write("second");
  stream.end();
});
'''


class FunctionUrlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("python3.11", "Python runtime")
        harness.require_peer("node", "Node.js runtime")
        cls.tmp = tempfile.mkdtemp(prefix="wisp-furl-")
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(TEMPLATE)
        os.makedirs(f"{cls.tmp}/src")
        with open(f"{cls.tmp}/src/app.py", "w") as f:
            f.write(APP)
        with open(f"{cls.tmp}/src/stream.js", "w") as f:
            f.write(STREAM)
        cls.server = Server(cls.tmp, "--no-watch")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def gate(self, name):
        path = os.path.join(self.tmp, f"gate-{name}")
        with __import__("contextlib").suppress(FileNotFoundError):
            os.remove(path)
        return path

    # ---- startup and events

    def test_each_url_has_its_own_port(self):
        out = self.server.stdout()
        self.assertIn("EchoFunction function URL (NONE, BUFFERED): http://127.0.0.1:", out)
        self.assertIn("PlainFunction function URL (AWS_IAM, BUFFERED): http://127.0.0.1:", out)
        self.assertIn("StreamFunction function URL (NONE, RESPONSE_STREAM): http://127.0.0.1:", out)
        ports = {self.server.port(f"url:{f}") for f in ("EchoFunction", "PlainFunction", "StreamFunction")}
        self.assertEqual(len(ports), 3)

    def test_event_has_the_function_url_context(self):
        status, headers, body = self.server.request(
            "url:EchoFunction", "POST", "/some/path?a=1&a=2&b=x%20y", body="hi",
            headers={"Content-Type": "text/plain", "Cookie": "c1=v1; c2=v2"})
        self.assertEqual(status, 201, body)
        event = json.loads(body)
        self.assertEqual(event["version"], "2.0")
        self.assertEqual(event["routeKey"], "$default")
        self.assertEqual(event["rawPath"], "/some/path")
        self.assertEqual(event["rawQueryString"], "a=1&a=2&b=x%20y")
        self.assertEqual(event["queryStringParameters"], {"a": "1,2", "b": "x y"})
        self.assertEqual(event["cookies"], ["c1=v1", "c2=v2"])
        self.assertEqual(event["body"], "hi")
        self.assertFalse(event["isBase64Encoded"])
        ctx = event["requestContext"]
        self.assertEqual(ctx["accountId"], "anonymous")
        self.assertEqual(ctx["stage"], "$default")
        self.assertEqual(ctx["routeKey"], "$default")
        self.assertEqual(len(ctx["apiId"]), 32)
        self.assertEqual(ctx["http"]["method"], "POST")
        self.assertEqual(ctx["http"]["path"], "/some/path")
        self.assertNotIn("pathParameters", event)
        self.assertNotIn("stageVariables", event)
        self.assertIn("x-forwarded-for", event["headers"])
        # response mapping: status, headers, cookies
        self.assertEqual(header(headers, "x-answer"), "42")
        self.assertEqual(header(headers, "set-cookie"), "a=1; Path=/|b=2")
        self.assertTrue(header(headers, "x-amzn-requestid"))

    def test_keep_alive_requests_get_their_own_request_ids(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port("url:EchoFunction"), timeout=30)
        ids = []
        try:
            for _ in range(3):
                conn.request("GET", "/")
                response = conn.getresponse()
                event = json.loads(response.read())
                ids.append((response.getheader("x-amzn-requestid"), event["requestContext"]["requestId"]))
        finally:
            conn.close()
        self.assertEqual(len({i for i, _ in ids}), 3, ids)
        for header_id, event_id in ids:
            self.assertEqual(header_id, event_id)

    def test_events_validate_against_powertools(self):
        harness.require_peer("node", "Node.js to run the powertools schemas")
        modules = os.path.join(harness.PEERS_DIR, "powertools", "node_modules")
        if not os.path.isdir(os.path.join(modules, "@aws-lambda-powertools", "parser")):
            raise unittest.SkipTest(
                "PEER MISSING: @aws-lambda-powertools/parser (packaging/install-deps.sh --with-peers)")
        events = tempfile.mkdtemp(dir=self.tmp)
        for n, (method, path, body) in enumerate(
                [("GET", "/", None), ("POST", "/x?y=1", b"\x00\x01binary")]):
            _, _, data = self.server.request("url:EchoFunction", method, path, body=body)
            with open(os.path.join(events, f"furl-{n}.json"), "wb") as f:
                f.write(data)
        proc = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "powertools_validate.cjs"),
                               events], capture_output=True, text=True,
                              env=harness.env(NODE_PATH=modules))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_response_mapping_of_plain_outputs(self):
        status, headers, body = self.server.request("url:EchoFunction", "GET", "/?shape=string")
        self.assertEqual((status, body), (200, b"just text"))
        self.assertEqual(header(headers, "content-type"), "application/json")
        status, _, body = self.server.request("url:EchoFunction", "GET", "/?shape=dict")
        self.assertEqual((status, json.loads(body)), (200, {"hello": "world"}))
        status, _, body = self.server.request("url:EchoFunction", "GET", "/?shape=fail")
        self.assertEqual((status, body), (502, b"Internal Server Error"))

    def test_cors(self):
        status, headers, _ = self.server.request(
            "url:EchoFunction", "OPTIONS", "/anything",
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 204)
        self.assertEqual(header(headers, "access-control-allow-origin"), "https://app.example.com")
        self.assertEqual(header(headers, "access-control-allow-methods"), "GET,POST")
        self.assertEqual(header(headers, "access-control-max-age"), "60")
        status, headers, _ = self.server.request(
            "url:EchoFunction", "GET", "/", headers={"Origin": "https://app.example.com"})
        self.assertEqual(status, 201)
        self.assertEqual(header(headers, "access-control-allow-origin"), "https://app.example.com")
        self.assertEqual(header(headers, "access-control-expose-headers"), "x-answer")
        _, headers, _ = self.server.request("url:EchoFunction", "GET", "/",
                                            headers={"Origin": "https://evil.example"})
        self.assertEqual(header(headers, "access-control-allow-origin"), "")

    def test_request_over_6_mb_is_refused(self):
        # The answer comes as soon as the headers announce too much: send them alone.
        port = self.server.port("url:EchoFunction")
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {6 * 1024 * 1024 + 1}\r\n\r\n"
                         .encode() + b"x" * 1024)
            received = b""
            while b"\r\n\r\n" not in received or b"6291456" not in received:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        self.assertTrue(received.startswith(b"HTTP/1.1 413"), received)
        self.assertIn(b"6291456", received)

    # ---- AWS_IAM

    def signed(self, method, path, body=b"", secret="testing", key="testing"):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        port = self.server.port("url:PlainFunction")
        url = f"http://127.0.0.1:{port}{path}"
        request = AWSRequest(method=method, url=url, data=body)
        SigV4Auth(Credentials(key, secret), "lambda", "us-east-1").add_auth(request)
        prepared = request.prepare()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=dict(prepared.headers))
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def test_iam_url_accepts_botocore_signatures(self):
        status, _, body = self.signed("POST", "/signed/path?x=1&y=a%2Fb", body=b'{"k": 1}')
        self.assertEqual(status, 200, body)
        event = json.loads(body)
        iam = event["requestContext"]["authorizer"]["iam"]
        self.assertEqual(iam["accessKey"], "testing")
        self.assertEqual(event["requestContext"]["accountId"], "123456789012")

    def test_iam_url_refuses_unsigned_and_badly_signed(self):
        status, headers, body = self.server.request("url:PlainFunction", "GET", "/")
        self.assertEqual(status, 403)
        self.assertTrue(json.loads(body)["Message"].startswith("Forbidden"))
        status, headers, body = self.signed("GET", "/", secret="wrong")
        self.assertEqual(status, 403)
        self.assertEqual(header(headers, "x-amzn-errortype"), "InvalidSignatureException")
        self.assertIn("signature we calculated does not match", json.loads(body)["message"])
        status, headers, body = self.signed("GET", "/", key="AKIAOTHER")
        self.assertEqual(status, 403)
        self.assertEqual(header(headers, "x-amzn-errortype"), "UnrecognizedClientException")

    # ---- RESPONSE_STREAM

    def test_stream_chunks_arrive_before_the_function_ends(self):
        gate = self.gate("socket")
        port = self.server.port("url:StreamFunction")
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(f"GET /?gate={gate} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            received = b""
            while b"first;" not in received:
                data = sock.recv(65536)
                self.assertTrue(data, received)
                received += data
            # The function is still waiting for the gate: nothing past the first chunk yet.
            self.assertNotIn(b"second", received)
            head = received.split(b"\r\n\r\n")[0].decode()
            self.assertTrue(head.startswith("HTTP/1.1 207"), head)
            self.assertIn("Transfer-Encoding: chunked", head)
            self.assertIn("x-streamed: yes", head)
            self.assertIn("set-cookie: s=1", head.lower())
            open(gate, "w").close()
            while not received.endswith(b"0\r\n\r\n"):
                data = sock.recv(65536)
                self.assertTrue(data, received)
                received += data
            self.assertIn(b"second", received)

    def test_stream_through_curl(self):
        harness.require_peer("curl", "curl")
        gate = self.gate("curl")
        port = self.server.port("url:StreamFunction")
        proc = subprocess.Popen(["curl", "-sS", "-N", "-i", f"http://127.0.0.1:{port}/?plain=1&gate={gate}"],
                                stdout=subprocess.PIPE)
        try:
            seen = b""
            while b"first;" not in seen:
                chunk = proc.stdout.read1(65536)
                self.assertTrue(chunk, seen)
                seen += chunk
            self.assertNotIn(b"second", seen)
            self.assertIn(b"content-type: text/plain", seen.lower())
            open(gate, "w").close()
            rest, _ = proc.communicate(timeout=30)
            self.assertEqual(proc.returncode, 0)
            self.assertTrue((seen + rest).endswith(b"first;second"))
        finally:
            if proc.poll() is None:
                proc.kill()

    def test_stream_error_mid_way_truncates_the_response(self):
        harness.require_peer("curl", "curl")
        gate = self.gate("fail")
        open(gate, "w").close()
        port = self.server.port("url:StreamFunction")
        proc = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{port}/?plain=1&fail=1&gate={gate}"],
                              capture_output=True, timeout=60)
        # curl: "transfer closed with outstanding read data remaining" (exit 18)
        self.assertEqual(proc.returncode, 18, proc.stderr)
        self.assertEqual(proc.stdout, b"first;")
        # the server goes on serving
        status, _, _ = self.server.request("url:EchoFunction", "GET", "/?shape=string")
        self.assertEqual(status, 200)


class InvokeWithResponseStreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("node", "Node.js runtime")
        cls.tmp = tempfile.mkdtemp(prefix="wisp-iwrs-")
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(TEMPLATE)
        os.makedirs(f"{cls.tmp}/src")
        with open(f"{cls.tmp}/src/app.py", "w") as f:
            f.write(APP)
        with open(f"{cls.tmp}/src/stream.js", "w") as f:
            f.write(STREAM)
        cls.server = Server(cls.tmp, "--no-watch", command="start-lambda")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{self.server.port('lambda')}",
                            region_name="us-east-1",
                            config=Config(retries={"total_max_attempts": 1}, read_timeout=30))

    def test_payload_chunks_then_invoke_complete(self):
        gate = os.path.join(self.tmp, "gate-boto")
        event = {"queryStringParameters": {"plain": "1", "gate": gate}}
        response = self.client().invoke_with_response_stream(
            FunctionName="StreamFunction", Payload=json.dumps(event).encode(), LogType="Tail")
        self.assertEqual(response["StatusCode"], 200)
        self.assertEqual(response["ExecutedVersion"], "$LATEST")
        self.assertEqual(response["ResponseStreamContentType"], "text/plain")
        events = iter(response["EventStream"])
        first = next(events)
        self.assertEqual(first["PayloadChunk"]["Payload"], b"first;")
        open(gate, "w").close()  # only now may the function go on
        rest = list(events)
        payload = b"".join(e["PayloadChunk"]["Payload"] for e in rest if "PayloadChunk" in e)
        self.assertEqual(payload, b"second")
        complete = rest[-1]["InvokeComplete"]
        self.assertNotIn("ErrorCode", complete)
        self.assertIn("REPORT RequestId", __import__("base64").b64decode(complete["LogResult"]).decode())

    def test_error_mid_stream_is_reported_in_invoke_complete(self):
        gate = os.path.join(self.tmp, "gate-boto-fail")
        open(gate, "w").close()
        event = {"queryStringParameters": {"plain": "1", "gate": gate, "fail": "1"}}
        response = self.client().invoke_with_response_stream(
            FunctionName="StreamFunction", Payload=json.dumps(event).encode())
        events = list(response["EventStream"])
        self.assertEqual(events[0]["PayloadChunk"]["Payload"], b"first;")
        complete = events[-1]["InvokeComplete"]
        self.assertEqual(complete["ErrorCode"], "Error")
        self.assertIn("mid-stream failure", complete["ErrorDetails"])

    def test_buffered_function_answers_one_chunk(self):
        response = self.client().invoke_with_response_stream(
            FunctionName="PlainFunction", Payload=b'{"a": 1}')
        events = list(response["EventStream"])
        body = json.loads(events[0]["PayloadChunk"]["Payload"])
        self.assertEqual(json.loads(body["body"]), {"a": 1})
        self.assertIn("InvokeComplete", events[-1])

    def test_unknown_function_and_event_invocation(self):
        from botocore.exceptions import ClientError

        with self.assertRaises(ClientError) as caught:
            self.client().invoke_with_response_stream(FunctionName="Nope", Payload=b"{}")
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")


if __name__ == "__main__":
    harness.main()
