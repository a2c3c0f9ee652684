#!/usr/bin/env python3
"""Benchmark: `wisp validate` vs `cfn-lint` on SAM apps of 10 and 500 functions (not run by CI).

Each generated app looks like a real one: Parameters, Conditions, Globals, every function
with its own handler file under a local CodeUri, environment variables with intrinsics,
a policy template, and an Api, HttpApi or SQS event. The app declares exactly N
resources (CloudFormation's limit is 500), so the queue and table come in as parameters. Both tools get the same
template; both must accept it (a rejection makes the timing meaningless and aborts).

Goal (issue 3): wisp ≥ 100× faster than cfn-lint on both sizes, and under 50 ms for 500
functions. Both tools must reach the same verdict: 500 functions exceed CloudFormation's
500 resources per stack after the SAM transform, which both report (cfn-lint E3010, wisp
limit-resources) after doing all their work.

Usage: tests/bench/bench_validate.py [--wisp build/release/cli/wisp] [--runs 10]
       [--cfn-lint-runs 3] [--sizes 10,500] [--keep]
Prints the median wall time and CPU time (user + system) of each tool per size, and the
ratios. On a shared, loaded machine the CPU times are the fairer comparison.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))


def make_app(root, functions):
    lines = [
        "AWSTemplateFormatVersion: '2010-09-09'",
        "Transform: AWS::Serverless-2016-10-31",
        f"Description: generated app with {functions} functions",
        "Parameters:",
        "  Stage:",
        "    Type: String",
        "    Default: dev",
        "    AllowedValues: [dev, prod]",
        "  TableName:",
        "    Type: String",
        "    Default: items",
        "  QueueArn:",
        "    Type: String",
        "    Default: arn:aws:sqs:us-east-1:123456789012:work",
        "Conditions:",
        "  IsProd: !Equals [!Ref Stage, prod]",
        "Globals:",
        "  Function:",
        "    Runtime: python3.13",
        "    Timeout: 10",
        "    MemorySize: 256",
        "    Architectures: [arm64]",
        "    Tracing: Active",
        "    Environment:",
        "      Variables:",
        "        STAGE: !Ref Stage",
        "        TABLE: !Ref TableName",
        "Resources:",
    ]
    for i in range(functions):
        name = f"Function{i:04d}"
        code = os.path.join(root, "src", f"f{i:04d}")
        os.makedirs(code, exist_ok=True)
        with open(os.path.join(code, "app.py"), "w") as f:
            f.write("def handler(event, context):\n    return {'statusCode': 200}\n")
        lines += [
            f"  {name}:",
            "    Type: AWS::Serverless::Function",
            "    Properties:",
            f"      CodeUri: src/f{i:04d}/",
            "      Handler: app.handler",
            f"      Description: function number {i}",
            "      ReservedConcurrentExecutions: !If [IsProd, 10, !Ref AWS::NoValue]",
            "      Environment:",
            "        Variables:",
            f"          NAME: !Sub '${{AWS::StackName}}-{name}'",
            "          QUEUE_ARN: !Ref QueueArn",
            "      Policies:",
            "        - DynamoDBCrudPolicy:",
            "            TableName: !Ref TableName",
            "      Events:",
        ]
        kind = i % 3
        if kind == 0:
            lines += ["        Get:", "          Type: Api", "          Properties:",
                      f"            Path: /items{i}/{{id}}", "            Method: get"]
        elif kind == 1:
            lines += ["        Post:", "          Type: HttpApi", "          Properties:",
                      f"            Path: /things{i}", "            Method: post"]
        else:
            lines += ["        Work:", "          Type: SQS", "          Properties:",
                      "            Queue: !Ref QueueArn", "            BatchSize: 10"]
    lines += ["Outputs:", "  Api:",
              "    Value: !Sub 'https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod'"]
    path = os.path.join(root, "template.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def timed(command, cwd, runs):
    """Median wall time and median CPU time (user + system, from the kernel's accounting of
    the finished child) of `runs` runs, in seconds, and the last exit status. On a loaded
    machine the CPU time is the fairer measure of each tool's own cost."""
    walls, cpus = [], []
    status = None
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode < 0 or proc.returncode > 14:
            raise SystemExit(f"{' '.join(command)} crashed ({proc.returncode}):\n"
                             f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        status = proc
    return statistics.median(walls), statistics.median(cpus), status


def verdicts(wisp_proc, lint_proc):
    """Both tools must reach the same verdict (cfn-lint's exit status is a bit mask: 2
    errors, 4 warnings, 8 informational)."""
    wisp_valid = wisp_proc.returncode == 0
    lint_valid = (lint_proc.returncode & 2) == 0
    if wisp_valid != lint_valid:
        raise SystemExit(f"the tools disagree: wisp {'accepts' if wisp_valid else 'rejects'}, "
                         f"cfn-lint {'accepts' if lint_valid else 'rejects'}\n"
                         f"{wisp_proc.stderr[-1500:]}\n{lint_proc.stdout[-1500:]}")
    if wisp_valid:
        return "both accept it"
    first_lint = next((line for line in lint_proc.stdout.splitlines() if line.strip()), "")
    first_wisp = next((line for line in wisp_proc.stderr.splitlines() if line.strip()), "")
    return f"both reject it: cfn-lint '{first_lint}', wisp '{first_wisp}'"


def main():
    parser = argparse.ArgumentParser()
    default_wisp = os.path.join(SOURCE_DIR, "build", "release", "cli", "wisp")
    if not os.path.exists(default_wisp):
        default_wisp = os.path.join(SOURCE_DIR, "build", "ci", "cli", "wisp")
    parser.add_argument("--wisp", default=default_wisp)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cfn-lint-runs", type=int, default=3)
    parser.add_argument("--sizes", default="10,500")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    args.wisp = os.path.abspath(args.wisp)  # the tools run in the app directory
    cfn_lint = shutil.which("cfn-lint")
    if cfn_lint is None:
        raise SystemExit("PEER MISSING: cfn-lint")
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true", AWS_DEFAULT_REGION="us-east-1")
    os.environ.update(env)
    print(f"wisp: {args.wisp}\ncfn-lint: {subprocess.run([cfn_lint, '--version'], capture_output=True, text=True).stdout.strip()}")
    for size in [int(s) for s in args.sizes.split(",")]:
        root = tempfile.mkdtemp(prefix=f"wisp-bench-validate-{size}-")
        try:
            template = make_app(root, size)
            kb = os.path.getsize(template) / 1024
            wisp_wall, wisp_cpu, wisp_proc = timed([args.wisp, "validate", "-t", template],
                                                   root, args.runs)
            lint_wall, lint_cpu, lint_proc = timed([cfn_lint, template], root,
                                                   args.cfn_lint_runs)
            print(f"{size:4d} functions ({kb:.0f} KB): {verdicts(wisp_proc, lint_proc)}\n"
                  f"    wall  wisp validate {wisp_wall * 1000:8.1f} ms   cfn-lint {lint_wall * 1000:9.1f} ms"
                  f"   ratio {lint_wall / wisp_wall:6.0f}x\n"
                  f"    cpu   wisp validate {wisp_cpu * 1000:8.1f} ms   cfn-lint {lint_cpu * 1000:9.1f} ms"
                  f"   ratio {lint_cpu / wisp_cpu:6.0f}x", flush=True)
        finally:
            if args.keep:
                print(f"  kept {root}")
            else:
                shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
