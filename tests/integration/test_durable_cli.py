"""`wisp local invoke` of durable functions (one execution to its end on a loopback door of its
own; attach by name; time controls; a callback answered from another terminal or at the
prompt; interrupted and resumed) and `wisp local start-api` with a durable function behind a
route. The real @aws/durable-execution-sdk-js on node 22."""

import json
import os
import pty
import select
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request

import durable_helpers as dh
import harness


class DurableCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        dh.require_node_sdk()
        cls.tmp = tempfile.mkdtemp(prefix="wisp-durable-cli-")
        dh.copy_app("node", cls.tmp)
        cls.template = os.path.join(cls.tmp, "template.yaml")

    @classmethod
    def tearDownClass(cls):
        dh.kill_workers_in(cls.tmp)

    def invoke(self, function, event, *args, extra_env=None, check=None):
        path = os.path.join(self.tmp, f"event-{time.monotonic_ns()}.json")
        with open(path, "w") as f:
            json.dump(event, f)
        return harness.wisp("local", "invoke", function, "-e", path, "-t", self.template, *args,
                            extra_env={**dh.node_env(), **(extra_env or {})}, check=check)

    def history(self, arn):
        out = harness.wisp("local", "execution", "history", arn, "--output", "json", "-t", self.template, check=0)
        return json.loads(out.stdout)["Events"]

    def arn_in(self, stderr):
        line = next(l for l in stderr.splitlines() if l.startswith("Durable execution "))
        return line.split(": ", 1)[1]

    def test_invoke_runs_the_execution_to_its_end_and_skips_waits(self):
        proc = self.invoke("Workflow", {"scenario": "wait", "seconds": 240}, "--durable-execution-name", "skip-1",
                           "--skip-waits", check=0)
        self.assertIn("waitedMs", json.loads(proc.stdout))
        self.assertIn("Durable execution SUCCEEDED", proc.stderr)
        self.assertIn("DURABLE Workflow skip-1 invocation 2 (replay) SUCCEEDED", proc.stderr)
        events = self.history(self.arn_in(proc.stderr))
        started = next(e for e in events if e["EventType"] == "WaitStarted")
        done = next(e for e in events if e["EventType"] == "WaitSucceeded")
        # The history is a real run's: four minutes passed, in model time.
        self.assertEqual(done["EventTimestamp"] - started["EventTimestamp"], 240)
        # `wisp logs --local --durable-execution` shows its two invocations, START to REPORT.
        logs = harness.wisp("logs", "--local", "--durable-execution", self.arn_in(proc.stderr),
                            "--template", self.template, "--output", "json", check=0)
        lines = [json.loads(l) for l in logs.stdout.splitlines()]
        invocations = [e["InvocationCompletedDetails"]["RequestId"] for e in events
                       if e["EventType"] == "InvocationCompleted"]
        self.assertEqual(len(invocations), 2)
        self.assertEqual([l["requestId"] for l in lines if l["message"].startswith("START")], invocations)
        self.assertEqual({l["requestId"] for l in lines}, set(invocations))
        # The same name and event attach to it (its result again); another event is refused.
        again = self.invoke("Workflow", {"scenario": "wait", "seconds": 240}, "--durable-execution-name", "skip-1", check=0)
        self.assertEqual(again.stdout, proc.stdout)
        self.assertIn("(attached)", again.stderr)
        other = self.invoke("Workflow", {"scenario": "wait", "seconds": 1}, "--durable-execution-name", "skip-1", check=1)
        self.assertIn("DurableExecutionAlreadyStartedException", other.stderr)

    def test_skipping_a_wait_past_the_execution_timeout_times_out(self):
        proc = self.invoke("ShortLived", {"scenario": "wait", "seconds": 3600}, "--skip-waits", check=1)
        self.assertEqual(json.loads(proc.stdout)["errorMessage"], "Execution timed out after 3 seconds.")
        self.assertIn("Durable execution TIMED_OUT", proc.stderr)
        events = self.history(self.arn_in(proc.stderr))
        timed_out = [e for e in events if e["EventType"] == "ExecutionTimedOut"]
        self.assertEqual(len(timed_out), 1)
        self.assertEqual(timed_out[0]["EventTimestamp"] - events[0]["EventTimestamp"], 3)

    def test_time_scale_from_sams_variable(self):
        proc = self.invoke("Workflow", {"scenario": "wait", "seconds": 60}, "--durable-execution-name", "scale-1",
                           extra_env={"DURABLE_EXECUTIONS_TIME_SCALE": "120"}, check=0)
        self.assertGreaterEqual(json.loads(proc.stdout)["waitedMs"], 500)  # 60 s / 120
        events = self.history(self.arn_in(proc.stderr))
        started = next(e for e in events if e["EventType"] == "WaitStarted")
        done = next(e for e in events if e["EventType"] == "WaitSucceeded")
        self.assertEqual(done["EventTimestamp"] - started["EventTimestamp"], 60)

    def test_a_failed_execution_exits_1_with_the_error(self):
        proc = self.invoke("Workflow", {"scenario": "fail"}, check=1)
        self.assertEqual(json.loads(proc.stdout), {"errorMessage": "boom", "errorType": "TypeError"})
        self.assertIn("Durable execution FAILED", proc.stderr)
        plain = self.invoke("Plain", {"x": 1}, "--durable-execution-name", "nope", check=2)
        self.assertIn("has no DurableConfig", plain.stderr)

    def test_callback_answered_from_another_terminal(self):
        callback_file = os.path.join(self.tmp, "other.callback")
        path = os.path.join(self.tmp, "callback-event.json")
        with open(path, "w") as f:
            json.dump({"scenario": "callback", "callbackFile": callback_file}, f)
        proc = subprocess.Popen(
            [harness.WISP, "local", "invoke", "Workflow", "-e", path, "-t", self.template,
             "--durable-execution-name", "other-1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
            env=harness.env(**dh.node_env()), start_new_session=True)
        try:
            callback_id = dh.wait_for(lambda: dh.read_text(callback_file))
            # `wisp local callback` finds the wisp running the execution and answers there.
            harness.wisp("local", "callback", "succeed", callback_id, "-r", "ok", "-t", self.template, check=0)
            out, err = proc.communicate(timeout=60)
        finally:
            harness.stop(proc)
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(json.loads(out), {"answer": "ok"})

    def test_callback_answered_at_the_prompt(self):
        callback_file = os.path.join(self.tmp, "prompt.callback")
        path = os.path.join(self.tmp, "prompt-event.json")
        with open(path, "w") as f:
            json.dump({"scenario": "callback", "callbackFile": callback_file}, f)
        controller, terminal = pty.openpty()
        proc = subprocess.Popen(
            [harness.WISP, "local", "invoke", "Workflow", "-e", path, "-t", self.template,
             "--durable-execution-name", "prompt-1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=terminal, text=True,
            env=harness.env(**dh.node_env()), start_new_session=True)
        os.close(terminal)
        try:
            stderr = ""
            deadline = time.monotonic() + 60
            while "[s] succeed" not in stderr and time.monotonic() < deadline:
                ready, _, _ = select.select([proc.stderr], [], [], 0.5)
                if ready:
                    stderr += os.read(proc.stderr.fileno(), 65536).decode()
            self.assertIn("waits for callback " + dh.read_text(callback_file), stderr)
            os.write(controller, b"s\n")
            os.write(controller, b'{"by":"prompt"}\n')
            out, err = proc.communicate(timeout=60)
        finally:
            harness.stop(proc)
            os.close(controller)
        self.assertEqual(proc.returncode, 0, stderr + err)
        self.assertEqual(json.loads(out), {"answer": '{"by":"prompt"}'})

    def test_interrupted_invoke_leaves_the_execution_running_for_the_next_wisp(self):
        path = os.path.join(self.tmp, "interrupt-event.json")
        with open(path, "w") as f:
            json.dump({"scenario": "wait", "seconds": 4}, f)
        proc = subprocess.Popen(
            [harness.WISP, "local", "invoke", "Workflow", "-e", path, "-t", self.template,
             "--durable-execution-name", "interrupt-1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
            env=harness.env(**dh.node_env()), start_new_session=True)
        listed = lambda: json.loads(harness.wisp("local", "execution", "list", "Workflow", "--output", "json",
                                                 "-t", self.template, check=0).stdout)["DurableExecutions"]
        entry = lambda: next((e for e in listed() if e["DurableExecutionName"] == "interrupt-1"), None)
        arn = dh.wait_for(lambda: entry() and entry()["DurableExecutionArn"])
        dh.wait_for(lambda: "WaitStarted" in dh.events_of({"Events": self.history(arn)}))
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 130, err)
        self.assertIn("stays RUNNING", err)
        self.assertEqual(entry()["Status"], "RUNNING")
        with dh.Server(self.tmp) as server:
            self.assertGreaterEqual(server.resumed, 1)
            client = server.boto3()
            dh.wait_for(lambda: client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "SUCCEEDED")

    def test_start_api_runs_a_routed_durable_function_as_an_execution(self):
        port = harness.free_port()
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen(
            [harness.WISP, "local", "start-api", "-p", str(port), "--no-watch", "-t", self.template],
            stdout=subprocess.PIPE, stderr=log, text=True, env=harness.env(**dh.node_env()),
            start_new_session=True)
        try:
            lines = []
            while not lines or not lines[-1].startswith("Ready."):
                lines.append(proc.stdout.readline())
                self.assertTrue(lines[-1], "start-api ended early")
            self.assertTrue(any(l.startswith("Durable execution API: http://127.0.0.1:") for l in lines), lines)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/order?id=42", timeout=60) as response:
                self.assertEqual(response.status, 200)
                self.assertEqual(json.loads(response.read()), {"id": "42"})
        finally:
            harness.stop(proc)
            proc.stdout.close()
            log.close()
        listed = json.loads(harness.wisp("local", "execution", "list", "Routed", "--output", "json",
                                         "-t", self.template, check=0).stdout)["DurableExecutions"]
        self.assertEqual([e["Status"] for e in listed], ["SUCCEEDED"])


if __name__ == "__main__":
    harness.main()
