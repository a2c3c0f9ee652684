"""`wisp logs --local --tail` following a real `wisp local invoke` session: each request's
lines show up with its request id, START first and the REPORT line last. Skipped (loudly)
while `wisp local invoke` is not in the build."""

import json
import shutil
import time
import unittest

import harness
from harness import WispTestCase
from test_logs import TEMPLATE, Tail


class LocalInvokeSession(WispTestCase):
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


if __name__ == "__main__":
    harness.main()
