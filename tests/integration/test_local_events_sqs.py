"""SQS event sources, locally, against moto_server: the exact record Lambda delivers (checked
field by field and with @aws-lambda-powertools/parser's SqsSchema), partial batch failures,
the dead-letter queue, filters deleting what they reject, FIFO order per group, the mapping
Lambda refuses, a backend that fails and throttles, and Ctrl-C in the middle of a batch.
Sources: ../shared/reference/event-sources.md (Lambda developer guide with-sqs,
invocation-eventfiltering; what moto 5.2.1 does)."""

import hashlib
import json
import os
import re
import signal
import subprocess
import time

import harness
from aws_proxy import FaultProxy
from events_helpers import EventsApp, boto, function, powertools_check, template


def queue_state(sqs, url):
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def ok_bodies(received, function_id=None):
    out = []
    for item in received:
        if item["status"] != "ok" or (function_id and item["function"] != function_id):
            continue
        out += [r["body"] for r in item["event"]["Records"]]
    return out


class SqsEventSources(harness.WispTestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = harness.Moto().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)

    def setUp(self):
        super().setUp()
        self.moto.reset()
        self.sqs = boto("sqs", self.moto)

    def queue_url(self, app, logical_id):
        return self.sqs.get_queue_url(QueueName=app.names()[logical_id])["QueueUrl"]

    def test_a_message_sent_with_the_aws_cli_arrives_as_lambdas_exact_record(self):
        harness.require_peer("aws", "the AWS CLI")
        resources = """  Orders:
    Type: AWS::SQS::Queue
"""
        events = """        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
"""
        with EventsApp(self, template(resources, function("Process", events)), self.moto.url) as app:
            url = self.queue_url(app, "Orders")
            body = '{"order": 42, "note": "caf\u00e9"}'
            sent = harness.env()
            proc = subprocess.run(
                ["aws", "--endpoint-url", self.moto.url, "--region", "us-east-1", "sqs", "send-message",
                 "--queue-url", url, "--message-body", body, "--message-attributes",
                 '{"kind":{"DataType":"String","StringValue":"new"},"n":{"DataType":"Number","StringValue":"7"}}'],
                capture_output=True, text=True, env=sent)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            answer = json.loads(proc.stdout)
            got = app.wait_for(lambda r: len(r) >= 1)
            event = got[0]["event"]
            (record,) = event["Records"]
            self.assertEqual(list(record), ["messageId", "receiptHandle", "body", "attributes",
                                            "messageAttributes", "md5OfBody", "md5OfMessageAttributes",
                                            "eventSource", "eventSourceARN", "awsRegion"])
            self.assertEqual(record["messageId"], answer["MessageId"])
            self.assertEqual(record["body"], body)
            self.assertEqual(record["md5OfBody"], hashlib.md5(body.encode()).hexdigest())
            self.assertEqual(record["md5OfBody"], answer["MD5OfMessageBody"])
            self.assertEqual(record["md5OfMessageAttributes"], answer["MD5OfMessageAttributes"])
            self.assertEqual(record["eventSource"], "aws:sqs")
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.assertEqual(record["eventSourceARN"], arn)
            self.assertEqual(record["awsRegion"], "us-east-1")
            attrs = record["attributes"]
            self.assertEqual(list(attrs)[:4], ["ApproximateReceiveCount", "SentTimestamp", "SenderId",
                                               "ApproximateFirstReceiveTimestamp"])
            self.assertEqual(attrs["ApproximateReceiveCount"], "1")
            self.assertTrue(all(isinstance(v, str) for v in attrs.values()))
            self.assertTrue(attrs["SentTimestamp"].isdigit())
            self.assertEqual(record["messageAttributes"]["kind"],
                             {"stringValue": "new", "stringListValues": [], "binaryListValues": [],
                              "dataType": "String"})
            self.assertEqual(record["messageAttributes"]["n"]["dataType"], "Number")
            powertools_check(self, {"SqsSchema": [event]})
            # Success deletes the batch.
            deadline = time.monotonic() + 10
            while queue_state(self.sqs, url) != (0, 0) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(queue_state(self.sqs, url), (0, 0))
            app.wait_log("SQS " + app.names()["Orders"] + " Process $LATEST")
            # The delivery is in the function's local log store too.
            logs = harness.wisp("logs", "--local", "-n", "Process", cwd=app.dir)
            self.assertIn("EVENT SQS " + app.names()["Orders"] + ": 1 record: ok", logs.stdout, logs.stderr)

    def test_partial_batch_failure_returns_only_the_failed_messages(self):
        resources = """  Orders:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 3
"""
        events = """        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
            BatchSize: 10
            MaximumBatchingWindowInSeconds: 1
            FunctionResponseTypes: [ReportBatchItemFailures]
"""
        fn = function("Process", events, environment="          REPORT_FAILURES: '1'\n")
        with EventsApp(self, template(resources, fn), self.moto.url) as app:
            url = self.queue_url(app, "Orders")
            self.sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": "1", "MessageBody": "ok-1"}, {"Id": "2", "MessageBody": "fail-once"},
                {"Id": "3", "MessageBody": "ok-2"}])
            got = app.wait_for(lambda r: "fail-once" in ok_bodies(r), timeout=30)
            first = got[0]
            self.assertEqual(first["status"], "partial")
            self.assertEqual(sorted(r["body"] for r in first["event"]["Records"]), ["fail-once", "ok-1", "ok-2"])
            # Only the failed message came back, on its second receive.
            retried = [item for item in got[1:] if item["event"]["Records"]]
            self.assertEqual([r["body"] for item in retried for r in item["event"]["Records"]], ["fail-once"])
            self.assertEqual(retried[0]["event"]["Records"][0]["attributes"]["ApproximateReceiveCount"], "2")
            time.sleep(0.5)
            self.assertEqual(queue_state(self.sqs, url), (0, 0))
            app.wait_log("partial: 1 failed, 2 deleted")

    def test_a_poison_message_ends_in_the_dead_letter_queue(self):
        resources = """  Dlq:
    Type: AWS::SQS::Queue
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 2
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dlq.Arn
        maxReceiveCount: 2
"""
        events = """        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
"""
        with EventsApp(self, template(resources, function("Process", events, timeout=2)), self.moto.url) as app:
            url = self.queue_url(app, "Orders")
            dlq = self.queue_url(app, "Dlq")
            sent = self.sqs.send_message(QueueUrl=url, MessageBody="boom")["MessageId"]
            app.wait_for(lambda r: len(r) >= 2, timeout=20)
            app.wait_log("moves it to the dead-letter queue " + app.names()["Dlq"])
            deadline = time.monotonic() + 20
            moved = []
            while not moved and time.monotonic() < deadline:
                moved = self.sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
            self.assertEqual([m["MessageId"] for m in moved], [sent])
            self.assertEqual([m["Body"] for m in moved], ["boom"])
            counts = [item["event"]["Records"][0]["attributes"]["ApproximateReceiveCount"]
                      for item in app.received()]
            self.assertEqual(counts, ["1", "2"])

    def test_a_filter_deletes_the_messages_it_rejects(self):
        resources = """  Orders:
    Type: AWS::SQS::Queue
"""
        events = """        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
            FilterCriteria:
              Filters:
                - Pattern: '{"body": {"kind": ["keep"]}}'
"""
        with EventsApp(self, template(resources, function("Process", events)), self.moto.url) as app:
            url = self.queue_url(app, "Orders")
            for body in ['{"kind": "drop", "n": 1}', "keep", '{"kind": "keep", "n": 2}']:
                self.sqs.send_message(QueueUrl=url, MessageBody=body)
            app.wait_for(lambda r: ok_bodies(r) == ['{"kind": "keep", "n": 2}'])
            app.wait_log("did not match the filter criteria")
            deadline = time.monotonic() + 10
            while queue_state(self.sqs, url) != (0, 0) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(queue_state(self.sqs, url), (0, 0))
            time.sleep(1)
            self.assertEqual(len(app.received()), 1)

    def test_fifo_messages_arrive_in_order_per_group_even_after_a_failure(self):
        resources = """  Orders:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
      ContentBasedDeduplication: true
      VisibilityTimeout: 3
"""
        events = """        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
            BatchSize: 3
"""
        with EventsApp(self, template(resources, function("Process", events)), self.moto.url) as app:
            url = self.queue_url(app, "Orders")
            self.assertTrue(url.endswith(".fifo"))
            entries = []
            for i in range(1, 6):
                for group in ("a", "b"):
                    body = "fail-once" if (group, i) == ("a", 3) else f"{group}-{i}"
                    entries.append({"Id": f"{group}{i}", "MessageBody": body, "MessageGroupId": group,
                                    "MessageDeduplicationId": f"{group}{i}"})
            self.sqs.send_message_batch(QueueUrl=url, Entries=entries[:10])
            app.wait_for(lambda r: len(ok_bodies(r)) >= 10, timeout=40)
            done = ok_bodies(app.received())
            self.assertEqual([b for b in done if b.startswith("b-")], [f"b-{i}" for i in range(1, 6)])
            self.assertEqual([b for b in done if b.startswith("a-") or b == "fail-once"],
                             ["a-1", "a-2", "fail-once", "a-4", "a-5"])
            for item in app.received():
                # A batch may hold several groups (AWS Compute Blog, "New for AWS Lambda – SQS FIFO
                # as an event source"), each in order (moto's SequenceNumbers are random: the
                # bodies carry the order).
                records = item["event"]["Records"]
                for group in {r["attributes"]["MessageGroupId"] for r in records}:
                    numbers = [3 if r["body"] == "fail-once" else int(r["body"].split("-")[1])
                               for r in records if r["attributes"]["MessageGroupId"] == group]
                    self.assertEqual(numbers, sorted(numbers), item)

    def test_a_visibility_timeout_below_the_function_timeout_is_refused_as_lambda_refuses_it(self):
        resources = """  Orders:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 10
"""
        events = """        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
"""
        app = EventsApp(self, template(resources, function("Process", events, timeout=30)), self.moto.url)
        app.start(expect_ready=False)
        self.assertEqual(app.wait_exit(), 1)
        out = app.output()
        self.assertIn("Queue visibility timeout: 10 seconds is less than Function timeout: 30 seconds", out)
        self.assertRegex(out, r"template\.yaml:\d+:\d+: error: .*Process\.Queue")

    def test_resources_missing_without_create_resources_are_named(self):
        resources = """  Orders:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: named-orders
  Other:
    Type: AWS::SQS::Queue
"""
        events = """        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
"""
        app = EventsApp(self, template(resources, function("Process", events)), self.moto.url)
        app.start(create=False, expect_ready=False)
        self.assertEqual(app.wait_exit(), 1)
        out = app.output()
        self.assertIn("Orders (AWS::SQS::Queue): named-orders", out)
        self.assertIn("Other (AWS::SQS::Queue): not created yet", out)
        self.assertIn("--create-resources", out)
        self.assertEqual(self.sqs.list_queues().get("QueueUrls", []), [])

    def test_names_are_reused_on_the_next_start(self):
        resources = """  Orders:
    Type: AWS::SQS::Queue
"""
        events = """        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
"""
        app = EventsApp(self, template(resources, function("Process", events)), self.moto.url)
        with app:
            first = app.names()["Orders"]
            self.assertRegex(first, r"^app-Orders-[A-Z0-9]{12}$")
        again = EventsApp(self, template(resources, function("Process", events)), self.moto.url)
        again.start(create=False)
        try:
            self.assertEqual(again.names()["Orders"], first)
            self.assertIn(f"Orders (AWS::SQS::Queue): {first}", again.output())
            self.assertEqual(len(self.sqs.list_queues()["QueueUrls"]), 1)
        finally:
            again.stop()

    def test_a_backend_that_fails_and_throttles_loses_nothing(self):
        resources = """  Orders:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 3
"""
        events = """        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
"""
        with FaultProxy(self.moto.url) as proxy:
            app = EventsApp(self, template(resources, function("Process", events)), proxy.url)
            with app:
                url = self.queue_url(app, "Orders")
                proxy.random_faults(0.3, seed=7, faults=["429", "503", "drop", "500-after"])
                bodies = [f"m-{i}" for i in range(20)]
                for i in range(0, 20, 10):
                    self.sqs.send_message_batch(QueueUrl=url, Entries=[
                        {"Id": str(j), "MessageBody": bodies[j]} for j in range(i, i + 10)])
                app.wait_for(lambda r: set(ok_bodies(r)) >= set(bodies), timeout=60)
                proxy.random_faults(0)
                deadline = time.monotonic() + 20
                while queue_state(self.sqs, url) != (0, 0) and time.monotonic() < deadline:
                    time.sleep(0.2)
                self.assertEqual(queue_state(self.sqs, url), (0, 0))
                self.assertTrue(any(r["fault"] != "pass" for r in proxy.records))
                self.assertTrue(any("backend unavailable" in line for line in app.log_lines()) or
                                any(r["fault"] in ("429", "503", "drop") for r in proxy.records))

    def test_ctrl_c_mid_batch_returns_the_messages_to_the_queue(self):
        resources = """  Orders:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 120
"""
        events = """        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
"""
        app = EventsApp(self, template(resources, function("Process", events, timeout=60)), self.moto.url)
        app.start()
        url = self.queue_url(app, "Orders")
        sent = self.sqs.send_message(QueueUrl=url, MessageBody="sleep:30")["MessageId"]
        app.wait_started()
        started = time.monotonic()
        self.assertEqual(app.stop(signal.SIGINT), 0)
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn("returned to the queue", app.output())
        # Visible again at once (not after the 120 s visibility timeout), never deleted.
        got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2,
                                       AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
        self.assertEqual([m["MessageId"] for m in got], [sent])
        self.assertEqual(got[0]["Attributes"]["ApproximateReceiveCount"], "2")
        self.assertEqual(app.received(), [])


if __name__ == "__main__":
    harness.main()
