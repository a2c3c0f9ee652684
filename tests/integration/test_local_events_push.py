"""Push event sources and schedules, locally, against moto_server: an SNS publish, an
EventBridge put-events and an S3 put each reach their function in the shape AWS documents
(checked field by field and with @aws-lambda-powertools/parser's SnsSchema, EventBridgeSchema
and S3Schema), through the backend's own routing (a queue wisp subscribes; moto applies SNS
filter policies and EventBridge patterns); target input transforms are applied as EventBridge
applies them; schedules fire on wisp's clock (started elsewhere in time with --clock) with the
events EventBridge and Scheduler deliver; an invalid cron is refused with file:line:col.
Sources: ../shared/reference/event-sources.md."""

import json
import time

import harness
from events_helpers import EventsApp, boto, function, powertools_check, template


class PushEventSources(harness.WispTestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = harness.Moto().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)

    def setUp(self):
        super().setUp()
        self.moto.reset()

    def test_an_sns_publish_reaches_the_function_as_an_sns_event(self):
        resources = """  Topic:
    Type: AWS::SNS::Topic
"""
        events = """        Notice:
          Type: SNS
          Properties:
            Topic: !Ref Topic
            FilterPolicy:
              kind: [wanted]
"""
        with EventsApp(self, template(resources, function("Notify", events)), self.moto.url) as app:
            sns = boto("sns", self.moto)
            topic = sns.list_topics()["Topics"][0]["TopicArn"]
            self.assertTrue(topic.endswith(":" + app.names()["Topic"]))
            sns.publish(TopicArn=topic, Message="ignored", MessageAttributes={
                "kind": {"DataType": "String", "StringValue": "other"}})
            sent = sns.publish(TopicArn=topic, Message="hello", Subject="greeting", MessageAttributes={
                "kind": {"DataType": "String", "StringValue": "wanted"}})
            got = app.wait_for(lambda r: len(r) >= 1)
            time.sleep(1.5)
            self.assertEqual(len(app.received()), 1)  # the backend applied the filter policy
            event = got[0]["event"]
            (record,) = event["Records"]
            self.assertEqual(list(record), ["EventSource", "EventVersion", "EventSubscriptionArn", "Sns"])
            self.assertEqual(record["EventSource"], "aws:sns")
            self.assertEqual(record["EventVersion"], "1.0")
            self.assertTrue(record["EventSubscriptionArn"].startswith(topic + ":"))
            body = record["Sns"]
            self.assertEqual(body["Type"], "Notification")
            self.assertEqual(body["MessageId"], sent["MessageId"])
            self.assertEqual(body["TopicArn"], topic)
            self.assertEqual(body["Subject"], "greeting")
            self.assertEqual(body["Message"], "hello")
            self.assertEqual(body["MessageAttributes"], {"kind": {"Type": "String", "Value": "wanted"}})
            self.assertIn("SigningCertUrl", body)
            self.assertNotIn("SigningCertURL", body)
            self.assertIn(record["EventSubscriptionArn"], body["UnsubscribeUrl"])
            powertools_check(self, {"SnsSchema": [event]})

    def test_sns_with_sqs_subscription_delivers_sqs_events_whose_body_is_the_notification(self):
        resources = """  Topic:
    Type: AWS::SNS::Topic
"""
        events = """        Notice:
          Type: SNS
          Properties:
            Topic: !Ref Topic
            SqsSubscription: true
"""
        with EventsApp(self, template(resources, function("Notify", events)), self.moto.url) as app:
            sns = boto("sns", self.moto)
            topic = sns.list_topics()["Topics"][0]["TopicArn"]
            sns.publish(TopicArn=topic, Message="via a queue")
            got = app.wait_for(lambda r: len(r) >= 1)
            (record,) = got[0]["event"]["Records"]
            self.assertEqual(record["eventSource"], "aws:sqs")
            self.assertIn("NotifyNoticeQueue", record["eventSourceARN"].replace("-", ""))
            notification = json.loads(record["body"])
            self.assertEqual(notification["Message"], "via a queue")
            self.assertEqual(notification["TopicArn"], topic)
            self.assertIn("SigningCertURL", notification)
            powertools_check(self, {"SqsSchema": [got[0]["event"]],
                                    "SnsSqsNotificationSchema": [notification]})

    def test_eventbridge_put_events_reach_the_function_with_rules_and_transforms(self):
        resources = ""
        events = """        Orders:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [my.shop]
              detail-type: [order.created]
        Shaped:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [my.shop]
            InputTransformer:
              InputPathsMap:
                id: $.detail.id
                type: $.detail-type
              InputTemplate: '{"order": <id>, "what": "<type> for <id>", "rule": <aws.events.rule-name>}'
        Picked:
          Type: CloudWatchEvent
          Properties:
            Pattern:
              source: [my.shop]
            InputPath: $.detail
"""
        with EventsApp(self, template(resources, function("OnEvent", events)), self.moto.url) as app:
            eb = boto("events", self.moto)
            eb.put_events(Entries=[{"Source": "other.app", "DetailType": "order.created", "Detail": "{}"}])
            answer = eb.put_events(Entries=[{"Source": "my.shop", "DetailType": "order.created",
                                             "Detail": json.dumps({"id": 7, "items": ["a"]}),
                                             "Resources": ["arn:aws:shop:1"]}])
            got = app.wait_for(lambda r: len(r) >= 3)
            time.sleep(1)
            self.assertEqual(len(app.received()), 3)
            events_by_shape = {}
            for item in got:
                event = item["event"]
                if "order" in event:
                    events_by_shape["transformed"] = event
                elif "id" in event and "items" in event:
                    events_by_shape["path"] = event
                else:
                    events_by_shape["plain"] = event
            plain = events_by_shape["plain"]
            self.assertEqual(list(plain), ["version", "id", "detail-type", "source", "account", "time",
                                           "region", "resources", "detail"])
            self.assertEqual(plain["id"], answer["Entries"][0]["EventId"])
            self.assertEqual(plain["account"], "123456789012")
            self.assertEqual(plain["source"], "my.shop")
            self.assertEqual(plain["detail-type"], "order.created")
            self.assertEqual(plain["resources"], ["arn:aws:shop:1"])
            self.assertEqual(plain["detail"], {"id": 7, "items": ["a"]})
            self.assertEqual(events_by_shape["path"], {"id": 7, "items": ["a"]})
            transformed = events_by_shape["transformed"]
            self.assertEqual(transformed["order"], 7)
            self.assertEqual(transformed["what"], "order.created for 7")
            self.assertTrue(transformed["rule"].startswith("wisp-app-OnEvent-Shaped"))
            powertools_check(self, {"EventBridgeSchema": [plain]})

    def test_an_s3_put_reaches_the_function_as_an_s3_event(self):
        resources = """  Uploads:
    Type: AWS::S3::Bucket
"""
        events = """        Upload:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
            Filter:
              S3Key:
                Rules:
                  - Name: prefix
                    Value: in/
"""
        with EventsApp(self, template(resources, function("OnUpload", events)), self.moto.url) as app:
            s3 = boto("s3", self.moto)
            bucket = app.names()["Uploads"]
            s3.put_object(Bucket=bucket, Key="out/skip.txt", Body=b"x")
            etag = s3.put_object(Bucket=bucket, Key="in/red flower.jpg", Body=b"petals")["ETag"].strip('"')
            got = app.wait_for(lambda r: len(r) >= 1)
            time.sleep(1)
            self.assertEqual(len(app.received()), 1)  # the prefix filter and s3:TestEvent
            event = got[0]["event"]
            (record,) = event["Records"]
            self.assertEqual(list(record), ["eventVersion", "eventSource", "awsRegion", "eventTime",
                                            "eventName", "userIdentity", "requestParameters",
                                            "responseElements", "s3"])
            self.assertEqual(record["eventSource"], "aws:s3")
            self.assertEqual(record["eventName"], "ObjectCreated:Put")
            self.assertRegex(record["eventTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertEqual(record["s3"]["bucket"]["name"], bucket)
            self.assertEqual(record["s3"]["bucket"]["arn"], "arn:aws:s3:::" + bucket)
            self.assertEqual(record["s3"]["object"]["key"], "in/red+flower.jpg")
            self.assertEqual(record["s3"]["object"]["size"], 6)
            self.assertEqual(record["s3"]["object"]["eTag"], etag)
            self.assertIn("sequencer", record["s3"]["object"])
            powertools_check(self, {"S3Schema": [event]})

    def test_schedules_fire_at_the_minute_boundary_with_the_events_they_deliver(self):
        events = """        Noon:
          Type: Schedule
          Properties:
            Schedule: cron(0 12 * * ? *)
        NoonParis:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 13 * * ? *)
            ScheduleExpressionTimezone: Europe/Paris
            Input: '{"at": "<aws.scheduler.scheduled-time>", "arn": "<aws.scheduler.schedule-arn>", "attempt": <aws.scheduler.attempt-number>}'
        Plain:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: at(2026-01-01T12:00:00)
        Off:
          Type: Schedule
          Properties:
            Schedule: cron(0 12 * * ? *)
            Enabled: false
        Started:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 minute)
            StartDate: "2026-01-01T12:00:01Z"
            Input: '{"started": "<aws.scheduler.scheduled-time>"}'
        Ended:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(* * * * ? *)
            EndDate: "2025-12-31T00:00:00Z"
"""
        app = EventsApp(self, template("", function("Tick", events)), self.moto.url,
                        args=["--clock", "2026-01-01T11:59:58Z"])
        with app:
            self.assertIn("Schedule        cron(0 12 * * ? *) → Tick (next 2026-01-01T12:00:00Z)", app.output())
            self.assertIn("Tick.Off (disabled)", app.output())
            self.assertIn("ScheduleV2      cron(* * * * ? *) → Tick (next never)", app.output())
            self.assertIn("ScheduleV2      rate(1 minute) → Tick (next 2026-01-01T12:00:01Z)", app.output())
            got = app.wait_for(lambda r: len(r) >= 4, timeout=15)
            time.sleep(1)
            self.assertEqual(len(app.received()), 4)
            by = {}
            for item in got:
                event = item["event"]
                if "started" in event:
                    by["started"] = event
                elif "at" in event:
                    by["input"] = event
                elif event.get("source") == "aws.scheduler":
                    by["scheduler"] = event
                else:
                    by["rule"] = event
            rule = by["rule"]
            self.assertEqual(list(rule), ["version", "id", "detail-type", "source", "account", "time",
                                          "region", "resources", "detail"])
            self.assertEqual(rule["detail-type"], "Scheduled Event")
            self.assertEqual(rule["source"], "aws.events")
            self.assertEqual(rule["time"], "2026-01-01T12:00:00Z")
            self.assertEqual(rule["resources"], ["arn:aws:events:us-east-1:123456789012:rule/TickNoon"])
            self.assertEqual(rule["detail"], {})
            self.assertEqual(by["input"], {"at": "2026-01-01T12:00:00Z",
                                           "arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/TickNoonParis",
                                           "attempt": 1})
            scheduler = by["scheduler"]
            self.assertEqual(scheduler["detail"], "{}")
            self.assertEqual(scheduler["time"], "2026-01-01T12:00:00Z")
            self.assertEqual(scheduler["resources"],
                             ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/TickPlain"])
            # Scheduler's rate starts at StartDate.
            self.assertEqual(by["started"], {"started": "2026-01-01T12:00:01Z"})
            powertools_check(self, {"EventBridgeSchema": [rule]})

    def test_an_invalid_cron_is_refused_with_its_position(self):
        events = """        Bad:
          Type: Schedule
          Properties:
            Schedule: cron(0 12 * * * *)
"""
        app = EventsApp(self, template("", function("Tick", events)), self.moto.url)
        app.start(expect_ready=False)
        self.assertEqual(app.wait_exit(), 1)
        out = app.output()
        self.assertRegex(out, r"template\.yaml:\d+:\d+: error: Tick\.Events\.Bad\.Properties\.Schedule: "
                              r"cron\(0 12 \* \* \* \*\): one of day-of-month and day-of-week must be '\?'")


if __name__ == "__main__":
    harness.main()
