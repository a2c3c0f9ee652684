"""Helpers for the local event-source tests (test_local_events_*.py): an app whose functions
record every event they receive to files, served by `wisp local start` with its event sources
against moto_server, and the AWS clients (boto3) pointed at the same moto.
"""

import json
import os
import signal
import subprocess
import threading
import time
import unittest

import harness


# A handler that records each event (file name = arrival order) and behaves as the event
# asks: a record body or data of "fail-once" fails the first time it is received, "boom"
# always raises, "sleep:N" sleeps N seconds; with REPORT_FAILURES set it reports failures in
# batchItemFailures instead of raising.
RECORDING_HANDLER = r'''
import base64, json, os, time, uuid

def _record(event, status):
    directory = os.environ["EVENTS_DIR"]
    name = "%020d-%s.json" % (time.time_ns(), uuid.uuid4().hex[:8])
    tmp = os.path.join(directory, "." + name)
    with open(tmp, "w") as f:
        json.dump({"function": os.environ["AWS_LAMBDA_FUNCTION_NAME"], "status": status,
                   "event": event}, f)
    os.rename(tmp, os.path.join(directory, name))

def _text(record):
    if "body" in record:
        return record["body"], record.get("attributes", {}).get("ApproximateReceiveCount", "1"), record["messageId"]
    if "kinesis" in record:
        return base64.b64decode(record["kinesis"]["data"]).decode(), "1", record["kinesis"]["sequenceNumber"]
    return "", "1", ""

def handler(event, context):
    failures = []
    for record in event.get("Records", []) if isinstance(event, dict) else []:
        text, received, ident = _text(record)
        if text.startswith("sleep:"):
            open(os.path.join(os.environ["EVENTS_DIR"], ".started"), "w").close()
            time.sleep(float(text.split(":")[1]))
        if text == "boom" or (text == "fail-once" and received == "1") or text == os.environ.get("FAIL_TEXT"):
            failures.append(ident)
    if failures and not os.environ.get("REPORT_FAILURES"):
        _record(event, "raised")
        raise RuntimeError("failed records: " + ",".join(failures))
    _record(event, "partial" if failures else "ok")
    if os.environ.get("REPORT_FAILURES"):
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failures]}
    return {"ok": True}
'''


def boto(service, moto):
    import boto3

    return boto3.client(service, endpoint_url=moto.url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


class EventsApp:
    """A template served with its event sources. `functions` maps logical ids to their
    Events/extra properties (YAML text, indented under the function)."""

    def __init__(self, test, template, endpoint, args=(), handler=RECORDING_HANDLER):
        self.test = test
        self.endpoint = endpoint
        self.args = list(args)
        self.dir = test.path("app")
        self.events_dir = test.path("app", "received")
        os.makedirs(self.events_dir, exist_ok=True)
        test.write("app/template.yaml", template.replace("@EVENTS_DIR@", self.events_dir))
        test.write("app/src/app.py", handler)
        self.proc = None
        self.stdout = []
        self.stderr = []
        self.lock = threading.Lock()

    def start(self, create=True, expect_ready=True):
        args = [harness.WISP, "local", "start", "--template", os.path.join(self.dir, "template.yaml"),
                "--endpoint-url", self.endpoint, "--region", "us-east-1", "--port", "0",
                "--lambda-port", "0", "--no-watch", *self.args]
        if create:
            args.append("--create-resources")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=harness.env(), start_new_session=True)
        for stream, lines in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr)):
            threading.Thread(target=self._pump, args=(stream, lines), daemon=True).start()
        if not expect_ready:
            return self
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with self.lock:
                if any(line.startswith("Ready.") for line in self.stdout):
                    return self
            if self.proc.poll() is not None:
                time.sleep(0.2)
                raise AssertionError(f"wisp local start exited {self.proc.returncode}:\n{self.output()}")
            time.sleep(0.05)
        raise AssertionError(f"wisp local start was not ready within 60 s:\n{self.output()}")

    def _pump(self, stream, lines):
        for line in stream:
            with self.lock:
                lines.append(line.rstrip("\n"))

    def output(self):
        with self.lock:
            return "stdout:\n" + "\n".join(self.stdout) + "\nstderr:\n" + "\n".join(self.stderr)

    def log_lines(self):
        with self.lock:
            return list(self.stderr)

    def wait_exit(self, timeout=30):
        code = self.proc.wait(timeout=timeout)
        time.sleep(0.2)  # let the pumps read the last lines
        self.test.addCleanup(self.close)
        return code

    def stop(self, sig=signal.SIGINT, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, sig)
        try:
            code = self.proc.wait(timeout=timeout)
            time.sleep(0.2)
            self.test.addCleanup(self.close)
            return code
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError(f"wisp local start did not stop within {timeout} s:\n{self.output()}")

    def received(self):
        out = []
        for name in sorted(os.listdir(self.events_dir)):
            if name.startswith("."):
                continue
            with open(os.path.join(self.events_dir, name)) as f:
                out.append(json.load(f))
        return out

    def wait_for(self, predicate, timeout=30, what="events"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received()
            if predicate(got):
                return got
            if self.proc.poll() is not None:
                raise AssertionError(f"wisp local start exited {self.proc.returncode}:\n{self.output()}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; received {json.dumps(self.received(), indent=1)[:4000]}\n{self.output()}")

    def wait_started(self, timeout=30):
        """Waits until a handler began sleeping (a "sleep:N" record)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(os.path.join(self.events_dir, ".started")):
                return
            time.sleep(0.05)
        raise AssertionError(f"no handler started within {timeout} s:\n{self.output()}")

    def wait_log(self, needle, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in line for line in self.log_lines()):
                return
            time.sleep(0.05)
        raise AssertionError(f"no log line with {needle!r} within {timeout} s:\n{self.output()}")

    def names(self):
        with open(os.path.join(self.dir, ".wisp", "events", "resources.json")) as f:
            state = json.load(f)
        (names,) = state["backends"].values()
        return names

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        self.close()

    def close(self):
        if self.proc is not None:
            self.proc.wait()
            for stream in (self.proc.stdout, self.proc.stderr):
                stream.close()


def template(resources, functions, globals_=""):
    """A SAM template: `resources` and `functions` are YAML text at resource level."""
    return (
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Transform: AWS::Serverless-2016-10-31\n"
        + globals_
        + "Resources:\n"
        + resources
        + functions
    )


def function(logical_id, events, timeout=3, environment=""):
    """A Python function running RECORDING_HANDLER with `events` (YAML under Events:)."""
    return f"""  {logical_id}:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      Timeout: {timeout}
      Environment:
        Variables:
          EVENTS_DIR: "@EVENTS_DIR@"
{environment}      Events:
{events}"""


def powertools_check(test, kind_events):
    """Validates events with @aws-lambda-powertools/parser's schemas; kind_events maps a schema
    name (SqsSchema, SnsSchema, ...) to a list of events. Skips loudly without the peer."""
    harness.require_peer("node", "Node.js to run the powertools schemas")
    modules = os.path.join(harness.PEERS_DIR, "powertools", "node_modules")
    if not os.path.isdir(os.path.join(modules, "@aws-lambda-powertools", "parser")):
        raise unittest.SkipTest(
            "PEER MISSING: @aws-lambda-powertools/parser (packaging/install-deps.sh --with-peers)")
    directory = test.path("powertools")
    os.makedirs(directory, exist_ok=True)
    n = 0
    for kind, events in kind_events.items():
        for event in events:
            n += 1
            with open(os.path.join(directory, f"{kind}-{n}.json"), "w") as f:
                json.dump(event, f)
    proc = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "powertools_validate.cjs"),
                           directory], capture_output=True, text=True, env=harness.env(NODE_PATH=modules))
    test.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
    test.assertIn(f"checked {n}, failed 0", proc.stdout)
