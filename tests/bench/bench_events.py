#!/usr/bin/env python3
"""Local event sources benchmarks (not run by CI): wisp beside its peer, in one run, as ratios.

1. Throughput: N messages already in a queue of moto_server, drained by wisp's SQS poller into
   a Python handler that does nothing (batch 10), against a plain boto3 receive/delete loop
   (ReceiveMessage 10, DeleteMessageBatch) draining the same number from the same moto — the
   backend is the limit, so the goal is wisp within 1.2× of the loop.
2. Latency: messages sent one at a time (200 ms apart) to a queue wisp long-polls; the handler
   records when it starts, minus the message's SentTimestamp (moto's clock, this machine).
   Goal: p50 ≤ 50 ms.

Usage: tests/bench/bench_events.py [--wisp build/release/cli/wisp] [--messages 2000] [--latency 50]
       [--rounds 3]
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "testing",
       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", "NO_COLOR": "1"}
os.environ.update(ENV)

HANDLER = """
import json, os, time
def handler(event, context):
    out = os.environ.get("LATENCY_FILE")
    if out:
        now = time.time() * 1000
        with open(out, "a") as f:
            for r in event["Records"]:
                f.write("%.3f\\n" % (now - int(r["attributes"]["SentTimestamp"])))
    return {}
"""

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: bench-work
  Handler:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src
      Environment:
        Variables:
          LATENCY_FILE: "{latency}"
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: 10
"""


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


def client(url):
    import boto3

    return boto3.client("sqs", endpoint_url=url, region_name="us-east-1")


def fill(sqs, queue, n):
    for i in range(0, n, 10):
        sqs.send_message_batch(QueueUrl=queue, Entries=[
            {"Id": str(j), "MessageBody": f'{{"n": {i + j}}}'} for j in range(min(10, n - i))])


def remaining(sqs, queue):
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def boto_drain(url, queue, n):
    sqs = client(url)
    done = 0
    started = time.perf_counter()
    while done < n:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                       AttributeNames=["All"]).get("Messages", [])
        if not messages:
            continue
        sqs.delete_message_batch(QueueUrl=queue, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        done += len(messages)
    return time.perf_counter() - started


class Probe:
    """`wisp local start` serving the app's event sources."""

    def __init__(self, wisp, directory, url, create):
        args = [wisp, "local", "start", "-t", os.path.join(directory, "template.yaml"), "--endpoint-url", url,
                "--region", "us-east-1", "-p", "0", "--lambda-port", "0", "--no-watch"]
        if create:
            args.append("--create-resources")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     env=ENV, start_new_session=True)
        for line in self.proc.stdout:
            if line.startswith("Ready."):
                self.ready = time.perf_counter()
                return
        raise SystemExit("the probe did not start")

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wisp", default=os.path.join(ROOT, "build", "ci", "cli", "wisp"))
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--latency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    probe = args.wisp
    if not os.path.exists(probe):
        raise SystemExit(f"{probe} is missing: build wisp")
    work = tempfile.mkdtemp(prefix="bench-events-")
    try:
        latency_file = os.path.join(work, "latency.txt")
        os.makedirs(os.path.join(work, "src"))
        with open(os.path.join(work, "template.yaml"), "w") as f:
            f.write(TEMPLATE.format(latency=""))
        with open(os.path.join(work, "src", "app.py"), "w") as f:
            f.write(HANDLER)
        ratios = []
        with moto() as url:
            sqs = client(url)
            queue = sqs.create_queue(QueueName="bench-work")["QueueUrl"]
            for round_ in range(args.rounds):
                fill(sqs, queue, args.messages)
                boto = boto_drain(url, queue, args.messages)
                fill(sqs, queue, args.messages)
                p = Probe(probe, work, url, create=False)
                while remaining(sqs, queue) > 0:
                    time.sleep(0.05)
                wisp = time.perf_counter() - p.ready
                p.stop()
                ratios.append(wisp / boto)
                print(f"round {round_ + 1}: {args.messages} messages — boto3 loop {boto:.2f} s "
                      f"({args.messages / boto:.0f}/s), wisp {wisp:.2f} s ({args.messages / wisp:.0f}/s), "
                      f"ratio {wisp / boto:.2f}×")
            print(f"throughput: wisp / boto3 loop, median of {args.rounds}: {statistics.median(ratios):.2f}× "
                  f"(goal ≤ 1.2×)")

            with open(os.path.join(work, "template.yaml"), "w") as f:
                f.write(TEMPLATE.format(latency=latency_file))
            p = Probe(probe, work, url, create=False)
            sqs.send_message(QueueUrl=queue, MessageBody="warm-up")
            time.sleep(1.0)
            open(latency_file, "w").close()
            for i in range(args.latency):
                sqs.send_message(QueueUrl=queue, MessageBody=f"{i}")
                time.sleep(0.2)
            time.sleep(1.0)
            p.stop()
            values = sorted(float(v) for v in open(latency_file).read().split())
            p50 = statistics.median(values)
            p90 = values[int(len(values) * 0.9) - 1]
            print(f"latency: message sent → handler start, {len(values)} messages: p50 {p50:.1f} ms, "
                  f"p90 {p90:.1f} ms, max {values[-1]:.1f} ms (goal p50 ≤ 50 ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
