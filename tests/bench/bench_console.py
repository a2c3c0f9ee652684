#!/usr/bin/env python3
"""The console's cost to the gateway: `wisp local start-api` throughput with the console open
and streaming (two event-stream clients reading /_wisp/api/events, as two browser tabs would)
against the same server with --no-console; and the console's memory after many invocations.

The function is tests/bench/native_runtime.cpp (built as wisp_native_runtime), a custom runtime
that does no work: a request costs only the gateway's and the Runtime API's share, so the
console's share (its observer on every invocation, its ticks) is as visible as it can be.

With --rounds N the two configurations run side by side in each round (the machine's speed
drifts within minutes), in turn first (odd rounds without the console first, even rounds with
it, or the other way round with --console-first: whatever favours the first or the second
server of a round cancels out), and the ratio is the median of the per-round ratios, printed with
their spread (lowest, quartiles, highest), the median of each order and the geometric mean of
those two.
Goal (issue 19):
with the console streaming ≥ 0.95× the throughput without it. Memory: wisp's own RSS (not its
workers') after each round with the console; bounded means it stops growing once the rings are
full. Not run by CI.

    cmake --build --preset release --target wisp wisp_native_runtime
    tests/bench/bench_console.py [--duration 10] [--rounds 3] [--wisp build/release/cli/wisp]
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_gateway import SOURCE, Server, free_port, wrk  # noqa: E402


class EventStream:
    """Reads an event stream until stopped; counts the bytes and events it got."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"GET /_wisp/api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        self.bytes = 0
        self.events = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        self.sock.settimeout(0.5)
        while not self.stop.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            self.bytes += len(data)
            self.events += data.count(b"\nevent: ") + data.startswith(b"event: ")

    def close(self):
        self.stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def quartiles(values):
    """The first and third quartiles (statistics.quantiles' inclusive method; both the value
    itself for one value)."""
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--console-first", action="store_true",
                        help="round 1 (and every odd round) starts with the console's server")
    parser.add_argument("--wisp", default=os.path.join(SOURCE, "build", "release", "cli", "wisp"))
    args = parser.parse_args()
    args.wisp = os.path.abspath(args.wisp)  # the servers run in a scratch directory
    native = os.path.join(os.path.dirname(os.path.dirname(args.wisp)), "tests", "wisp_native_runtime")
    for tool, what in (("wrk", "wrk"), (args.wisp, "wisp"), (native, "wisp_native_runtime")):
        if shutil.which(tool) is None and not os.access(tool, os.X_OK):
            sys.exit(f"{what} missing ({tool})")
    # Outside /tmp: the functions (in Lambda's file layout) have a private /tmp.
    scratch = os.path.join(os.path.expanduser("~/.cache"), "wisp-bench-tmp")
    os.makedirs(scratch, exist_ok=True)
    work = tempfile.mkdtemp(prefix="wisp-bench-console-", dir=scratch)
    os.makedirs(os.path.join(work, "native"))
    shutil.copy(os.path.join(HERE, "gateway", "native.yaml"), os.path.join(work, "template.yaml"))
    shutil.copy(native, os.path.join(work, "native", "bootstrap"))

    def start(console):
        port = free_port()
        argv = [args.wisp, "local", "start-api", "--port", str(port), "--warm-containers", "EAGER",
                "--no-watch"] + ([] if console else ["--no-console"])
        return Server("console" if console else "plain", argv, work, port, "/native")

    ratios, rows, memory = [], [], []

    def stop(server):
        server.stop()
        # Its log store (tens of MB a run) is written back now, not during the next run.
        os.sync()

    for round_ in range(1, args.rounds + 1):
        results = {}
        order = (False, True) if (round_ % 2 == 1) != args.console_first else (True, False)
        held = None  # the console's server: its memory is checked once both runs are done
        try:
            for console in order:
                server = start(console)
                if console:
                    held = server
                streams = []
                try:
                    wrk(server.url(), 2, args.connections, 2, parse=False)  # warm up
                    if console:
                        streams = [EventStream(server.port) for _ in range(2)]
                        time.sleep(0.5)
                    result = wrk(server.url(), 2, args.connections, args.duration, server.proc.pid)
                    if console:
                        result["events"] = sum(s.events for s in streams)
                        result["stream_kb"] = sum(s.bytes for s in streams) / 1024
                    results[console] = result
                finally:
                    for s in streams:
                        s.close()
                    if not console:
                        stop(server)
            # Memory after as many invocations again (the rings are full by now), after the
            # round's two measured runs (which stay side by side in time).
            before = rss_mb(held.proc.pid)
            wrk(held.url(), 2, args.connections, args.duration, parse=False)
            memory.append((before, rss_mb(held.proc.pid)))
        finally:
            if held is not None:
                stop(held)
        ratio = results[True]["rps"] / results[False]["rps"]
        ratios.append(ratio)
        rows.append((round_, "plain" if order[0] is False else "console", results[False],
                     results[True], ratio))
        print(f"round {round_} ({rows[-1][1]} first): {results[False]['rps']:.0f} → "
              f"{results[True]['rps']:.0f} req/s, {ratio:.3f}", file=sys.stderr, flush=True)

    print(f"{'round':>5}  {'first':>7}  {'no console req/s':>16}  {'console req/s':>13}  "
          f"{'ratio':>6}  {'CPU µs/req':>17}  {'events':>6}  {'streamed':>9}")
    for round_, first, plain, console, ratio in rows:
        print(f"{round_:>5}  {first:>7}  {plain['rps']:>16.0f}  {console['rps']:>13.0f}  "
              f"{ratio:>6.3f}  {plain['cpu_us']:>7.1f} → {console['cpu_us']:>6.1f}  "
              f"{console['events']:>6}  {console['stream_kb']:>6.0f} KB")
    median = statistics.median(ratios)
    low, q1, q3, high = min(ratios), *quartiles(ratios), max(ratios)
    print(f"\nthroughput with the console streaming: {median:.3f}× without it "
          f"(goal ≥ 0.95: {'met' if median >= 0.95 else 'NOT met'}); {len(ratios)} rounds, "
          f"spread {low:.3f} [{q1:.3f} – {q3:.3f}] {high:.3f} (lowest [quartiles] highest)")
    by_order = {}
    for first in ("plain", "console"):
        mine = [row[4] for row in rows if row[1] == first]
        if mine:
            by_order[first] = statistics.median(mine)
            print(f"  rounds with {'no console' if first == 'plain' else 'the console'} first: "
                  f"median {by_order[first]:.3f} ({len(mine)})")
    if len(by_order) == 2:
        # Whatever the second server of a round gains or loses cancels out in the geometric
        # mean of the two orders' medians.
        print(f"  both orders weighed alike: {(by_order['plain'] * by_order['console']) ** 0.5:.3f}")
    plain_cpu = statistics.median(row[2]["cpu_us"] for row in rows)
    console_cpu = statistics.median(row[3]["cpu_us"] for row in rows)
    print(f"  CPU per request (wisp and its workers), median: {plain_cpu:.1f} µs without, "
          f"{console_cpu:.1f} µs with the console ({console_cpu - plain_cpu:+.1f})")
    for i, (before, after) in enumerate(memory, 1):
        print(f"round {i}: wisp's RSS {before:.1f} MB → {after:.1f} MB after another "
              f"{args.duration} s of requests")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
