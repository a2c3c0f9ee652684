"""`wisp logs --local --tail` following real `wisp local invoke` and `wisp local start-api`
sessions: each request's lines show up with its request id, START first and the REPORT line
last."""

import json
import shutil
import time
import unittest

import harness
from harness import WispTestCase
from gateway_helpers import Server
from test_logs import TEMPLATE, Tail

API_TEMPLATE = TEMPLATE.replace(
    "      CodeUri: src/\n  Beta:",
    "      CodeUri: src/\n      Events:\n        Get:\n          Type: Api\n"
    "          Properties:\n            Path: /alpha/{n}\n            Method: get\n  Beta:", 1)


class LocalSessions(WispTestCase):
    def setUp(self):
        super().setUp()
        self.write("template.yaml", TEMPLATE)

    def test_local_invoke_session_shows_up_with_request_ids_and_reports(self):
        help_proc = harness.wisp("local", "invoke", "--help")
        if help_proc.returncode != 0 or "wisp local invoke" not in help_proc.stdout:
            self.skipTest("`wisp local invoke` is not in this build yet (runtime branch)")
        if shutil.which("python3") is None:
            raise unittest.SkipTest("PEER MISSING: python3 (the function's runtime)")
        self.write("src/app.py", "def handler(event, context):\n"
                                 "    print('handling', event.get('n'))\n"
                                 "    return {'ok': True}\n")
        tail = Tail(["logs", "--local", "--tail", "--output", "json", "-n", "Alpha"], cwd=self.tmp)
        try:
            time.sleep(0.5)
            request_ids = []
            for n in range(2):
                proc = harness.wisp("local", "invoke", "Alpha", "--event", "-", cwd=self.tmp,
                                    input=json.dumps({"n": n}))
                self.assertWisp(proc, 0)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                reports = [r for r in tail.records() if r["message"].startswith("REPORT RequestId:")]
                if len(reports) == 2:
                    break
                time.sleep(0.1)
            time.sleep(0.5)
        finally:
            code = tail.stop()
        self.assertEqual(code, 0, tail.stderr_text())
        records = tail.records()
        reports = [r for r in records if r["message"].startswith("REPORT RequestId:")]
        self.assertEqual(len(reports), 2, [r["message"] for r in records])
        for report in reports:
            rid = report["requestId"]
            self.assertIn(f"REPORT RequestId: {rid}\t", report["message"])
            mine = [r["message"] for r in records if r["requestId"] == rid]
            self.assertTrue(mine[0].startswith(f"START RequestId: {rid}"), mine)
            self.assertTrue(any(m.startswith("handling") or "\thandling" in m for m in mine), mine)
            request_ids.append(rid)
        self.assertEqual(len(set(request_ids)), 2)


    def test_local_start_api_session_shows_up_with_request_ids_and_reports(self):
        self.write("template.yaml", API_TEMPLATE)
        self.write("src/app.py", "def handler(event, context):\n"
                                 "    print('serving', event['pathParameters']['n'], context.aws_request_id)\n"
                                 "    return {'statusCode': 200, 'body': context.aws_request_id}\n")
        tail = Tail(["logs", "--local", "--tail", "--output", "json", "-n", "Alpha"], cwd=self.tmp)
        try:
            served = []
            with Server(self.tmp, "--no-watch") as server:
                for n in range(3):
                    status, headers, body = server.request(None, "GET", f"/alpha/{n}")
                    self.assertEqual(status, 200, server.stderr()[-2000:])
                    served.append(body.decode())
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    reports = [r for r in tail.records() if r["message"].startswith("REPORT RequestId:")]
                    if len(reports) == 3:
                        break
                    time.sleep(0.1)
            time.sleep(0.5)
        finally:
            code = tail.stop()
        self.assertEqual(code, 0, tail.stderr_text())
        records = tail.records()
        reports = [r for r in records if r["message"].startswith("REPORT RequestId:")]
        # Exactly the served requests, once each, with the ids the function saw.
        self.assertEqual(sorted(r["requestId"] for r in reports), sorted(served),
                         [r["message"] for r in records])
        for n, rid in enumerate(served):
            mine = [r["message"] for r in records if r["requestId"] == rid]
            self.assertTrue(mine[0].startswith(f"START RequestId: {rid}"), mine)
            self.assertTrue(any(f"serving {n} {rid}" in m for m in mine), mine)
            self.assertTrue(mine[-1].startswith(f"REPORT RequestId: {rid}\t"), mine)


if __name__ == "__main__":
    harness.main()
