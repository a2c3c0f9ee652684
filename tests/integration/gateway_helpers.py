"""Helpers for the local gateway's integration tests: start `wisp local start-api` /
`start-lambda` on free ports, read the ports it prints, send raw HTTP requests, stop it."""

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import harness

API_LINE = re.compile(r"^(\S+) \((REST|HTTP) API, stage (\S+)\): http://[^:]+:(\d+)$")
LAMBDA_LINE = re.compile(r"^Lambda Invoke API: http://[^:]+:(\d+)$")
URL_LINE = re.compile(r"^(\S+) function URL \((\S+), (\S+)\): http://[^:]+:(\d+)/$")
WEBSOCKET_LINE = re.compile(r"^(\S+) \(WebSocket API, stage (\S+)\): ws://[^:]+:(\d+)$")


class Server:
    """A running `wisp local start-api|start-lambda`. `ports` maps API logical id → port
    (start-lambda: {"lambda": port}). Its stderr (access log, function logs) is collected."""

    def __init__(self, cwd, *args, command="start-api", extra_env=None, ready_timeout=60):
        self.cwd = cwd
        self.stdout_lines = []
        self.stderr_lines = []
        self.ports = {}
        self.stages = {}
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            [harness.WISP, "local", command, "--port", "0", *map(str, args)],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=harness.env(**(extra_env or {})),
            start_new_session=True,
            text=True,
            bufsize=1,
        )
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if not self._ready.wait(ready_timeout):
            self.stop()
            raise AssertionError(
                f"wisp local {command} did not become ready\nstdout:\n{self.stdout()}\n"
                f"stderr:\n{self.stderr()}"
            )
        if self.proc.poll() is not None:
            raise AssertionError(
                f"wisp local {command} exited {self.proc.returncode}\nstdout:\n{self.stdout()}\n"
                f"stderr:\n{self.stderr()}"
            )

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.stdout_lines.append(line)
            m = API_LINE.match(line)
            if m:
                self.ports[m.group(1)] = int(m.group(4))
                self.stages[m.group(1)] = m.group(3)
            m = LAMBDA_LINE.match(line)
            if m:
                self.ports["lambda"] = int(m.group(1))
            m = URL_LINE.match(line)
            if m:
                self.ports["url:" + m.group(1)] = int(m.group(4))
            m = WEBSOCKET_LINE.match(line)
            if m:
                self.ports[m.group(1)] = int(m.group(3))
                self.stages[m.group(1)] = m.group(2)
            if line.startswith("Ready."):
                self._ready.set()
        self._ready.set()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip("\n"))

    def stdout(self):
        return "\n".join(self.stdout_lines)

    def stderr(self):
        return "\n".join(self.stderr_lines)

    def port(self, api=None):
        if api is None:
            return next(iter(self.ports.values()))
        return self.ports[api]

    def request(self, api, method, path, body=None, headers=None, timeout=60):
        """One request on a fresh connection: (status, headers as list of (name, value), body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port(api), timeout=timeout)
        try:
            if isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def json(self, api, method, path, body=None, headers=None):
        status, response_headers, data = self.request(api, method, path, body, headers)
        if status != 200:
            raise AssertionError(f"{method} {path}: {status} {data!r}\n{self.stderr()[-3000:]}")
        return json.loads(data)

    def children(self):
        """PIDs of the server's child processes (its workers)."""
        result = []
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{self.proc.pid}/task"):
                with open(f"/proc/{self.proc.pid}/task/{task}/children") as f:
                    result += [int(pid) for pid in f.read().split()]
        return result

    def terminate(self, timeout=15):
        """SIGTERM to wisp itself (not its group); returns its exit status."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            for thread in self._threads:
                thread.join(timeout=5)
            for pipe in (self.proc.stdout, self.proc.stderr):
                with contextlib.suppress(OSError):
                    pipe.close()

    def stop(self):
        harness.stop(self.proc)
        for thread in self._threads:
            thread.join(timeout=5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(OSError):
                pipe.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def header(headers, name):
    """All values of a response header (case-insensitive), joined by '|'."""
    return "|".join(v for k, v in headers if k.lower() == name.lower())


def raw_exchange(port, data, timeout=10, read_all=True):
    """Sends raw bytes on a new connection and returns what the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        with contextlib.suppress(socket.timeout):
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if not read_all:
                    break
        return b"".join(chunks)


def wait_until(predicate, timeout=10, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
