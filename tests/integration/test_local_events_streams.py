"""Stream event sources, locally, against moto_server: a DynamoDB item put, updated and deleted
reaches the function as INSERT, MODIFY and REMOVE records in order (checked with
@aws-lambda-powertools/parser's DynamoDBStreamSchema); a Kinesis batch with a bad record is
bisected down to it and the OnFailure destination gets Lambda's invocation record; records a
filter rejects are skipped. Sources: ../shared/reference/event-sources.md (Lambda developer
guide with-kinesis, with-ddb: error handling, bisection, OnFailure records)."""

import base64
import json
import time

import harness
from events_helpers import RECORDING_HANDLER, EventsApp, boto, function, powertools_check, template


class StreamEventSources(harness.WispTestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = harness.Moto().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)

    def setUp(self):
        super().setUp()
        self.moto.reset()

    def test_dynamodb_insert_modify_remove_arrive_in_order(self):
        resources = """  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
"""
        events = """        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
"""
        env = "          TABLE: !Ref Table\n"
        with EventsApp(self, template(resources, function("OnChange", events, environment=env)),
                       self.moto.url) as app:
            ddb = boto("dynamodb", self.moto)
            table = app.names()["Table"]
            ddb.put_item(TableName=table, Item={"id": {"S": "k1"}, "v": {"N": "1"}})
            ddb.update_item(TableName=table, Key={"id": {"S": "k1"}}, UpdateExpression="SET v = :v",
                            ExpressionAttributeValues={":v": {"N": "2"}})
            ddb.delete_item(TableName=table, Key={"id": {"S": "k1"}})
            got = app.wait_for(lambda r: sum(len(i["event"]["Records"]) for i in r) >= 3)
            records = [rec for item in got for rec in item["event"]["Records"]]
            self.assertEqual([r["eventName"] for r in records], ["INSERT", "MODIFY", "REMOVE"])
            stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
            for r in records:
                self.assertEqual(r["eventSource"], "aws:dynamodb")
                self.assertEqual(r["eventSourceARN"], stream_arn)
                self.assertEqual(r["awsRegion"], "us-east-1")
                self.assertEqual(r["dynamodb"]["Keys"], {"id": {"S": "k1"}})
                self.assertEqual(r["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES")
                self.assertIsInstance(r["dynamodb"]["ApproximateCreationDateTime"], int)
            self.assertEqual(records[0]["dynamodb"]["NewImage"]["v"], {"N": "1"})
            self.assertNotIn("OldImage", records[0]["dynamodb"])
            self.assertEqual(records[1]["dynamodb"]["OldImage"]["v"], {"N": "1"})
            self.assertEqual(records[1]["dynamodb"]["NewImage"]["v"], {"N": "2"})
            self.assertEqual(records[2]["dynamodb"]["OldImage"]["v"], {"N": "2"})
            self.assertNotIn("NewImage", records[2]["dynamodb"])
            sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
            self.assertEqual(sequence, sorted(sequence))
            powertools_check(self, {"DynamoDBStreamSchema": [item["event"] for item in got]})

    def test_a_restart_resumes_after_the_last_record_processed(self):
        resources = """  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: KEYS_ONLY}
"""
        events = """        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: TRIM_HORIZON
"""
        ddb = boto("dynamodb", self.moto)
        app = EventsApp(self, template(resources, function("OnChange", events)), self.moto.url)
        with app:
            ddb.put_item(TableName=app.names()["Table"], Item={"id": {"S": "first"}})
            app.wait_for(lambda r: len(r) >= 1)
        ddb.put_item(TableName=app.names()["Table"], Item={"id": {"S": "second"}})
        again = EventsApp(self, template(resources, function("OnChange", events)), self.moto.url)
        with again:
            got = again.wait_for(lambda r: len(r) >= 2)
            time.sleep(1)
            keys = [r["dynamodb"]["Keys"]["id"]["S"] for item in again.received()
                    for r in item["event"]["Records"]]
            self.assertEqual(keys, ["first", "second"])  # "first" once: before the restart
            again.wait_log("resuming after")

    def test_kinesis_bisects_a_failing_batch_and_sends_the_bad_record_to_on_failure(self):
        resources = """  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 1
  Failures:
    Type: AWS::SQS::Queue
"""
        events = """        Records:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Stream.Arn
            StartingPosition: TRIM_HORIZON
            BatchSize: 4
            MaximumBatchingWindowInSeconds: 1
            BisectBatchOnFunctionError: true
            MaximumRetryAttempts: 0
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt Failures.Arn
"""
        env = "          FAIL_TEXT: bad\n"
        with EventsApp(self, template(resources, function("Consume", events, environment=env)),
                       self.moto.url) as app:
            kinesis = boto("kinesis", self.moto)
            sqs = boto("sqs", self.moto)
            stream = app.names()["Stream"]
            answer = kinesis.put_records(StreamName=stream, Records=[
                {"Data": text.encode(), "PartitionKey": "p"} for text in ("a", "b", "bad", "c")])
            sequence = {text: r["SequenceNumber"] for text, r in zip(("a", "b", "bad", "c"), answer["Records"])}
            failures = sqs.get_queue_url(QueueName=app.names()["Failures"])["QueueUrl"]

            def data(item):
                return [base64.b64decode(r["kinesis"]["data"]).decode() for r in item["event"]["Records"]]

            got = app.wait_for(lambda r: any(data(i) == ["c"] and i["status"] == "ok" for i in r), timeout=30)
            self.assertEqual([(data(i), i["status"]) for i in got], [
                (["a", "b", "bad", "c"], "raised"),
                (["a", "b"], "ok"),
                (["bad", "c"], "raised"),
                (["bad"], "raised"),
                (["c"], "ok"),
            ])
            messages = []
            deadline = time.monotonic() + 10
            while not messages and time.monotonic() < deadline:
                messages = sqs.receive_message(QueueUrl=failures, WaitTimeSeconds=1).get("Messages", [])
            self.assertEqual(len(messages), 1)
            record = json.loads(messages[0]["Body"])
            self.assertEqual(list(record), ["requestContext", "responseContext", "version", "timestamp",
                                            "KinesisBatchInfo"])
            self.assertEqual(record["requestContext"]["condition"], "RetryAttemptsExhausted")
            self.assertEqual(record["requestContext"]["approximateInvokeCount"], 1)
            self.assertEqual(record["requestContext"]["functionArn"],
                             "arn:aws:lambda:us-east-1:123456789012:function:Consume")
            self.assertEqual(record["responseContext"],
                             {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"})
            self.assertEqual(record["version"], "1.0")
            info = record["KinesisBatchInfo"]
            self.assertEqual(info["batchSize"], 1)
            self.assertEqual(info["startSequenceNumber"], sequence["bad"])
            self.assertEqual(info["endSequenceNumber"], sequence["bad"])
            self.assertEqual(info["shardId"], "shardId-000000000000")
            self.assertEqual(info["streamArn"],
                             kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"])
            self.assertRegex(info["approximateArrivalOfFirstRecord"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            app.wait_log("bisecting the failed batch of 4 into 2 + 2")
            app.wait_log("OnFailure: 1 record")
            first = got[1]["event"]["Records"][0]
            self.assertEqual(first["eventID"], f"shardId-000000000000:{sequence['a']}")
            self.assertEqual(first["eventName"], "aws:kinesis:record")
            self.assertEqual(first["invokeIdentityArn"], "arn:aws:iam::123456789012:role/ConsumeRole")
            powertools_check(self, {"KinesisDataStreamSchema": [i["event"] for i in got]})

    def test_kinesis_report_batch_item_failures_retries_from_the_lowest_failure(self):
        resources = """  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 1
"""
        events = """        Records:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Stream.Arn
            StartingPosition: TRIM_HORIZON
            BatchSize: 4
            MaximumBatchingWindowInSeconds: 1
            FunctionResponseTypes: [ReportBatchItemFailures]
            FilterCriteria:
              Filters:
                - Pattern: '{"partitionKey": ["keep"]}'
"""
        env = "          REPORT_FAILURES: '1'\n          FAIL_TEXT: bad\n"
        # The handler reports "bad" every time: after the first partial answer the batch is
        # retried from "bad" on (the checkpoint), "x" never reaches it (filtered out).
        with EventsApp(self, template(resources, function("Consume", events, environment=env)),
                       self.moto.url) as app:
            kinesis = boto("kinesis", self.moto)
            kinesis.put_records(StreamName=app.names()["Stream"], Records=[
                {"Data": b"a", "PartitionKey": "keep"}, {"Data": b"x", "PartitionKey": "drop"},
                {"Data": b"bad", "PartitionKey": "keep"}, {"Data": b"c", "PartitionKey": "keep"}])
            got = app.wait_for(lambda r: len(r) >= 3, timeout=30)

            def data(item):
                return [base64.b64decode(r["kinesis"]["data"]).decode() for r in item["event"]["Records"]]

            self.assertEqual(data(got[0]), ["a", "bad", "c"])
            self.assertEqual(data(got[1]), ["bad", "c"])
            self.assertEqual(data(got[2]), ["bad", "c"])
            app.wait_log("did not match the filter criteria (skipped)")

    def test_parallelization_keeps_order_per_key_and_tumbling_windows_carry_state(self):
        resources = """  Stream:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 1
  Counted:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 1
"""
        events = """        Lanes:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Stream.Arn
            StartingPosition: TRIM_HORIZON
            BatchSize: 2
            MaximumBatchingWindowInSeconds: 1
            ParallelizationFactor: 4
        Windows:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Counted.Arn
            StartingPosition: TRIM_HORIZON
            TumblingWindowInSeconds: 2
"""
        # Counts records per window in `state`; every event is recorded.
        handler = RECORDING_HANDLER + """
_plain = handler
def handler(event, context):
    if "window" not in event:
        return _plain(event, context)
    _record(event, "window")
    state = dict(event["state"])
    state["n"] = int(state.get("n", "0")) + len(event["Records"])
    return {"state": {"n": str(state["n"])}}
"""
        with EventsApp(self, template(resources, function("Consume", events)), self.moto.url,
                       handler=handler) as app:
            kinesis = boto("kinesis", self.moto)
            keys = ["a", "b", "c", "d"]
            kinesis.put_records(StreamName=app.names()["Stream"], Records=[
                {"Data": f"{key}-{i}".encode(), "PartitionKey": key} for i in range(3) for key in keys])
            kinesis.put_records(StreamName=app.names()["Counted"], Records=[
                {"Data": b"x", "PartitionKey": "p"}, {"Data": b"y", "PartitionKey": "p"}])

            def texts(item):
                return [base64.b64decode(r["kinesis"]["data"]).decode() for r in item["event"]["Records"]]

            def done(received):
                lanes = [i for i in received if i["status"] == "ok"]
                finals = [i["event"] for i in received
                          if i["status"] == "window" and i["event"]["isFinalInvokeForWindow"]]
                return (sum(len(texts(i)) for i in lanes) >= 12 and
                        sum(int(f["state"].get("n", "0")) for f in finals) >= 2)
            got = app.wait_for(done, timeout=30)
            lanes = [i for i in got if i["status"] == "ok"]
            for key in keys:
                seen = [t for item in lanes for t in texts(item) if t.startswith(key + "-")]
                self.assertEqual(seen, [f"{key}-0", f"{key}-1", f"{key}-2"])
            # Records arrive in a window (one, or two if the put straddled a boundary): each
            # window starts with empty state, its records' invocation returns the count, and
            # the final invocation of the window gets that state with no records.
            windows = [i["event"] for i in got if i["status"] == "window"]
            data = sorted(base64.b64decode(r["kinesis"]["data"]).decode() for w in windows for r in w["Records"])
            self.assertEqual(data, ["x", "y"])
            for w in windows:
                if w["isFinalInvokeForWindow"]:
                    self.assertEqual(w["Records"], [])
                    self.assertNotEqual(w["state"], {})
                else:
                    self.assertEqual(w["state"], {})
                self.assertEqual(w["shardId"], "shardId-000000000000")
                self.assertRegex(w["window"]["start"], r"Z$")
            self.assertFalse(windows[0]["isFinalInvokeForWindow"])
            self.assertTrue(windows[-1]["isFinalInvokeForWindow"])
            powertools_check(self, {"KinesisDataStreamSchema": [windows[0]]})


if __name__ == "__main__":
    harness.main()
