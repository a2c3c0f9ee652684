#!/usr/bin/env python3
"""Streaming and authorizer benchmarks for `wisp local start-api` (issue 18). Not run by CI.

1. Time to first byte of a streamed response after the function writes its first chunk:
   a RESPONSE_STREAM function URL whose Node handler writes its wall-clock time
   (performance.timeOrigin + performance.now(), microseconds) as the first chunk; the client
   notes its own wall clock when the chunk arrives. Both clocks are the machine's, so the
   difference is the chunk's trip: runtime → wisp's Runtime API → the client's socket.
   Goal: ≤ 2 ms.
2. What a JWT authorizer with a cached key adds per request: the same HTTP API route with and
   without the authorizer, one keep-alive connection, the same token every time (the first
   request fetches the keys). Goal: < 50 µs.

    cmake --preset release && cmake --build --preset release --target wisp
    tests/bench/bench_web.py [--wisp build/release/cli/wisp] [--samples 500]
"""

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Issuer: {Type: String}
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          Jwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration: {issuer: !Ref Issuer, audience: [bench]}
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      CodeUri: src/
      Handler: hello.handler
      Events:
        Open: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /open, Method: GET}}
        Guarded: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /guarded, Method: GET, Auth: {Authorizer: Jwt}}}
  Stream:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      CodeUri: src/
      Handler: stream.handler
      Timeout: 30
      FunctionUrlConfig: {AuthType: NONE, InvokeMode: RESPONSE_STREAM}
"""

HELLO = "exports.handler = async () => ({ statusCode: 200, body: 'hi' });\n"
STREAM = r"""
const { performance } = require('perf_hooks');
exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  stream.setContentType('text/plain');
  const us = Math.round((performance.timeOrigin + performance.now()) * 1000);
  stream.write(String(us) + '\n');
  await new Promise((r) => setTimeout(r, 5));
  stream.end('done');
});
"""


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def start(wisp, cwd, args):
    proc = subprocess.Popen([wisp, "local", "start-api", "--port", "0", "--no-watch", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    ports = {}
    for line in proc.stdout:
        m = re.match(r"^(\S+) \(HTTP API, stage \S+\): http://[^:]+:(\d+)$", line.strip())
        if m:
            ports[m.group(1)] = int(m.group(2))
        m = re.match(r"^(\S+) function URL \(\S+, \S+\): http://[^:]+:(\d+)/$", line.strip())
        if m:
            ports["url:" + m.group(1)] = int(m.group(2))
        if line.startswith("Ready."):
            break
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, ports


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def ttfb(port, samples):
    delays = []
    for _ in range(samples):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = sock.recv(65536)
                now = time.time_ns() // 1000
                if not chunk:
                    break
                data += chunk
                m = re.search(rb"\r\n\r\n[0-9a-f]+\r\n(\d+)\n", data)
                if m:
                    delays.append((now - int(m.group(1))) / 1000.0)
                    break
            while sock.recv(65536):
                pass
    return delays


def per_request(port, path, token, count):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        times.append((time.perf_counter() - started) * 1e6)
    conn.close()
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wisp", default=os.path.join(ROOT, "build", "release", "cli", "wisp"))
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    tmp = tempfile.mkdtemp(prefix="wisp-bench-web-")
    try:
        os.makedirs(f"{tmp}/src")
        open(f"{tmp}/template.yaml", "w").write(TEMPLATE)
        open(f"{tmp}/src/hello.js", "w").write(HELLO)
        open(f"{tmp}/src/stream.js", "w").write(STREAM)
        n = b64(numbers.n.to_bytes(256, "big"))
        e = b64(numbers.e.to_bytes(3, "big"))
        json.dump({"keys": [{"kty": "RSA", "kid": "k", "n": n, "e": e}]}, open(f"{tmp}/jwks.json", "w"))
        issuer = "https://issuer.bench"
        head = b64(json.dumps({"alg": "RS256", "kid": "k"}).encode())
        body = b64(json.dumps({"iss": issuer, "aud": "bench", "sub": "b",
                               "exp": int(time.time()) + 3600}).encode())
        signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        token = f"{head}.{body}.{b64(signature)}"
        proc, ports = start(args.wisp, tmp, ["--warm-containers", "EAGER", "--parameter-overrides",
                                             f"Issuer={issuer}", "--jwks", f"{issuer}={tmp}/jwks.json"])
        try:
            ttfb(ports["url:Stream"], 20)  # warm
            delays = ttfb(ports["url:Stream"], args.samples)
            print(f"streamed first chunk, function write → client: median {statistics.median(delays):.3f} ms, "
                  f"p99 {percentile(delays, 99):.3f} ms (goal ≤ 2 ms)")
            port = ports["Api"]
            per_request(port, "/open", None, 200)
            per_request(port, "/guarded", token, 200)
            rounds = []
            for _ in range(5):
                open_times = per_request(port, "/open", None, args.samples)
                guarded = per_request(port, "/guarded", token, args.samples)
                rounds.append(statistics.median(guarded) - statistics.median(open_times))
            print(f"JWT authorizer (cached key), added per request: median of 5 rounds "
                  f"{statistics.median(rounds):.1f} µs (rounds: {', '.join(f'{r:.1f}' for r in rounds)}; "
                  f"goal < 50 µs)")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
