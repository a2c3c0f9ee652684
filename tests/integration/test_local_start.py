"""`wisp local start`: one process serves the template's API (as start-api), the Invoke API (as
start-lambda) and its event sources on one set of workers, prints what runs where, logs every
request and delivery in one access log, and stops everything on one Ctrl-C. A function behind
the API sends to the template's queue with the SDK — `!Ref Queue` resolved to the backend's
URL, AWS_ENDPOINT_URL pointing at the backend — and the queue's poller delivers the message to
another function."""

import json
import os
import re
import signal
import time
import unittest
import urllib.request

import harness
from events_helpers import EventsApp, boto

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  Web:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: web.handler
      CodeUri: src
      Environment:
        Variables:
          QUEUE_URL: !Ref Jobs
          QUEUE_ARN: !GetAtt Jobs.Arn
      Events:
        Submit:
          Type: HttpApi
          Properties:
            Path: /submit
            Method: post
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      Environment:
        Variables:
          EVENTS_DIR: "@EVENTS_DIR@"
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
        Yearly:
          Type: Schedule
          Properties:
            Schedule: cron(0 0 1 1 ? *)
"""

# The SDK sends to the queue the template named, through AWS_ENDPOINT_URL (the backend).
WEB = """import json, os
import boto3

def handler(event, context):
    sqs = boto3.client("sqs")
    sent = sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=event["body"])
    return {"statusCode": 200, "body": json.dumps({
        "messageId": sent["MessageId"], "queueUrl": os.environ["QUEUE_URL"],
        "queueArn": os.environ["QUEUE_ARN"], "endpoint": os.environ.get("AWS_ENDPOINT_URL")})}
"""


class LocalStart(harness.WispTestCase):
    def test_apis_invoke_api_and_event_sources_in_one_process(self):
        try:
            import boto3  # noqa: F401  (the Web function's python3.11 uses the same site-packages)
        except ImportError:
            raise harness.unittest.SkipTest("PEER MISSING: boto3 for python3.11")
        with harness.Moto() as moto:
            app = EventsApp(self, TEMPLATE, moto.url)
            self.write("app/src/web.py", WEB)
            with app:
                out = app.output()
                api = re.search(r"ServerlessHttpApi \(HTTP API, stage \$default\): (http://\S+)", out)
                invoke = re.search(r"Lambda Invoke API: (http://\S+)", out)
                self.assertIsNotNone(api, out)
                self.assertIsNotNone(invoke, out)
                self.assertIn("POST    /submit", out)
                self.assertIn("Event sources:", out)
                self.assertRegex(out, r"SQS +app-Jobs-\w+ → Worker \(batch 10, visibility 30 s\)")
                self.assertRegex(out, r"Schedule +cron\(0 0 1 1 \? \*\) → Worker \(next \d{4}-01-01T00:00:00Z\)")
                self.assertIn("Jobs (AWS::SQS::Queue): app-Jobs-", out)

                # API → function → SDK → the backend's queue → poller → another function.
                request = urllib.request.Request(api.group(1) + "/submit", data=b"job-1", method="POST",
                                                 headers={"Content-Type": "text/plain"})
                answer = json.loads(urllib.request.urlopen(request, timeout=30).read())
                sqs = boto("sqs", moto)
                url = sqs.get_queue_url(QueueName=app.names()["Jobs"])["QueueUrl"]
                self.assertEqual(answer["queueUrl"], url)
                self.assertEqual(answer["endpoint"], moto.url)
                self.assertEqual(answer["queueArn"],
                                 sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
                                 ["Attributes"]["QueueArn"])
                got = app.wait_for(lambda r: len(r) >= 1)
                record = got[0]["event"]["Records"][0]
                self.assertEqual((record["messageId"], record["body"]), (answer["messageId"], "job-1"))

                # The Invoke API serves the same functions.
                request = urllib.request.Request(
                    invoke.group(1) + "/2015-03-31/functions/Worker/invocations",
                    data=json.dumps({"Records": []}).encode(), method="POST",
                    headers={"Content-Type": "application/json"})
                reply = urllib.request.urlopen(request, timeout=30)
                self.assertEqual(reply.status, 200)
                self.maxDiff = None
                self.assertEqual(json.loads(reply.read()), {"ok": True})

                # One access log: the API request and the SQS delivery.
                app.wait_log("POST /submit 200 Web")
                app.wait_log("SQS " + app.names()["Jobs"] + " Worker $LATEST")
                started = time.monotonic()
                self.assertEqual(app.stop(signal.SIGINT), 0)
                self.assertLess(time.monotonic() - started, 10)

    def test_a_template_without_event_sources_needs_no_backend(self):
        self.write("template.yaml", """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      Events:
        Get:
          Type: Api
          Properties:
            Path: /hello
            Method: get
""")
        self.write("src/app.py", "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hi'}\n")
        import subprocess
        proc = subprocess.Popen([harness.WISP, "local", "start", "-p", "0", "--lambda-port", "0",
                                 "--no-watch"], cwd=self.tmp, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=harness.env(AWS_ENDPOINT_URL=""),
                                start_new_session=True)
        try:
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("Ready."):
                    break
            out = "".join(lines)
            self.assertIn("Lambda Invoke API", out)
            self.assertNotIn("Backend:", out)
            self.assertNotIn("Event sources:", out)
            url = re.search(r"ServerlessRestApi \(REST API, stage Prod\): (http://\S+)", out).group(1)
            self.assertEqual(urllib.request.urlopen(url + "/hello", timeout=30).read(), b"hi")
        finally:
            self.assertEqual(harness.stop(proc), 0)
            proc.stdout.close()
            proc.stderr.close()


class LocalStartFunctionUrls(harness.WispTestCase):
    def test_function_urls_are_served_beside_the_api_and_pass_over_the_invoke_api_port(self):
        import socket
        import subprocess
        self.write("template.yaml", """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      FunctionUrlConfig:
        AuthType: NONE
      Events:
        Get:
          Type: Api
          Properties:
            Path: /hello
            Method: get
""")
        self.write("src/app.py", "import json\ndef handler(event, context):\n"
                   "    return {'statusCode': 200, 'body': json.dumps({'path': event['rawPath'] if 'rawPath' in event else event['path']})}\n")
        # Three consecutive free ports: the API on the first, the Invoke API on the second, so
        # the function URL (after the API's ports) must pass over the second to the third.
        for _ in range(50):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                base = s.getsockname()[1]
            if base > 65000:
                continue
            try:
                probes = []
                for p in (base, base + 1, base + 2):
                    probe = socket.socket()
                    probes.append(probe)
                    probe.bind(("127.0.0.1", p))
                for probe in probes:
                    probe.close()
                break
            except OSError:
                for probe in probes:
                    probe.close()
        proc = subprocess.Popen([harness.WISP, "local", "start", "-p", str(base), "--lambda-port",
                                 str(base + 1), "--no-watch"], cwd=self.tmp, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=harness.env(AWS_ENDPOINT_URL=""),
                                start_new_session=True)
        try:
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("Ready."):
                    break
            out = "".join(lines)
            self.assertIn(f"ServerlessRestApi (REST API, stage Prod): http://127.0.0.1:{base}", out)
            self.assertIn(f"Lambda Invoke API: http://127.0.0.1:{base + 1}", out)
            self.assertIn(f"Hello function URL (NONE, BUFFERED): http://127.0.0.1:{base + 2}/", out)
            got = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{base + 2}/a/b", timeout=30).read())
            self.assertEqual(got, {"path": "/a/b"})
            got = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{base}/hello", timeout=30).read())
            self.assertEqual(got, {"path": "/hello"})
        finally:
            self.assertEqual(harness.stop(proc), 0)


class LocalStartWebSocket(harness.WispTestCase):
    def test_a_websocket_api_is_served_with_its_connections_api(self):
        """A WebSocket API beside the Invoke API: a message's function answers through
        @connections with boto3, the endpoint taken from its template variable."""
        import subprocess
        from ws_client import WebSocket
        self.write("template.yaml", """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Chat:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: chat, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Chat, StageName: prod}
  Reply:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      Environment:
        Variables:
          CALLBACK: !Sub https://${Chat}.execute-api.${AWS::Region}.amazonaws.com/${Stage}
  ReplyRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $default
      Target: !Join [/, [integrations, !Ref ReplyIntegration]]
  ReplyIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Chat
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt Reply.Arn
""")
        self.write("src/app.py", """import os, boto3
def handler(event, context):
    client = boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["CALLBACK"])
    client.post_to_connection(ConnectionId=event["requestContext"]["connectionId"],
                              Data=("got " + event["body"]).encode())
    return {"statusCode": 200}
""")
        proc = subprocess.Popen([harness.WISP, "local", "start", "-p", "0", "--lambda-port", "0",
                                 "--no-watch"], cwd=self.tmp, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=harness.env(AWS_ENDPOINT_URL="",
                                                XDG_CACHE_HOME=os.path.join(self.tmp, "cache")),
                                start_new_session=True)
        try:
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("Ready."):
                    break
            out = "".join(lines)
            self.assertIn("Lambda Invoke API", out)
            port = int(re.search(r"Chat \(WebSocket API, stage prod\): ws://127\.0\.0\.1:(\d+)", out).group(1))
            self.assertIn(f"Reply: CALLBACK is a WebSocket API's local endpoint, https://127.0.0.1:{port}/prod", out)
            ws = WebSocket(port, "/")
            ws.send("hello")
            self.assertEqual(ws.recv(), "got hello")
            ws.close()
        finally:
            self.assertEqual(harness.stop(proc), 0)


if __name__ == "__main__":
    harness.main()
