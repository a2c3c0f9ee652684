"""Durability of wisp's durable executions: kill -9 of the serving wisp mid-execution, then a
new one resumes every RUNNING execution where it stopped (the journal survives a crash); a
callback answered while no wisp runs the execution reaches the store and the next wisp
continues from it; closed executions are not resumed."""

import json
import os
import tempfile
import unittest

import durable_helpers as dh
import harness


class DurableRestartTest(unittest.TestCase):
    def setUp(self):
        dh.require_node_sdk()
        self.tmp = tempfile.mkdtemp(prefix="wisp-durable-restart-")
        dh.copy_app("node", self.tmp)
        self.template = os.path.join(self.tmp, "template.yaml")

    def tearDown(self):
        dh.kill_workers_in(self.tmp)

    def test_kill9_mid_execution_then_resume(self):
        first = dh.Server(self.tmp, "--time-scale", "4").start()
        try:
            _, headers, _ = first.invoke("Workflow", {"scenario": "wait", "seconds": 8}, name="crash-1", event=True)
            arn = headers["X-Amz-Durable-Execution-Arn"]
            _, headers, _ = first.invoke("Workflow", {"scenario": "steps", "x": 1, "y": 2}, name="done-1")
            done_arn = headers["X-Amz-Durable-Execution-Arn"]
            client = first.boto3()
            dh.wait_for(lambda: "WaitStarted" in dh.events_of(client.get_durable_execution_history(DurableExecutionArn=arn)))
        finally:
            first.kill9()
        # Nothing is lost: the store still has the wait, RUNNING.
        got = json.loads(harness.wisp("local", "execution", "get", arn, "--output", "json", "-t", self.template, check=0).stdout)
        self.assertEqual(got["Status"], "RUNNING")
        with dh.Server(self.tmp, "--time-scale", "4") as second:
            self.assertEqual(second.resumed, 1)  # crash-1, not the closed done-1
            client = second.boto3()
            dh.wait_for(lambda: client.get_durable_execution(DurableExecutionArn=arn)["Status"] != "RUNNING")
            got = client.get_durable_execution(DurableExecutionArn=arn)
            self.assertEqual(got["Status"], "SUCCEEDED", got)
            events = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
            names = dh.events_of({"Events": events})
            # The step before the wait ran once: it was replayed from the journal, not re-run.
            self.assertEqual([e.get("Name") for e in events if e["EventType"] == "StepStarted"], ["before", "after"])
            self.assertEqual(names.count("WaitStarted"), 1)
            self.assertIn("WaitSucceeded", names)
            self.assertEqual(client.get_durable_execution(DurableExecutionArn=done_arn)["Status"], "SUCCEEDED")

    def test_callback_answered_while_no_wisp_runs_it(self):
        callback_file = os.path.join(self.tmp, "offline.callback")
        with dh.Server(self.tmp) as server:
            _, headers, _ = server.invoke("Workflow", {"scenario": "callback", "callbackFile": callback_file},
                                          name="offline-1", event=True)
            arn = headers["X-Amz-Durable-Execution-Arn"]
            callback_id = dh.wait_for(lambda: dh.read_text(callback_file))
            client = server.boto3()
            dh.wait_for(lambda: "InvocationCompleted" in dh.events_of(client.get_durable_execution_history(DurableExecutionArn=arn)))
        # The server stopped (SIGTERM): the execution waits in the store.
        harness.wisp("local", "callback", "succeed", callback_id, "-r", '"late"', "-t", self.template, check=0)
        history = json.loads(harness.wisp("local", "execution", "history", arn, "--output", "json", "-t", self.template, check=0).stdout)
        self.assertEqual(dh.events_of(history)[-1], "CallbackSucceeded")
        with dh.Server(self.tmp) as server:
            self.assertEqual(server.resumed, 1)
            client = server.boto3()
            dh.wait_for(lambda: client.get_durable_execution(DurableExecutionArn=arn)["Status"] != "RUNNING")
            got = client.get_durable_execution(DurableExecutionArn=arn)
            self.assertEqual((got["Status"], json.loads(got["Result"])), ("SUCCEEDED", {"answer": '"late"'}))


if __name__ == "__main__":
    harness.main()
