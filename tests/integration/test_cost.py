"""`wisp cost` against real peers.

Remote: moto_server serves CloudWatch Logs; the test writes REPORT lines (text and JSON
platform.report records, among other lines) with `aws logs put-log-events`, then checks every
figure `wisp cost --output json` prints against what it computes by hand from those lines and
the published prices (us-east-1: $0.20 per million requests, $0.0000166667 per GB-s x86_64,
$0.0000133334 arm64; 1M requests and 400,000 GB-s free a month; a 730-hour month).

Local: `wisp local invoke` runs a function a few times; `wisp cost --local` must report what
the REPORT lines on local invoke's stderr say."""

import json
import math
import os
import re
import time
import unittest

import harness
from harness import Moto, WispTestCase

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Alpha:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
  Beta:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: nodejs20.x
      CodeUri: src/
      MemorySize: 1024
      Architectures: [arm64]
      EphemeralStorage:
        Size: 1536
  Named:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: explicitly-named
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
"""

PY_HANDLER = """\
def handler(event, context):
    return {"ok": True}
"""

STREAM = "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef"
REQUEST_PRICE = 0.20 / 1e6
X86 = 0.0000166667
ARM = 0.0000133334
EPHEMERAL = 0.0000000309
MONTH_SECONDS = 730 * 3600


def put_events(url, group, events):
    """Creates `group` with one Lambda-named stream holding events [(timestamp_ms, message)]."""
    try:
        import boto3
    except ImportError:
        raise unittest.SkipTest("PEER MISSING: boto3 (writes the log events into moto)")
    logs = boto3.client("logs", endpoint_url=url, region_name="us-east-1")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=STREAM)
    logs.put_log_events(logGroupName=group, logStreamName=STREAM,
                        logEvents=[{"timestamp": t, "message": m} for t, m in events])


def report_line(request_id, duration, billed, memory, used, init=None, status=None):
    line = (f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: "
            f"{billed} ms\tMemory Size: {memory} MB\tMax Memory Used: {used} MB\t")
    if init is not None:
        line += f"Init Duration: {init:.2f} ms\t"
    if status == "timeout":
        line += "Status: timeout\t"
    return line


def platform_report(request_id, duration, billed, memory, used, init=None):
    metrics = {"durationMs": duration, "billedDurationMs": billed, "memorySizeMB": memory,
               "maxMemoryUsedMB": used}
    if init is not None:
        metrics["initDurationMs"] = init
    return json.dumps({"time": "2026-11-23T10:00:00.000Z", "type": "platform.report",
                       "record": {"requestId": request_id, "metrics": metrics,
                                  "status": "success"}})


def gbs(billed_ms, memory_mb):
    return billed_ms / 1000 * memory_mb / 1024


class CostRemote(WispTestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)

    def setUp(self):
        super().setUp()
        self.moto.reset()
        self.write("template.yaml", TEMPLATE)
        self.write("src/app.py", PY_HANDLER)

    def test_figures_match_hand_computed_expectations(self):
        # The window: one second from t0 (CloudWatch takes events up to 14 days old); so short
        # that a month at its rate passes the free tier's GB-seconds too.
        t0 = (int(time.time()) - 120) * 1000
        put_events(self.moto.url, "/aws/lambda/shop-Alpha", [
            (t0 - 5000, report_line("old", 1.0, 1, 128, 40)),  # before the window
            (t0 + 100, "START RequestId: a1 Version: $LATEST"),
            (t0 + 101, "2026-11-23T10:00:00.000Z\ta1\tINFO\tREPORT RequestId: fake"),
            (t0 + 102, report_line("a1", 5.2, 305, 128, 60, init=299.3)),
            (t0 + 200, report_line("a2", 10.5, 11, 128, 50)),
            (t0 + 300, report_line("a3", 3000.0, 3000, 128, 70, status="timeout")),
            (t0 + 400, "END RequestId: a3"),
        ])
        put_events(self.moto.url, "/aws/lambda/shop-Beta", [
            (t0 + 150, platform_report("b1", 40.0, 100, 1024, 300, init=59.1)),
            (t0 + 250, platform_report("b2", 99.1, 100, 1024, 310)),
            (t0 + 900, json.dumps({"type": "platform.start", "record": {"requestId": "b3"}})),
        ])
        proc = harness.wisp("cost", "--stack-name", "shop", "--endpoint-url", self.moto.url,
                            "-s", str(t0), "-e", str(t0 + 1000), "--output", "json",
                            cwd=self.tmp)
        self.assertWisp(proc, 0)
        report = json.loads(proc.stdout)

        self.assertEqual(report["windowSeconds"], 1)
        self.assertEqual(report["prices"]["origin"], "built-in")
        self.assertEqual(report["prices"]["initBillingSince"], "2025-08-01")
        functions = {f["function"]: f for f in report["functions"]}
        self.assertEqual(set(functions), {"Alpha", "Beta", "Named"})

        alpha = functions["Alpha"]
        self.assertEqual(alpha["architecture"], "x86_64")
        self.assertEqual(alpha["invocations"], 3)
        self.assertEqual(alpha["coldStarts"], 1)
        self.assertEqual(alpha["timeouts"], 1)
        self.assertEqual(alpha["maxMemoryUsedMB"], 70)
        # Billed Duration as written: the cold start's 305 ms already holds its INIT.
        self.assertEqual(alpha["billedDurationMs"], 305 + 11 + 3000)
        alpha_gbs = gbs(305, 128) + gbs(11, 128) + gbs(3000, 128)
        self.assertAlmostEqual(alpha["gbSeconds"], alpha_gbs, places=9)
        self.assertAlmostEqual(alpha["cost"]["requests"], 3 * REQUEST_PRICE, places=12)
        self.assertAlmostEqual(alpha["cost"]["duration"], alpha_gbs * X86, places=12)
        self.assertAlmostEqual(alpha["durationMs"]["p50"], 10.5)  # nearest rank of 3
        self.assertAlmostEqual(alpha["durationMs"]["p99"], 3000.0)
        self.assertAlmostEqual(alpha["initDurationMs"]["p50"], 299.3)

        beta = functions["Beta"]
        self.assertEqual(beta["architecture"], "arm64")
        self.assertEqual(beta["invocations"], 2)
        self.assertEqual(beta["coldStarts"], 1)
        self.assertEqual(beta["memorySizeMB"], 1024)
        beta_gbs = gbs(100, 1024) * 2
        self.assertAlmostEqual(beta["cost"]["duration"], beta_gbs * ARM, places=12)
        # 1,536 MB of /tmp: 1 GB beyond the 512 MB included, for 200 ms.
        self.assertAlmostEqual(beta["cost"]["ephemeralStorage"], gbs(200, 1024) * EPHEMERAL,
                               places=15)

        self.assertEqual(functions["Named"]["invocations"], 0)
        self.assertIn("no log group", functions["Named"]["note"])

        total = report["total"]
        self.assertEqual(total["invocations"], 5)
        window_cost = (5 * REQUEST_PRICE + alpha_gbs * X86 + beta_gbs * ARM
                       + gbs(200, 1024) * EPHEMERAL)
        self.assertAlmostEqual(total["cost"]["total"], window_cost, places=12)

        # A month at the window's rate: × 730 h / 1 s; the free tier (1M requests,
        # 400,000 GB-s) shared in proportion to each architecture's usage.
        factor = MONTH_SECONDS / 1
        requests = 5 * factor
        a_gbs, b_gbs = alpha_gbs * factor, beta_gbs * factor
        free_a = 400_000 * a_gbs / (a_gbs + b_gbs)
        free_b = 400_000 * b_gbs / (a_gbs + b_gbs)
        month = ((requests - 1_000_000) * REQUEST_PRICE + (a_gbs - free_a) * X86
                 + (b_gbs - free_b) * ARM + gbs(200, 1024) * factor * EPHEMERAL)
        self.assertAlmostEqual(total["monthlyCost"]["total"], month, places=6)
        self.assertAlmostEqual(total["monthlyFreeTierCredit"]["requests"], 1_000_000 * REQUEST_PRICE,
                               places=9)

        # The text report says the same (money to three significant digits).
        proc = harness.wisp("cost", "--stack-name", "shop", "--endpoint-url", self.moto.url,
                            "-s", str(t0), "-e", str(t0 + 1000), cwd=self.tmp)
        self.assertWisp(proc, 0, stdout_has="Cost of 5 invocations")
        digits = 2 - math.floor(math.log10(window_cost))
        self.assertRegex(proc.stdout, r"\nTOTAL .* \$" + re.escape(f"{window_cost:.{digits}f}") + " ")
        self.assertRegex(proc.stdout, r"\nAlpha +x86_64 +128 MB +3 +1 +1 ")
        self.assertRegex(proc.stdout, r"\nNamed +no log group")

        # No log groups at all: an empty report, each function noted.
        self.moto.reset()
        proc = harness.wisp("cost", "--stack-name", "shop", "--endpoint-url", self.moto.url,
                            "-s", str(t0), "-e", str(t0 + 1000), cwd=self.tmp)
        self.assertWisp(proc, 0, stdout_has="No invocations")
        self.assertIn("Alpha: no log group", proc.stdout)

    def test_empty_window_says_so(self):
        # Log lines in the window, but no REPORT among them.
        now = int(time.time() * 1000)
        put_events(self.moto.url, "/aws/lambda/shop-Alpha",
                   [(now - 60_000, "START RequestId: x Version: $LATEST"), (now - 59_000, "hello")])
        proc = harness.wisp("cost", "-n", "Alpha", "--stack-name", "shop", "--endpoint-url",
                            self.moto.url, "-s", "1h ago", cwd=self.tmp)
        self.assertWisp(proc, 0, stdout_has="No invocations (no REPORT lines) of Alpha")
        proc = harness.wisp("cost", "-n", "Alpha", "--stack-name", "shop", "--endpoint-url",
                            self.moto.url, "-s", "1h ago", "--output", "json", cwd=self.tmp)
        self.assertWisp(proc, 0)
        report = json.loads(proc.stdout)
        self.assertTrue(report["empty"])
        self.assertEqual(report["total"]["invocations"], 0)

    def test_price_file_errors_have_positions(self):
        self.write("prices.toml", 'as_of = 2026-01-01\n[regions.default]\nrequests_per_million = "x"\n')
        proc = harness.wisp("cost", "--local", "--prices", "prices.toml", cwd=self.tmp)
        self.assertWisp(proc, 1)
        self.assertRegex(proc.stderr, r"prices\.toml:3:24: error: requests_per_million must be a number")
        self.assertIn("prices.toml:2:1: error: region default has no x86_64", proc.stderr)

    def test_price_file_replaces_the_table(self):
        self.write("prices.toml", """as_of = 2026-01-01
[regions.default]
requests_per_million = 1.0
ephemeral_storage_per_gb_second = 0
x86_64 = [{ per_gb_second = 0.001 }]
arm64 = [{ per_gb_second = 0.002 }]
""")
        t0 = (int(time.time()) - 120) * 1000
        put_events(self.moto.url, "/aws/lambda/shop-Alpha",
                   [(t0 + 10, report_line("a", 100.0, 100, 1024, 40))])
        proc = harness.wisp("cost", "-n", "Alpha", "--stack-name", "shop", "--endpoint-url",
                            self.moto.url, "-s", str(t0), "-e", str(t0 + 1000), "--prices",
                            "prices.toml", "--output", "json", cwd=self.tmp)
        self.assertWisp(proc, 0)
        report = json.loads(proc.stdout)
        self.assertEqual(report["prices"]["origin"], "prices.toml")
        self.assertAlmostEqual(report["total"]["cost"]["total"], 1.0 / 1e6 + 0.1 * 0.001, places=12)


class CostLocal(WispTestCase):
    def test_local_store_matches_local_invoke_reports(self):
        harness.require_peer("python3.12", "the python3.12 runtime")
        self.write("template.yaml", TEMPLATE)
        self.write("src/app.py", PY_HANDLER)
        reports = []
        for _ in range(3):
            proc = harness.wisp("local", "invoke", "Alpha", cwd=self.tmp)
            self.assertWisp(proc, 0)
            line = next(l for l in proc.stderr.splitlines() if l.startswith("REPORT "))
            fields = dict(re.findall(r"([A-Za-z ]+): ([0-9.]+)", line.split("\t", 1)[1]))
            reports.append(fields)
        proc = harness.wisp("cost", "--local", "-n", "Alpha", "--output", "json", cwd=self.tmp)
        self.assertWisp(proc, 0)
        alpha = json.loads(proc.stdout)["functions"][0]
        self.assertEqual(alpha["invocations"], 3)
        self.assertEqual(alpha["coldStarts"], 3)  # each local invoke starts a fresh worker
        billed = sum(int(r["Billed Duration"]) for r in reports)
        self.assertEqual(alpha["billedDurationMs"], billed)
        self.assertAlmostEqual(alpha["gbSeconds"], gbs(billed, 128), places=9)
        self.assertAlmostEqual(alpha["cost"]["total"], 3 * REQUEST_PRICE + gbs(billed, 128) * X86,
                               places=12)
        self.assertEqual(alpha["maxMemoryUsedMB"], max(int(r["Max Memory Used"]) for r in reports))
        durations = sorted(float(r["Duration"]) for r in reports)
        self.assertAlmostEqual(alpha["durationMs"]["p50"], durations[1], places=2)
        self.assertEqual(alpha["memoryAdvice"]["currentMB"], 128)


if __name__ == "__main__":
    harness.main()
