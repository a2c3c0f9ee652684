"""`wisp local trigger FUNCTION EVENT`: fires one event source now, without a backend — the
event each source would deliver (checked with @aws-lambda-powertools/parser's schemas), run
once through the function; unknown names are usage errors with a hint; a bad event source is
refused with its position."""

import json
import os

import harness
from events_helpers import RECORDING_HANDLER, powertools_check

# Returns the event it got, so stdout is the event.
ECHO = "def handler(event, context):\n    return event\n"

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: orders
  Topic:
    Type: AWS::SNS::Topic
  Uploads:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: uploads-bucket
  Stream:
    Type: AWS::Kinesis::Stream
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: items
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      Events:
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(1 minute)
        Later:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(5 minutes)
            Input: '{"when": "<aws.scheduler.scheduled-time>"}'
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
        Notice:
          Type: SNS
          Properties:
            Topic: !Ref Topic
        Rule:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [my.shop]
              detail-type: [order.created]
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
        Records:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Stream.Arn
            StartingPosition: LATEST
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: LATEST
        Web:
          Type: Api
          Properties:
            Path: /x
            Method: get
"""


class LocalTrigger(harness.WispTestCase):
    def setUp(self):
        super().setUp()
        self.write("template.yaml", TEMPLATE)
        self.write("src/app.py", ECHO)

    def trigger(self, *args, code=0):
        proc = harness.wisp("local", "trigger", *args, cwd=self.tmp)
        self.assertWisp(proc, code)
        return json.loads(proc.stdout) if code == 0 else proc

    def test_each_source_delivers_its_event(self):
        schedule = self.trigger("Echo", "Tick", "--time", "2026-01-01T12:00:00Z")
        self.assertEqual(schedule["detail-type"], "Scheduled Event")
        self.assertEqual(schedule["source"], "aws.events")
        self.assertEqual(schedule["time"], "2026-01-01T12:00:00Z")
        self.assertEqual(schedule["resources"], ["arn:aws:events:us-east-1:123456789012:rule/EchoTick"])
        later = self.trigger("Echo", "Later", "--time", "2026-01-01T12:00:00Z")
        self.assertEqual(later, {"when": "2026-01-01T12:00:00Z"})
        sqs = self.trigger("Echo", "Queue", "--body", "hi")
        self.assertEqual(sqs["Records"][0]["body"], "hi")
        self.assertEqual(sqs["Records"][0]["md5OfBody"], "49f68a5c8493ec2c0bf489821c21fc3b")
        self.assertEqual(sqs["Records"][0]["eventSourceARN"], "arn:aws:sqs:us-east-1:123456789012:orders")
        sns = self.trigger("Echo", "Notice", "--body", "note")
        self.assertEqual(sns["Records"][0]["Sns"]["Message"], "note")
        rule = self.trigger("Echo", "Rule", "--body", '{"id": 3}')
        self.assertEqual((rule["source"], rule["detail-type"], rule["detail"]),
                         ("my.shop", "order.created", {"id": 3}))
        s3 = self.trigger("Echo", "Upload", "--key", "in/red flower.jpg")
        self.assertEqual(s3["Records"][0]["s3"]["object"]["key"], "in/red+flower.jpg")
        self.assertEqual(s3["Records"][0]["s3"]["bucket"]["name"], "uploads-bucket")
        self.assertEqual(s3["Records"][0]["eventName"], "ObjectCreated:Put")
        kinesis = self.trigger("Echo", "Records", "--body", "data!")
        self.assertEqual(kinesis["Records"][0]["kinesis"]["data"], "ZGF0YSE=")
        ddb = self.trigger("Echo", "Changes", "--body", '{"pk": {"S": "a"}, "n": {"N": "1"}}')
        self.assertEqual(ddb["Records"][0]["dynamodb"]["Keys"], {"pk": {"S": "a"}})
        self.assertEqual(ddb["Records"][0]["eventName"], "INSERT")
        powertools_check(self, {"EventBridgeSchema": [schedule, rule], "SqsSchema": [sqs],
                                "SnsSchema": [sns], "S3Schema": [s3], "KinesisDataStreamSchema": [kinesis],
                                "DynamoDBStreamSchema": [ddb]})

    def test_print_shows_the_event_without_running_the_function(self):
        proc = harness.wisp("local", "trigger", "Echo", "Queue", "--print", "--body", "x", cwd=self.tmp)
        self.assertWisp(proc, 0)
        self.assertEqual(json.loads(proc.stdout)["Records"][0]["body"], "x")
        self.assertNotIn("START RequestId", proc.stderr)

    def test_unknown_names_are_usage_errors_with_a_hint(self):
        proc = self.trigger("Echo", "Tik", code=2)
        self.assertIn("did you mean 'Tick'", proc.stderr)
        proc = self.trigger("Ecko", "Tick", code=2)
        self.assertIn("did you mean 'Echo'", proc.stderr)
        proc = self.trigger("Echo", "Web", code=2)
        self.assertIn("Api event", proc.stderr)

    def test_a_failing_function_exits_1(self):
        self.write("src/app.py", "def handler(event, context):\n    raise ValueError('nope')\n")
        proc = harness.wisp("local", "trigger", "Echo", "Tick", cwd=self.tmp)
        self.assertWisp(proc, 1)
        self.assertIn('"errorType": "ValueError"', proc.stdout)

    def test_an_invalid_schedule_is_refused_with_its_position(self):
        self.write("template.yaml", TEMPLATE.replace("rate(1 minute)", "rate(1 minutes)"))
        proc = harness.wisp("local", "trigger", "Echo", "Tick", cwd=self.tmp)
        self.assertWisp(proc, 1)
        self.assertRegex(proc.stderr, r"template\.yaml:\d+:\d+: error: Echo\.Events\.Tick\.Properties\.Schedule: "
                                      r"rate\(1 minutes\): a value of 1 takes the singular unit")


if __name__ == "__main__":
    harness.main()
