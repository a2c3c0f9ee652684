"""The README's first Quick start block, as a newcomer runs it: after the build lines, its
`wisp init` and `wisp local start-api` lines run verbatim (with the wisp under test standing in
for ./build/release/cli/wisp) and the sample app answers on http://127.0.0.1:3000."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest
import urllib.error
import urllib.request

import harness
from harness import SOURCE_DIR, WISP, WispTestCase


def quick_start_blocks():
    with open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class QuickStart(WispTestCase):
    def test_readme_has_exactly_two_blocks_and_the_second_is_what_ci_runs(self):
        blocks = quick_start_blocks()
        self.assertEqual(len(blocks), 2)
        self.assertIn("cmake --workflow --preset ci", blocks[1])
        with open(os.path.join(SOURCE_DIR, ".ci", "run"), encoding="utf-8") as f:
            self.assertIn("n == 2", f.read())

    def test_sample_app_is_served_on_port_3000(self):
        lines = [line for line in quick_start_blocks()[0].splitlines() if line.strip()]
        self.assertTrue(lines[0].startswith("./packaging/install-deps.sh"), lines)
        self.assertTrue(lines[1].startswith("cmake --preset release"), lines)
        # A newcomer waits only for what they run: the wisp target, not the test suite.
        self.assertRegex(lines[1], r"cmake --build --preset release --target wisp$")
        app_lines = lines[2:]
        self.assertTrue(any("wisp init" in line for line in app_lines), app_lines)
        self.assertTrue(app_lines[-1].rstrip().endswith("wisp local start-api"), app_lines)
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", 3000)) == 0:
                raise unittest.SkipTest("PEER MISSING: port 3000 is in use on this machine")

        # A stand-in repository root whose build/release/cli/wisp is the wisp under test.
        root = self.path("clone")
        os.makedirs(os.path.join(root, "build", "release", "cli"))
        os.symlink(WISP, os.path.join(root, "build", "release", "cli", "wisp"))
        last = app_lines[-1]
        self.assertTrue(last.startswith("cd build/hello && "), last)
        script = "set -e\n" + "\n".join(app_lines[:-1]) + "\n" + last.replace(
            "cd build/hello && ", "cd build/hello && exec ") + "\n"
        server = subprocess.Popen(["bash", "-c", script], cwd=root, env=harness.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            status, body = None, b""
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    status, body = get("http://127.0.0.1:3000/hello")
                    break
                except OSError:
                    time.sleep(0.1)
            self.assertIsNone(server.poll(), server.stderr.read() if server.poll() is not None else "")
            self.assertEqual((status, json.loads(body)), (200, {"message": "hello world"}))
            status, body = get("http://127.0.0.1:3000/hello/newcomer")
            self.assertEqual((status, json.loads(body)), (200, {"message": "hello newcomer"}))
            self.assertTrue(os.path.isfile(os.path.join(root, "build", "hello", "template.yaml")))
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGINT)
            try:
                out, err = server.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                out, err = server.communicate()
        self.assertIn("http://127.0.0.1:3000", err + out)
        # Ctrl-C leaves nothing behind: no process of the session survives.
        leftover = subprocess.run(["pgrep", "-s", str(server.pid)], capture_output=True, text=True)
        self.assertEqual(leftover.stdout.strip(), "")


if __name__ == "__main__":
    harness.main()
