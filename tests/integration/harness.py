"""Shared helpers for wisp's integration tests.

Each test drives the built `wisp` binary (WISP_BIN) against real peers: runtimes,
moto_server, docker-registry, the aws CLI. Peers are started on free loopback ports and
stopped by PID. A test whose optional peer is missing raises `unittest.SkipTest` with a
loud reason; `main()` then exits 77 so CTest reports the file as skipped, never passed.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

SOURCE_DIR = os.environ.get(
    "WISP_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
)
WISP = os.environ.get("WISP_BIN", os.path.join(SOURCE_DIR, "build", "dev", "cli", "wisp"))
FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures")
PEERS_DIR = os.environ.get(
    "WISP_PEERS_DIR",
    os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "wisp-peers"),
)

# No AWS client started by a test may ever reach a non-loopback address.
SAFE_ENV = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "NO_COLOR": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
os.environ.update(SAFE_ENV)
for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(var, None)

# Scratch directories live outside /tmp: functions run in Lambda's file layout get a private
# /tmp (as on Lambda), and tests exchange files with their functions through these directories.
SCRATCH = os.environ.get(
    "WISP_TEST_TMPDIR",
    os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "wisp-test-tmp"),
)
os.makedirs(SCRATCH, exist_ok=True)
tempfile.tempdir = SCRATCH
os.environ["TMPDIR"] = SCRATCH


def env(**extra):
    """The environment for a child process: ours, the safe AWS settings, then `extra`."""
    result = dict(os.environ)
    result.update(SAFE_ENV)
    result.update({k: str(v) for k, v in extra.items()})
    return result


def wisp(*args, cwd=None, input=None, timeout=120, extra_env=None, check=None):
    """Runs wisp; returns CompletedProcess with text stdout/stderr."""
    proc = subprocess.run(
        [WISP, *map(str, args)],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(**(extra_env or {})),
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    if check is not None and proc.returncode != check:
        raise AssertionError(
            f"wisp {' '.join(map(str, args))} exited {proc.returncode}, expected {check}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=30.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def stop(proc, timeout=10):
    """Stops a process started with start_new_session=True: SIGTERM to its group, then KILL."""
    if proc.poll() is not None:
        return proc.returncode
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()


def require_peer(executable, why=""):
    path = shutil.which(executable)
    if path is None:
        raise unittest.SkipTest(f"PEER MISSING: {executable} not found{(' (' + why + ')') if why else ''}")
    return path


class Moto:
    """moto_server on a free loopback port. Use as a context manager."""

    def __init__(self):
        self.port = None
        self.proc = None
        self.log = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        require_peer("moto_server", "AWS API emulator")
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            ["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env(),
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("moto_server exited early")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).read()
                return self
            time.sleep(0.1)
        raise AssertionError("moto_server did not start within 60 s")

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(self.url + "/moto-api/reset", method="POST"))

    def __exit__(self, *exc):
        stop(self.proc)
        self.log.close()


class WispTestCase(unittest.TestCase):
    """A test with its own temp dir (kept when the test fails, for inspection)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=f"wisp-{self.id().split('.')[-1]}-")
        self._outcome_failed = False

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        failed = False
        if outcome is not None:
            result = getattr(outcome, "result", None)
            if result is not None:
                failed = any(t is self for t, _ in result.failures + result.errors)
        if failed:
            print(f"\nkept temp dir for inspection: {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def write(self, relative, content, mode=None):
        full = self.path(relative)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w" if isinstance(content, str) else "wb") as f:
            f.write(content)
        if mode is not None:
            os.chmod(full, mode)
        return full

    def read(self, relative):
        with open(self.path(relative)) as f:
            return f.read()

    def assertWisp(self, proc, code, stdout_has=None, stderr_has=None):
        msg = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        self.assertEqual(proc.returncode, code, msg)
        for needle in [stdout_has] if isinstance(stdout_has, str) else (stdout_has or []):
            self.assertIn(needle, proc.stdout, msg)
        for needle in [stderr_has] if isinstance(stderr_has, str) else (stderr_has or []):
            self.assertIn(needle, proc.stderr, msg)


def load_json(text):
    return json.loads(text)


def main():
    """Runs the calling module's tests. Exit 0 all passed; 77 if anything was skipped
    (CTest shows the file as skipped, and the reasons are printed loudly); 1 on failure."""
    program = unittest.main(module="__main__", exit=False, verbosity=2)
    result = program.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped:
        print("\n" + "=" * 70, file=sys.stderr)
        for test, reason in result.skipped:
            print(f"SKIPPED: {test.id()}: {reason}", file=sys.stderr)
        print("=" * 70, file=sys.stderr)
        sys.exit(77)
    sys.exit(0)
