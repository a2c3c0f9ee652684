"""The console's `/tmp used` figure: functions run in Lambda's layout with a private /tmp (a
tmpfs of EphemeralStorage MB per worker); after each invocation wisp measures how much of it is
in use and the console shows the most against EphemeralStorage (GET /_wisp/api/state,
`maxTmpUsedBytes`). A function writes N MiB to /tmp; the figure is checked against N."""

import json
import re
import unittest
import urllib.request

import harness
from gateway_helpers import Server

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Files:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      EphemeralStorage:
        Size: 600
      Events:
        Write:
          Type: HttpApi
          Properties:
            Path: /write/{mb}
            Method: GET
"""

APP = """\
import os


def handler(event, context):
    mb = int(event["pathParameters"]["mb"])
    path = "/tmp/blob"
    if mb == 0:
        os.remove(path)
    else:
        with open(path, "wb") as out:
            out.write(os.urandom(mb * 1024 * 1024))
    return {"statusCode": 200, "body": str(os.statvfs("/tmp").f_blocks)}
"""

CONSOLE_LINE = re.compile(r"^Console: (http://[^/]+/_wisp/)")
MIB = 1024 * 1024


class ConsoleTmp(harness.WispTestCase):
    def setUp(self):
        super().setUp()
        harness.require_peer("python3.12", "the python3.12 runtime")
        self.write("template.yaml", TEMPLATE)
        self.write("src/app.py", APP)

    def state(self, server):
        url = next(m.group(1) for m in map(CONSOLE_LINE.match, server.stdout_lines) if m)
        with urllib.request.urlopen(url + "api/state", timeout=10) as response:
            state = json.load(response)
        return next(f for f in state["functions"] if f["id"] == "Files")

    def test_tmp_used_against_ephemeral_storage(self):
        with Server(self.tmp, "--no-watch") as server:
            self.assertIsNone(self.state(server)["maxTmpUsedBytes"])  # nothing run yet
            status, _, body = server.request(None, "GET", "/write/3")
            self.assertEqual(status, 200, body)
            # The function's /tmp is its own tmpfs of EphemeralStorage MB, not the machine's.
            f_blocks = int(body)
            fn = self.state(server)
            self.assertEqual(fn["ephemeralStorageMB"], 600)
            used = fn["maxTmpUsedBytes"]
            self.assertIsNotNone(used, server.stderr())
            self.assertGreaterEqual(used, 3 * MIB)
            self.assertLess(used, 4 * MIB)
            # More, then removed: the figure is the most seen after an invocation.
            self.assertEqual(server.request(None, "GET", "/write/7")[0], 200)
            self.assertEqual(server.request(None, "GET", "/write/0")[0], 200)
            fn = self.state(server)
            self.assertGreaterEqual(fn["maxTmpUsedBytes"], 7 * MIB)
            self.assertLess(fn["maxTmpUsedBytes"], 8 * MIB)
            self.assertEqual([t for t in fn["traps"] if t["kind"] == "tmp"], [])
        self.assertLessEqual(f_blocks * 4096, 600 * MIB + 4096)


if __name__ == "__main__":
    unittest.main()
