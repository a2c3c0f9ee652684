"""Bad input to wisp's durable execution service gets AWS's error type, status and message, and
leaves the execution and the store consistent: illegal transitions, unknown operations, model
violations, an oversized payload, stale and forged checkpoint tokens (through the real
@aws-sdk/client-lambda), a handler suspending with nothing pending, unknown ARNs and callback
ids, a second execution of the same name with another payload."""

import json
import os
import tempfile
import unittest

import durable_helpers as dh
import harness


class DurableErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        dh.require_node_sdk()
        cls.tmp = tempfile.mkdtemp(prefix="wisp-durable-errors-")
        dh.copy_app("node", cls.tmp)
        # Failed invocations are retried 5 s apart (model time): 25× faster here.
        cls.server = dh.Server(cls.tmp, "--time-scale", "25").start()
        cls.client = cls.server.boto3()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        dh.kill_workers_in(cls.tmp)

    def test_checkpoint_refusals_through_the_aws_sdk(self):
        status, headers, body = self.server.invoke("Protocol", {}, name="protocol-1")
        self.assertEqual(status, 200, body)
        self.assertNotIn("X-Amz-Function-Error", headers, body)
        seen = json.loads(body)["seen"]

        def refused(key, name, status_code, message):
            got = seen[key]
            self.assertFalse(got["ok"], key)
            self.assertEqual((got["name"], got["status"]), (name, status_code), got)
            self.assertEqual(got["message"], message, key)

        refused("illegal", "InvalidParameterValueException", 400, "Invalid action for the given operation type.")
        refused("cancelUnknown", "InvalidParameterValueException", 400,
                "Cannot cancel a WAIT that does not exist or has already completed.")
        refused("badParent", "InvalidParameterValueException", 400, "Invalid parent operation id.")
        refused("badType", "ValidationException", 400,
                "1 validation error detected: Value 'LOOP' at 'updates.1.member.type' failed to satisfy "
                "constraint: Member must satisfy enum value set: [EXECUTION, CONTEXT, STEP, WAIT, "
                "CALLBACK, CHAINED_INVOKE]")
        refused("oversized", "ValidationException", 400,
                "1 validation error detected: Value at 'updates.1.member.payload' failed to satisfy "
                "constraint: Member must have length less than or equal to 6291456")
        for key in ("stale", "forged", "stateStale"):
            self.assertEqual(seen[key]["name"], "InvalidParameterValueException", key)
            self.assertTrue(seen[key]["message"].startswith("Invalid Checkpoint Token"), seen[key])
        self.assertTrue(json.loads(body)["cancelled"])
        # None of the refused updates reached the execution.
        arn = headers["X-Amz-Durable-Execution-Arn"]
        events = dh.events_of(self.client.get_durable_execution_history(DurableExecutionArn=arn))
        self.assertEqual(events, ["ExecutionStarted", "WaitStarted", "WaitCancelled",
                                  "InvocationCompleted", "ExecutionSucceeded"])

    def test_pending_with_nothing_pending(self):
        status, headers, body = self.server.invoke("NotWrapped", {}, name="raw-1")
        self.assertEqual(headers.get("X-Amz-Function-Error"), "Unhandled")
        self.assertEqual(json.loads(body), {
            "errorType": "InvalidParameterValueException",
            "errorMessage": "Cannot return PENDING status with no pending operations."})
        arn = headers["X-Amz-Durable-Execution-Arn"]
        events = self.client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
        completed = [e for e in events if e["EventType"] == "InvocationCompleted"]
        self.assertEqual(len(completed), 5)  # retried, then failed
        self.assertTrue(all(e["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorType"] ==
                            "InvalidParameterValueException" for e in completed))
        self.assertEqual(events[-1]["EventType"], "ExecutionFailed")

    def test_unknown_arns_and_callbacks(self):
        arn = ("arn:aws:lambda:us-east-1:123456789012:function:Workflow:$LATEST/durable-execution/"
               "nobody/0000")
        for method, suffix in (("GET", ""), ("GET", "/history"), ("POST", "/stop")):
            status, error_type, body = self.server.api(method, dh.arn_path(arn) + suffix, body=b"" if method == "POST" else None)
            self.assertEqual((status, error_type), (404, "ResourceNotFoundException"))
            self.assertEqual(body["Message"], f"Durable execution not found: {arn}")
        status, error_type, body = self.server.api("GET", dh.arn_path("not-an-arn"))
        self.assertEqual((status, error_type), (400, "ValidationException"))
        with self.assertRaises(self.client.exceptions.ResourceNotFoundException):
            self.client.get_durable_execution(DurableExecutionArn=arn)
        with self.assertRaises(self.client.exceptions.InvalidParameterValueException) as raised:
            self.client.send_durable_execution_callback_success(CallbackId="bm9wZQ==", Result=b"{}")
        self.assertEqual(raised.exception.response["Error"]["Message"], "Callback bm9wZQ== does not exist")
        status, error_type, body = self.server.api("GET", "/2025-12-01/functions/NoSuchFunction/durable-executions")
        self.assertEqual((status, error_type), (404, "ResourceNotFoundException"))
        self.assertEqual(body["Message"], "Function not found: arn:aws:lambda:us-east-1:123456789012:function:NoSuchFunction")
        proc = harness.wisp("local", "execution", "get", arn, "-t", os.path.join(self.tmp, "template.yaml"))
        self.assertEqual(proc.returncode, 1)
        self.assertIn("ResourceNotFoundException", proc.stderr)

    def test_hostile_requests(self):
        status, error_type, _ = self.server.api("GET", "/2025-12-01/functions/..%2F..%2Fetc/durable-executions")
        self.assertEqual((status, error_type), (400, "ValidationException"))
        status, error_type, _ = self.server.api("GET", "/2025-12-01/nothing/here")
        self.assertEqual((status, error_type), (404, "UnknownOperationException"))
        arn = ("arn:aws:lambda:us-east-1:123456789012:function:Workflow:$LATEST/durable-execution/"
               "nobody/0000")
        status, error_type, body = self.server.api("POST", dh.arn_path(arn) + "/checkpoint", body=b"{not json")
        self.assertEqual((status, error_type), (400, "InvalidRequestContentException"))
        status, error_type, body = self.server.api("POST", dh.arn_path(arn) + "/checkpoint",
                                                   body={"CheckpointToken": "dG9r", "Updates": "x"})
        self.assertEqual((status, error_type), (400, "InvalidRequestContentException"))
        _, headers, _ = self.server.invoke("Workflow", {"scenario": "steps", "x": 0, "y": 0}, name="hostile-1")
        real = headers["X-Amz-Durable-Execution-Arn"]
        status, error_type, body = self.server.api("GET", dh.arn_path(real) + "/history", query={"MaxItems": "5000"})
        self.assertEqual((status, error_type), (400, "ValidationException"))
        status, error_type, body = self.server.api("GET", dh.arn_path(real) + "/history", query={"Marker": "zz"})
        self.assertEqual((status, error_type), (400, "InvalidParameterValueException"))
        # Paging and reverse order through boto3.
        first = self.client.get_durable_execution_history(DurableExecutionArn=real, MaxItems=3)
        self.assertEqual([e["EventId"] for e in first["Events"]], [1, 2, 3])
        second = self.client.get_durable_execution_history(DurableExecutionArn=real, MaxItems=3,
                                                           Marker=first["NextMarker"])
        self.assertEqual([e["EventId"] for e in second["Events"]], [4, 5, 6])
        newest = self.client.get_durable_execution_history(DurableExecutionArn=real, MaxItems=1, ReverseOrder=True)
        self.assertEqual(newest["Events"][0]["EventType"], "ExecutionSucceeded")
        compact = self.client.get_durable_execution_history(DurableExecutionArn=real, IncludeExecutionData=False)
        self.assertNotIn("Payload", compact["Events"][0]["ExecutionStartedDetails"]["Input"])
        # The service survived all of it.
        self.assertEqual(self.client.get_durable_execution(DurableExecutionArn=real)["Status"], "SUCCEEDED")

    def test_same_name_same_input_attaches_other_input_conflicts(self):
        payload = {"scenario": "wait", "seconds": 1}
        first = self.server.invoke("Workflow", payload, name="dup-1")
        second = self.server.invoke("Workflow", payload, name="dup-1")  # closed: its result again
        self.assertEqual(first[2], second[2])
        self.assertEqual(first[1]["X-Amz-Durable-Execution-Arn"], second[1]["X-Amz-Durable-Execution-Arn"])
        status, headers, body = self.server.invoke("Workflow", {"scenario": "wait", "seconds": 2}, name="dup-1")
        self.assertEqual(status, 409)
        self.assertEqual(headers.get("x-amzn-ErrorType"), "DurableExecutionAlreadyStartedException")
        self.assertIn("already exists with a different payload", json.loads(body)["Message"])
        listed = self.client.list_durable_executions_by_function(FunctionName="Workflow", DurableExecutionName="dup-1")
        self.assertEqual(len(listed["DurableExecutions"]), 1)
        status, headers, body = self.server.invoke("Workflow", {}, name="bad name!")
        self.assertEqual((status, headers.get("x-amzn-ErrorType")), (400, "ValidationException"))

    def test_callback_result_limit(self):
        callback_file = os.path.join(self.tmp, "limit.callback")
        status, headers, _ = self.server.invoke("Workflow", {"scenario": "callback", "callbackFile": callback_file},
                                                name="limit-1", event=True)
        arn = headers["X-Amz-Durable-Execution-Arn"]
        callback_id = dh.wait_for(lambda: dh.read_text(callback_file))
        with self.assertRaises(self.client.exceptions.ClientError) as raised:
            self.client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"x" * 262145)
        self.assertEqual(raised.exception.response["Error"]["Code"], "ValidationException")
        self.assertEqual(self.client.get_durable_execution(DurableExecutionArn=arn)["Status"], "RUNNING")
        self.client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b"x" * 262144)
        dh.wait_for(lambda: self.client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "SUCCEEDED")


if __name__ == "__main__":
    harness.main()
