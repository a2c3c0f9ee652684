"""`wisp local start-api` under hostile and unusual conditions: keep-alive, malformed HTTP,
oversized headers and payloads (413 texts), slow clients, a client that disconnects
mid-invocation, hot reload of an edited handler, --static-dir with traversal attempts,
--warm-containers EAGER, and SIGTERM/SIGINT shutdown leaving no child process."""

import http.client
import json
import os
import re
import signal
import socket
import threading
import time
import unittest

import harness
from gateway_helpers import Server, header, raw_exchange, wait_until

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      CodeUri: src/
      Handler: app.echo
      Events:
        Echo: {Type: Api, Properties: {Path: "/echo", Method: any}}
  SlowFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      CodeUri: src/
      Handler: app.slow
      Timeout: 5
      ReservedConcurrentExecutions: 1
      Events:
        Slow: {Type: Api, Properties: {Path: "/slow", Method: get}}
  ReloadFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      CodeUri: reload/
      Handler: index.handler
      Events:
        Version: {Type: Api, Properties: {Path: "/version", Method: get}}
"""

APP = r'''
import json, time
def echo(event, context):
    return {"statusCode": 200, "body": json.dumps({"length": len(event["body"] or ""),
                                                   "b64": event["isBase64Encoded"]})}
def slow(event, context):
    time.sleep(float((event.get("queryStringParameters") or {}).get("s", "1")))
    return {"statusCode": 200, "body": "slow done"}
'''

RELOAD_V1 = "exports.handler = async () => ({ statusCode: 200, body: 'version one' });\n"
RELOAD_V2 = "exports.handler = async () => ({ statusCode: 200, body: 'version two' });\n"


class RobustTest(harness.WispTestCase):
    def setUp(self):
        super().setUp()
        harness.require_peer("python3.11", "Python runtime")
        harness.require_peer("node", "Node.js runtime")
        self.write("template.yaml", TEMPLATE)
        self.write("src/app.py", APP)
        self.write("reload/index.js", RELOAD_V1)
        self.write("public/index.html", "<h1>home</h1>")
        self.write("public/css/site.css", "body{}")
        self.write("secret.txt", "do not serve")

    def server(self, *args):
        server = Server(self.tmp, *args)
        self.addCleanup(server.stop)
        return server

    def test_keep_alive_and_http_1_0(self):
        server = self.server("--no-watch")
        conn = http.client.HTTPConnection("127.0.0.1", server.port(), timeout=10)
        for _ in range(5):
            conn.request("GET", "/echo")
            response = conn.getresponse()
            self.assertEqual(response.status, 200)
            response.read()
        conn.close()
        raw = raw_exchange(server.port(), b"GET /echo HTTP/1.0\r\nHost: x\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 200 OK\r\n"), raw)
        self.assertIn(b"Connection: close", raw)

    def test_malformed_requests(self):
        server = self.server("--no-watch")
        raw = raw_exchange(server.port(), b"THIS IS NOT HTTP\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 400 Bad Request"), raw)
        raw = raw_exchange(server.port(), b"GET /echo HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 400 Bad Request"), raw)
        # Header values beyond API Gateway's 10240 bytes, and beyond the parser's limit.
        for size in (11000, 40000):
            raw = raw_exchange(server.port(),
                               b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n")
            self.assertTrue(raw.startswith(b"HTTP/1.1 431 "), raw[:100])
            self.assertIn(b'{"message":"Request Header Fields Too Large"}', raw)
        # The server still serves.
        self.assertEqual(server.request(None, "GET", "/echo")[0], 200)

    def test_payload_limits(self):
        server = self.server("--no-watch")
        # Over 10 MB: refused from the Content-Length alone.
        raw = raw_exchange(server.port(),
                           b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\nabc")
        self.assertTrue(raw.startswith(b"HTTP/1.1 413 "), raw[:100])
        self.assertIn(b"Content-Type: text; charset=utf-8", raw)
        self.assertTrue(raw.endswith(b"HTTP content length exceeded 10485760 bytes."), raw[-100:])
        # Chunked beyond 10 MB.
        with socket.create_connection(("127.0.0.1", server.port()), timeout=20) as s:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"a" * (1 << 20)
            try:
                for _ in range(11):
                    s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except OSError:
                pass
            data = s.recv(4096)
            self.assertTrue(data.startswith(b"HTTP/1.1 413 "), data[:100])
        # Under 10 MB but an event over Lambda's 6 MB.
        status, headers, body = server.request(None, "POST", "/echo", body=b"x" * (7 * 1024 * 1024),
                                               headers={"Content-Type": "text/plain"})
        self.assertEqual((status, body), (413, b'{"message": "Request Too Long"}'))
        # A 5 MB body passes.
        status, _, body = server.request(None, "POST", "/echo", body=b"y" * (5 * 1024 * 1024),
                                         headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["length"], 5 * 1024 * 1024)

    def test_slow_clients_do_not_block_others(self):
        server = self.server("--no-watch")
        sockets = []
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", server.port()), timeout=5)
            s.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            sockets.append(s)
        try:
            start = time.monotonic()
            for _ in range(5):
                self.assertEqual(server.request(None, "GET", "/echo")[0], 200)
            self.assertLess(time.monotonic() - start, 10)
        finally:
            for s in sockets:
                s.close()

    def test_client_disconnect_does_not_leak_the_worker(self):
        server = self.server("--no-watch")
        # The only worker SlowFunction may have (ReservedConcurrentExecutions: 1).
        self.assertEqual(server.request(None, "GET", "/slow?s=0.1")[0], 200)
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", server.port()), timeout=5) as s:
                s.sendall(b"GET /slow?s=0.5 HTTP/1.1\r\nHost: x\r\n\r\n")
                time.sleep(0.1)
            # Gone before the answer. Once the invocation is over, the worker serves again.
            time.sleep(0.7)
            status, _, body = server.request(None, "GET", "/slow?s=0.1")
            self.assertEqual((status, body), (200, b"slow done"))
        # Each abandoned invocation ran to its end (the access log shows the 0.5 s ones).
        self.assertTrue(wait_until(lambda: len(re.findall(
            r"GET /slow 200 SlowFunction \$LATEST warm 5\d\d\.\d\d ms", server.stderr())) >= 3),
            server.stderr())

    def test_hot_reload(self):
        server = self.server()
        self.assertEqual(server.request(None, "GET", "/version")[2], b"version one")
        self.write("reload/index.js", RELOAD_V2)
        self.assertTrue(wait_until(lambda: server.request(None, "GET", "/version")[2] == b"version two",
                                   timeout=10), server.stderr())
        self.assertTrue(wait_until(lambda: "Reloading ReloadFunction" in server.stderr()))
        # A Python worker writing its own bytecode never triggers a reload.
        before = server.stderr().count("Reloading EchoFunction")
        server.request(None, "GET", "/echo")
        time.sleep(0.5)
        self.assertEqual(server.stderr().count("Reloading EchoFunction"), before)

    def test_no_watch(self):
        server = self.server("--no-watch")
        self.assertEqual(server.request(None, "GET", "/version")[2], b"version one")
        self.write("reload/index.js", RELOAD_V2)
        time.sleep(0.6)
        self.assertEqual(server.request(None, "GET", "/version")[2], b"version one")

    def test_static_dir(self):
        server = self.server("--no-watch")
        status, headers, body = server.request(None, "GET", "/css/site.css")
        self.assertEqual((status, body), (200, b"body{}"))
        self.assertEqual(header(headers, "Content-Type"), "text/css")
        self.assertEqual(server.request(None, "GET", "/")[2], b"<h1>home</h1>")
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/css/..%2f..%2fsecret.txt",
                     "/..%5csecret.txt"):
            raw = raw_exchange(server.port(), f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            self.assertNotIn(b"do not serve", raw, path)
            self.assertTrue(raw.startswith(b"HTTP/1.1 403 "), raw[:60])
        # Routes still work beside static files.
        self.assertEqual(server.request(None, "GET", "/echo")[0], 200)
        other = Server(self.tmp, "--no-watch", "--static-dir", "nowhere")
        self.addCleanup(other.stop)
        self.assertEqual(other.request(None, "GET", "/css/site.css")[0], 403)

    def test_eager_warm_containers(self):
        server = self.server("--no-watch", "--warm-containers", "EAGER")
        # One worker per function before any request...
        self.assertTrue(wait_until(lambda: len(server.children()) >= 3, timeout=10), server.children())
        before = sorted(server.children())
        status, _, body = server.request(None, "GET", "/version")
        self.assertEqual((status, body), (200, b"version one"))
        # ...and the request is served by it: no process was started for it.
        self.assertEqual(sorted(server.children()), before)

    def test_sigterm_and_sigint_shut_down_cleanly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            server = Server(self.tmp, "--no-watch")
            try:
                self.assertEqual(server.request(None, "GET", "/echo")[0], 200)
                self.assertEqual(server.request(None, "GET", "/version")[0], 200)
                children = server.children()
                self.assertGreaterEqual(len(children), 2)
                server.proc.send_signal(sig)
                self.assertEqual(server.proc.wait(timeout=15), 0)
                for pid in children:
                    self.assertFalse(os.path.exists(f"/proc/{pid}") and
                                     open(f"/proc/{pid}/stat").read().split()[2] != "Z",
                                     f"worker {pid} survived {sig}")
            finally:
                server.stop()

    def test_shutdown_with_a_request_in_flight(self):
        server = Server(self.tmp, "--no-watch")
        try:
            result = {}

            def call():
                try:
                    result["r"] = server.request(None, "GET", "/slow?s=4")
                except Exception as e:  # the connection may be closed instead of answered
                    result["e"] = e

            thread = threading.Thread(target=call)
            thread.start()
            time.sleep(1.0)
            start = time.monotonic()
            self.assertEqual(server.terminate(), 0)
            self.assertLess(time.monotonic() - start, 5)
            thread.join(timeout=10)
            self.assertFalse(thread.is_alive())
        finally:
            server.stop()


class IntegrationTimeoutTest(harness.WispTestCase):
    """29 s (REST) and 30 s (HTTP API) integration timeouts, run side by side (~31 s)."""

    def test_integration_timeouts(self):
        harness.require_peer("python3.11", "Python runtime")
        self.write("template.yaml", """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.11, CodeUri: src/, Handler: app.slow, Timeout: 45}
Resources:
  RestSlow:
    Type: AWS::Serverless::Function
    Properties:
      Events: {Slow: {Type: Api, Properties: {Path: /slow, Method: get}}}
  HttpSlow:
    Type: AWS::Serverless::Function
    Properties:
      Events: {Slow: {Type: HttpApi, Properties: {Path: /slow, Method: get}}}
""")
        self.write("src/app.py", APP)
        server = Server(self.tmp, "--no-watch")
        self.addCleanup(server.stop)
        results = {}

        def call(api):
            start = time.monotonic()
            status, headers, body = server.request(api, "GET", "/slow?s=33", timeout=60)
            results[api] = (status, body, time.monotonic() - start)

        threads = [threading.Thread(target=call, args=(api,))
                   for api in ("ServerlessRestApi", "ServerlessHttpApi")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        status, body, elapsed = results["ServerlessRestApi"]
        self.assertEqual((status, body), (504, b'{"message": "Endpoint request timed out"}'))
        self.assertGreaterEqual(elapsed, 29)
        status, body, elapsed = results["ServerlessHttpApi"]
        self.assertEqual((status, body), (503, b'{"message":"Service Unavailable"}'))
        self.assertGreaterEqual(elapsed, 30)


if __name__ == "__main__":
    harness.main()
