"""The warm worker pool on real templates, driven through the engine the way
`local start-api`/`start-lambda` drive it (tests/tools/engine_probe.cpp): warm reuse with
module state kept (python, node, a `provided` bootstrap), ReservedConcurrentExecutions
throttling exactly as Lambda, the local maximum queueing, scale to zero, a fresh worker after
a timeout, memory enforcement, the runtime's side of the 413 path, the Runtime API's refusals
(unknown or answered ids, late /init/error, another worker's invocation)."""

import json
import os
import subprocess
import textwrap

import harness
from harness import WispTestCase

PROBE = os.path.join(
    os.environ.get("WISP_BUILD_DIR", os.path.join(harness.SOURCE_DIR, "build", "dev")),
    "tests",
    "wisp_engine_probe",
)

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Py:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: py/, Handler: app.handler, Runtime: python3.12, Timeout: 2}
  Node:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: node/, Handler: index.handler, Runtime: nodejs20.x}
  Reserved:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: py/
      Handler: app.handler
      Runtime: python3.12
      ReservedConcurrentExecutions: 2
  Zero:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: py/
      Handler: app.handler
      Runtime: python3.12
      ReservedConcurrentExecutions: 0
  NodeReserved:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: node/, Handler: index.handler, Runtime: nodejs20.x, ReservedConcurrentExecutions: 2}
  Custom:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: custom/, Handler: counter, Runtime: provided.al2023}
  CustomReserved:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: custom/
      Handler: counter
      Runtime: provided.al2023
      ReservedConcurrentExecutions: 2
  Strict:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: strict/, Handler: strict, Runtime: provided.al2023}
  CrossTalk:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: cross/, Handler: cross, Runtime: provided.al2023}
  Hungry:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: py/, Handler: app.handler, Runtime: python3.12, MemorySize: 128, Timeout: 20}
"""

PY = """
import os, time
count = 0
hog = []
def handler(event, context):
    global count
    count += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("hog"):
        for _ in range(64):
            hog.append(bytearray(8 * 1024 * 1024))
            time.sleep(0.01)
    return {"count": count, "pid": os.getpid()}
"""

NODE = """
let count = 0;
exports.handler = async (event) => {
  count++;
  if (event.sleep) await new Promise((r) => setTimeout(r, event.sleep * 1000));
  return { count, pid: process.pid };
};
"""

# A custom runtime whose "module state" is the shell's own variables: a counter, and what the
# Runtime API answered to the last response it posted (for the 413 path).
BOOTSTRAP = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
COUNT=0
LAST_STATUS=null
LAST_BODY=null
while true; do
  curl -sS -D "$WORK/h" -o "$WORK/event" "$API/invocation/next"
  ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$WORK/h" | tr -d '\r' | cut -d' ' -f2)"
  COUNT=$((COUNT + 1))
  EVENT="$(cat "$WORK/event")"
  case "$EVENT" in *sleep*) sleep 0.5 ;; esac
  if [ "$LAST_STATUS" = null ] && [ "${EVENT#*huge}" != "$EVENT" ]; then
    { printf '"'; head -c 7340032 /dev/zero | tr '\0' x; printf '"'; } > "$WORK/out"
    LAST_STATUS="$(curl -sS -o "$WORK/answer" -w '%{http_code}' -X POST "$API/invocation/$ID/response" \
                   --data-binary @"$WORK/out")"
    LAST_BODY="$(cat "$WORK/answer")"
    continue
  fi
  printf '{"count":%d,"pid":%d,"last_status":%s,"last_body":%s}' "$COUNT" "$$" "$LAST_STATUS" "$LAST_BODY" > "$WORK/out"
  curl -sS -o /dev/null -X POST "$API/invocation/$ID/response" --data-binary @"$WORK/out"
done
"""


# A custom runtime that tries what the Runtime API must refuse, and reports the answers.
STRICT_BOOTSTRAP = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
req() { curl -sS -o "$WORK/b" -w '%{http_code}' "$@"; }
answer() { printf '{"status":%s,"body":%s}' "$1" "$(cat "$WORK/b")"; }
PREV=""
while true; do
  curl -sS -D "$WORK/h" -o "$WORK/event" "$API/invocation/next"
  ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$WORK/h" | tr -d '\r' | cut -d' ' -f2)"
  if [ -z "$PREV" ]; then
    WRONG="$(answer "$(req -X POST "$API/invocation/00000000-0000-0000-0000-000000000000/response" -d '{}')")"
    INIT="$(answer "$(req -X POST "$API/init/error" -H 'Lambda-Runtime-Function-Error-Type: Late.Init' -d '{}')")"
    METHOD="$(req -X GET "$API/invocation/$ID/response")"
    MISSING="$(req "$API/invocation/$ID/nothing")"
    printf '{"wrong_id":%s,"init_error":%s,"bad_method":%s,"not_found":%s}' "$WRONG" "$INIT" "$METHOD" "$MISSING" > "$WORK/out"
    ACCEPTED="$(answer "$(req -X POST "$API/invocation/$ID/response" --data-binary @"$WORK/out")")"
  else
    AGAIN="$(answer "$(req -X POST "$API/invocation/$PREV/response" -d '{}')")"
    AGAIN_ERROR="$(answer "$(req -X POST "$API/invocation/$PREV/error" -d '{}')")"
    printf '{"accepted":%s,"again":%s,"again_error":%s}' "$ACCEPTED" "$AGAIN" "$AGAIN_ERROR" > "$WORK/out"
    req -X POST "$API/invocation/$ID/response" --data-binary @"$WORK/out" >/dev/null
  fi
  PREV="$ID"
done
"""


# Two workers of one function, each trying to answer the other's invocation on its own
# Runtime API endpoint (ids exchanged through files in the task root).
CROSS_BOOTSTRAP = r"""#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
IDS="$LAMBDA_TASK_ROOT/ids"
mkdir -p "$IDS"
while true; do
  curl -sS -D "$WORK/h" -o "$WORK/event" "$API/invocation/next"
  ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$WORK/h" | tr -d '\r' | cut -d' ' -f2)"
  echo "$ID" > "$IDS/$$.tmp" && mv "$IDS/$$.tmp" "$IDS/$$"
  OTHER=""
  for _ in $(seq 100); do
    for f in "$IDS"/*; do
      case "$f" in *.tmp|"$IDS/$$") ;; *) [ -e "$f" ] && OTHER="$(cat "$f")" ;; esac
    done
    [ -n "$OTHER" ] && break
    sleep 0.05
  done
  STATUS="$(curl -sS -o "$WORK/b" -w '%{http_code}' -X POST "$API/invocation/$OTHER/response" -d '"stolen"')"
  printf '{"pid":%d,"id":"%s","other":"%s","status":%s,"body":%s}' "$$" "$ID" "$OTHER" "$STATUS" "$(cat "$WORK/b")" > "$WORK/out"
  curl -sS -o /dev/null -X POST "$API/invocation/$ID/response" --data-binary @"$WORK/out"
done
"""


class Pool(WispTestCase):
    def setUp(self):
        super().setUp()
        if not os.access(PROBE, os.X_OK):
            self.fail(f"{PROBE} is not built")
        self.write("template.yaml", TEMPLATE)
        self.write("py/app.py", textwrap.dedent(PY))
        self.write("node/index.js", textwrap.dedent(NODE))
        self.write("custom/bootstrap", BOOTSTRAP, 0o755)
        self.write("strict/bootstrap", STRICT_BOOTSTRAP, 0o755)
        self.write("cross/bootstrap", CROSS_BOOTSTRAP, 0o755)

    def probe(self, function, *args, event="{}", extra_env=None):
        proc = subprocess.run(
            [PROBE, "-t", "template.yaml", "--function", function, "--event", event, *map(str, args)],
            cwd=self.tmp, capture_output=True, text=True, timeout=180,
            env=harness.env(**(extra_env or {})),
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        for result in out["results"]:
            if result["outcome"] == "success":
                result["body"] = json.loads(result["body"])
        return out, proc.stderr

    def test_warm_reuse_keeps_module_state(self):
        for function in ("Py", "Node", "Custom"):
            if function == "Node":
                harness.require_peer("node")
            if function == "Custom":
                harness.require_peer("curl", "the custom runtime under test is a curl script")
            out, stderr = self.probe(function, "--rounds", 5)
            results = out["results"]
            self.assertEqual([r["outcome"] for r in results], ["success"] * 5)
            self.assertEqual([r["body"]["count"] for r in results], [1, 2, 3, 4, 5])
            self.assertEqual(len({r["body"]["pid"] for r in results}), 1)
            self.assertEqual([r["cold"] for r in results], [True, False, False, False, False])
            self.assertEqual(out["cold_starts"], 1)
            self.assertEqual(stderr.count("Init Duration:"), 1, stderr)

    def test_reserved_concurrency_throttles_at_once(self):
        out, _ = self.probe("Reserved", "--concurrent", 5, event='{"sleep": 0.5}')
        outcomes = [r["outcome"] for r in out["results"]]
        self.assertEqual(outcomes.count("success"), 2, outcomes)
        self.assertEqual(outcomes.count("throttled"), 3, outcomes)
        for r in out["results"]:
            if r["outcome"] == "throttled":
                self.assertEqual(r["error_type"], "TooManyRequestsException")
                self.assertEqual(r["throttle_reason"], "ReservedFunctionConcurrentInvocationLimitExceeded")
                self.assertEqual(json.loads(r["body"]), {
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                    "Type": "User",
                    "message": "Rate Exceeded.",
                })
        self.assertEqual(out["throttles"], 3)
        # The same for node and a provided bootstrap: the limit is the pool's, not a runtime's.
        harness.require_peer("node")
        harness.require_peer("curl", "the custom runtime under test is a curl script")
        for function in ("NodeReserved", "CustomReserved"):
            out, _ = self.probe(function, "--concurrent", 5, event='{"sleep": 0.5}')
            outcomes = [r["outcome"] for r in out["results"]]
            self.assertEqual(sorted(outcomes), ["success"] * 2 + ["throttled"] * 3, (function, outcomes))
            self.assertEqual(len({r["body"]["pid"] for r in out["results"] if r["outcome"] == "success"}), 2)
            self.assertEqual((out["cold_starts"], out["throttles"]), (2, 3), function)
        out, _ = self.probe("Zero")
        self.assertEqual(out["results"][0]["outcome"], "throttled")
        self.assertEqual(out["cold_starts"], 0)

    def test_local_maximum_queues_instead_of_throttling(self):
        out, _ = self.probe("Py", "--concurrent", 6, "--max-concurrency", 2, event='{"sleep": 0.2}')
        results = out["results"]
        self.assertEqual([r["outcome"] for r in results], ["success"] * 6)
        self.assertEqual(len({r["body"]["pid"] for r in results}), 2)
        self.assertEqual(out["cold_starts"], 2)
        self.assertEqual(sorted(r["body"]["count"] for r in results), [1, 1, 2, 2, 3, 3])

    def test_oversized_response_is_413_to_the_runtime_which_stays_warm(self):
        harness.require_peer("curl", "the custom runtime under test is a curl script")
        out, _ = self.probe("Custom", "--rounds", 2, event='"huge"')
        first, second = out["results"]
        self.assertEqual(first["outcome"], "response_too_large")
        self.assertEqual(first["error_type"], "Function.ResponseSizeTooLarge")
        self.assertEqual(json.loads(first["body"]), {
            "errorType": "Function.ResponseSizeTooLarge",
            "errorMessage": "Response payload size (7340034 bytes) exceeded maximum allowed payload size (6291556 bytes).",
        })
        # What the runtime itself got for that response, reported by the same warm process.
        self.assertEqual(second["outcome"], "success", second)
        self.assertFalse(second["cold"])
        self.assertEqual(second["body"]["count"], 2)
        self.assertEqual(second["body"]["last_status"], 413)
        self.assertEqual(second["body"]["last_body"], {
            "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
            "errorType": "RequestEntityTooLarge",
        })
        self.assertEqual(out["cold_starts"], 1)

    def test_runtime_api_refuses_what_aws_refuses(self):
        """Status codes and bodies as AWS's emulator (protocols.md §1.1): an unknown or already
        answered request id is 400 InvalidRequestID, /init/error after init is 403, and the
        invocation in progress is not disturbed by any of it."""
        harness.require_peer("curl", "the custom runtime under test is a curl script")
        out, _ = self.probe("Strict", "--rounds", 2)
        first, second = out["results"]
        self.assertEqual((first["outcome"], second["outcome"]), ("success", "success"), out)
        invalid_id = {"status": 400, "body": {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}}
        self.assertEqual(first["body"], {
            "wrong_id": invalid_id,
            "init_error": {"status": 403, "body": {
                "errorMessage": "State transition from Running to InitError failed for runtime. "
                                "Error: State transition is not allowed",
                "errorType": "InvalidStateTransition"}},
            "bad_method": 405,
            "not_found": 404,
        })
        self.assertEqual(second["body"], {
            "accepted": {"status": 202, "body": {"status": "OK"}},
            "again": invalid_id,        # one reply per invocation
            "again_error": invalid_id,
        })
        self.assertEqual(out["cold_starts"], 1)

    def test_a_worker_cannot_answer_another_workers_invocation(self):
        harness.require_peer("curl", "the custom runtime under test is a curl script")
        # The two workers exchange ids through files in the task root: with host paths (in
        # Lambda's layout /var/task is read-only and each worker has its own /tmp).
        out, _ = self.probe("CrossTalk", "--concurrent", 2, "--max-concurrency", 2,
                            extra_env={"WISP_LAMBDA_LAYOUT": "0"})
        results = out["results"]
        self.assertEqual([r["outcome"] for r in results], ["success", "success"], out)
        self.assertEqual(len({r["body"]["pid"] for r in results}), 2)
        for result in results:
            self.assertRegex(result["body"]["other"], r"^[0-9a-f-]{36}$")
            self.assertEqual((result["body"]["status"], result["body"]["body"]), (400, {
                "errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}))
        # Each tried exactly the other's id, and neither answer was taken over.
        first, second = (r["body"] for r in results)
        self.assertEqual((first["other"], second["other"]), (second["id"], first["id"]))

    def test_idle_workers_retire(self):
        out, _ = self.probe("Py", "--rounds", 2, "--idle-ms", 100, "--pause-ms", 600)
        results = out["results"]
        self.assertEqual([r["cold"] for r in results], [True, True])
        self.assertEqual([r["body"]["count"] for r in results], [1, 1])

    def test_timeout_then_fresh_worker(self):
        out, _ = self.probe("Py", "--rounds", 2, event='{"sleep": 3}')
        self.assertEqual([r["outcome"] for r in out["results"]], ["timeout", "timeout"])
        self.assertEqual(out["cold_starts"], 2)

    def test_memory_enforcement(self):
        out, stderr = self.probe("Hungry", "--enforce-memory", event='{"hog": true}')
        result = out["results"][0]
        self.assertEqual(result["outcome"], "exit_error", result)
        self.assertEqual(result["error_type"], "Runtime.OutOfMemory")
        self.assertRegex(json.loads(result["body"])["errorMessage"],
                         r"^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: killed$")
        self.assertIn("Status: error\tError Type: Runtime.OutOfMemory", stderr)
        # Without enforcement the same function just uses the memory.
        out, _ = self.probe("Hungry", event='{"hog": true}')
        self.assertEqual(out["results"][0]["outcome"], "success")
        self.assertGreater(out["results"][0]["max_memory_used_mb"], 128)


if __name__ == "__main__":
    harness.main()
