"""A recording, fault-injecting HTTP proxy on a loopback port, in front of moto_server.

Every request is recorded (method, path, query, headers, body) so tests can check exactly
what wisp sent (e.g. API Gateway canary settings that moto drops). Faults are injected
from a schedule or at random:

    with FaultProxy(moto.url) as proxy:
        proxy.schedule(["429", "pass", "500", "drop"])   # the next requests, in order
        proxy.random_faults(0.3, seed=1)                  # or a share of all requests

Faults: "429" (ThrottlingException, not forwarded), "500" / "503" (JSON error, not
forwarded), "500-after" (forwarded, then answered 500: the call happened but the client
is told otherwise), "drop" (connection closed without an answer), "slow:SECONDS" (waits,
then forwards), "timeout" (holds the request unanswered and unforwarded for 5 s, then closes:
the client's read timeout fires), "timeout-after" (forwarded, the answer withheld 5 s: the call
happened but the client timed out), "html500" (moto's answer for unsupported operations).

`emulate_stage_canaries()` makes the proxy play API Gateway's stage canaries, which moto
drops: a CreateDeployment with `stageName` + `canarySettings` creates a plain deployment in
moto (the stage keeps serving its deployment) and the proxy keeps the canary; GetStage and
UpdateStage answers carry it; UpdateStage operations on `/canarySettings...` change it.

`emulate_stack_states(stack, statuses, failure=None)` makes the proxy play CloudFormation states
moto never reaches (its stacks do not roll back): the next DescribeStacks answers for `stack`
report `statuses` one after another (then moto's own again); ContinueUpdateRollback and
CancelUpdateStack, which moto lacks, are answered as CloudFormation does and recorded; with
`failure` = (logical id, type, status, reason), DescribeStackEvents answers carry that event,
newest first, once ContinueUpdateRollback was called.

`lambda_updates_take(reads, fail=None)` makes the proxy play Lambda's asynchronous updates,
which moto finishes at once: after a function is created or its code or configuration
updated, its next `reads` GetFunctionConfiguration answers say `LastUpdateStatus:
InProgress` (then `Failed` with the reason `fail`, if given), and until then PublishVersion
and further updates are refused with real Lambda's 409 ResourceConflictException.
"""

import http.client
import http.server
import json
import random
import re
import socketserver
import threading
import time
import urllib.parse


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _handle(self):
        proxy = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parsed = urllib.parse.urlsplit(self.path)
        record = {
            "method": self.command,
            "path": parsed.path,
            "query": parsed.query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "target": self.headers.get("X-Amz-Target", ""),
        }
        fault = proxy._next_fault(record)
        record["fault"] = fault
        with proxy.lock:
            proxy.records.append(record)
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault.startswith("slow:"):
            time.sleep(float(fault.split(":", 1)[1]))
        if fault == "timeout":
            time.sleep(5)
            self.close_connection = True
            return
        if fault in ("429", "500", "503"):
            code = int(fault)
            error = "ThrottlingException" if code == 429 else "ServiceUnavailableException"
            return self._answer(code, json.dumps({"__type": error, "message": "injected " + fault}).encode(),
                                {"Content-Type": "application/json", "x-amzn-ErrorType": error})
        if fault == "html500":
            return self._answer(500, b"<!doctype html><html><body>Internal Server Error</body></html>",
                                {"Content-Type": "text/html"})
        if proxy.lambda_updates is not None:
            refused = proxy._lambda_refuses(self.command, parsed.path)
            if refused:
                record["fault"] = "update-in-progress"
                return self._answer(409, json.dumps({"Type": "User", "message": refused}).encode(),
                                    {"Content-Type": "application/json",
                                     "x-amzn-ErrorType": "ResourceConflictException"})
        if proxy.stack_states is not None:
            answer = proxy._stack_request(body)
            if answer is not None:
                record["fault"] = "emulated"
                return self._answer(200, answer, {"Content-Type": "text/xml"})
        canary = proxy._canary_request(self.command, parsed.path, body) if proxy.canaries is not None else None
        if canary is not None:
            body = canary["body"]
        try:
            status, headers, data = proxy._forward(self.command, self.path, self.headers, body)
        except OSError as error:  # upstream gone (e.g. the test already ended)
            status, headers, data = 502, {"Content-Type": "text/plain"}, str(error).encode()
        if canary is not None:
            data = proxy._canary_response(canary, status, data)
        if proxy.lambda_updates is not None:
            data = proxy._lambda_response(self.command, parsed.path, body, status, data, record)
        if proxy.stack_states is not None:
            data = proxy._stack_response(body, status, data)
        record["status"] = status
        record["response"] = data
        if fault == "timeout-after":
            time.sleep(5)
            self.close_connection = True
            return
        if fault == "500-after":
            return self._answer(500, json.dumps({"__type": "InternalFailure", "message": "injected after"}).encode(),
                                {"Content-Type": "application/json"})
        self._answer(status, data, headers)

    def _answer(self, status, data, headers):
        self.send_response(status)
        length = str(len(data))
        for name, value in headers.items():
            if name.lower() == "content-length" and self.command == "HEAD":
                length = value  # a HEAD answer carries the size of what GET would send
            if name.lower() in ("content-length", "transfer-encoding", "connection", "date", "server"):
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _handle


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a client that went away (timeouts, drops) is part of the tests


class FaultProxy:
    def __init__(self, upstream):
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host = parsed.hostname
        self.upstream_port = parsed.port
        self.records = []
        self.lock = threading.Lock()
        self._schedule = []
        self._rate = 0.0
        self._faults = ["429", "500", "503", "drop"]
        self._rng = random.Random(0)
        self._match = None
        self._max_in_a_row = None
        self._streaks = {}  # (method, path) -> faults injected in a row
        self.canaries = None  # {(api id, stage): canarySettings} when emulating them
        self.lambda_updates = None  # {function name: reads left InProgress} when emulating them
        self.stack_states = None  # (stack, [statuses left], failure) when emulating them
        self.stack_calls = []  # CloudFormation actions the emulation answered itself
        self._update_reads = 0
        self._update_failure = None
        self.server = None
        self.thread = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.owner = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def schedule(self, faults):
        with self.lock:
            self._schedule = list(faults)

    def random_faults(self, rate, seed=0, faults=None, match=None, max_in_a_row=None):
        """Injects a fault into a share `rate` of requests (those `match(record)` accepts),
        and, with `max_in_a_row`, never into more consecutive tries of one method and path: a
        client that retries (wisp tries 5 times) must then converge, whatever the thread timing
        does to the random sequence (30% faults over ~350 calls otherwise give ~50% odds that
        some call fails 5 times in a row)."""
        with self.lock:
            self._max_in_a_row = max_in_a_row
            self._streaks = {}
            self._rate = rate
            self._rng = random.Random(seed)
            if faults is not None:
                self._faults = list(faults)
            self._match = match

    def clear(self):
        with self.lock:
            self.records.clear()

    def emulate_stack_states(self, stack, statuses, failure=None):
        with self.lock:
            self.stack_states = (stack, list(statuses), failure)
            self.stack_calls = []

    def _form(self, body):
        try:
            return dict(urllib.parse.parse_qsl(body.decode()))
        except (UnicodeDecodeError, AttributeError):
            return {}

    def _stack_request(self, body):
        form = self._form(body)
        action = form.get("Action")
        if action not in ("ContinueUpdateRollback", "CancelUpdateStack"):
            return None
        with self.lock:
            self.stack_calls.append(action)
        return (f'<{action}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
                f'<{action}Result/><ResponseMetadata><RequestId>emulated</RequestId></ResponseMetadata>'
                f'</{action}Response>').encode()

    def _stack_response(self, body, status, data):
        form = self._form(body)
        stack, statuses, failure = self.stack_states
        if status != 200 or stack not in form.get("StackName", ""):
            return data
        if form.get("Action") == "DescribeStacks":
            with self.lock:
                if not statuses:
                    return data
                scripted = statuses.pop(0)
            return re.sub(rb"<StackStatus>[^<]*</StackStatus>", b"<StackStatus>" + scripted.encode() + b"</StackStatus>",
                          data, count=1)
        if form.get("Action") == "DescribeStackEvents" and failure and "ContinueUpdateRollback" in self.stack_calls:
            logical, kind, state, reason = failure
            member = (f"<member><EventId>emulated-{logical}</EventId><StackName>{stack}</StackName>"
                      f"<LogicalResourceId>{logical}</LogicalResourceId><ResourceType>{kind}</ResourceType>"
                      f"<ResourceStatus>{state}</ResourceStatus><ResourceStatusReason>{reason}"
                      f"</ResourceStatusReason><Timestamp>2026-01-01T00:00:00Z</Timestamp></member>").encode()
            return data.replace(b"<StackEvents>", b"<StackEvents>" + member, 1)
        return data

    def emulate_stage_canaries(self):
        with self.lock:
            self.canaries = {}

    def lambda_updates_take(self, reads, fail=None):
        with self.lock:
            self.lambda_updates = {}
            self._update_reads = reads
            self._update_failure = fail

    _FUNCTION = re.compile(r"^/2015-03-31/functions/([^/]+)(/code|/configuration|/versions)?$")

    def _lambda_refuses(self, method, path):
        match = self._FUNCTION.match(path)
        if not match or (method, match.group(2)) not in (("PUT", "/code"), ("PUT", "/configuration"),
                                                         ("POST", "/versions")):
            return None
        name = urllib.parse.unquote(match.group(1))
        with self.lock:
            if self.lambda_updates.get(name, 0) > 0:
                return ("The operation cannot be performed at this time. An update is in progress for "
                        f"resource: arn:aws:lambda:us-east-1:123456789012:function:{name}")
        return None

    def _lambda_response(self, method, path, body, status, data, record):
        if status // 100 != 2:
            return data
        if method == "POST" and path.rstrip("/") == "/2015-03-31/functions":
            with self.lock:
                self.lambda_updates[json.loads(body)["FunctionName"]] = self._update_reads
            return data
        match = self._FUNCTION.match(path)
        if not match:
            return data
        name = urllib.parse.unquote(match.group(1))
        if method == "PUT" and match.group(2) in ("/code", "/configuration"):
            with self.lock:
                self.lambda_updates[name] = self._update_reads
            return data
        if method == "GET" and match.group(2) == "/configuration":
            answer = json.loads(data)
            with self.lock:
                left = self.lambda_updates.get(name, 0)
                if left > 0:
                    self.lambda_updates[name] = left - 1
                    answer["LastUpdateStatus"] = "InProgress"
                    record["in_progress"] = True
                elif left == 0 and name in self.lambda_updates and self._update_failure:
                    answer["LastUpdateStatus"] = "Failed"
                    answer["LastUpdateStatusReason"] = self._update_failure
            return json.dumps(answer).encode()
        return data

    def faults_injected(self):
        with self.lock:
            return [r["fault"] for r in self.records if r["fault"] != "pass"]

    def _next_fault(self, record):
        with self.lock:
            if self._schedule:
                return self._schedule.pop(0)
            if self._rate > 0 and (self._match is None or self._match(record)):
                key = (record["method"], record["path"])
                streak = self._streaks.get(key, 0)
                if self._rng.random() < self._rate and (self._max_in_a_row is None or streak < self._max_in_a_row):
                    self._streaks[key] = streak + 1
                    return self._rng.choice(self._faults)
                self._streaks.pop(key, None)
        return "pass"

    _DEPLOYMENTS = re.compile(r"^/restapis/([^/]+)/deployments$")
    _STAGE = re.compile(r"^/restapis/([^/]+)/stages/([^/]+)$")

    def _canary_request(self, method, path, body):
        """What the canary emulation does with a request: None (nothing), or the body to forward
        and what to do with the answer."""
        deployments = self._DEPLOYMENTS.match(path)
        if method == "POST" and deployments:
            request = json.loads(body or b"{}")
            if "canarySettings" not in request or "stageName" not in request:
                return None
            settings = dict(request.pop("canarySettings"))
            stage = request.pop("stageName")
            return {"kind": "create", "key": (deployments.group(1), stage), "settings": settings,
                    "body": json.dumps(request).encode()}
        stage = self._STAGE.match(path)
        if not stage:
            return None
        key = (stage.group(1), urllib.parse.unquote(stage.group(2)))
        if method == "GET":
            return {"kind": "read", "key": key, "body": body}
        if method == "PATCH":
            request = json.loads(body or b"{}")
            ops = request.get("patchOperations", [])
            mine = [op for op in ops if op.get("path", "").startswith("/canarySettings")]
            request["patchOperations"] = [op for op in ops if op not in mine]
            return {"kind": "update", "key": key, "ops": mine, "body": json.dumps(request).encode()}
        return None

    def _canary_response(self, canary, status, data):
        if status // 100 != 2:
            return data
        answer = json.loads(data or b"{}")
        with self.lock:
            if canary["kind"] == "create":
                self.canaries[canary["key"]] = {**canary["settings"], "deploymentId": answer["id"]}
                return data
            settings = self.canaries.get(canary["key"])
            for op in canary.get("ops", []):
                if op["path"] == "/canarySettings" and op["op"] == "remove":
                    settings = None
                elif settings is not None and op["op"] == "replace":
                    field = op["path"].split("/")[2]
                    value = op.get("value")
                    settings[field] = float(value) if field == "percentTraffic" else value
            if settings is None:
                self.canaries.pop(canary["key"], None)
                return data
            self.canaries[canary["key"]] = settings
            answer["canarySettings"] = settings
        return json.dumps(answer).encode()

    def _forward(self, method, path, headers, body):
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            forwarded = {k: v for k, v in headers.items()
                         if k.lower() not in ("connection", "keep-alive", "content-length")}
            if body or "content-length" in (k.lower() for k in headers.keys()):
                forwarded["Content-Length"] = str(len(body))
            connection.request(method, path, body=body, headers=forwarded)
            response = connection.getresponse()
            data = response.read()
            return response.status, dict(response.getheaders()), data
        finally:
            connection.close()
