#!/usr/bin/env python3
"""Deploys every SAM app of a corpus (default /work/corpus/serverless-patterns) to a fresh
moto_server with `wisp deploy`, one after another, and counts what happens (not run by CI).

For each app (a directory with template.yaml/template.yml and the SAM transform): the app is
copied to a temporary directory, moto is reset, `wisp deploy --stack-name corpus --resolve-s3`
runs with a timeout, and the outcome is classified: exit 0 (and whether the stack, when there
is one, reached *_COMPLETE), or the first line of the error. Prints a summary and, with --json,
one record per app.

Usage: tests/bench/corpus_deploy.py [--wisp build/ci/cli/wisp] [--corpus DIR] [--limit N]
                                    [--json out.json] [--only NAME] [--apps FILE] [--start N]
                                    [--jobs N]

--apps FILE deploys only the apps FILE names (one a line); --jobs N deploys N apps at a time,
each against its own moto_server.
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402  (sets the safe AWS environment)
from test_deploy_infra import MotoForInfra  # noqa: E402


def apps(corpus):
    for name in sorted(os.listdir(corpus)):
        for template in ("template.yaml", "template.yml"):
            path = os.path.join(corpus, name, template)
            if os.path.isfile(path):
                with open(path, errors="replace") as f:
                    if "AWS::Serverless" in f.read():
                        yield name, template
                break


def classify(stderr):
    lines = [line for line in stderr.splitlines() if line.startswith("error")] or \
        [line for line in stderr.splitlines() if "error" in line.lower()]
    line = lines[0] if lines else (stderr.strip().splitlines() or ["(no output)"])[-1]
    line = re.sub(r"^[^:]*template\.ya?ml:\d+:\d+: ", "", line)
    line = re.sub(r"\(HTTP \d+, request id [^)]*\)", "", line)
    line = re.sub(r"'[^']*'", "'…'", line)
    return line.strip()[:160]


def stack_facts(url):
    """The infrastructure stack wisp left: its status and how many resources it holds."""
    import boto3
    import botocore.exceptions
    cf = boto3.client("cloudformation", endpoint_url=url, region_name="us-east-1")
    try:
        stack = cf.describe_stacks(StackName="corpus")["Stacks"][0]
        resources = cf.list_stack_resources(StackName="corpus")["StackResourceSummaries"]
    except botocore.exceptions.ClientError:
        return {"stack": "", "stack_resources": 0}
    return {"stack": stack["StackStatus"], "stack_resources": len(resources)}


def run(wisp, corpus, name, template, moto, timeout):
    tmp = tempfile.mkdtemp(prefix="corpus-")
    try:
        shutil.copytree(os.path.join(corpus, name), os.path.join(tmp, "app"), symlinks=True)
        moto.reset()
        started = time.monotonic()
        try:
            proc = subprocess.run([wisp, "deploy", "--endpoint-url", moto.url, "--stack-name", "corpus",
                                   "--resolve-s3", "-t", template, "--no-fail-on-empty-changeset"],
                                  cwd=os.path.join(tmp, "app"), capture_output=True, text=True, timeout=timeout,
                                  env=harness.env())
            code, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired:
            code, stderr = -1, "timeout"
        elapsed = time.monotonic() - started
        record = {"app": name, "exit": code, "seconds": round(elapsed, 1)}
        if code != 0:
            record["error"] = classify(stderr)
        record["skipped_resources"] = len(re.findall(r"is not deployed by wisp", stderr))
        record["skipped_events"] = len(re.findall(r"event sources are not deployed", stderr))
        if code == 0:
            record.update(stack_facts(moto.url))
        return record
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wisp", default=os.path.join(ROOT, "build", "ci", "cli", "wisp"))
    parser.add_argument("--corpus", default="/work/corpus/serverless-patterns")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="skip the first N apps (to split a run)")
    parser.add_argument("--only", default="")
    parser.add_argument("--timeout", type=int, default=180)
    parser.add_argument("--json", default="")
    parser.add_argument("--apps", default="", help="a file naming the apps to deploy, one a line")
    parser.add_argument("--jobs", type=int, default=1, help="apps deployed at a time (one moto each)")
    args = parser.parse_args()
    wanted = None
    if args.apps:
        with open(args.apps) as f:
            wanted = {line.strip() for line in f if line.strip()}
    todo = []
    for i, (name, template) in enumerate(apps(args.corpus)):
        if args.only and args.only != name:
            continue
        if wanted is not None and name not in wanted:
            continue
        if i < args.start:
            continue
        if args.limit and i >= args.start + args.limit:
            break
        todo.append((name, template))
    records = []
    lock = threading.Lock()

    def worker(moto):
        while True:
            with lock:
                if not todo:
                    return
                name, template = todo.pop(0)
            record = run(args.wisp, args.corpus, name, template, moto, args.timeout)
            with lock:
                records.append(record)
                status = "ok" if record["exit"] == 0 else record.get("error", "")
                print(f"{len(records):4d} {name:60.60s} {record['exit']:3d} {record['seconds']:6.1f}s {status}",
                      flush=True)

    motos = [MotoForInfra().__enter__() for _ in range(max(args.jobs, 1))]
    try:
        threads = [threading.Thread(target=worker, args=(moto,)) for moto in motos]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for moto in motos:
            moto.__exit__(None, None, None)
    records.sort(key=lambda r: r["app"])
    total = len(records)
    ok = [r for r in records if r["exit"] == 0]
    clean = [r for r in ok if not r["skipped_resources"] and not r["skipped_events"]]
    stacked = [r for r in ok if r.get("stack", "").endswith("_COMPLETE")]
    print(f"\n{total} apps: {len(ok)} exit 0 ({100 * len(ok) / max(total, 1):.0f}%), {len(clean)} of them "
          f"with nothing skipped ({100 * len(clean) / max(total, 1):.0f}%); {len(stacked)} with an "
          f"infrastructure stack ({sum(r['stack_resources'] for r in stacked)} resources)")
    reasons = collections.Counter(r.get("error", "") for r in records if r["exit"] != 0)
    for reason, count in reasons.most_common(40):
        print(f"{count:4d}  {reason}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
