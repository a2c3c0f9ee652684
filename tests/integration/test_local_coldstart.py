"""`wisp local coldstart`: a function's INIT by module, and its package size.

Each function's code holds a dependency whose import takes far longer than anything else (it
spins the CPU for 300 ms at import time), so it must lead the breakdown; the package sizes are
the bytes the test wrote."""

import json
import os

import harness
from harness import WispTestCase

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Py:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: py/
      Environment:
        Variables:
          TABLE: orders
  Node:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: nodejs22.x
      CodeUri: node/
  Esm:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: nodejs22.x
      CodeUri: esm/
  Custom:
    Type: AWS::Serverless::Function
    Properties:
      Handler: unused
      Runtime: provided.al2023
      CodeUri: custom/
"""

SPIN_PY = "import time\n_end = time.perf_counter() + 0.3\nwhile time.perf_counter() < _end:\n    pass\n"
SPIN_JS = "const end = Date.now() + 300; while (Date.now() < end) {}\nmodule.exports = 1;\n"


class LocalColdStart(WispTestCase):
    def setUp(self):
        super().setUp()
        self.write("template.yaml", TEMPLATE)
        # python: the handler reads its environment at import and imports a slow package.
        self.write("py/app.py", "import os\nimport decimal\nimport slowpkg\nTABLE = os.environ['TABLE']\n"
                                "def handler(event, context):\n    return TABLE\n")
        self.write("py/slowpkg/__init__.py", SPIN_PY)
        self.write("py/data.bin", b"\0" * 300_000)
        self.write("node/app.js", "const slow = require('slow-dep');\nexports.handler = async () => slow;\n")
        self.write("node/node_modules/slow-dep/index.js", SPIN_JS)
        self.write("node/node_modules/slow-dep/package.json", '{"name":"slow-dep","main":"index.js"}')
        self.write("node/node_modules/slow-dep/blob.bin", b"\0" * 200_000)
        self.write("esm/package.json", '{"type":"module"}')
        self.write("esm/app.js", "import slow from 'slow-dep';\nexport const handler = async () => slow;\n")
        self.write("esm/node_modules/slow-dep/index.js", SPIN_JS)
        self.write("esm/node_modules/slow-dep/package.json", '{"name":"slow-dep","main":"index.js"}')
        self.write("custom/bootstrap", "#!/bin/sh\nexit 0\n", mode=0o755)

    def coldstart(self, function):
        proc = harness.wisp("local", "coldstart", function, "--output", "json", cwd=self.tmp)
        self.assertWisp(proc, 0)
        return json.loads(proc.stdout)

    def test_python_importtime(self):
        harness.require_peer("python3.12", "the python3.12 runtime")
        profile = self.coldstart("Py")
        self.assertEqual(profile["method"], "python -X importtime")
        self.assertNotIn("error", profile)  # TABLE came from the template's environment
        self.assertEqual(profile["packages"][0]["name"], "slowpkg")
        self.assertEqual(profile["modules"][0]["name"], "slowpkg")
        self.assertGreaterEqual(profile["loadMs"], profile["modules"][0]["selfMs"])
        app = next(m for m in profile["modules"] if m["name"] == "app")
        self.assertGreaterEqual(app["cumulativeMs"], profile["modules"][0]["selfMs"])
        names = {p["name"] for p in profile["packages"]}
        self.assertIn("(python standard library)", names)
        # Sizes: what the test wrote (bytecode caches the import left are counted too).
        sizes = {e["name"]: e["bytes"] for e in profile["package"]["largest"]}
        self.assertEqual(sizes["data.bin"], 300_000)
        self.assertEqual(profile["package"]["largest"][0]["name"], "data.bin")
        self.assertEqual(profile["package"]["unzippedLimitBytes"], 250 * 1024 * 1024)

        text = harness.wisp("local", "coldstart", "Py", cwd=self.tmp)
        self.assertWisp(text, 0, stdout_has=["python -X importtime", "slowpkg", "Package: "])

    def test_node_cpu_profile_commonjs_and_esm(self):
        harness.require_peer("node", "the nodejs runtime")
        for function in ("Node", "Esm"):
            profile = self.coldstart(function)
            self.assertEqual(profile["method"], "node --cpu-prof")
            self.assertNotIn("error", profile, function)
            self.assertEqual(profile["packages"][0]["name"], "slow-dep", function)
            self.assertEqual(profile["modules"][0]["name"], "node_modules/slow-dep/index.js",
                             function)
        sizes = {e["name"]: e["bytes"] for e in self.coldstart("Node")["package"]["largest"]}
        self.assertEqual(sizes["node_modules/slow-dep"],
                         200_000 + len(SPIN_JS) + len('{"name":"slow-dep","main":"index.js"}'))

    def test_failing_module_and_custom_runtime(self):
        harness.require_peer("python3.12", "the python3.12 runtime")
        self.write("py/app.py", "import slowpkg\nraise RuntimeError('boom at import')\n")
        profile = self.coldstart("Py")
        self.assertEqual(profile["error"], "RuntimeError: boom at import")
        self.assertEqual(profile["modules"][0]["name"], "slowpkg")  # measured up to the failure
        custom = self.coldstart("Custom")
        self.assertEqual(custom["method"], "")
        self.assertEqual(custom["modules"], [])
        self.assertIn("only python and node are broken down", custom["notes"][0])
        proc = harness.wisp("local", "coldstart", "Nope", cwd=self.tmp)
        self.assertWisp(proc, 2, stderr_has="function 'Nope' is not in template.yaml")


if __name__ == "__main__":
    harness.main()
