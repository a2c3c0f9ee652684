"""Durable functions with the real @aws/durable-execution-sdk-js on node 22, against wisp's
durable execution service: steps with retries and backoff, waits, waitForCallback answered by
`wisp local callback` and by the AWS CLI, parallel/map/child contexts, stop mid-wait, an
execution timing out; the control plane read back with boto3, the AWS CLI and wisp's own
commands."""

import json
import os
import subprocess
import tempfile
import unittest

import durable_helpers as dh
import harness


class DurableSdkJsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sdk_version = dh.require_node_sdk()
        cls.tmp = tempfile.mkdtemp(prefix="wisp-durable-js-")
        dh.copy_app("node", cls.tmp)
        # Waits and retry delays run 4× faster; histories keep the real durations.
        cls.server = dh.Server(cls.tmp, "--time-scale", "4").start()
        cls.lambda_client = cls.server.boto3()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        dh.kill_workers_in(cls.tmp)

    def wisp(self, *args, check=0):
        return harness.wisp(*args, "-t", os.path.join(self.tmp, "template.yaml"), check=check)

    def run_sync(self, function, payload, name):
        status, headers, body = self.server.invoke(function, payload, name=name)
        self.assertEqual(status, 200, body)
        arn = headers["X-Amz-Durable-Execution-Arn"]
        self.assertTrue(arn.startswith(f"arn:aws:lambda:us-east-1:123456789012:function:{function}:$LATEST/durable-execution/{name}/"), arn)
        return headers, body, arn

    def history(self, arn):
        return self.lambda_client.get_durable_execution_history(DurableExecutionArn=arn, MaxItems=1000)

    def test_steps_retry_with_backoff(self):
        headers, body, arn = self.run_sync("Workflow", {"scenario": "steps", "x": 2, "y": 3}, "steps-1")
        self.assertNotIn("X-Amz-Function-Error", headers)
        # The third attempt succeeded: the SDK's attempt number comes from the service's
        # StepDetails.Attempt.
        self.assertEqual(json.loads(body), {"sum": 5, "attempt": 3})
        events = self.history(arn)["Events"]
        failed = [e for e in events if e["EventType"] == "StepFailed"]
        self.assertEqual([e["StepFailedDetails"]["RetryDetails"] for e in failed],
                         [{"CurrentAttempt": 1, "NextAttemptDelaySeconds": 1},
                          {"CurrentAttempt": 2, "NextAttemptDelaySeconds": 2}])
        self.assertEqual(failed[0]["StepFailedDetails"]["Error"]["Payload"]["ErrorMessage"], "flaky attempt 1")
        succeeded = [e for e in events if e["EventType"] == "StepSucceeded" and e["Name"] == "flaky"]
        self.assertEqual(succeeded[0]["StepSucceededDetails"]["RetryDetails"]["CurrentAttempt"], 3)
        # Each retry started no earlier than its delay after the failure (model time).
        started = [e["EventTimestamp"] for e in events if e["EventType"] == "StepStarted" and e["Name"] == "flaky"]
        self.assertGreaterEqual((started[1] - failed[0]["EventTimestamp"]).total_seconds(), 1.0)
        self.assertGreaterEqual((started[2] - failed[1]["EventTimestamp"]).total_seconds(), 2.0)
        # One invocation per retry: two suspensions, then the end.
        self.assertEqual(dh.events_of({"Events": events}).count("InvocationCompleted"), 3)
        self.assertEqual(events[0]["EventType"], "ExecutionStarted")
        self.assertEqual(events[-1]["EventType"], "ExecutionSucceeded")
        self.assertEqual([e["EventId"] for e in events], list(range(1, len(events) + 1)))

    def test_wait_suspends_and_resumes(self):
        _, body, arn = self.run_sync("Workflow", {"scenario": "wait", "seconds": 8}, "wait-1")
        events = self.history(arn)["Events"]
        wait_started = next(e for e in events if e["EventType"] == "WaitStarted")
        wait_done = next(e for e in events if e["EventType"] == "WaitSucceeded")
        self.assertEqual(wait_started["Name"], "pause")
        self.assertEqual(wait_started["WaitStartedDetails"]["Duration"], 8)
        # The history shows the wait a real run would have: 8 s, though it took 2 s here.
        self.assertEqual(wait_done["EventTimestamp"], wait_started["WaitStartedDetails"]["ScheduledEndTimestamp"])
        self.assertAlmostEqual((wait_done["EventTimestamp"] - wait_started["EventTimestamp"]).total_seconds(), 8, delta=0.01)
        self.assertGreaterEqual(json.loads(body)["waitedMs"], 2000)  # wall clock, scaled 4×
        got = self.lambda_client.get_durable_execution(DurableExecutionArn=arn)
        self.assertEqual(got["Status"], "SUCCEEDED")
        self.assertEqual(got["DurableExecutionName"], "wait-1")
        self.assertEqual(got["InputPayload"], json.dumps({"scenario": "wait", "seconds": 8}))
        self.assertGreaterEqual((got["EndTimestamp"] - got["StartTimestamp"]).total_seconds(), 8)

    def callback_execution(self, name):
        callback_file = os.path.join(self.tmp, name + ".callback")
        status, headers, _ = self.server.invoke(
            "Workflow", {"scenario": "callback", "callbackFile": callback_file}, name=name, event=True)
        self.assertEqual(status, 202)
        arn = headers["X-Amz-Durable-Execution-Arn"]
        callback_id = dh.wait_for(lambda: dh.read_text(callback_file))
        # Suspended: the execution is RUNNING and its callback STARTED.
        dh.wait_for(lambda: "InvocationCompleted" in dh.events_of(self.history(arn)))
        self.assertEqual(self.lambda_client.get_durable_execution(DurableExecutionArn=arn)["Status"], "RUNNING")
        return arn, callback_id

    def test_wait_for_callback_answered_by_wisp_local_callback(self):
        arn, callback_id = self.callback_execution("cb-wisp")
        started = next(e for e in self.history(arn)["Events"] if e["EventType"] == "CallbackStarted")
        self.assertEqual(started["CallbackStartedDetails"]["CallbackId"], callback_id)
        self.assertEqual(started["CallbackStartedDetails"]["Timeout"], 300)
        self.wisp("local", "callback", "heartbeat", callback_id)
        done = self.wisp("local", "callback", "succeed", callback_id, "-r", '{"approved":true}')
        self.assertIn(callback_id, done.stdout)
        dh.wait_for(lambda: self.lambda_client.get_durable_execution(DurableExecutionArn=arn)["Status"] != "RUNNING")
        got = self.lambda_client.get_durable_execution(DurableExecutionArn=arn)
        self.assertEqual(got["Status"], "SUCCEEDED")
        self.assertEqual(json.loads(got["Result"]), {"answer": '{"approved":true}'})
        events = dh.events_of(self.history(arn))
        self.assertIn("CallbackSucceeded", events)
        # Answered twice: the second is refused.
        again = self.wisp("local", "callback", "succeed", callback_id, check=1)
        self.assertIn("InvalidParameterValueException", again.stderr)

    def test_wait_for_callback_answered_by_the_aws_cli(self):
        aws = harness.require_peer("aws", "AWS CLI")
        arn, callback_id = self.callback_execution("cb-aws")
        cli = [aws, "lambda", "--endpoint-url", self.server.url, "--region", "us-east-1"]
        subprocess.run([*cli, "send-durable-execution-callback-failure", "--callback-id", callback_id,
                        "--error", json.dumps({"ErrorType": "Rejected", "ErrorMessage": "no budget"})],
                       check=True, capture_output=True, env=harness.env())
        dh.wait_for(lambda: self.lambda_client.get_durable_execution(DurableExecutionArn=arn)["Status"] != "RUNNING")
        got = json.loads(subprocess.run([*cli, "get-durable-execution", "--durable-execution-arn", arn],
                                        check=True, capture_output=True, text=True, env=harness.env()).stdout)
        # The SDK surfaced the callback's error to the handler, which failed the execution.
        self.assertEqual(got["Status"], "FAILED")
        self.assertEqual(got["Error"]["ErrorMessage"], "no budget")
        history = json.loads(subprocess.run([*cli, "get-durable-execution-history", "--durable-execution-arn", arn],
                                            check=True, capture_output=True, text=True, env=harness.env()).stdout)
        failed = next(e for e in history["Events"] if e["EventType"] == "CallbackFailed")
        self.assertEqual(failed["CallbackFailedDetails"]["Error"]["Payload"],
                         {"ErrorType": "Rejected", "ErrorMessage": "no budget"})
        late = subprocess.run([*cli, "send-durable-execution-callback-heartbeat", "--callback-id", callback_id],
                              capture_output=True, text=True, env=harness.env())
        self.assertNotEqual(late.returncode, 0)
        self.assertIn("InvalidParameterValueException", late.stderr)

    def test_parallel_map_and_child_contexts(self):
        _, body, arn = self.run_sync("Workflow", {"scenario": "fanout"}, "fan-1")
        self.assertEqual(json.loads(body), {"parallel": ["A", "B"], "map": [1, 4, 9], "child": 11})
        events = self.history(arn)["Events"]
        contexts = {(e.get("SubType"), e.get("Name")) for e in events if e["EventType"] == "ContextStarted"}
        self.assertIn(("Parallel", "branches"), contexts)
        self.assertIn(("ParallelBranch", "a"), contexts)
        self.assertIn(("ParallelBranch", "b"), contexts)
        self.assertIn(("Map", "squares"), contexts)
        self.assertTrue(any(sub == "MapIteration" for sub, _ in contexts))
        # Children carry their parent's id.
        ids = {e["Id"]: e for e in events if "Id" in e}
        branch_b = next(e for e in events if e["EventType"] == "ContextStarted" and e.get("Name") == "b")
        waits = [e for e in events if e["EventType"] == "WaitStarted"]
        self.assertIn(branch_b["Id"], [w.get("ParentId") for w in waits])
        self.assertTrue(all(e.get("ParentId") in ids for e in events if e.get("ParentId")))

    def test_chained_invokes(self):
        _, body, arn = self.run_sync("Workflow", {"scenario": "chain"}, "chain-1")
        self.assertEqual(json.loads(body), {"plain": {"plain": True, "event": {"x": 1}},
                                            "durable": {"sum": 9, "attempt": 3}})
        events = self.history(arn)["Events"]
        started = [e for e in events if e["EventType"] == "ChainedInvokeStarted"]
        self.assertEqual([e["ChainedInvokeStartedDetails"]["FunctionName"] for e in started], ["Plain", "Workflow"])
        self.assertEqual(started[0]["ChainedInvokeStartedDetails"]["Input"]["Payload"], json.dumps({"x": 1}, separators=(",", ":")))
        self.assertEqual(dh.events_of({"Events": events}).count("ChainedInvokeSucceeded"), 2)
        # The durable target ran as an execution of its own.
        children = self.lambda_client.list_durable_executions_by_function(FunctionName="Workflow")["DurableExecutions"]
        child_id = started[1]["Id"]
        self.assertTrue(any(c["DurableExecutionName"].startswith(child_id) and c["Status"] == "SUCCEEDED"
                            for c in children), children)

    def test_stop_mid_wait(self):
        status, headers, _ = self.server.invoke("Workflow", {"scenario": "wait", "seconds": 3600}, name="stop-1", event=True)
        self.assertEqual(status, 202)
        arn = headers["X-Amz-Durable-Execution-Arn"]
        # Suspended in its wait: the invocation that started it has ended.
        dh.wait_for(lambda: "InvocationCompleted" in dh.events_of(self.history(arn)))
        self.assertIn("WaitStarted", dh.events_of(self.history(arn)))
        stopped = self.wisp("local", "execution", "stop", arn, "--error-type", "Manual", "--error-message", "cancelled")
        self.assertIn(arn, stopped.stdout)
        got = self.lambda_client.get_durable_execution(DurableExecutionArn=arn)
        self.assertEqual(got["Status"], "STOPPED")
        self.assertEqual(got["Error"], {"ErrorType": "Manual", "ErrorMessage": "cancelled"})
        events = self.history(arn)["Events"]
        self.assertEqual(events[-1]["EventType"], "ExecutionStopped")
        self.assertNotIn("WaitSucceeded", dh.events_of({"Events": events}))
        # A synchronous Invoke of the same name and input attaches and gets the error.
        status, headers, body = self.server.invoke("Workflow", {"scenario": "wait", "seconds": 3600}, name="stop-1")
        self.assertEqual(headers.get("X-Amz-Function-Error"), "Unhandled")
        self.assertEqual(json.loads(body)["errorMessage"], "cancelled")

    def test_execution_timeout(self):
        status, headers, body = self.server.invoke("ShortLived", {"scenario": "wait", "seconds": 60}, name="late-1")
        self.assertEqual(headers.get("X-Amz-Function-Error"), "Unhandled")
        arn = headers["X-Amz-Durable-Execution-Arn"]
        got = self.lambda_client.get_durable_execution(DurableExecutionArn=arn)
        self.assertEqual(got["Status"], "TIMED_OUT")
        self.assertEqual(got["Error"]["ErrorMessage"], "Execution timed out after 3 seconds.")
        events = self.history(arn)["Events"]
        # The invocation in flight when the timeout came may end (InvocationCompleted) after it.
        timed_out = [e for e in events if e["EventType"] == "ExecutionTimedOut"]
        self.assertEqual(len(timed_out), 1)
        self.assertEqual([e["EventType"] for e in events if e["EventType"].startswith("Execution")],
                         ["ExecutionStarted", "ExecutionTimedOut"])
        self.assertEqual(events[0]["ExecutionStartedDetails"]["ExecutionTimeout"], 3)
        self.assertAlmostEqual((timed_out[0]["EventTimestamp"] - events[0]["EventTimestamp"]).total_seconds(), 3, delta=0.01)

    def test_function_error_fails_the_execution(self):
        _, headers, body = self.server.invoke("Workflow", {"scenario": "fail"}, name="fail-1")
        self.assertEqual(headers.get("X-Amz-Function-Error"), "Unhandled")
        self.assertEqual(json.loads(body)["errorType"], "TypeError")
        arn = headers["X-Amz-Durable-Execution-Arn"]
        got = self.lambda_client.get_durable_execution(DurableExecutionArn=arn)
        self.assertEqual((got["Status"], got["Error"]["ErrorMessage"]), ("FAILED", "boom"))

    def test_wisp_commands_read_the_store(self):
        _, _, arn = self.run_sync("Workflow", {"scenario": "steps", "x": 1, "y": 1}, "read-1")
        summary = self.wisp("local", "execution", "get", arn).stdout
        self.assertIn("read-1 (SUCCEEDED)", summary)
        self.assertIn('{"sum":2,"attempt":3}', summary)
        as_json = json.loads(self.wisp("local", "execution", "get", arn, "--format", "json").stdout)
        api = self.server.api("GET", dh.arn_path(arn))[2]
        self.assertEqual(as_json, api)
        history = json.loads(self.wisp("local", "execution", "history", arn, "--output", "json").stdout)
        self.assertEqual(history["Events"], self.server.api("GET", dh.arn_path(arn) + "/history", query={"MaxItems": "1000"})[2]["Events"])
        table = self.wisp("local", "execution", "history", arn).stdout
        self.assertIn("StepFailed", table)
        self.assertIn("retry in 2s", table)
        listed = json.loads(self.wisp("local", "execution", "list", "Workflow", "--output", "json").stdout)
        self.assertIn(arn, [e["DurableExecutionArn"] for e in listed["DurableExecutions"]])
        by_api = self.lambda_client.list_durable_executions_by_function(FunctionName="Workflow", DurableExecutionName="read-1")
        self.assertEqual([e["DurableExecutionArn"] for e in by_api["DurableExecutions"]], [arn])


if __name__ == "__main__":
    harness.main()
