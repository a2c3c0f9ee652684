"""A python durable function driven through the wire protocol with boto3's own durable calls
(checkpoint_durable_execution, get_durable_execution_state) against wisp's durable execution
service: a step, a wait, a callback answered with `wisp local callback`, a spent checkpoint
token refused. AWS's Python SDK itself (aws-durable-execution-sdk-python) is not on PyPI's
reach from this machine and was not run; this handler does what it does underneath."""

import json
import os
import subprocess
import tempfile
import unittest

import durable_helpers as dh
import harness


def boto3_has_durable_calls(python):
    probe = subprocess.run(
        [python, "-c", "import boto3; c = boto3.client('lambda', region_name='us-east-1'); "
                       "print(hasattr(c, 'checkpoint_durable_execution') and "
                       "hasattr(c, 'get_durable_execution_state'))"],
        capture_output=True, text=True, env=harness.env())
    return probe.stdout.strip() == "True"


class DurablePythonTest(unittest.TestCase):
    def setUp(self):
        python = harness.require_peer("python3.11", "the function's runtime")
        if not boto3_has_durable_calls(python):
            raise unittest.SkipTest("PEER MISSING: boto3 with the durable execution calls in python3.11")
        self.tmp = tempfile.mkdtemp(prefix="wisp-durable-py-")
        dh.copy_app("python", self.tmp)

    def test_protocol_through_boto3(self):
        callback_file = os.path.join(self.tmp, "callback")
        with dh.Server(self.tmp) as server:
            status, headers, _ = server.invoke("Approval", {"n": 21, "callbackFile": callback_file},
                                               name="py-1", event=True)
            self.assertEqual(status, 202)
            arn = headers["X-Amz-Durable-Execution-Arn"]
            callback_id = dh.wait_for(lambda: dh.read_text(callback_file))
            client = server.boto3()
            # Suspended on the callback: its second invocation has ended.
            dh.wait_for(lambda: dh.events_of(client.get_durable_execution_history(DurableExecutionArn=arn))
                        .count("InvocationCompleted") == 2)
            # The spent token was refused with the message the SDKs look for.
            self.assertTrue(dh.read_text(callback_file + ".stale").startswith("Invalid Checkpoint Token"))
            harness.wisp("local", "callback", "succeed", callback_id, "-r", "approved",
                         "-t", os.path.join(self.tmp, "template.yaml"), check=0)
            dh.wait_for(lambda: client.get_durable_execution(DurableExecutionArn=arn)["Status"] != "RUNNING")
            got = client.get_durable_execution(DurableExecutionArn=arn)
            self.assertEqual(got["Status"], "SUCCEEDED", got)
            result = json.loads(got["Result"])
            self.assertEqual(result["doubled"], 42)
            self.assertEqual(result["approval"], "approved")
            self.assertEqual(result["seen"]["updated"], ["approval"])  # UpdatedOperationIds
            self.assertTrue(result["startIsMs"])
            events = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
            self.assertEqual(dh.events_of({"Events": events}), [
                "ExecutionStarted", "StepStarted", "StepSucceeded", "WaitStarted", "InvocationCompleted",
                "WaitSucceeded", "CallbackStarted", "InvocationCompleted", "CallbackSucceeded",
                "InvocationCompleted", "ExecutionSucceeded"])
            completed = [e for e in events if e["EventType"] == "InvocationCompleted"]
            self.assertTrue(all(e["InvocationCompletedDetails"]["RequestId"] for e in completed))


if __name__ == "__main__":
    harness.main()
