#!/usr/bin/env python3
"""`wisp logs` benchmarks (not run by CI): wisp beside its peers, in one run, as ratios.

1. Remote: reading one log group of N events from moto_server (all FilterLogEvents pages),
   `wisp logs --cw-log-group G -s 1h --output json` against `aws logs filter-log-events`
   (the AWS CLI paginates the same query), with hyperfine.
2. Local: reading a local log store of N records with a filter pattern,
   `wisp logs --local --filter ERROR` against `grep -h ERROR` over the same files (the
   floor: no JSON, no merge), and a JSON pattern against `jq` selecting the same records.

Usage: tests/bench/bench_logs.py [--build build/ci] [--events 20000] [--records 200000]
"""

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "testing",
       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "NO_COLOR": "1"}
os.environ.update(ENV)  # boto3 in this process too: dummy keys, never a real endpoint


def hyperfine(commands, runs, cwd):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(["hyperfine", "-N", "--warmup", "1", "--runs", str(runs), "--export-json", out.name,
                        *commands], cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=ENV)
        return [r["mean"] * 1000 for r in json.load(open(out.name))["results"]]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def moto():
    port = free_port()
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=ENV, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url + "/moto-api/", timeout=1).read()
                break
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait()


def remote(wisp, events, runs):
    import boto3
    with moto() as url:
        client = boto3.client("logs", endpoint_url=url, region_name="us-east-1")
        client.create_log_group(logGroupName="/bench")
        client.create_log_stream(logGroupName="/bench", logStreamName="2026/11/23/[$LATEST]" + "ab" * 16)
        start = int(time.time() * 1000) - 30 * 60_000
        for first in range(0, events, 5000):
            client.put_log_events(logGroupName="/bench", logStreamName="2026/11/23/[$LATEST]" + "ab" * 16,
                                  logEvents=[{"timestamp": start + i, "message": f"event {i} " + "x" * 80}
                                             for i in range(first, min(events, first + 5000))])
        wisp_cmd = f"{wisp} logs --endpoint-url {url} --cw-log-group /bench -s 1h --output json"
        aws_cmd = (f"aws --endpoint-url {url} logs filter-log-events --log-group-name /bench "
                   f"--start-time {start - 1} --output json")
        lines = subprocess.run(wisp_cmd.split(), capture_output=True, text=True, env=ENV).stdout.count("\n")
        assert lines == events, f"wisp printed {lines} of {events}"
        w, a = hyperfine([wisp_cmd, aws_cmd], runs, ROOT)
        print(f"remote, {events} events from moto: wisp {w:.0f} ms, aws CLI {a:.0f} ms, "
              f"ratio {a / w:.2f}x (aws / wisp)")


def local(wisp, records, runs):
    with tempfile.TemporaryDirectory() as project:
        open(os.path.join(project, "template.yaml"), "w").write(
            "Transform: AWS::Serverless-2016-10-31\nResources:\n"
            "  A:\n    Type: AWS::Serverless::Function\n    Properties: {Handler: a.h, Runtime: python3.12, CodeUri: .}\n"
            "  B:\n    Type: AWS::Serverless::Function\n    Properties: {Handler: a.h, Runtime: python3.12, CodeUri: .}\n")
        now = int(time.time() * 1000) - 60_000
        for function in ("A", "B"):
            directory = os.path.join(project, ".wisp", "logs", function)
            os.makedirs(directory)
            for stream in range(4):
                path = os.path.join(directory, f"20261123T104548Z-{stream:032x}.0000.jsonl")
                with open(path, "w") as f:
                    for i in range(records // 8):
                        level = "ERROR" if i % 10 == 0 else "INFO"
                        message = json.dumps({"level": level, "latency": i % 1000, "message": f"request {i}"})
                        f.write(json.dumps({"timestamp": now + i, "logGroup": f"/aws/lambda/{function}",
                                            "logStream": "2026/11/23/[$LATEST]" + f"{stream:032x}",
                                            "requestId": "", "message": message}) + "\n")
        files = " ".join(sorted(
            os.path.join(d, f) for d, _, fs in os.walk(os.path.join(project, ".wisp")) for f in fs))
        wisp_terms = f"{wisp} logs --local --filter ERROR -s 1h --output json"
        grep = f"grep -h ERROR {files}"
        w, g = hyperfine([wisp_terms, grep], runs, project)
        print(f"local, {records} records, --filter ERROR: wisp {w:.0f} ms, grep {g:.0f} ms (floor), "
              f"ratio {w / g:.2f}x (wisp / grep)")
        if shutil.which("jq"):
            wisp_json = f"{wisp} logs --local -s 1h --output json --filter {{$.latency>900}}"
            jq = f"jq -c 'select((.message|fromjson).latency > 900)' {files}"
            w, j = hyperfine([wisp_json, jq], runs, project)
            print(f"local, {records} records, JSON pattern: wisp {w:.0f} ms, jq {j:.0f} ms, "
                  f"ratio {j / w:.2f}x (jq / wisp)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "ci"))
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--records", type=int, default=200000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    wisp = os.path.abspath(os.path.join(args.build, "cli", "wisp"))
    for tool in ("hyperfine", "moto_server", "aws"):
        if shutil.which(tool) is None:
            sys.exit(f"missing peer: {tool}")
    remote(wisp, args.events, args.runs)
    local(wisp, args.records, args.runs)


if __name__ == "__main__":
    main()
