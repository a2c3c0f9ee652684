"""The console's durable executions (/_wisp/ on `wisp local start-lambda`), with the real
@aws/durable-execution-sdk-js: the list with its status filter, one execution's operations and
invocations, and — in headless Chromium, with the page's own buttons — completing a pending
callback, failing one, and stopping an execution; each checked against the durable API's own
answer (GetDurableExecution, GetDurableExecutionHistory). State-changing calls need the page's
header (another site's page cannot send it)."""

import json
import os
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

import durable_helpers as dh
import harness
from test_console_page import chromium_peer


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read().decode())


def post(url, body=b"", headers=None):
    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class ConsoleDurable(unittest.TestCase):
    def setUp(self):
        dh.require_node_sdk()
        self.tmp = tempfile.mkdtemp(prefix="wisp-console-durable-")
        dh.copy_app("node", self.tmp)

    def start_waiting(self, server, name):
        """A Workflow execution suspended on its callback: (arn, callback id)."""
        callback_file = os.path.join(self.tmp, name + ".callback")
        status, headers, _ = server.invoke("Workflow", {"scenario": "callback", "callbackFile": callback_file},
                                           name=name, event=True)
        self.assertEqual(status, 202)
        arn = headers["X-Amz-Durable-Execution-Arn"]
        callback_id = dh.wait_for(lambda: dh.read_text(callback_file))
        return arn, callback_id

    def test_list_detail_and_actions_from_the_page(self):
        chromium, modules = chromium_peer()
        with dh.Server(self.tmp) as server:
            console = server.url + "/_wisp/"
            arns = {}
            for name in ("approve", "reject", "halt"):
                arns[name] = self.start_waiting(server, name)
            # A finished one, for the filter.
            status, _, body = server.invoke("Workflow", {"scenario": "steps", "x": 1, "y": 2}, name="quick")
            self.assertEqual(status, 200, body)

            listed = get_json(console + "api/durable")
            self.assertTrue(listed["enabled"])
            self.assertEqual(listed["matching"], 4)
            running = get_json(console + "api/durable?status=RUNNING")
            self.assertEqual(sorted(x["name"] for x in running["executions"]), ["approve", "halt", "reject"])
            succeeded = get_json(console + "api/durable?status=SUCCEEDED")
            self.assertEqual([x["name"] for x in succeeded["executions"]], ["quick"])

            # The detail of a suspended execution: its callback awaited, as the service knows it.
            arn, callback_id = arns["approve"]
            query = urllib.parse.urlencode({"arn": arn})
            detail = dh.wait_for(lambda: (lambda d: d if d["awaitedCallbacks"] else None)(
                get_json(console + "api/durable/execution?" + query)))
            self.assertEqual(detail["awaitedCallbacks"], [callback_id])
            self.assertEqual(detail["status"], "RUNNING")
            callbacks = [op for op in detail["operations"] if op["type"] == "CALLBACK"]
            self.assertEqual([op["callbackId"] for op in callbacks], [callback_id])
            self.assertEqual(callbacks[0]["status"], "STARTED")
            self.assertGreaterEqual(len(detail["invocations"]), 1)

            # Without the page's header, nothing changes.
            refused, _ = post(console + "api/durable/stop?" + query)
            self.assertEqual(refused, 403)
            self.assertEqual(get_json(console + "api/durable/execution?" + query)["status"], "RUNNING")

            spec = {
                "consoleUrl": console, "chromium": chromium,
                "userDataDir": os.path.join(self.tmp, "chrome"),
                "screenshot": os.path.join(self.tmp, "durable.png"),
                "actions": [
                    {"arn": arns["approve"][0], "action": "succeed", "value": '{"approved":true}'},
                    {"arn": arns["reject"][0], "action": "fail", "value": "not today"},
                    {"arn": arns["halt"][0], "action": "stop"},
                ],
            }
            spec_path = os.path.join(self.tmp, "spec.json")
            with open(spec_path, "w") as f:
                json.dump(spec, f)
            proc = subprocess.run(["node", os.path.join(os.path.dirname(__file__), "console_durable.cjs"), spec_path],
                                  capture_output=True, text=True, timeout=180,
                                  env=harness.env(NODE_PATH=modules))
            self.assertEqual(proc.returncode, 0, proc.stderr + server.output())
            page = json.loads(proc.stdout)
            self.assertEqual(page["errors"], [])
            self.assertEqual(page["foreign"], [])

            client = server.boto3()
            results = {r["arn"]: r for r in page["results"]}
            for name, expected in (("approve", "SUCCEEDED"), ("reject", "FAILED"), ("halt", "STOPPED")):
                arn = arns[name][0]
                got = client.get_durable_execution(DurableExecutionArn=arn)
                self.assertEqual(got["Status"], expected, (name, got))
                shown = results[arn]
                self.assertEqual((shown["listed"], shown["before"]), ("RUNNING", "RUNNING"))
                self.assertEqual((shown["after"], shown["listedAfter"]), (expected, expected))
                # The timeline: the invocations (the last may still be ending when the execution
                # closes), then the callback operation.
                history = dh.events_of(client.get_durable_execution_history(DurableExecutionArn=arn))
                lanes = sum(1 for lane in shown["lanes"] if lane.startswith("invocation"))
                self.assertGreaterEqual(lanes, 1, shown["lanes"])
                self.assertLessEqual(lanes, history.count("InvocationCompleted"), (shown["lanes"], history))
                # The operations table shows the SDK's subtype (WaitForCallback, Callback, Step).
                self.assertIn("Callback", [op["type"] for op in shown["operations"]])
            self.assertEqual(json.loads(client.get_durable_execution(DurableExecutionArn=arns["approve"][0])["Result"]),
                             {"answer": '{"approved":true}'})
            history = dh.events_of(client.get_durable_execution_history(DurableExecutionArn=arns["reject"][0]))
            self.assertIn("CallbackFailed", history)


if __name__ == "__main__":
    harness.main()
