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


def reports_of(records):
    return [r for r in records if r["message"].startswith("REPORT RequestId:")]


class LocalSessions(WispTestCase):
    def setUp(self):
        super().setUp()
        if shutil.which("python3") is None:
            raise unittest.SkipTest("PEER MISSING: python3 (the function's runtime)")
        self.write("template.yaml", TEMPLATE)

    def follow(self, session, expected):
        """Runs `session()` (which returns the request ids it caused) while
        `wisp logs --local --tail` follows the store; returns (ids, records) once `expected`
        REPORT lines arrived (or 15 s passed) and the tail stopped cleanly."""
        tail = Tail(["logs", "--local", "--tail", "--output", "json", "-n", "Alpha"], cwd=self.tmp)
        try:
            time.sleep(0.5)
            ids = session()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and len(reports_of(tail.records())) < expected:
                time.sleep(0.1)
            time.sleep(0.5)  # nothing more may arrive
        finally:
            code = tail.stop()
        self.assertEqual(code, 0, tail.stderr_text())
        return ids, tail.records()

    def assert_requests(self, records, ids, printed):
        """Exactly one REPORT per request id, START first, REPORT last, the function's own
        line (printed(n, id)) in between."""
        self.assertEqual(sorted(r["requestId"] for r in reports_of(records)), sorted(ids),
                         [r["message"] for r in records])
        for n, rid in enumerate(ids):
            mine = [r["message"] for r in records if r["requestId"] == rid]
            self.assertTrue(mine[0].startswith(f"START RequestId: {rid}"), mine)
            self.assertTrue(any(printed(n, rid) in m for m in mine), mine)
            self.assertTrue(mine[-1].startswith(f"REPORT RequestId: {rid}\t"), mine)

    def test_local_invoke_session_shows_up_with_request_ids_and_reports(self):
        self.write("src/app.py", "def handler(event, context):\n"
                                 "    print('handling', event.get('n'), context.aws_request_id)\n"
                                 "    return context.aws_request_id\n")

        def session():
            ids = []
            for n in range(2):
                proc = harness.wisp("local", "invoke", "Alpha", "--event", "-", cwd=self.tmp,
                                    input=json.dumps({"n": n}))
                self.assertWisp(proc, 0)
                ids.append(json.loads(proc.stdout))
            return ids

        ids, records = self.follow(session, 2)
        self.assertEqual(len(set(ids)), 2)
        self.assert_requests(records, ids, lambda n, rid: f"handling {n} {rid}")

    def test_local_start_api_session_shows_up_with_request_ids_and_reports(self):
        self.write("template.yaml", API_TEMPLATE)
        self.write("src/app.py", "def handler(event, context):\n"
                                 "    print('serving', event['pathParameters']['n'], context.aws_request_id)\n"
                                 "    return {'statusCode': 200, 'body': context.aws_request_id}\n")

        def session():
            ids = []
            with Server(self.tmp, "--no-watch") as server:
                for n in range(3):
                    status, _, body = server.request(None, "GET", f"/alpha/{n}")
                    self.assertEqual(status, 200, server.stderr()[-2000:])
                    ids.append(body.decode())
            return ids

        ids, records = self.follow(session, 3)
        self.assert_requests(records, ids, lambda n, rid: f"serving {n} {rid}")


if __name__ == "__main__":
    harness.main()
