"""`wisp local generate-event`: every event is valid JSON with AWS's shape (validated against
the zod schemas of @aws-lambda-powertools/parser when installed), flags set the fields, and
bad input is a usage error."""

import base64
import hashlib
import json
import os
import shutil
import subprocess

import harness
from harness import WispTestCase, wisp

# (service, event, powertools schema)
EVENTS = [
    ("apigateway", "aws-proxy", "APIGatewayProxyEventSchema"),
    ("apigateway", "http-api-proxy", "APIGatewayProxyEventV2Schema"),
    ("apigateway", "authorizer", "APIGatewayTokenAuthorizerEventSchema"),
    ("apigateway", "request-authorizer", "APIGatewayRequestAuthorizerEventSchema"),
    ("cloudwatch", "scheduled-event", "EventBridgeSchema"),
    ("dynamodb", "update", "DynamoDBStreamSchema"),
    ("eventbridge", "event", "EventBridgeSchema"),
    ("kinesis", "get-records", "KinesisDataStreamSchema"),
    ("s3", "put", "S3Schema"),
    ("s3", "delete", "S3Schema"),
    ("sns", "notification", "SnsSchema"),
    ("sqs", "receive-message", "SqsSchema"),
]

VALIDATOR = r"""
const schemas = require('@aws-lambda-powertools/parser/schemas');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const failures = [];
for (const [name, event] of input) {
  const result = schemas[name].safeParse(event);
  if (!result.success) failures.push(name + ': ' + JSON.stringify(result.error.issues).slice(0, 800));
}
process.stdout.write(JSON.stringify(failures));
"""


def generate(*args):
    proc = wisp("local", "generate-event", *args, check=0)
    return json.loads(proc.stdout)


class GenerateEvent(WispTestCase):
    def test_every_event_is_json_and_matches_the_powertools_schemas(self):
        events = [(schema, generate(service, event)) for service, event, schema in EVENTS]
        peer = os.path.join(harness.PEERS_DIR, "powertools")
        if shutil.which("node") is None or not os.path.isdir(
            os.path.join(peer, "node_modules", "@aws-lambda-powertools", "parser")
        ):
            self.skipTest(
                "PEER MISSING: @aws-lambda-powertools/parser "
                "(packaging/install-deps.sh --with-peers) to validate event shapes"
            )
        proc = subprocess.run(
            ["node", "-e", VALIDATOR],
            input=json.dumps(events),
            capture_output=True,
            text=True,
            cwd=peer,
            check=True,
        )
        self.assertEqual(json.loads(proc.stdout), [])

    def test_flags_set_the_fields_and_derived_values_stay_consistent(self):
        sqs = generate("sqs", "receive-message", "--body", '{"id": 7}', "--queue", "Orders",
                       "--region", "eu-west-1", "--account-id", "111122223333")
        record = sqs["Records"][0]
        self.assertEqual(record["body"], '{"id": 7}')
        self.assertEqual(record["md5OfBody"], hashlib.md5(b'{"id": 7}').hexdigest())
        self.assertEqual(record["eventSourceARN"], "arn:aws:sqs:eu-west-1:111122223333:Orders")

        s3 = generate("s3", "put", "--bucket", "photos", "--key", "raw/cat 1+2.jpg", "--size", "5")
        obj = s3["Records"][0]["s3"]
        self.assertEqual(obj["bucket"]["name"], "photos")
        self.assertEqual(obj["bucket"]["arn"], "arn:aws:s3:::photos")
        self.assertEqual(obj["object"]["key"], "raw/cat+1%2B2.jpg")
        self.assertEqual(obj["object"]["size"], 5)

        proxy = generate("apigateway", "aws-proxy", "--method", "get", "--path", "/users/7",
                         "--body", "hi", "--stage", "dev")
        self.assertEqual(proxy["httpMethod"], "GET")
        self.assertEqual(proxy["path"], "/users/7")
        self.assertEqual(proxy["pathParameters"], {"proxy": "users/7"})
        self.assertEqual(proxy["requestContext"]["path"], "/dev/users/7")
        self.assertEqual(proxy["body"], "hi")

        v2 = generate("apigateway", "http-api-proxy", "--path", "/orders")
        self.assertEqual(v2["version"], "2.0")
        self.assertEqual(v2["rawPath"], "/orders")
        self.assertEqual(v2["requestContext"]["http"]["method"], "POST")

        auth = generate("apigateway", "authorizer", "--token", "Bearer x", "--method", "DELETE",
                        "--path", "/items/1")
        self.assertEqual(auth["authorizationToken"], "Bearer x")
        self.assertEqual(
            auth["methodArn"], "arn:aws:execute-api:us-east-1:123456789012:1234567890/prod/DELETE/items/1"
        )

        kinesis = generate("kinesis", "get-records", "--data", "payload")
        self.assertEqual(base64.b64decode(kinesis["Records"][0]["kinesis"]["data"]), b"payload")

        bridge = generate("eventbridge", "event", "--source", "shop", "--detail-type", "Order",
                          "--detail", '{"order": 1}')
        self.assertEqual((bridge["source"], bridge["detail-type"], bridge["detail"]),
                         ("shop", "Order", {"order": 1}))

        ddb = generate("dynamodb", "update", "--table", "Orders")
        self.assertEqual([r["eventName"] for r in ddb["Records"]], ["INSERT", "MODIFY", "REMOVE"])
        self.assertIn(":table/Orders/stream/", ddb["Records"][0]["eventSourceARN"])

    def test_ids_are_fresh(self):
        a = generate("sns", "notification")["Records"][0]["Sns"]["MessageId"]
        b = generate("sns", "notification")["Records"][0]["Sns"]["MessageId"]
        self.assertNotEqual(a, b)

    def test_bad_input_is_a_usage_error(self):
        proc = wisp("local", "generate-event", "s3", "put", "--queue", "x")
        self.assertWisp(proc, 2, stderr_has="--queue does not apply to s3 put (its flags: --bucket")
        proc = wisp("local", "generate-event", "s3", "notification")
        self.assertWisp(proc, 2, stderr_has="unknown s3 event 'notification'")
        proc = wisp("local", "generate-event", "sqs", "put")
        self.assertWisp(proc, 2, stderr_has="sqs events: receive-message")
        proc = wisp("local", "generate-event", "lambda", "put")
        self.assertEqual(proc.returncode, 2)
        proc = wisp("local", "generate-event", "eventbridge", "event", "--detail", "[1")
        self.assertWisp(proc, 2, stderr_has="--detail must be a JSON object")
        proc = wisp("local", "generate-event", "s3", "put", "--size", "big")
        self.assertWisp(proc, 2, stderr_has="--size must be a number")
        self.assertEqual(proc.stdout, "")


if __name__ == "__main__":
    harness.main()
