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
                                    [--jobs N] [--redeploy]

--apps FILE deploys only the apps FILE names (one a line); --jobs N deploys N apps at a time,
each against its own moto_server. --redeploy deploys every app that exits 0 a second time,
unchanged, through a recording proxy (tests/integration/aws_proxy.py), and records the
mutating calls that second deploy made, as the proxy saw them: every request but GET/HEAD
whose action (query `Action=` or JSON `X-Amz-Target`) is not a Describe/Get/List read.
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
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402  (sets the safe AWS environment)
from aws_proxy import FaultProxy  # noqa: E402
from test_deploy_infra import MotoForInfra  # noqa: E402

READS = ("Describe", "Get", "List", "Head")


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


def service_of(record):
    """The signing service of a recorded request (its Authorization header's scope)."""
    m = re.search(r"Credential=[^/]*/[^/]*/[^/]*/([^/]*)/", record["headers"].get("authorization", ""))
    return m.group(1) if m else "?"


def mutating(records):
    """The recorded requests that can change something: service and action (or method and path)."""
    out = []
    for r in records:
        if r["method"] in ("GET", "HEAD"):
            continue
        action = r["target"].rsplit(".", 1)[-1] if r["target"] else ""
        if not action and r["body"] and "x-www-form-urlencoded" in r["headers"].get("content-type", ""):
            try:
                action = dict(urllib.parse.parse_qsl(r["body"].decode())).get("Action", "")
            except UnicodeDecodeError:
                action = ""
        if action.startswith(READS):
            continue
        out.append(f"{service_of(r)}:{action or r['method'] + ' ' + r['path']}")
    return out


def redeploy(wisp, template, moto, cwd, timeout):
    """The same app deployed again with nothing changed, through a recording proxy."""
    with FaultProxy(moto.url) as proxy:
        try:
            proc = subprocess.run([wisp, "deploy", "--endpoint-url", proxy.url, "--stack-name", "corpus",
                                   "--resolve-s3", "-t", template, "--no-fail-on-empty-changeset",
                                   "--output", "json"],
                                  cwd=cwd, capture_output=True, text=True, timeout=timeout, env=harness.env())
        except subprocess.TimeoutExpired:
            return {"redeploy_exit": -1}
        with proxy.lock:
            records = list(proxy.records)
    calls = mutating(records)
    record = {"redeploy_exit": proc.returncode, "redeploy_mutating": len(calls), "redeploy_calls": calls}
    try:
        record["redeploy_status"] = json.loads(proc.stdout).get("status", "")
    except ValueError:
        pass
    if proc.returncode != 0:
        record["redeploy_error"] = classify(proc.stderr)
    return record


def run(wisp, corpus, name, template, moto, timeout, again=False):
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
            if again:
                record.update(redeploy(wisp, template, moto, os.path.join(tmp, "app"), timeout))
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
    parser.add_argument("--redeploy", action="store_true",
                        help="deploy each app that exits 0 again, unchanged, and record its mutating calls")
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
            record = run(args.wisp, args.corpus, name, template, moto, args.timeout, args.redeploy)
            with lock:
                records.append(record)
                status = "ok" if record["exit"] == 0 else record.get("error", "")
                if "redeploy_exit" in record:
                    status += f"; again: exit {record['redeploy_exit']}, {record.get('redeploy_mutating', '?')} " \
                              f"mutating {sorted(set(record.get('redeploy_calls', [])))[:4]}"
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
    if args.redeploy:
        again = [r for r in ok if "redeploy_exit" in r]
        quiet = [r for r in again if r["redeploy_exit"] == 0 and r.get("redeploy_mutating") == 0]
        print(f"deployed again unchanged: {len(again)}; {len(quiet)} made no mutating call")
        for r in again:
            if r not in quiet:
                print(f"  {r['app']}: exit {r['redeploy_exit']}, {r.get('redeploy_mutating', '?')} mutating: "
                      f"{', '.join(sorted(set(r.get('redeploy_calls', []))))} {r.get('redeploy_error', '')}")
    reasons = collections.Counter(r.get("error", "") for r in records if r["exit"] != 0)
    for reason, count in reasons.most_common(40):
        print(f"{count:4d}  {reason}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
