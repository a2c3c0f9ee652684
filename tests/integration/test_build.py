"""`wisp build`: staging with npm, pip and make, deterministic zips checked with unzip -Z,
the cache, and failures that show the tool's output while the other functions are kept."""

import json
import os
import shutil
import subprocess
import zipfile

import harness
from harness import WispTestCase, wisp

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  PyFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: py/
      Handler: app.handler
      Runtime: python3.12
  NodeFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: node/
      Handler: index.handler
      Runtime: nodejs22.x
  MakeFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: makefile
    Properties:
      CodeUri: custom/
      Handler: bootstrap
      Runtime: provided.al2023
  PlainFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: plain/
      Handler: app.handler
      Runtime: python3.12
"""


def make_wheel(path):
    """A pure-Python wheel (installable offline)."""
    files = {
        "localdep/__init__.py": "VALUE = 42\n",
        "localdep-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: localdep\nVersion: 1.0\n",
        "localdep-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + "localdep-1.0.dist-info/RECORD,,\n"
    files["localdep-1.0.dist-info/RECORD"] = record
    with zipfile.ZipFile(path, "w") as z:
        for name, content in files.items():
            z.writestr(name, content)


class Build(WispTestCase):
    def setUp(self):
        super().setUp()
        self.write("template.yaml", TEMPLATE)
        self.write("py/app.py", "import localdep\ndef handler(e, c):\n    return localdep.VALUE\n")
        self.write("py/requirements.txt", "./wheels/localdep-1.0-py3-none-any.whl\n")
        os.makedirs(self.path("py/wheels"))
        make_wheel(self.path("py/wheels/localdep-1.0-py3-none-any.whl"))
        self.write("py/__pycache__/app.cpython-312.pyc", "junk")
        self.write("node/index.js", "exports.handler = async () => require('dep').value;\n")
        self.write("node/dep/package.json", json.dumps({"name": "dep", "version": "1.0.0"}))
        self.write("node/dep/index.js", "exports.value = 7;\n")
        self.write("node/package.json", json.dumps(
            {"name": "fn", "version": "1.0.0", "dependencies": {"dep": "file:./dep"},
             "devDependencies": {}}))
        self.write("node/node_modules/stale/index.js", "not copied\n")
        self.write("custom/Makefile",
                   "build-MakeFunction:\n\tcp bootstrap $(ARTIFACTS_DIR)/bootstrap\n"
                   "\tchmod 755 $(ARTIFACTS_DIR)/bootstrap\n")
        self.write("custom/bootstrap", "#!/bin/sh\necho hi\n")
        self.write("plain/app.py", "def handler(e, c):\n    return 1\n")
        self.write("plain/.wispignore", "tests/\n")
        self.write("plain/tests/test_app.py", "x\n")
        self.env = {"PIP_NO_INDEX": "1", "npm_config_offline": "true"}

    def build(self, *args, code=0):
        proc = wisp("build", *args, cwd=self.tmp, extra_env=self.env, timeout=300)
        self.assertWisp(proc, code)
        return proc

    def listing(self, zip_path):
        return subprocess.run(["unzip", "-Z1", zip_path], capture_output=True, text=True,
                              check=True).stdout.split()

    def test_builds_zips_with_dependencies(self):
        harness.require_peer("npm", "builds Node.js functions")
        harness.require_peer("unzip", "lists zips")
        proc = self.build("--output", "json")
        report = json.loads(proc.stdout)
        by_id = {a["logicalId"]: a for a in report["artifacts"]}
        self.assertEqual(set(by_id), {"PyFunction", "NodeFunction", "MakeFunction", "PlainFunction"})
        build = self.path(".wisp", "build")
        py = self.listing(os.path.join(build, "PyFunction.zip"))
        self.assertIn("app.py", py)
        self.assertIn("localdep/__init__.py", py)
        self.assertNotIn("__pycache__/app.cpython-312.pyc", py)
        node = self.listing(os.path.join(build, "NodeFunction.zip"))
        self.assertIn("index.js", node)
        self.assertIn("node_modules/dep/index.js", node)
        self.assertNotIn("node_modules/stale/index.js", node)
        self.assertEqual(self.listing(os.path.join(build, "MakeFunction.zip")), ["bootstrap"])
        self.assertEqual(self.listing(os.path.join(build, "PlainFunction.zip")), ["app.py"])
        # unzip -Z: Unix modes, the fixed 1980 timestamp.
        info = subprocess.run(["unzip", "-Z", os.path.join(build, "MakeFunction.zip")],
                              capture_output=True, text=True, check=True).stdout
        self.assertIn("-rwxr-xr-x  3.0 unx", info)
        self.assertIn("80-Jan-01 00:00 bootstrap", info)
        # The digests printed are the zip's.
        import base64, hashlib
        data = open(os.path.join(build, "PyFunction.zip"), "rb").read()
        self.assertEqual(by_id["PyFunction"]["sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual(by_id["PyFunction"]["codeSha256"],
                         base64.b64encode(hashlib.sha256(data).digest()).decode())

    def test_rebuild_is_identical_and_cached_skips(self):
        harness.require_peer("npm", "builds Node.js functions")
        first = json.loads(self.build("--output", "json").stdout)
        # Touch every source: mtimes do not matter.
        for root, _, files in os.walk(self.tmp):
            for f in files:
                os.utime(os.path.join(root, f), (1_600_000_000, 1_600_000_000))
        second = json.loads(self.build("--output", "json").stdout)
        digests = lambda r: {a["logicalId"]: a["sha256"] for a in r["artifacts"]}
        self.assertEqual(digests(first), digests(second))
        cached = self.build("--cached")
        self.assertEqual(cached.stdout.count("cached "), 4, cached.stdout)
        self.write("plain/app.py", "def handler(e, c):\n    return 2\n")
        again = self.build("--cached", "PlainFunction")
        self.assertIn("built  PlainFunction", again.stdout)

    def test_failure_shows_output_and_keeps_others(self):
        self.write("custom/Makefile", "build-MakeFunction:\n\t@echo 'linker exploded' >&2\n\t@false\n")
        proc = self.build("MakeFunction", "PlainFunction", code=1)
        self.assertIn("error: MakeFunction: 'make -f", proc.stderr)
        self.assertIn("  | linker exploded", proc.stderr)
        self.assertIn("Build failed: 1 of 2 failed", proc.stderr)
        self.assertTrue(os.path.exists(self.path(".wisp/build/PlainFunction.zip")))

    def test_a_layer_whose_content_is_in_s3_is_skipped(self):
        # AWS::Lambda::LayerVersion with Content from another resource's attributes (a custom
        # resource that uploads the zip): nothing local to build; SAM's build skips it too.
        self.write("template.yaml", TEMPLATE + """  Uploader:
    Type: AWS::CloudFormation::CustomResource
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:123456789012:function:uploader
  S3Layer:
    Type: AWS::Lambda::LayerVersion
    Properties:
      Content:
        S3Bucket: !GetAtt Uploader.Bucket
        S3Key: !GetAtt Uploader.Key
""")
        proc = self.build()
        self.assertIn("S3Layer", proc.stdout + proc.stderr)
        self.assertIn("no local content", proc.stdout + proc.stderr)
        self.assertNotIn("Build failed", proc.stderr)
        self.assertTrue(os.path.exists(self.path(".wisp/build/PlainFunction.zip")))

    def test_pip_registry_failure_names_the_requirement(self):
        self.write("py/requirements.txt", "surely-not-a-package-wisp==9.9\n")
        env = dict(self.env)
        env.pop("PIP_NO_INDEX")
        env.update({"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_RETRIES": "0",
                    "PIP_TIMEOUT": "2"})
        proc = wisp("build", "PyFunction", cwd=self.tmp, extra_env=env, timeout=300)
        self.assertWisp(proc, 1, stderr_has=(
            "error: PyFunction: pip could not install requirement 'surely-not-a-package-wisp==9.9'"))

    def test_unknown_function_and_escaping_symlink(self):
        proc = wisp("build", "PyFuncton", cwd=self.tmp)
        self.assertWisp(proc, 2, stderr_has="did you mean 'PyFunction'?")
        os.symlink("../template.yaml", self.path("plain/leak.yaml"))
        proc = self.build("PlainFunction", code=1)
        self.assertIn("PlainFunction: symlink leak.yaml points outside", proc.stderr)


if __name__ == "__main__":
    harness.main()
