#!/usr/bin/env python3
"""Local execution benchmarks (not run by CI): prints wisp's numbers beside their floors.

1. Cold `wisp local invoke` end to end (load the template, start the runtime, init, invoke,
   print, stop) against the floor of starting the bare interpreter and importing the
   handler (`python3.X -c 'import app'`, `node -e "require('./index.js')"`), with
   hyperfine: wall-clock means and CPU (user+sys, children included; steadier on a busy
   machine). Goal: ≤ 1.3× the floor.
2. What Lambda's file layout costs a cold start: the same invocations with
   WISP_LAMBDA_LAYOUT=0 (host paths), side by side.
3. A node function importing @aws-sdk/client-dynamodb from wisp's runtime-library cache
   (installed by the first run), cold, against plain `node` importing the same module from the
   same directory. Goal: ≤ 1.2×.
4. Warm invoke latency through the pool (the engine's invoke → the worker's /next → handler
   → /response → completion), with tests/bench/runtime_bench.cpp, in Lambda's file layout and
   with host paths. Goal: ≤ 150 µs median; the layout must not change it.

Usage: tests/bench/bench_runtime.py [--build build/ci] [--runs 30] [--count 5000]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Py:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.11}
  Node:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/, Handler: index.handler, Runtime: nodejs20.x}
  Sdk:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: sdk/, Handler: sdk.handler, Runtime: nodejs20.x}
"""
SDK = ("const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');\n"
       "exports.handler = async () => typeof DynamoDBClient;\n")
PY = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'hello world'}\n"
NODE = "exports.handler = async () => ({ statusCode: 200, body: 'hello world' });\n"


def hyperfine(commands, runs, cwd, env=None):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            ["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", out.name,
             *commands],
            cwd=cwd, check=True, stdout=subprocess.DEVNULL,
            env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true", **(env or {})},
        )
        results = json.load(open(out.name))["results"]
        return [(r["mean"] * 1000, (r["user"] + r["system"]) * 1000) for r in results]


def real_executable(command, probe):
    return subprocess.run([command, "-c" if "python" in command else "-e", probe],
                          capture_output=True, text=True, check=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "ci"))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--only", choices=("cold", "layout", "sdk", "warm"), action="append",
                        help="run only these parts (repeatable; default: all)")
    args = parser.parse_args()
    parts = set(args.only or ("cold", "layout", "sdk", "warm"))
    args.build = os.path.abspath(args.build)  # the commands run in a temporary directory
    wisp = os.path.join(args.build, "cli", "wisp")
    bench = os.path.join(args.build, "tests", "wisp_runtime_bench")
    for tool in (wisp, bench) if "warm" in parts else (wisp,):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is not built (cmake --build --preset ci)")
    if shutil.which("hyperfine") is None:
        sys.exit("hyperfine is not installed (packaging/install-deps.sh --with-peers)")

    work = tempfile.mkdtemp(prefix="wisp-bench-")
    try:
        os.makedirs(os.path.join(work, "src"))
        open(os.path.join(work, "template.yaml"), "w").write(TEMPLATE)
        open(os.path.join(work, "src", "app.py"), "w").write(PY)
        open(os.path.join(work, "src", "index.js"), "w").write(NODE)
        os.makedirs(os.path.join(work, "sdk"))
        open(os.path.join(work, "sdk", "sdk.js"), "w").write(SDK)
        python = real_executable("python3.11", "import sys; print(sys.executable)")
        node = real_executable("node", "process.stdout.write(process.execPath)")
        # Warm the interpreter cache and the bootstraps once.
        subprocess.run([wisp, "local", "invoke", "Py"], cwd=work, capture_output=True, check=True)
        subprocess.run([wisp, "local", "invoke", "Node"], cwd=work, capture_output=True, check=True)

        if "cold" in parts:
            print("Cold `wisp local invoke` (mean of %d runs) vs bare interpreter + handler import" % args.runs)
        for name, floor in () if "cold" not in parts else (
            ("Py", f"{python} -c \"import sys; sys.path.insert(0, 'src'); import app\""),
            ("Node", f"{node} -e \"require('./src/index.js')\""),
        ):
            (wisp_ms, wisp_cpu), (floor_ms, floor_cpu) = hyperfine(
                [f"{wisp} local invoke {name}", floor], args.runs, work)
            print(f"  {name:5} wall: wisp {wisp_ms:7.1f} ms  floor {floor_ms:7.1f} ms  ratio {wisp_ms / floor_ms:4.2f}x"
                  f" | cpu (user+sys): wisp {wisp_cpu:6.1f} ms  floor {floor_cpu:6.1f} ms  ratio {wisp_cpu / floor_cpu:4.2f}x"
                  "   (goal <= 1.30x)")

        if "layout" in parts:
            print("Lambda's file layout per cold start: `wisp local invoke` in it vs with host paths")
        for name in ("Py", "Node") if "layout" in parts else ():
            (layout_ms, layout_cpu), = hyperfine([f"{wisp} local invoke {name}"], args.runs, work)
            (host_ms, host_cpu), = hyperfine([f"{wisp} local invoke {name}"], args.runs, work,
                                             env={"WISP_LAMBDA_LAYOUT": "0"})
            print(f"  {name:5} wall: layout {layout_ms:7.1f} ms  host paths {host_ms:7.1f} ms  "
                  f"(+{layout_ms - host_ms:5.1f} ms) | cpu: layout {layout_cpu:6.1f} ms  "
                  f"host paths {host_cpu:6.1f} ms (+{layout_cpu - host_cpu:5.1f} ms)")

        if "sdk" in parts:
            print("A node function importing @aws-sdk/client-dynamodb from wisp's cache vs plain node")
        first = subprocess.run([wisp, "local", "invoke", "Sdk"], cwd=work, capture_output=True, text=True) \
            if "sdk" in parts else None
        if first is None:
            pass
        elif first.returncode != 0:
            print("  skipped: the SDK could not be installed:", first.stderr.strip().splitlines()[-1:])
        else:
            cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "wisp")
            sdk_root = [d for d in os.listdir(os.path.join(cache, "runtime-libs")) if d.startswith("aws-sdk-js-")][0]
            modules = os.path.realpath(os.path.join(cache, "runtime-libs", sdk_root, "current", "node_modules"))
            floor = f"{node} -e \"require('@aws-sdk/client-dynamodb')\""
            (wisp_ms, wisp_cpu), = hyperfine([f"{wisp} local invoke Sdk"], args.runs, work)
            (floor_ms, floor_cpu), = hyperfine([floor], args.runs, os.path.dirname(modules))
            print(f"  Sdk   wall: wisp {wisp_ms:7.1f} ms  node {floor_ms:7.1f} ms  ratio {wisp_ms / floor_ms:4.2f}x"
                  f" | cpu: wisp {wisp_cpu:6.1f} ms  node {floor_cpu:6.1f} ms  ratio {wisp_cpu / floor_cpu:4.2f}x"
                  "   (goal <= 1.20x)")

        if "warm" in parts:
            print("Warm invoke through the pool (%d invocations after 200 warm-up ones)" % args.count)
        for runtime, handler in (("python3.11", "app.handler"), ("nodejs20.x", "index.handler")) \
                if "warm" in parts else ():
            for label, extra in (("layout", {}), ("host paths", {"WISP_LAMBDA_LAYOUT": "0"})):
                proc = subprocess.run(
                    [bench, "--runtime", runtime, "--handler", handler, "--code", os.path.join(work, "src"),
                     "--count", str(args.count)],
                    capture_output=True, text=True, check=True, env={**os.environ, **extra},
                )
                r = json.loads(proc.stdout)
                print(f"  {runtime:11} {label:10} median {r['median_us']:7.1f} us   p90 {r['p90_us']:7.1f} us   "
                      f"p99 {r['p99_us']:8.1f} us   (goal: median <= 150 us)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
