"""WebSocket routes with HTTP_PROXY and HTTP integrations under `wisp local start-api`: each
message goes to the integration's endpoint (a loopback HTTP server of the test) with the
integration's method, the message as the body and the RequestParameters mapped
(`context.connectionId` into a header, a body member into the query string, a 'literal'); a
two-way route sends back the endpoint's body (HTTP: through the integration response template,
the request through the request template), a one-way route nothing; an endpoint past
TimeoutInMillis answers "Endpoint request timed out" and one that is unreachable "Internal server
error", while the connection (and the event loop: a fast route answers while a slow one waits)
goes on; $disconnect reaches its endpoint too. Client: a raw-socket RFC 6455 client."""

import http.server
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import unittest
import urllib.parse

import harness
from gateway_helpers import Server, wait_until
from ws_client import WebSocket


class Backend(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen = []
        self.gates = {"/slow": threading.Event(), "/hold": threading.Event()}

    def open_gates(self):
        for gate in self.gates.values():
            gate.set()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        self.server.seen.append({"method": self.command, "path": self.path,
                                 "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "body": body})
        path = urllib.parse.urlparse(self.path).path
        if path in self.server.gates:
            self.server.gates[path].wait(40)
        answer = body.encode() if path == "/tmpl" else json.dumps(
            {"got": json.loads(body) if body else None, "path": path}).encode()
        try:
            self.send_response(201 if path == "/tmpl" else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError):
            pass  # wisp gave up on it (the integration timeout, or its shutdown)

    do_POST = do_PUT = do_GET = handle_any


def route(name, key, uri, kind="HTTP_PROXY", two_way=True, extra=""):
    text = f"""
  {name}Route:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: {key}
      Target: !Join [/, [integrations, !Ref {name}Integration]]
  {name}Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: {kind}
      IntegrationUri: {uri}
{extra}"""
    if two_way:
        text += f"""
  {name}Response:
    Type: AWS::ApiGatewayV2::RouteResponse
    Properties: {{ApiId: !Ref Chat, RouteId: !Ref {name}Route, RouteResponseKey: $default}}
"""
    return text


def template(port, dead_port):
    base = f"http://127.0.0.1:{port}"
    return f"""
Transform: AWS::Serverless-2016-10-31
Resources:
  Chat:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: chat
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {{ApiId: !Ref Chat, StageName: live}}
""" + route("Echo", "echo", f"{base}/hook?src=ws", extra="""      IntegrationMethod: PUT
      RequestParameters:
        integration.request.header.connectionId: context.connectionId
        integration.request.header.X-Static: "'fixed'"
        integration.request.querystring.user: route.request.body.user
""") + route("Fire", "fire", f"{base}/oneway", two_way=False, extra="      IntegrationMethod: POST\n") \
        + route("Slow", "slow", f"{base}/slow", extra="      IntegrationMethod: POST\n"
                "      TimeoutInMillis: 300\n") \
        + route("Hold", "hold", f"{base}/hold", extra="      IntegrationMethod: POST\n") \
        + route("Dead", "dead", f"http://127.0.0.1:{dead_port}/", extra="      IntegrationMethod: POST\n") \
        + route("Tmpl", "tmpl", f"{base}/tmpl", kind="HTTP", extra="""      IntegrationMethod: POST
      TemplateSelectionExpression: \\$default
      RequestTemplates:
        $default: '{"wrapped": $input.body, "id": "$context.connectionId"}'
  TmplIntegrationResponse:
    Type: AWS::ApiGatewayV2::IntegrationResponse
    Properties:
      ApiId: !Ref Chat
      IntegrationId: !Ref TmplIntegration
      IntegrationResponseKey: /2\\d\\d/
      ResponseTemplates:
        $default: '{"backend": $input.body}'
""") + route("Bye", "$disconnect", f"{base}/bye", two_way=False, extra="""      IntegrationMethod: POST
      RequestParameters:
        integration.request.header.connectionId: context.connectionId
""")


class WebSocketHttpIntegrationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend()
        cls.backend_thread = threading.Thread(target=cls.backend.serve_forever, daemon=True)
        cls.backend_thread.start()
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            dead_port = s.getsockname()[1]
        cls.tmp = tempfile.mkdtemp(prefix="wisp-ws-http-", dir=harness.SCRATCH)
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(template(cls.backend.server_address[1], dead_port))
        cls.server = Server(cls.tmp, "--no-watch")

    @classmethod
    def tearDownClass(cls):
        cls.backend.open_gates()
        cls.server.stop()
        cls.backend.shutdown()
        cls.backend.server_close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def connect(self):
        return WebSocket(self.server.port("Chat"), "/")

    def seen(self, path):
        return [r for r in self.backend.seen if urllib.parse.urlparse(r["path"]).path == path]

    def test_http_proxy_forwards_the_message_and_answers_with_the_body(self):
        ws = self.connect()
        try:
            message = {"action": "echo", "user": "ann b", "n": 1}
            ws.send(json.dumps(message))
            answer = json.loads(ws.recv())
        finally:
            ws.close()
        self.assertEqual(answer, {"got": message, "path": "/hook"})
        request = [r for r in self.seen("/hook") if json.loads(r["body"]) == message][-1]
        self.assertEqual(request["method"], "PUT")
        self.assertEqual(request["path"], "/hook?src=ws&user=ann%20b")
        self.assertEqual(len(request["headers"]["connectionid"]), 16)
        self.assertEqual(request["headers"]["x-static"], "fixed")
        self.assertTrue(request["headers"]["content-type"].startswith("application/json"))

    def test_one_way_route_sends_nothing_back(self):
        ws = self.connect()
        try:
            ws.send(json.dumps({"action": "fire", "k": "one-way"}))
            ws.send(json.dumps({"action": "echo", "k": "after"}))
            answer = json.loads(ws.recv())
        finally:
            ws.close()
        self.assertEqual(answer["got"]["k"], "after")  # fire's answer was not sent
        self.assertTrue(wait_until(lambda: any(
            json.loads(r["body"]) == {"action": "fire", "k": "one-way"}
            for r in self.seen("/oneway"))))

    def test_timeout_answers_endpoint_request_timed_out(self):
        ws = self.connect()
        try:
            ws.send(json.dumps({"action": "slow"}))
            answer = json.loads(ws.recv())
            ws.send(json.dumps({"action": "echo", "k": "after the timeout"}))
            after = json.loads(ws.recv())
        finally:
            ws.close()
        self.assertEqual(answer["message"], "Endpoint request timed out")
        self.assertEqual(len(answer["connectionId"]), 16)
        self.assertIn("requestId", answer)
        self.assertEqual(after["got"]["k"], "after the timeout")

    def test_a_waiting_endpoint_blocks_nothing(self):
        ws = self.connect()
        try:
            ws.send(json.dumps({"action": "hold", "k": "held"}))
            self.assertTrue(wait_until(lambda: self.seen("/hold")))
            ws.send(json.dumps({"action": "echo", "k": "while held"}))
            # Answered while the endpoint still holds the first request (its gate is shut).
            first = json.loads(ws.recv())
            self.backend.gates["/hold"].set()
            second = json.loads(ws.recv())
        finally:
            ws.close()
        self.assertEqual(first["got"]["k"], "while held")
        self.assertEqual(second, {"got": {"action": "hold", "k": "held"}, "path": "/hold"})

    def test_unreachable_endpoint_answers_internal_server_error(self):
        ws = self.connect()
        try:
            ws.send(json.dumps({"action": "dead"}))
            answer = json.loads(ws.recv())
            ws.send(json.dumps({"action": "echo", "k": "still here"}))
            after = json.loads(ws.recv())
        finally:
            ws.close()
        self.assertEqual(answer["message"], "Internal server error")
        self.assertEqual(after["got"]["k"], "still here")

    def test_http_integration_uses_request_and_response_templates(self):
        ws = self.connect()
        try:
            message = {"action": "tmpl", "v": [1, 2]}
            ws.send(json.dumps(message))
            answer = json.loads(ws.recv())
        finally:
            ws.close()
        self.assertEqual(answer["backend"]["wrapped"], message)
        self.assertEqual(len(answer["backend"]["id"]), 16)

    def test_disconnect_reaches_its_endpoint(self):
        ws = self.connect()
        ws.send(json.dumps({"action": "echo", "k": "hello"}))
        json.loads(ws.recv())
        connection_id = [r for r in self.seen("/hook")
                         if json.loads(r["body"]).get("k") == "hello"][-1]["headers"]["connectionid"]
        ws.close()
        self.assertTrue(wait_until(lambda: any(
            r["headers"].get("connectionid") == connection_id for r in self.seen("/bye"))))


class WebSocketHttpShutdownTest(unittest.TestCase):
    def test_sigterm_with_a_request_in_flight_exits_cleanly(self):
        backend = Backend()
        threading.Thread(target=backend.serve_forever, daemon=True).start()
        tmp = tempfile.mkdtemp(prefix="wisp-ws-http-stop-", dir=harness.SCRATCH)
        try:
            with open(f"{tmp}/template.yaml", "w") as f:
                f.write(template(backend.server_address[1], 9))
            server = Server(tmp, "--no-watch")
            try:
                ws = WebSocket(server.port("Chat"), "/")
                ws.send(json.dumps({"action": "hold"}))
                self.assertTrue(wait_until(lambda: backend.seen))
                self.assertEqual(server.terminate(), 0)
            finally:
                server.stop()
        finally:
            backend.open_gates()
            backend.shutdown()
            backend.server_close()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    harness.main()
