"""Streamed responses and a client that does not read: wisp stops reading the function's
response (the Runtime API connection) while the client's backlog is full, so the function's
writes block — its stream's write() returns false and it waits for 'drain' — and wisp's memory
stays where it was, however much the function writes (50 MB here). Also Lambda's bandwidth for
streamed responses: after the first 6 MB, at most 2 MB/s."""

import json
import os
import shutil
import socket
import tempfile
import time
import unittest

import harness
from gateway_helpers import Server, wait_until

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Flood:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Runtime: nodejs20.x
      Handler: flood.handler
      Timeout: 120
      FunctionUrlConfig: {AuthType: NONE, InvokeMode: RESPONSE_STREAM}
"""

FLOOD = r"""
const fs = require("fs");
const { once } = require("events");
exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  const q = event.queryStringParameters || {};
  const total = Number(q.mb || 50) * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 120);
  let written = 0, pauses = 0;
  const report = (done) => {
    if (q.progress) fs.writeFileSync(q.progress, JSON.stringify({ written, pauses, done }));
  };
  stream.setContentType("application/octet-stream");
  while (written < total) {
    const ok = stream.write(chunk);
    written += chunk.length;
    if (!ok) {
      pauses++;
      report(false);
      await once(stream, "drain");
    }
  }
  stream.end();
  report(true);
});
"""


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def read_response(port, path):
    """GET over a raw socket; returns the body (chunked transfer decoded) as its length."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = bytearray()
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0], head
    size, pos = 0, 0
    while True:  # chunked (walked by index: slicing the rest per chunk is quadratic)
        end = body.index(b"\r\n", pos)
        n = int(body[pos:end], 16)
        if n == 0:
            return size
        size += n
        pos = end + 2 + n + 2


class StreamBackpressureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_peer("node", "Node.js runtime")
        cls.tmp = tempfile.mkdtemp(prefix="wisp-backpressure-")
        with open(f"{cls.tmp}/template.yaml", "w") as f:
            f.write(TEMPLATE)
        os.makedirs(f"{cls.tmp}/src")
        with open(f"{cls.tmp}/src/flood.js", "w") as f:
            f.write(FLOOD)
        cls.server = Server(cls.tmp, "--no-watch")
        cls.port = cls.server.port("url:Flood")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def progress(self, path):
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def test_a_client_that_does_not_read_blocks_the_function_not_memory(self):
        # Warm: a worker exists and wisp's buffers have their working size.
        self.assertEqual(read_response(self.port, "/?mb=1"), 1024 * 1024)
        pid = self.server.proc.pid
        baseline = rss_kb(pid)
        progress = os.path.join(self.tmp, "progress.json")
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(("127.0.0.1", self.port))
        try:
            client.sendall(f"GET /?mb=50&progress={progress} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            # The function pauses on write() returning false, and stays paused.
            self.assertTrue(wait_until(lambda: (self.progress(progress) or {}).get("pauses", 0) >= 1,
                                       timeout=60), self.server.stderr()[-2000:])
            last = None
            for _ in range(100):
                time.sleep(0.3)
                now = self.progress(progress)
                if now == last:
                    break
                last = now
            samples = []
            for _ in range(5):
                samples.append(rss_kb(pid))
                time.sleep(0.2)
            stalled = self.progress(progress)
            self.assertFalse(stalled["done"])
            self.assertLess(stalled["written"], 25 * 1024 * 1024, stalled)
            grown_mb = (max(samples) - baseline) / 1024
            self.assertLess(grown_mb, 20, f"wisp's RSS grew {grown_mb:.1f} MB while the function "
                                          f"wrote {stalled['written']} bytes to a stalled client")
        finally:
            client.close()
        # The client went away: the rest of the response is read and dropped, the function ends.
        self.assertTrue(wait_until(lambda: (self.progress(progress) or {}).get("done"), timeout=60))
        done = self.progress(progress)
        self.assertEqual(done["written"], 50 * 1024 * 1024)
        self.assertGreaterEqual(done["pauses"], 1)

    def test_bandwidth_after_the_first_6_mb(self):
        start = time.monotonic()
        self.assertEqual(read_response(self.port, "/?mb=10"), 10 * 1024 * 1024)
        elapsed = time.monotonic() - start
        # 6 MB uncapped, then 4 MB at 2 MB/s: at least 2 s (a lower bound the cap guarantees).
        self.assertGreaterEqual(elapsed, 1.5)


if __name__ == "__main__":
    harness.main()
