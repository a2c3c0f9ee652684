"""The console page at /_wisp/, in headless Chromium (Debian's chromium, driven by
playwright-core): it opens the page, sends requests to the API, and reads every figure the page
shows; the test compares them with the REPORT lines the same invocations wrote (wisp's stderr)
and with the cost computed by hand from those lines. Also: the page works offline (nothing is
loaded from elsewhere), environment values never reach it, one click shows an invocation's log
lines, a closed browser leaves no event stream behind, --no-console turns it off, and a route
that claims /_wisp moves the console to a port of its own.

WISP_UPDATE_SCREENSHOT=1 writes the page's screenshot to docs/console.png."""

import json
import os
import re
import shutil
import subprocess
import time
import unittest
import urllib.error
import urllib.request

import harness
from gateway_helpers import Server

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: shop
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      MemorySize: 512
      Environment:
        Variables:
          DB_PASSWORD: {secret}
      Events:
        Get:
          Type: HttpApi
          Properties:
            Path: /orders/{{id}}
            Method: GET
  Slow:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.slow
      CodeUri: src/
      ReservedConcurrentExecutions: 2
      Events:
        Get:
          Type: HttpApi
          Properties:
            Path: /slow
            Method: GET
"""

APP = """\
import time


def handler(event, context):
    order = event["pathParameters"]["id"]
    print("order", order, "for", context.aws_request_id)
    if order == "bad":
        raise ValueError("no such order")
    return {"statusCode": 200, "body": order}


def slow(event, context):
    time.sleep(0.3)
    return {"statusCode": 200, "body": "slow"}
"""

SECRET = "s3cr3t-value-never-shown"
CONSOLE_LINE = re.compile(r"^Console: (http://[^/]+/_wisp/)")
REPORT = re.compile(r"^REPORT RequestId: (\S+)\t(.*)$")
X86 = 0.0000166667
REQUEST = 0.20 / 1e6


def chromium_peer():
    chromium = shutil.which("chromium")
    modules = os.path.join(harness.PEERS_DIR, "playwright", "node_modules")
    if chromium is None:
        raise unittest.SkipTest("PEER MISSING: chromium (packaging/install-deps.sh --with-peers)")
    if not os.path.isdir(os.path.join(modules, "playwright-core")):
        raise unittest.SkipTest("PEER MISSING: playwright-core (packaging/install-deps.sh --with-peers)")
    harness.require_peer("node", "Node.js runs playwright-core")
    return chromium, modules


def reports(stderr):
    """request id → REPORT fields from the server's function log."""
    out = {}
    for line in stderr.splitlines():
        m = REPORT.match(line)
        if m:
            out[m.group(1)] = {k: float(v) for k, v in re.findall(r"([A-Za-z ]+): ([0-9.]+)", m.group(2))}
    return out


def established(pid, port):
    """wisp's TCP connections accepted on `port` that are still open (socket inodes)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    open_ = []
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            if local_port == port and fields[3] != "0A" and fields[9] in inodes:  # 0A: LISTEN
                open_.append(fields[9])
    return open_


def nearest_rank(values, p):
    values = sorted(values)
    rank = max(1, -(-p * len(values) // 100))
    return values[rank - 1]


class ConsolePage(harness.WispTestCase):
    def setUp(self):
        super().setUp()
        self.chromium, self.modules = chromium_peer()
        harness.require_peer("python3.12", "the python3.12 runtime")
        self.write("template.yaml", TEMPLATE.format(secret=SECRET))
        self.write("src/app.py", APP)

    def console_url(self, server):
        for line in server.stdout_lines:
            m = CONSOLE_LINE.match(line)
            if m:
                return m.group(1)
        raise AssertionError("no Console line:\n" + server.stdout())

    def drive(self, spec):
        spec_path = self.write("spec.json", json.dumps(spec))
        proc = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "console_page.cjs"), spec_path],
                              capture_output=True, text=True, timeout=180,
                              env=harness.env(NODE_PATH=self.modules))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)

    def test_page_figures_match_the_report_lines(self):
        with Server(self.tmp, "--no-watch") as server:
            url = self.console_url(server)
            api = f"http://127.0.0.1:{server.port()}"
            # Sequential orders (the first cold), one that fails, then 4 slow requests at once
            # against a reserved concurrency of 2 (two throttled).
            groups = [[{"url": f"{api}/orders/{i}"}] for i in range(6)]
            groups.append([{"url": f"{api}/orders/bad"}])
            groups.append([{"url": f"{api}/slow"} for _ in range(4)])
            screenshot = self.path("console.png")
            page = self.drive({
                "consoleUrl": url, "requests": groups, "expected": 9, "select": "Orders",
                "screenshot": screenshot, "userDataDir": self.path("chrome"),
                "chromium": self.chromium,
            })
            time.sleep(0.5)  # the function log reaches stderr in batches
            lines = reports(server.stderr())
            # A closed browser leaves no event stream behind.
            deadline = time.monotonic() + 10
            while True:
                with urllib.request.urlopen(url + "api/state") as response:
                    subscribers = response.headers["X-Wisp-Subscribers"]
                    state = response.read().decode()
                if subscribers == "0" or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            self.assertEqual(subscribers, "0")
            # ... and no connection of wisp's to the browser (or to the poll above) stays open:
            # wisp closes its side once the peer has gone, which can take a moment after the
            # browser process exits.
            deadline = time.monotonic() + 10
            while (still_open := established(server.proc.pid, server.port())) and \
                    time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(still_open, [])

        self.assertEqual(page["foreign"], [])  # offline: only wisp's own URLs
        self.assertEqual(page["errors"], [])
        # The failed order and the two throttled slow requests: 500 from the HTTP API.
        statuses = sorted(r["status"] for r in page["responses"])
        self.assertEqual(statuses.count(500), 3, page["responses"])
        self.assertNotIn(SECRET, page["html"])
        self.assertNotIn(SECRET, state)
        self.assertIn("DB_PASSWORD", page["html"])

        # Every REPORT line is one invocation on the page, with the same figures.
        invocations = page["invocations"]
        self.assertEqual(len(lines), 9)  # 6 + 1 failed orders, 2 slow (2 throttled: no REPORT)
        self.assertEqual(page["totals"]["t-invocations"], 9)
        self.assertEqual(sum(1 for i in invocations.values() if i["outcome"] == "throttled"), 2)
        for request_id, fields in lines.items():
            row = invocations[request_id]
            self.assertEqual(row["billed"], fields["Billed Duration"], request_id)
            self.assertAlmostEqual(row["duration"], fields["Duration"], delta=0.006)
            self.assertEqual(row["maxMemoryUsed"], fields["Max Memory Used"])
            self.assertAlmostEqual(row["init"], fields.get("Init Duration", 0), delta=0.006)

        for function, memory in (("Orders", 512), ("Slow", 128)):
            mine = {rid: f for rid, f in lines.items() if invocations[rid]["function"] == function}
            figures = page["figures"][function]
            self.assertEqual(figures["invocations"], len(mine))
            self.assertEqual(figures["coldStarts"], sum(1 for f in mine.values() if "Init Duration" in f))
            self.assertEqual(figures["maxMemoryUsed"], max(f["Max Memory Used"] for f in mine.values()))
            gbs = sum(f["Billed Duration"] / 1000 * memory / 1024 for f in mine.values())
            self.assertAlmostEqual(figures["gbSeconds"], gbs, places=9)
            self.assertAlmostEqual(figures["cost"], len(mine) * REQUEST + gbs * X86, places=12)
            durations = [f["Duration"] for f in mine.values()]
            for p in (50, 95, 99):  # histogram buckets are 1% wide
                self.assertAlmostEqual(figures[f"p{p}"], nearest_rank(durations, p),
                                       delta=0.011 * nearest_rank(durations, p) + 0.006)
        self.assertEqual(page["figures"]["Orders"]["errors"], 1)
        self.assertEqual(page["figures"]["Slow"]["throttles"], 2)
        self.assertLessEqual(page["figures"]["Slow"]["concurrency"], 2)
        self.assertGreater(page["projection"], 0)
        # One click from an invocation to its log lines: the newest Orders invocation.
        request_id = page["logsRequest"]
        self.assertIn(f"REPORT RequestId: {request_id}", page["logs"])
        self.assertRegex(page["logs"], rf"order \S+ for {request_id}")
        self.assertIn("Memory", page["detailText"])
        if os.environ.get("WISP_UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(screenshot, os.path.join(harness.SOURCE_DIR, "docs", "console.png"))


PROXY_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Everything:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Environment:
        Variables:
          DB_PASSWORD: {secret}
      Events:
        All:
          Type: HttpApi
          Properties:
            Path: /{{proxy+}}
            Method: ANY
"""

PROXY_APP = """\
def handler(event, context):
    return {"statusCode": 200, "body": "function saw " + event["rawPath"]}
"""


def fetch(url):
    """(status, headers, body) without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class ConsoleServing(harness.WispTestCase):
    """Where the console is served (no browser needed)."""

    def setUp(self):
        super().setUp()
        harness.require_peer("python3.12", "the python3.12 runtime")

    def console_lines(self, server):
        return [line for line in server.stdout_lines if line.startswith("Console: ")]

    def test_a_route_claiming_wisp_moves_the_console_to_its_own_port(self):
        self.write("template.yaml", PROXY_TEMPLATE.format(secret=SECRET))
        self.write("src/app.py", PROXY_APP)
        with Server(self.tmp, "--no-watch") as server:
            api = server.port()
            lines = self.console_lines(server)
            self.assertEqual(len(lines), 1, server.stdout())
            m = re.match(r"^Console: http://127\.0\.0\.1:(\d+)/_wisp/ \(the routes on port (\d+) match /_wisp\)$",
                         lines[0])
            self.assertIsNotNone(m, lines[0])
            console = int(m.group(1))
            self.assertEqual(int(m.group(2)), api)
            self.assertNotEqual(console, api)
            # The API's /_wisp/ is the function's; the console's port serves the page.
            status, _, body = fetch(f"http://127.0.0.1:{api}/_wisp/")
            self.assertEqual((status, body), (200, "function saw /_wisp/"))
            status, headers, body = fetch(f"http://127.0.0.1:{console}/_wisp/")
            self.assertEqual(status, 200)
            self.assertTrue(headers["Content-Type"].startswith("text/html"), headers)
            self.assertIn("wisp console", body)
            status, headers, _ = fetch(f"http://127.0.0.1:{console}/")
            self.assertEqual((status, headers.get("Location")), (307, "/_wisp/"))
            status, _, body = fetch(f"http://127.0.0.1:{console}/_wisp/api/state")
            self.assertEqual(status, 200)
            state = json.loads(body)
            self.assertEqual([f["id"] for f in state["functions"]], ["Everything"])
            self.assertIn("DB_PASSWORD", body)
            self.assertNotIn(SECRET, body)
            # The page's assets are all in the binary.
            for asset in ("console.js", "console.css", "uPlot.iife.min.js", "uPlot.min.css"):
                status, _, body = fetch(f"http://127.0.0.1:{console}/_wisp/{asset}")
                self.assertEqual(status, 200, asset)
                self.assertGreater(len(body), 1000, asset)
            # The console's own requests stay out of the access log; the API's are there.
            self.assertFalse([line for line in server.stderr_lines if "/_wisp/api/state" in line],
                             server.stderr())

    def test_no_console(self):
        self.write("template.yaml", TEMPLATE.format(secret=SECRET))
        self.write("src/app.py", APP)
        with Server(self.tmp, "--no-watch", "--no-console") as server:
            self.assertEqual(self.console_lines(server), [])
            status, _, body = fetch(f"http://127.0.0.1:{server.port()}/_wisp/")
            self.assertEqual(status, 404, body)
            self.assertNotIn("wisp console", body)

    def test_start_lambda_serves_it_on_its_port(self):
        self.write("template.yaml", TEMPLATE.format(secret=SECRET))
        self.write("src/app.py", APP)
        with Server(self.tmp, "--no-watch", command="start-lambda") as server:
            port = server.port("lambda")
            self.assertEqual(self.console_lines(server), [f"Console: http://127.0.0.1:{port}/_wisp/"])
            status, _, body = fetch(f"http://127.0.0.1:{port}/_wisp/api/state")
            self.assertEqual(status, 200)
            self.assertEqual(sorted(f["id"] for f in json.loads(body)["functions"]), ["Orders", "Slow"])
            # No durable functions here: the page hides that section.
            status, _, body = fetch(f"http://127.0.0.1:{port}/_wisp/api/durable")
            self.assertEqual((status, json.loads(body)["enabled"]), (200, False))
            # The Invoke API is untouched.
            status, _, _ = fetch(f"http://127.0.0.1:{port}/2015-03-31/functions/Nope/invocations")
            self.assertNotEqual(status, 200)

    def test_local_start_puts_it_on_the_api_port_else_the_invoke_api_port(self):
        self.write("template.yaml", TEMPLATE.format(secret=SECRET))
        self.write("src/app.py", APP)
        with Server(self.tmp, "--no-watch", "--lambda-port", "0", command="start") as server:
            api = server.port("ServerlessHttpApi")
            self.assertEqual(self.console_lines(server), [f"Console: http://127.0.0.1:{api}/_wisp/"])
            status, _, body = fetch(f"http://127.0.0.1:{api}/_wisp/api/state")
            self.assertEqual(status, 200)
            self.assertEqual(sorted(f["id"] for f in json.loads(body)["functions"]), ["Orders", "Slow"])
        self.write("template.yaml", PROXY_TEMPLATE.format(secret=SECRET))
        self.write("src/app.py", PROXY_APP)
        with Server(self.tmp, "--no-watch", "--lambda-port", "0", command="start") as server:
            api, invoke = server.port("ServerlessHttpApi"), server.port("lambda")
            self.assertEqual(self.console_lines(server), [
                f"Console: http://127.0.0.1:{invoke}/_wisp/ (the routes on port {api} match /_wisp)"])
            status, _, body = fetch(f"http://127.0.0.1:{invoke}/_wisp/")
            self.assertEqual(status, 200)
            self.assertIn("wisp console", body)
            status, _, body = fetch(f"http://127.0.0.1:{api}/_wisp/")
            self.assertEqual((status, body), (200, "function saw /_wisp/"))

    def test_a_price_file_with_errors_stops_the_start(self):
        self.write("template.yaml", TEMPLATE.format(secret=SECRET))
        self.write("src/app.py", APP)
        prices = self.write("prices.toml", 'as_of = 2026-12-03\ncurrency = "USD"\nmonth_hours = "many"\n')
        proc = harness.wisp("local", "start-api", "--port", "0", "--no-watch", "--prices", prices, cwd=self.tmp,
                            timeout=60)
        self.assertWisp(proc, 1, stderr_has=f"{prices}:3:")


if __name__ == "__main__":
    harness.main()
