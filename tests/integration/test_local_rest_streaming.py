"""REST API response streaming under `wisp local start-api`: an OpenAPI operation whose
x-amazon-apigateway-integration sets responseTransferMode STREAM (the 2021-11-15
response-streaming-invocations URI) and an AWS::ApiGateway::Method with
Integration.ResponseTransferMode: STREAM. The metadata prelude sets status, headers and cookies;
chunks reach the client while the function still runs; a response without the prelude is a 502;
an error mid-stream truncates the response; buffered routes of the same API are unchanged."""

import os
import shutil
import socket
import tempfile
import unittest

import harness
from gateway_helpers import Server

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {CodeUri: src/, Runtime: nodejs20.x, Timeout: 30}
Resources:
  Streamer:
    Type: AWS::Serverless::Function
    Properties: {Handler: stream.handler}
  Plain:
    Type: AWS::Serverless::Function
    Properties: {Handler: stream.plain}
  StreamApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      EndpointConfiguration: REGIONAL
      DefinitionBody:
        openapi: "3.0.1"
        info: {title: streaming, version: "1"}
        paths:
          /stream:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                responseTransferMode: STREAM
                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/${Streamer.Arn}/response-streaming-invocations
          /buffered:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Plain.Arn}/invocations
          /unformatted:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                responseTransferMode: STREAM
                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/${Plain.Arn}/response-streaming-invocations
  RawApi:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: raw}
  RawResource:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref RawApi, ParentId: !GetAtt RawApi.RootResourceId, PathPart: raw}
  RawMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref RawApi
      ResourceId: !Ref RawResource
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        ResponseTransferMode: STREAM
        Uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/${Streamer.Arn}/response-streaming-invocations
  RawDeployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: RawMethod
    Properties: {RestApiId: !Ref RawApi, StageName: v1}
"""

STREAM = r"""
const fs = require("fs");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const q = event.queryStringParameters || {};
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { "content-type": "text/event-stream", "x-path": event.path },
    cookies: ["session=1; Path=/"],
  });
  stream.write("data: first\n\n");
  for (let i = 0; i < 1500 && q.gate && !fs.existsSync(q.gate); i++) await sleep(10);
  if (q.fail) throw new Error("mid-stream failure");
  stream.write("data: second\n\n");
  stream.end();
});
exports.plain = async (event) => ({ statusCode: 200, body: "buffered " + event.path });
"""


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def dechunk(raw):
    """The payload of the complete chunks in `raw` (a chunked body read so far), and whether
    its last chunk arrived. Chunks split wherever the function's writes and wisp's reads fall."""
    out, pos = b"", 0
    while True:
        end = raw.find(b"\r\n", pos)
        if end < 0:
            return out, False
        size = int(raw[pos:end].split(b";")[0], 16)
        if size == 0:
            return out, raw.endswith(b"\r\n\r\n")
        start = end + 2
        if len(raw) < start + size + 2:
            return out, False
        out += raw[start:start + size]
        pos = start + size + 2


class RestStreamingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("node", "Node.js runtime")
        cls.tmp = tempfile.mkdtemp(prefix="wisp-reststream-")
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(TEMPLATE)
        os.makedirs(f"{cls.tmp}/src")
        with open(f"{cls.tmp}/src/stream.js", "w") as f:
            f.write(STREAM)
        cls.server = Server(cls.tmp, "--no-watch")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def gate(self, name):
        path = os.path.join(self.tmp, f"gate-{name}")
        if os.path.exists(path):
            os.remove(path)
        return path

    def test_startup_names_the_streaming_routes(self):
        out = self.server.stdout()
        self.assertIn("API StreamApi: GET /stream streams its responses", out)
        self.assertIn("API RawApi: GET /raw streams its responses", out)
        self.assertNotIn("GET /buffered streams", out)

    def test_first_chunk_arrives_while_the_function_still_runs(self):
        gate = self.gate("first")
        with socket.create_connection(("127.0.0.1", self.server.port("StreamApi")), timeout=30) as s:
            s.sendall(f"GET /stream?gate={gate} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            head, rest = read_head(s)
            self.assertTrue(head.startswith("HTTP/1.1 201 "), head)
            lower = head.lower()
            self.assertIn("transfer-encoding: chunked", lower)
            self.assertIn("content-type: text/event-stream", lower)
            self.assertIn("x-path: /stream", lower)
            self.assertIn("set-cookie: session=1; path=/", lower)
            while b"data: first" not in dechunk(rest)[0]:
                chunk = s.recv(65536)
                self.assertTrue(chunk, rest)
                rest += chunk
            self.assertNotIn(b"second", rest)  # the function waits for the gate
            open(gate, "w").close()
            while not dechunk(rest)[1]:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
            self.assertEqual(dechunk(rest), (b"data: first\n\ndata: second\n\n", True), rest)

    def test_raw_method_streams(self):
        status, headers, body = self.server.request("RawApi", "GET", "/raw")
        self.assertEqual(status, 201, body)
        self.assertEqual(body, b"data: first\n\ndata: second\n\n")

    def test_buffered_route_of_the_same_api(self):
        status, _, body = self.server.request("StreamApi", "GET", "/buffered")
        self.assertEqual((status, body), (200, b"buffered /buffered"))

    def test_a_response_without_the_metadata_is_a_502(self):
        status, _, body = self.server.request("StreamApi", "GET", "/unformatted")
        self.assertEqual(status, 502, body)
        self.assertEqual(body, b'{"message": "Internal server error"}')

    def test_an_error_mid_stream_truncates_the_response(self):
        with socket.create_connection(("127.0.0.1", self.server.port("StreamApi")), timeout=30) as s:
            s.sendall(b"GET /stream?fail=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            head, rest = read_head(s)
            self.assertTrue(head.startswith("HTTP/1.1 201 "), head)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
        payload, complete = dechunk(rest)
        self.assertEqual(payload, b"data: first\n\n", rest)
        self.assertFalse(complete, rest)  # no last chunk


if __name__ == "__main__":
    harness.main()
