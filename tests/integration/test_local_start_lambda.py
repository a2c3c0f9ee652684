"""`wisp local start-lambda`: the Lambda Invoke API, driven by the real AWS CLI and boto3
(RequestResponse / Event / DryRun, Tail logs, function errors, qualifiers, 404, 429, 413,
400 shapes with x-amzn-ErrorType)."""

import base64
import http.client
import json
import os
import subprocess
import threading
import time
import unittest

import harness
from gateway_helpers import Server, header, wait_until

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.11, CodeUri: src/, Timeout: 3}
Resources:
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      FunctionName: echo-fn
      AutoPublishAlias: live
  BoomFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.boom
  SleepyFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.sleepy
      Timeout: 1
      ReservedConcurrentExecutions: 1
  NodeFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
"""

APP = r'''
import json, time
events = []
def echo(event, context):
    print("echo got", json.dumps(event))
    cc = context.client_context
    return {"event": event, "function": context.function_name, "arn": context.invoked_function_arn,
            "custom": cc.custom if cc is not None else None}
def boom(event, context):
    print("about to fail")
    raise ValueError("boom")
def sleepy(event, context):
    time.sleep(event.get("s", 0.5))
    if event.get("record"):
        open(event["record"], "w").write("ran")
    return "slept"
'''

NODE = "exports.handler = async (e) => ({ node: true, got: e });\n"


class StartLambdaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("python3.11", "Python runtime")
        import tempfile

        cls.tmp = tempfile.mkdtemp(prefix="wisp-lambda-")
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(TEMPLATE)
        os.makedirs(f"{cls.tmp}/src")
        with open(f"{cls.tmp}/src/app.py", "w") as f:
            f.write(APP)
        with open(f"{cls.tmp}/src/index.js", "w") as f:
            f.write(NODE)
        # With host paths: the functions record their runs in files under the test's directory
        # (in /tmp, which Lambda's file layout makes private to each worker).
        cls.server = Server(cls.tmp, "--no-watch", command="start-lambda",
                            extra_env={"WISP_LAMBDA_LAYOUT": "0"})
        cls.url = f"http://127.0.0.1:{cls.server.port('lambda')}"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        import shutil

        shutil.rmtree(cls.tmp, ignore_errors=True)

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("lambda", endpoint_url=self.url, region_name="us-east-1",
                            config=Config(retries={"total_max_attempts": 1}, read_timeout=30))

    def raw(self, method, path, body=b"", headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port("lambda"), timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def test_startup_lines(self):
        out = self.server.stdout()
        for fn in ("EchoFunction", "BoomFunction", "SleepyFunction", "NodeFunction"):
            self.assertIn(f"  {fn}", out)

    @staticmethod
    def cli_payload_flags():
        """AWS CLI v2 needs --cli-binary-format to send a raw JSON payload; v1 sends it raw."""
        version = subprocess.run(["aws", "--version"], capture_output=True, text=True).stdout + \
            subprocess.run(["aws", "--version"], capture_output=True, text=True).stderr
        return ["--cli-binary-format", "raw-in-base64-out"] if "aws-cli/2" in version else []

    def test_aws_cli_invoke(self):
        harness.require_peer("aws", "AWS CLI")
        outfile = os.path.join(self.tmp, "out.json")
        proc = subprocess.run(
            ["aws", "lambda", "invoke", "--endpoint-url", self.url, "--function-name", "EchoFunction",
             *self.cli_payload_flags(), "--payload", '{"hello": "cli"}',
             "--log-type", "Tail", outfile],
            capture_output=True, text=True, env=harness.env(), timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        meta = json.loads(proc.stdout)
        self.assertEqual(meta["StatusCode"], 200)
        self.assertEqual(meta["ExecutedVersion"], "$LATEST")
        self.assertNotIn("FunctionError", meta)
        log = base64.b64decode(meta["LogResult"]).decode()
        self.assertIn("START RequestId:", log)
        self.assertIn('echo got {"hello": "cli"}', log)
        self.assertIn("REPORT RequestId:", log)
        with open(outfile) as f:
            result = json.load(f)
        self.assertEqual(result["event"], {"hello": "cli"})
        self.assertEqual(result["function"], "echo-fn")

        proc = subprocess.run(
            ["aws", "lambda", "invoke", "--endpoint-url", self.url, "--function-name", "BoomFunction",
             outfile], capture_output=True, text=True, env=harness.env(), timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout)["FunctionError"], "Unhandled")
        with open(outfile) as f:
            error = json.load(f)
        self.assertEqual(error["errorType"], "ValueError")
        self.assertEqual(error["errorMessage"], "boom")

        proc = subprocess.run(
            ["aws", "lambda", "invoke", "--endpoint-url", self.url, "--function-name", "Nope", outfile],
            capture_output=True, text=True, env=harness.env(), timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("ResourceNotFoundException", proc.stderr)
        self.assertIn("Function not found: arn:aws:lambda:us-east-1:123456789012:function:Nope", proc.stderr)

    def test_boto3_request_response(self):
        lam = self.client()
        response = lam.invoke(FunctionName="echo-fn", Payload=b'{"a": 1}',
                              ClientContext=base64.b64encode(b'{"custom": {"k": "v"}}').decode())
        self.assertEqual(response["StatusCode"], 200)
        self.assertEqual(response["ExecutedVersion"], "$LATEST")
        result = json.loads(response["Payload"].read())
        self.assertEqual(result["event"], {"a": 1})
        self.assertEqual(result["custom"], {"k": "v"})
        self.assertEqual(result["arn"], "arn:aws:lambda:us-east-1:123456789012:function:echo-fn")
        self.assertTrue(response["ResponseMetadata"]["RequestId"])
        # Empty payload: {}.
        self.assertEqual(json.loads(lam.invoke(FunctionName="EchoFunction")["Payload"].read())["event"], {})
        # Qualifiers: $LATEST and the AutoPublishAlias; an ARN names the function too.
        for name in ("echo-fn:$LATEST", "EchoFunction:live",
                     "arn:aws:lambda:us-east-1:123456789012:function:echo-fn",
                     "123456789012:function:echo-fn:live"):
            self.assertEqual(lam.invoke(FunctionName=name, Payload=b"{}")["StatusCode"], 200, name)
        result = json.loads(lam.invoke(FunctionName="echo-fn", Qualifier="live", Payload=b"{}")["Payload"].read())
        self.assertEqual(result["arn"], "arn:aws:lambda:us-east-1:123456789012:function:echo-fn:live")
        # Node too.
        result = json.loads(lam.invoke(FunctionName="NodeFunction", Payload=b'"x"')["Payload"].read())
        self.assertEqual(result, {"node": True, "got": "x"})

    def test_boto3_errors(self):
        from botocore.exceptions import ClientError

        lam = self.client()
        response = lam.invoke(FunctionName="BoomFunction", LogType="Tail")
        self.assertEqual(response["StatusCode"], 200)
        self.assertEqual(response["FunctionError"], "Unhandled")
        self.assertIn("about to fail", base64.b64decode(response["LogResult"]).decode())
        # Timeouts are function errors too.
        response = lam.invoke(FunctionName="SleepyFunction", Payload=b'{"s": 2}')
        self.assertEqual(response["FunctionError"], "Unhandled")
        self.assertIn("Task timed out after 1.0", json.loads(response["Payload"].read())["errorMessage"])
        for name, code in (("Nope", "ResourceNotFoundException"), ("EchoFunction:prod", "ResourceNotFoundException")):
            with self.assertRaises(ClientError) as caught:
                lam.invoke(FunctionName=name)
            self.assertEqual(caught.exception.response["Error"]["Code"], code)
            self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.assertIn("function:EchoFunction:prod", str(caught.exception))
        with self.assertRaises(ClientError) as caught:
            lam.invoke(FunctionName="EchoFunction", Payload=b"not json")
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidRequestContentException")
        with self.assertRaises(ClientError) as caught:
            lam.invoke(FunctionName="EchoFunction", Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
        self.assertEqual(caught.exception.response["Error"]["Code"], "RequestTooLargeException")
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 413)

    def test_throttled_is_429(self):
        from botocore.exceptions import ClientError

        lam = self.client()
        lam.invoke(FunctionName="SleepyFunction", Payload=b'{"s": 0.01}')  # started
        results = []

        def call():
            try:
                results.append(lam.invoke(FunctionName="SleepyFunction", Payload=b'{"s": 0.8}')["StatusCode"])
            except ClientError as e:
                results.append(e.response["Error"]["Code"])

        threads = [threading.Thread(target=call) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results.count(200), 1, results)
        self.assertEqual(results.count("TooManyRequestsException"), 2, results)
        status, headers, body = None, None, None
        threads = [threading.Thread(target=lambda: lam.invoke(FunctionName="SleepyFunction", Payload=b'{"s": 0.8}'))]
        threads[0].start()
        time.sleep(0.3)
        status, headers, body = self.raw("POST", "/2015-03-31/functions/SleepyFunction/invocations", b"{}")
        threads[0].join()
        self.assertEqual(status, 429)
        self.assertEqual(header(headers, "x-amzn-ErrorType"), "TooManyRequestsException")
        self.assertEqual(json.loads(body)["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded")

    def test_event_and_dry_run(self):
        lam = self.client()
        record = os.path.join(self.tmp, "event-ran")
        response = lam.invoke(FunctionName="SleepyFunction", InvocationType="Event",
                              Payload=json.dumps({"s": 0.2, "record": record}).encode())
        self.assertEqual(response["StatusCode"], 202)
        self.assertEqual(response["Payload"].read(), b"")
        self.assertTrue(wait_until(lambda: os.path.exists(record), timeout=10))
        response = lam.invoke(FunctionName="EchoFunction", InvocationType="DryRun")
        self.assertEqual(response["StatusCode"], 204)

    def test_raw_error_shapes(self):
        status, headers, body = self.raw("POST", "/2015-03-31/functions/Nope/invocations", b"{}")
        self.assertEqual(status, 404)
        self.assertEqual(header(headers, "x-amzn-ErrorType"), "ResourceNotFoundException")
        self.assertEqual(json.loads(body), {"Type": "User", "Message":
                         "Function not found: arn:aws:lambda:us-east-1:123456789012:function:Nope"})
        status, headers, body = self.raw("POST", "/2015-03-31/functions/EchoFunction/invocations", b"{}",
                                         {"X-Amz-Invocation-Type": "Sometimes"})
        self.assertEqual(status, 400)
        self.assertEqual(header(headers, "x-amzn-ErrorType"), "ValidationException")
        status, headers, body = self.raw("POST", "/2015-03-31/functions/bad%20name/invocations", b"{}")
        self.assertEqual(status, 400)
        status, headers, body = self.raw("GET", "/2015-03-31/functions/EchoFunction/invocations")
        self.assertEqual(status, 404)
        self.assertEqual(header(headers, "x-amzn-ErrorType"), "UnknownOperationException")
        status, headers, body = self.raw("POST", "/2015-03-31/functions/EchoFunction/invocations", b"{}",
                                         {"X-Amz-Client-Context": "%%%"})
        self.assertEqual(status, 400)
        self.assertEqual(header(headers, "x-amzn-ErrorType"), "InvalidRequestContentException")


class StartLambdaSelectionTest(harness.WispTestCase):
    def test_function_selection_and_unknown_names(self):
        harness.require_peer("python3.11", "Python runtime")
        self.write("template.yaml", TEMPLATE)
        self.write("src/app.py", APP)
        self.write("src/index.js", NODE)
        proc = harness.wisp("local", "start-lambda", "EchoFuncton", "--port", "0", cwd=self.tmp, timeout=30)
        self.assertWisp(proc, 1, stderr_has="function 'EchoFuncton' is not in the template; did you mean 'EchoFunction'?")
        with Server(self.tmp, "EchoFunction", "--no-watch", command="start-lambda") as server:
            conn = http.client.HTTPConnection("127.0.0.1", server.port("lambda"), timeout=30)
            conn.request("POST", "/2015-03-31/functions/BoomFunction/invocations", body=b"{}")
            self.assertEqual(conn.getresponse().status, 404)  # not served


if __name__ == "__main__":
    harness.main()
