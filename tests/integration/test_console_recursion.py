"""Recursive loop detection under `wisp local start`, against moto_server: a function that sends
every message it gets back to the SQS queue that triggers it (plain boto3 `send_message`, as an
app with the bug would). As in AWS Lambda, the trace header's Lineage counts the chain (the
function's _X_AMZN_TRACE_ID; the AWSTraceHeader the next message carries), the 17th invocation
is stopped (RecursiveInvocationException) and its message dropped, or sent to the queue's
dead-letter queue when it has one; the console flags the loop; `RecursiveLoop: Allow` lets it
go on. Sources: docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html and the AWS
Compute blog post "Detecting and stopping recursive loops in AWS Lambda functions" (2023)."""

import json
import os
import re
import time
import urllib.request

import harness
from events_helpers import EventsApp, boto, template

HANDLER = r'''
import json
import os
import uuid

import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    for record in event["Records"]:
        body = json.loads(record["body"])
        seen = {"round": body["round"], "trace": os.environ.get("_X_AMZN_TRACE_ID", ""),
                "header": record["attributes"].get("AWSTraceHeader", "")}
        with open(os.path.join(os.environ["EVENTS_DIR"], f"{body['round']:03d}-{uuid.uuid4()}.json"), "w") as f:
            json.dump(seen, f)
        if body["round"] < int(os.environ["LAST_ROUND"]):
            sqs.send_message(QueueUrl=os.environ["QUEUE_URL"],
                             MessageBody=json.dumps({"round": body["round"] + 1}))
'''

LINEAGE = re.compile(r"Lineage=1:([0-9a-f]{8}):(\d+)")
ROOT = re.compile(r"Root=([^;]+)")


def resources(dlq):
    text = "  Loop:\n    Type: AWS::SQS::Queue\n"
    if dlq:
        text += """    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dead.Arn
        maxReceiveCount: 3
  Dead:
    Type: AWS::SQS::Queue
"""
    return text


def echo(extra=""):
    return f"""  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      Timeout: 10
{extra}      Environment:
        Variables:
          EVENTS_DIR: "@EVENTS_DIR@"
          QUEUE_URL: !Ref Loop
          LAST_ROUND: "20"
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Loop.Arn
"""


class RecursiveLoop(harness.WispTestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = harness.Moto().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)

    def setUp(self):
        super().setUp()
        harness.require_peer("python3.12", "the python3.12 runtime")
        self.moto.reset()
        self.sqs = boto("sqs", self.moto)

    def console_function(self, app, function_id):
        url = next(re.match(r"^Console: (\S+)", line).group(1)
                   for line in list(app.stdout) if line.startswith("Console: "))
        with urllib.request.urlopen(url + "api/state", timeout=10) as response:
            state = json.load(response)
        return next(f for f in state["functions"] if f["id"] == function_id)

    def start_loop(self, app):
        url = self.sqs.get_queue_url(QueueName=app.names()["Loop"])["QueueUrl"]
        self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"round": 1}))
        return url

    def test_the_17th_invocation_of_the_chain_is_stopped_and_flagged(self):
        with EventsApp(self, template(resources(False), echo()), self.moto.url, handler=HANDLER) as app:
            url = self.start_loop(app)
            app.wait_log("recursive loop: Echo invoked 16 times", timeout=60)
            got = sorted(app.received(), key=lambda r: r["round"])
            # Rounds 1..16 ran; the 17th message was not delivered to the function.
            self.assertEqual([r["round"] for r in got], list(range(1, 17)), app.output())
            # The first message came from outside (no trace header); each later one carries the
            # header the function had (SDK → AWSTraceHeader), with the chain's count.
            self.assertEqual(got[0]["header"], "")
            counts = [int(LINEAGE.search(r["trace"]).group(2)) for r in got]
            self.assertEqual(counts, list(range(16)))
            roots = {ROOT.search(r["trace"]).group(1) for r in got}
            self.assertEqual(len(roots), 1)
            for before, after in zip(got, got[1:]):
                self.assertEqual(after["header"], before["trace"])
            # Dropped: nothing left in the queue, and nothing runs any more.
            attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            self.assertEqual((attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]),
                             ("0", "0"))
            self.assertIn("1 message dropped", app.output())
            fn = self.console_function(app, "Echo")
            self.assertEqual(fn["recursionStops"], 1)
            self.assertEqual(fn["recursionDepth"], 16)
            self.assertEqual(fn["invocations"], 16)
            traps = [t for t in fn["traps"] if t["kind"] == "recursion"]
            self.assertEqual(len(traps), 1, fn["traps"])
            self.assertIn("recursive loop: ran 16 times in one chain of events", traps[0]["message"])
            self.assertIn("stopped 1 time", traps[0]["message"])
            time.sleep(1)
            self.assertEqual(len(app.received()), 16)
        # `wisp cost` reads the same from the local log store.
        cost = harness.wisp("cost", "--local", "--output", "json", cwd=app.dir)
        self.assertEqual(cost.returncode, 0, cost.stderr)
        (echo_cost,) = [f for f in json.loads(cost.stdout)["functions"]]
        self.assertEqual(echo_cost["recursionStops"], 1)
        self.assertEqual(echo_cost["invocations"], 16)
        text = harness.wisp("cost", "--local", cwd=app.dir)
        self.assertIn("Echo: recursive loop: stopped 1 time after 16 invocations", text.stdout)

    def test_the_stopped_message_goes_to_the_queues_dead_letter_queue(self):
        with EventsApp(self, template(resources(True), echo()), self.moto.url, handler=HANDLER) as app:
            self.start_loop(app)
            app.wait_log("recursive loop: Echo invoked 16 times", timeout=60)
            dead = self.sqs.get_queue_url(QueueName=app.names()["Dead"])["QueueUrl"]
            messages = self.sqs.receive_message(QueueUrl=dead, WaitTimeSeconds=2).get("Messages", [])
            self.assertEqual([json.loads(m["Body"]) for m in messages], [{"round": 17}])
            self.assertEqual(len(app.received()), 16)

    def test_recursive_loop_allow_lets_the_chain_go_on(self):
        with EventsApp(self, template(resources(False), echo("      RecursiveLoop: Allow\n")), self.moto.url,
                       handler=HANDLER) as app:
            self.start_loop(app)
            got = app.wait_for(lambda r: len(r) >= 20, timeout=90, what="20 rounds")
            self.assertEqual(sorted(r["round"] for r in got), list(range(1, 21)))
            self.assertNotIn("recursive loop:", app.output())
            deadline = time.monotonic() + 10  # the 20th invocation's end reaches the console
            fn = self.console_function(app, "Echo")
            while fn["invocations"] < 20 and time.monotonic() < deadline:
                time.sleep(0.1)
                fn = self.console_function(app, "Echo")
            self.assertEqual(fn["recursionStops"], 0)
            self.assertEqual(fn["recursionDepth"], 20)


if __name__ == "__main__":
    import unittest

    unittest.main()
