"""Several APIs side by side: APIs whose routes cannot collide share one port (as SAM CLI
serves them, so `wisp init`'s scaffold answers /hello and /hello/{name} on :3000); APIs
whose routes overlap get the following ports. Each keeps its own semantics."""

import http.client
import json
import socket
import subprocess

import harness
from gateway_helpers import Server, wait_until

SCAFFOLD_LIKE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  HelloWorldFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello_world/
      Handler: app.lambda_handler
      Runtime: python3.11
      Events:
        HelloWorld: {Type: Api, Properties: {Path: /hello, Method: get}}
        HelloWorldHttp: {Type: HttpApi, Properties: {Path: "/hello/{name}", Method: get}}
"""

OVERLAPPING = """
Transform: AWS::Serverless-2016-10-31
Resources:
  HelloWorldFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello_world/
      Handler: app.lambda_handler
      Runtime: python3.11
      Events:
        Rest: {Type: Api, Properties: {Path: "/hello/{name}", Method: get}}
        Http: {Type: HttpApi, Properties: {Path: "/hello/{who}", Method: any}}
"""

APP = '''
import json
def lambda_handler(event, context):
    name = (event.get("pathParameters") or {}).get("name") or "world"
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"message": "hello " + name, "version": event.get("version", "REST")})}
'''


def two_free_ports():
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise AssertionError("no two consecutive free ports")


class PortsTest(harness.WispTestCase):
    def setUp(self):
        super().setUp()
        harness.require_peer("python3.11", "Python runtime")
        self.write("hello_world/app.py", APP)

    def test_non_overlapping_apis_share_a_port(self):
        self.write("template.yaml", SCAFFOLD_LIKE)
        with Server(self.tmp, "--no-watch") as server:
            self.assertEqual(server.port("ServerlessRestApi"), server.port("ServerlessHttpApi"))
            rest = server.json("ServerlessRestApi", "GET", "/hello")
            self.assertEqual(rest, {"message": "hello world", "version": "REST"})
            http = server.json("ServerlessRestApi", "GET", "/hello/wisp")
            self.assertEqual(http, {"message": "hello wisp", "version": "2.0"})
            # A request no API routes is the port's first API's (REST here).
            status, _, body = server.request("ServerlessRestApi", "GET", "/nope")
            self.assertEqual((status, body), (403, b'{"message":"Missing Authentication Token"}'))

    def test_overlapping_apis_get_consecutive_ports(self):
        self.write("template.yaml", OVERLAPPING)
        port = two_free_ports()
        # --port fixed (not 0): the second API gets the next port.
        proc = subprocess.Popen([harness.WISP, "local", "start-api", "--port", str(port), "--no-watch"],
                                cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=harness.env(), start_new_session=True)
        try:
            lines = []
            for line in proc.stdout:
                lines.append(line.rstrip())
                if line.startswith("Ready."):
                    break
            text = "\n".join(lines)
            self.assertIn(f"ServerlessRestApi (REST API, stage Prod): http://127.0.0.1:{port}", text)
            self.assertIn(f"ServerlessHttpApi (HTTP API, stage $default): http://127.0.0.1:{port + 1}", text)
            for p, expected in ((port, "REST"), (port + 1, "2.0")):
                conn = http.client.HTTPConnection("127.0.0.1", p, timeout=30)
                conn.request("GET", "/hello/x")
                response = conn.getresponse()
                self.assertEqual(response.status, 200)
                self.assertEqual(json.loads(response.read())["version"], expected)
                conn.close()
        finally:
            harness.stop(proc)
            proc.stdout.close()
            proc.stderr.close()

    def test_static_route_conflicts_are_warned(self):
        self.write("template.yaml", """
Transform: AWS::Serverless-2016-10-31
Resources:
  HelloWorldFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello_world/
      Handler: app.lambda_handler
      Runtime: python3.11
      Events:
        Id: {Type: Api, Properties: {Path: "/hello/{id}", Method: get}}
        Name: {Type: Api, Properties: {Path: "/hello/{name}/x", Method: get}}
        HttpId: {Type: HttpApi, Properties: {Path: "/items/{id}", Method: get}}
        HttpName: {Type: HttpApi, Properties: {Path: "/items/{name}", Method: get}}
""")
        with Server(self.tmp, "--no-watch") as server:
            # Served as written (as SAM CLI does), with what API Gateway would make of it.
            status, _, _ = server.request("ServerlessRestApi", "GET", "/hello/a/x")
            self.assertEqual(status, 200)
            status, _, body = server.request("ServerlessHttpApi", "GET", "/items/7")
            self.assertEqual(status, 200)
            self.assertTrue(wait_until(lambda: "never reached" in server.stderr(), timeout=5))
            stderr = server.stderr()
            self.assertIn("warning: API ServerlessRestApi: /hello/{id} and /hello/{name}: a REST API "
                          "resource has at most one variable child; API Gateway refuses this at "
                          "deployment (served here as written)", stderr)
            self.assertIn("warning: API ServerlessHttpApi: GET /items/{name} is never reached: "
                          "GET /items/{id} matches the same requests", stderr)

    def test_port_in_use_is_a_clear_error(self):
        self.write("template.yaml", SCAFFOLD_LIKE)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            proc = harness.wisp("local", "start-api", "--port", port, cwd=self.tmp, timeout=30)
            self.assertWisp(proc, 1, stderr_has=f"cannot listen on 127.0.0.1:{port}")

    def test_template_without_apis(self):
        self.write("template.yaml", """
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: hello_world/, Handler: app.lambda_handler, Runtime: python3.11}
""")
        proc = harness.wisp("local", "start-api", "--port", "0", cwd=self.tmp, timeout=30)
        self.assertWisp(proc, 1, stderr_has="the template has no Api or HttpApi events and no function URLs to serve")


if __name__ == "__main__":
    harness.main()
