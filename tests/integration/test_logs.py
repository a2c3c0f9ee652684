"""`wisp logs` against real peers.

Remote: moto_server serves CloudWatch Logs (and Lambda aliases for --stage); events are
written with `aws logs put-log-events` while `wisp logs --tail` runs. moto honours only plain
words and quoted phrases in filter patterns, so those are what the remote filter tests use
(wisp's own pattern engine is proved by tests/unit/test_logs_pattern.cpp).

Local: `wisp logs --local` reads the store under .wisp/logs that `wisp local invoke` /
`local start-api` write (docs/log-store.md); here the store is written directly, the way
concurrent engines write it (several streams, rotation, deletion).
test_logs_local_sessions.py follows real `wisp local invoke` and `local start-api` sessions."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest
import uuid

import harness
from aws_proxy import FaultProxy
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
      Runtime: python3.12
      CodeUri: src/
  Named:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: explicitly-named
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      LoggingConfig:
        LogGroup: /custom/named-group
"""

STREAM = "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef"


def now_ms():
    return int(time.time() * 1000)


def aws(url, *args):
    harness.require_peer("aws", "the AWS CLI")
    proc = subprocess.run(
        ["aws", "--endpoint-url", url, "--output", "json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=harness.env(),
    )
    if proc.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed: {proc.stderr}")
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def put_events(url, group, stream, events):
    """events: [(timestamp_ms, message)] written with one `aws logs put-log-events`."""
    payload = json.dumps([{"timestamp": t, "message": m} for t, m in events])
    aws(url, "logs", "put-log-events", "--log-group-name", group, "--log-stream-name", stream,
        "--log-events", payload)


def create_group(url, group, streams=(STREAM,)):
    aws(url, "logs", "create-log-group", "--log-group-name", group)
    for stream in streams:
        aws(url, "logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", stream)


class Tail:
    """`wisp logs ... --tail` in the background; every stdout line with the time it arrived."""

    def __init__(self, args, cwd, extra_env=None):
        self.lines = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [harness.WISP, *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=harness.env(**(extra_env or {})),
            start_new_session=True,
        )
        self.stderr = []
        self._out = threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True)
        self._err = threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True)
        self._out.start()
        self._err.start()

    def _read(self, stream, sink):
        for line in stream:
            with self.lock:
                sink.append((time.monotonic(), line.rstrip("\n")))

    def messages(self):
        with self.lock:
            return [json.loads(line)["message"] for _, line in self.lines]

    def records(self):
        with self.lock:
            return [json.loads(line) for _, line in self.lines]

    def stderr_text(self):
        with self.lock:
            return "\n".join(line for _, line in self.stderr)

    def wait_for(self, message, timeout):
        """The monotonic time `message` was printed, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for arrived, line in self.lines:
                    if json.loads(line)["message"] == message:
                        return arrived
            if self.proc.poll() is not None:
                raise AssertionError(f"wisp logs exited {self.proc.returncode}: {self.stderr_text()}")
            time.sleep(0.02)
        raise AssertionError(f"{message!r} not printed within {timeout} s; got {self.messages()}\n"
                             f"stderr: {self.stderr_text()}")

    def stop(self):
        """SIGINT, as Ctrl-C: the tail ends cleanly with exit 0."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            harness.stop(self.proc)
            raise AssertionError("wisp logs --tail did not stop on SIGINT")
        self._out.join(timeout=5)
        self._err.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


class RemoteLogs(WispTestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("aws", "the AWS CLI")
        cls.moto = Moto().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)

    def setUp(self):
        super().setUp()
        self.moto.reset()
        self.write("template.yaml", TEMPLATE)
        self.write("src/app.py", "def handler(event, context):\n    return {}\n")

    def logs(self, *args, **kwargs):
        return harness.wisp("logs", "--endpoint-url", self.moto.url, *args, cwd=self.tmp, **kwargs)

    def test_tail_two_functions_interleaved_in_order_exactly_once_within_2s(self):
        url = self.moto.url
        create_group(url, "/aws/lambda/app-Alpha")
        create_group(url, "/aws/lambda/app-Beta")
        create_group(url, "/custom/named-group")
        # Already there before the tail starts: printed first, merged by time.
        base = now_ms() - 60_000
        put_events(url, "/aws/lambda/app-Alpha", STREAM, [(base, "old alpha 1"), (base + 20, "old alpha 2")])
        put_events(url, "/aws/lambda/app-Beta", STREAM, [(base + 10, "old beta 1")])

        tail = Tail(["logs", "--endpoint-url", url, "--stack-name", "app", "--tail", "--output", "json"],
                    cwd=self.tmp)
        try:
            tail.wait_for("old beta 1", timeout=15)
            self.assertEqual(tail.messages(), ["old alpha 1", "old beta 1", "old alpha 2"])
            expected = ["old alpha 1", "old beta 1", "old alpha 2"]
            latencies = []
            for i in range(6):
                group = "/aws/lambda/app-Alpha" if i % 2 == 0 else "/aws/lambda/app-Beta"
                message = f"live {i} from {'alpha' if i % 2 == 0 else 'beta'}"
                put_events(url, group, STREAM, [(now_ms(), message)])
                written = time.monotonic()
                printed = tail.wait_for(message, timeout=10)
                latencies.append(printed - written)
                expected.append(message)
            # A late event: its timestamp is earlier than what was printed already. It is
            # printed (once), not lost behind the tail's window.
            put_events(url, "/aws/lambda/app-Beta", STREAM, [(now_ms() - 5_000, "late beta")])
            tail.wait_for("late beta", timeout=10)
            expected.append("late beta")
            # Several polls more: overlapping windows must not print anything twice.
            time.sleep(3.5)
        finally:
            code = tail.stop()
        self.assertEqual(code, 0, tail.stderr_text())
        self.assertEqual(tail.messages(), expected)
        for latency in latencies:
            self.assertLess(latency, 2.0, f"latencies: {latencies}")
        records = tail.records()
        self.assertEqual(records[3]["function"], "Alpha")
        self.assertEqual(records[4]["function"], "Beta")
        self.assertEqual(records[3]["logGroupName"], "/aws/lambda/app-Alpha")
        self.assertEqual(records[3]["version"], "$LATEST")
        self.assertTrue(records[3]["eventId"])

    def test_paginated_results_are_all_read(self):
        try:
            import boto3
        except ImportError:
            raise unittest.SkipTest("PEER MISSING: boto3 (bulk writes)")
        url = self.moto.url
        create_group(url, "/aws/lambda/app-Alpha")
        create_group(url, "/aws/lambda/app-Beta")
        client = boto3.client("logs", endpoint_url=url)
        t = now_ms() - 120_000
        # More than one FilterLogEvents page (10 000 events) in one group, interleaved with another.
        for start in range(0, 12_000, 4_000):
            client.put_log_events(logGroupName="/aws/lambda/app-Alpha", logStreamName=STREAM, logEvents=[
                {"timestamp": t + 2 * i, "message": f"a{i:05d}"} for i in range(start, start + 4_000)])
        client.put_log_events(logGroupName="/aws/lambda/app-Beta", logStreamName=STREAM, logEvents=[
            {"timestamp": t + 2 * i + 1, "message": f"b{i:05d}"} for i in range(0, 12_000, 1_000)])
        proc = self.logs("--stack-name", "app", "-n", "Alpha", "-n", "Beta", "--output", "json", timeout=300)
        self.assertWisp(proc, 0)
        messages = [json.loads(l)["message"] for l in proc.stdout.splitlines()]
        self.assertEqual(len(messages), 12_012)
        self.assertEqual(len(set(messages)), 12_012)
        self.assertEqual(messages[:3], ["a00000", "b00000", "a00001"])
        self.assertEqual(messages[-1], "a11999")

    def test_text_output_and_request_ids(self):
        url = self.moto.url
        create_group(url, "/aws/lambda/app-Alpha")
        rid = str(uuid.uuid4())
        t = now_ms() - 1000
        put_events(url, "/aws/lambda/app-Alpha", STREAM, [
            (t, f"START RequestId: {rid} Version: $LATEST"),
            (t + 1, f"2026-11-23T10:00:00.000Z\t{rid}\tINFO\thello from alpha\n"),
            (t + 2, f"END RequestId: {rid}"),
            (t + 3, f"REPORT RequestId: {rid}\tDuration: 1.00 ms\tBilled Duration: 1 ms"),
        ])
        proc = self.logs("-n", "Alpha", "--stack-name", "app")
        self.assertWisp(proc, 0)
        lines = proc.stdout.splitlines()
        self.assertEqual(len(lines), 4, proc.stdout)
        for line in lines:
            fields = line.split("  ")
            self.assertRegex(fields[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertEqual(fields[1], "Alpha")
            self.assertEqual(fields[2], "[$LATEST]")
            self.assertEqual(fields[3], rid)
        self.assertTrue(lines[1].endswith(f"{rid}\tINFO\thello from alpha"))
        self.assertIn("REPORT RequestId:", lines[3])
        self.assertNotIn("\x1b[", proc.stdout)  # not a TTY: no colour
        colored = self.logs("-n", "Alpha", "--stack-name", "app", "--color", "always")
        self.assertIn("\x1b[2mREPORT RequestId:", colored.stdout)

    def test_start_and_end_windows(self):
        url = self.moto.url
        create_group(url, "/aws/lambda/app-Alpha")
        t0 = now_ms() - 3_600_000  # an hour ago
        put_events(url, "/aws/lambda/app-Alpha", STREAM, [
            (t0, "at t0"), (t0 + 60_000, "at t0+1m"), (t0 + 120_000, "at t0+2m"),
            (t0 + 180_000, "at t0+3m"),
        ])
        recent = now_ms() - 5 * 60_000
        put_events(url, "/aws/lambda/app-Alpha", STREAM, [(recent, "five minutes ago")])

        def iso(ms):
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"

        proc = self.logs("-n", "Alpha", "--stack-name", "app", "-s", iso(t0 + 30_000), "-e", iso(t0 + 150_000),
                         "--output", "json")
        self.assertWisp(proc, 0)
        self.assertEqual([json.loads(l)["message"] for l in proc.stdout.splitlines()], ["at t0+1m", "at t0+2m"])
        # Epoch milliseconds, inclusive bounds.
        proc = self.logs("-n", "Alpha", "--stack-name", "app", "-s", str(t0), "-e", str(t0 + 60_000),
                         "--output", "json")
        self.assertEqual([json.loads(l)["message"] for l in proc.stdout.splitlines()], ["at t0", "at t0+1m"])
        # Default start: 10 minutes ago.
        proc = self.logs("-n", "Alpha", "--stack-name", "app", "--output", "json")
        self.assertEqual([json.loads(l)["message"] for l in proc.stdout.splitlines()], ["five minutes ago"])
        proc = self.logs("-n", "Alpha", "--stack-name", "app", "-s", "2h", "--output", "json")
        self.assertEqual(len(proc.stdout.splitlines()), 5)
        # Bad times and an end before the start.
        self.assertWisp(self.logs("-n", "Alpha", "--stack-name", "app", "-s", "soonish"), 1,
                        stderr_has="--start-time: invalid time 'soonish'")
        self.assertWisp(self.logs("-n", "Alpha", "--stack-name", "app", "-s", "1h ago", "-e", "2h ago"), 1,
                        stderr_has="is before --start-time")
        self.assertWisp(self.logs("-n", "Alpha", "--stack-name", "app", "--tail", "-e", "now"), 2,
                        stderr_has="cannot be combined with --end-time")

    def test_filters_plain_words_and_quoted_phrases(self):
        url = self.moto.url
        create_group(url, "/aws/lambda/app-Alpha")
        t = now_ms() - 1000
        put_events(url, "/aws/lambda/app-Alpha", STREAM, [
            (t, "ERROR disk full on /dev/sda"), (t + 1, "WARN disk almost full"),
            (t + 2, "ERROR timeout calling db"), (t + 3, "an error in lower case"),
        ])

        def messages(pattern):
            proc = self.logs("-n", "Alpha", "--stack-name", "app", "--filter", pattern, "--output", "json")
            self.assertWisp(proc, 0)
            return [json.loads(l)["message"] for l in proc.stdout.splitlines()]

        self.assertEqual(messages("ERROR"), ["ERROR disk full on /dev/sda", "ERROR timeout calling db"])
        self.assertEqual(messages('"disk full"'), ["ERROR disk full on /dev/sda"])
        self.assertEqual(messages("disk full"), ["ERROR disk full on /dev/sda", "WARN disk almost full"])
        self.assertEqual(messages(""), ["ERROR disk full on /dev/sda", "WARN disk almost full",
                                         "ERROR timeout calling db", "an error in lower case"])
        # The pattern went to CloudWatch as written.
        # Malformed patterns fail before any request, with the column.
        proc = self.logs("-n", "Alpha", "--stack-name", "app", "--filter", "{ $.level = }")
        self.assertWisp(proc, 1, stderr_has="invalid filter pattern: expected a value after the comparison "
                                            "but found '}' (column 13)")
        proc = self.logs("-n", "Alpha", "--stack-name", "app", "--filter", "disk/full")
        self.assertWisp(proc, 1, stderr_has="put it in double quotes")

    def test_bad_input(self):
        url = self.moto.url
        create_group(url, "/aws/lambda/app-Alpha")
        self.assertWisp(self.logs("-n", "alpha", "--stack-name", "app"), 1,
                        stderr_has="unknown function 'alpha': template.yaml has no function with that "
                                   "logical id or FunctionName; did you mean 'Alpha'?")
        self.assertWisp(self.logs("-n", "Gamma", "--stack-name", "app"), 1,
                        stderr_has="unknown function 'Gamma': template.yaml has no function with that "
                                   "logical id or FunctionName (its functions: Alpha, Beta, Named)")
        self.assertWisp(self.logs("-n", "Beta", "--stack-name", "app"), 1,
                        stderr_has="log group /aws/lambda/app-Beta does not exist")
        self.assertWisp(self.logs("--cw-log-group", "/no/such/group"), 1,
                        stderr_has="log group /no/such/group does not exist")
        self.assertWisp(self.logs("--cw-log-group", "/no/such/group", "--tail"), 1,
                        stderr_has="log group /no/such/group does not exist")
        self.assertWisp(self.logs("-n", "Alpha"), 1, stderr_has="--stack-name is needed to find function Alpha")
        self.assertWisp(self.logs("--local", "--stage", "live"), 2, stderr_has="--stage selects")
        # FunctionName and LoggingConfig.LogGroup are honoured (no stack name needed).
        create_group(url, "/custom/named-group")
        put_events(url, "/custom/named-group", STREAM, [(now_ms() - 100, "named says hi")])
        proc = self.logs("-n", "Named", "--output", "json")
        self.assertWisp(proc, 0)
        self.assertEqual(json.loads(proc.stdout)["message"], "named says hi")
        self.assertEqual(json.loads(proc.stdout)["function"], "Named")
        proc = self.logs("-n", "explicitly-named", "--output", "json")
        self.assertWisp(proc, 0, stdout_has="named says hi")
        # Without a template, -n is a physical function name.
        empty = self.path("empty")
        os.makedirs(empty)
        proc = harness.wisp("logs", "--endpoint-url", url, "-n", "app-Alpha", cwd=empty)
        self.assertWisp(proc, 0)
        proc = harness.wisp("logs", "--endpoint-url", url, cwd=empty)
        self.assertWisp(proc, 1, stderr_has="no template (template.yaml) to take the functions from")

    def test_stage_shows_only_the_versions_the_alias_routes_to(self):
        url = self.moto.url
        aws(url, "iam", "create-role", "--role-name", "fn-role", "--assume-role-policy-document",
            json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        import zipfile
        versions = []
        for n in range(3):
            zpath = self.path(f"code{n}.zip")
            with zipfile.ZipFile(zpath, "w") as z:
                z.writestr("app.py", f"def handler(e, c):\n    return {n}\n")
            if n == 0:
                aws(url, "lambda", "create-function", "--function-name", "app-Alpha", "--runtime", "python3.12",
                    "--handler", "app.handler", "--role", "arn:aws:iam::123456789012:role/fn-role",
                    "--zip-file", f"fileb://{zpath}")
            else:
                aws(url, "lambda", "update-function-code", "--function-name", "app-Alpha", "--zip-file",
                    f"fileb://{zpath}")
            versions.append(aws(url, "lambda", "publish-version", "--function-name", "app-Alpha")["Version"])
        self.assertEqual(versions, ["1", "2", "3"])
        # A canary: 'live' sends 90 % to version 2 and 10 % to version 3.
        aws(url, "lambda", "create-alias", "--function-name", "app-Alpha", "--name", "live",
            "--function-version", "2", "--routing-config", json.dumps({"AdditionalVersionWeights": {"3": 0.1}}))
        streams = {v: f"2026/11/23/[{v}]" + "ab" * 16 for v in ("1", "2", "3", "$LATEST")}
        create_group(url, "/aws/lambda/app-Alpha", streams.values())
        t = now_ms() - 2000
        for i, (version, stream) in enumerate(streams.items()):
            put_events(url, "/aws/lambda/app-Alpha", stream, [(t + i, f"from version {version}")])
        proc = self.logs("-n", "Alpha", "--stack-name", "app", "--stage", "live", "--output", "json")
        self.assertWisp(proc, 0)
        records = [json.loads(l) for l in proc.stdout.splitlines()]
        self.assertEqual([r["message"] for r in records], ["from version 2", "from version 3"])
        self.assertEqual([r["version"] for r in records], ["2", "3"])
        # Without --stage: every stream.
        proc = self.logs("-n", "Alpha", "--stack-name", "app", "--output", "json")
        self.assertEqual(len(proc.stdout.splitlines()), 4)
        # A stage that does not exist.
        self.assertWisp(self.logs("-n", "Alpha", "--stack-name", "app", "--stage", "beta"), 1,
                        stderr_has="function app-Alpha has no alias 'beta'")

    def test_backend_failing_mid_tail_is_reported_and_retried(self):
        url = self.moto.url
        create_group(url, "/aws/lambda/app-Alpha")
        with FaultProxy(url) as proxy:
            tail = Tail(["logs", "--endpoint-url", proxy.url, "-n", "Alpha", "--stack-name", "app", "--tail",
                         "--output", "json"], cwd=self.tmp, extra_env={"AWS_MAX_ATTEMPTS": "2"})
            try:
                put_events(url, "/aws/lambda/app-Alpha", STREAM, [(now_ms(), "before the outage")])
                tail.wait_for("before the outage", timeout=10)
                # CloudWatch Logs goes down: every request fails (500, dropped connections).
                proxy.random_faults(1.0, faults=["503", "drop"])
                put_events(url, "/aws/lambda/app-Alpha", STREAM, [(now_ms(), "during the outage")])
                deadline = time.monotonic() + 20
                while "CloudWatch Logs poll failed" not in tail.stderr_text() and time.monotonic() < deadline:
                    time.sleep(0.1)
                self.assertIn("CloudWatch Logs poll failed", tail.stderr_text())
                self.assertIn("retrying in", tail.stderr_text())
                self.assertNotIn("during the outage", tail.messages())
                # Then throttling.
                proxy.random_faults(1.0, faults=["429"])
                deadline = time.monotonic() + 20
                while "throttling" not in tail.stderr_text() and time.monotonic() < deadline:
                    time.sleep(0.1)
                self.assertIn("CloudWatch Logs is throttling", tail.stderr_text())
                # Back: the event written meanwhile is printed, once.
                proxy.random_faults(0.0)
                tail.wait_for("during the outage", timeout=40)
                put_events(url, "/aws/lambda/app-Alpha", STREAM, [(now_ms(), "after the outage")])
                tail.wait_for("after the outage", timeout=40)
                time.sleep(2)
            finally:
                code = tail.stop()
        self.assertEqual(code, 0, tail.stderr_text())
        self.assertEqual(tail.messages(), ["before the outage", "during the outage", "after the outage"])
        self.assertIn("CloudWatch Logs answers again", tail.stderr_text())


def write_store_record(path, timestamp, function, stream, request_id, message):
    with open(path, "a") as f:
        f.write(json.dumps({"timestamp": timestamp, "logGroup": f"/aws/lambda/{function}", "logStream": stream,
                            "requestId": request_id, "message": message}, separators=(",", ":")) + "\n")


class LocalLogs(WispTestCase):
    def setUp(self):
        super().setUp()
        self.write("template.yaml", TEMPLATE)
        self.write("src/app.py", "def handler(event, context):\n    return {}\n")
        self.store = self.path(".wisp", "logs")

    def stream_file(self, function, n, segment=0):
        directory = os.path.join(self.store, function)
        os.makedirs(directory, exist_ok=True)
        return os.path.join(directory, f"20261123T104548Z-{n:032x}.{segment:04d}.jsonl")

    def test_reads_filters_and_follows_the_store(self):
        t = now_ms() - 2000
        alpha = self.stream_file("Alpha", 1)
        beta = self.stream_file("Beta", 2)
        rid = str(uuid.uuid4())
        write_store_record(alpha, t, "Alpha", STREAM, rid, f"START RequestId: {rid} Version: $LATEST")
        write_store_record(beta, t + 1, "Beta", STREAM, "", '{"level": "ERROR", "message": "json error"}')
        write_store_record(alpha, t + 2, "Alpha", STREAM, rid, "[ERROR] boom")
        with open(alpha, "a") as f:
            f.write('{"timestamp": 1, "torn')  # being written: not read yet
        proc = harness.wisp("logs", "--local", "--output", "json", cwd=self.tmp)
        self.assertWisp(proc, 0)
        records = [json.loads(l) for l in proc.stdout.splitlines()]
        self.assertEqual([r["function"] for r in records], ["Alpha", "Beta", "Alpha"])
        self.assertEqual(records[0]["requestId"], rid)
        # wisp evaluates every pattern form itself for local logs.
        def local(pattern, *extra):
            p = harness.wisp("logs", "--local", "--output", "json", "--filter", pattern, *extra, cwd=self.tmp)
            self.assertWisp(p, 0)
            return [json.loads(l)["message"] for l in p.stdout.splitlines()]
        self.assertEqual(local('{ $.level = "ERROR" }'), ['{"level": "ERROR", "message": "json error"}'])
        self.assertEqual(local("?boom ?nothing"), ["[ERROR] boom"])
        self.assertEqual(local("-ERROR"), [f"START RequestId: {rid} Version: $LATEST"])
        self.assertEqual(local("[level, ...]", "-n", "Alpha"), [f"START RequestId: {rid} Version: $LATEST",
                                                                "[ERROR] boom"])
        self.assertEqual(local("%^\\[ERROR\\]%"), ["[ERROR] boom"])
        self.assertWisp(harness.wisp("logs", "--local", "-n", "Gamma", cwd=self.tmp), 1,
                        stderr_has="unknown function 'Gamma'")

        # Follow: new records, a new stream, a rotated segment and a deleted file.
        tail = Tail(["logs", "--local", "--tail", "--output", "json"], cwd=self.tmp)
        try:
            tail.wait_for("[ERROR] boom", timeout=10)
            with open(alpha, "a") as f:
                f.write(f'", "message": "x"}}\n')  # completes the torn line: skipped with a warning
            write_store_record(alpha, now_ms(), "Alpha", STREAM, rid, f"END RequestId: {rid}")
            tail.wait_for(f"END RequestId: {rid}", timeout=5)
            beta2 = self.stream_file("Beta", 3)
            write_store_record(beta2, now_ms(), "Beta", STREAM, "", "a new stream")
            tail.wait_for("a new stream", timeout=5)
            rotated = self.stream_file("Beta", 3, segment=1)
            write_store_record(rotated, now_ms(), "Beta", STREAM, "", "next segment")
            tail.wait_for("next segment", timeout=5)
            write_store_record(beta2, now_ms(), "Beta", STREAM, "", "written just before deletion")
            os.remove(beta)
            time.sleep(1)
        finally:
            code = tail.stop()
        self.assertEqual(code, 0, tail.stderr_text())
        messages = tail.messages()
        self.assertEqual(len(messages), len(set(messages)), messages)
        self.assertIn("written just before deletion", messages)
        self.assertIn("skipped 1 line of the local log store", tail.stderr_text())

    def test_concurrent_writers_while_tailing(self):
        tail = Tail(["logs", "--local", "--tail", "--output", "json"], cwd=self.tmp)
        expected = set()
        try:
            time.sleep(0.5)
            threads = []

            def writer(function, n):
                path = self.stream_file(function, n)
                for i in range(200):
                    message = f"{function}-{n}-{i}"
                    write_store_record(path, now_ms(), function, STREAM, "", message)
                    if i % 50 == 49:  # rotate
                        path = self.stream_file(function, n, segment=i // 50 + 1)

            for function, n in (("Alpha", 10), ("Alpha", 11), ("Beta", 12), ("Beta", 13)):
                expected.update(f"{function}-{n}-{i}" for i in range(200))
                threads.append(threading.Thread(target=writer, args=(function, n)))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            tail.wait_for("Beta-13-199", timeout=10)
            time.sleep(1)
        finally:
            code = tail.stop()
        self.assertEqual(code, 0, tail.stderr_text())
        messages = tail.messages()
        self.assertEqual(len(messages), len(expected))
        self.assertEqual(set(messages), expected)


if __name__ == "__main__":
    harness.main()
