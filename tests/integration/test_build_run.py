"""Build, then run the build (as SAM runs .aws-sam/build after `sam build`): a node app with an
npm dependency fails from source and works after `wisp build` through local invoke, start-api
and start-lambda; two functions sharing one CodeUri are built once (npm runs once) and both
run; a stale source warns; --build-dir and samconfig's build_dir are honoured; a zip CodeUri
runs, a corrupt one is a clear error."""

import json
import os
import urllib.request
import zipfile

import harness
from gateway_helpers import Server, wait_until
from harness import WispTestCase, wisp

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: nodejs22.x
    Timeout: 10
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: app/
      Handler: index.hello
      Events:
        Api:
          Type: HttpApi
          Properties: {Path: /hello, Method: get}
  World:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: app/
      Handler: index.world
      Events:
        Api:
          Type: HttpApi
          Properties: {Path: /world, Method: get}
"""

INDEX = """\
const pad = require('leftpad-local');
const version = 'v1';
exports.hello = async () => ({ statusCode: 200, body: JSON.stringify({ fn: 'hello', pad: pad('x', 4), version }) });
exports.world = async () => ({ statusCode: 200, body: JSON.stringify({ fn: 'world', pad: pad('y', 3), version }) });
"""


class BuildThenRun(WispTestCase):
    def setUp(self):
        super().setUp()
        harness.require_peer("npm", "builds node functions")
        self.write("template.yaml", TEMPLATE)
        self.write("app/index.js", INDEX)
        # A dependency npm installs (from the app's own tree: no registry needed), and an
        # install script that counts how often npm ran for this package.
        self.write("app/vendor/leftpad/package.json",
                   json.dumps({"name": "leftpad-local", "version": "1.0.0", "main": "index.js"}))
        self.write("app/vendor/leftpad/index.js",
                   "module.exports = (s, n) => String(s).padStart(n, '*');\n")
        self.write("app/package.json", json.dumps({
            "name": "app", "version": "1.0.0",
            "dependencies": {"leftpad-local": "file:./vendor/leftpad"},
            "scripts": {"postinstall": "node -e \"require('fs').appendFileSync(process.env.NPM_RUNS, 'x')\""},
        }))
        self.runs = self.path("npm-runs")
        self.extra = {"NPM_RUNS": self.runs}

    def npm_runs(self):
        return len(open(self.runs).read()) if os.path.exists(self.runs) else 0

    def invoke(self, function, *args, code=0):
        proc = wisp("local", "invoke", function, *args, cwd=self.tmp)
        self.assertWisp(proc, code)
        return proc

    def test_build_then_invoke_start_api_and_start_lambda_use_the_dependency(self):
        # From source the dependency is missing (nothing installed in app/).
        before = self.invoke("Hello", code=1)
        self.assertIn("Runtime.ImportModuleError", before.stdout)

        built = wisp("build", cwd=self.tmp, extra_env=self.extra)
        self.assertWisp(built, 0, stderr_has=["one build for Hello, World"])
        self.assertIn("(built once with Hello)", built.stdout)
        self.assertEqual(self.npm_runs(), 1, built.stderr)
        self.assertEqual(built.stderr.count("npm install"), 1, built.stderr)
        self.assertFalse(os.path.exists(self.path("app/node_modules")))

        for function, expected in (("Hello", "***x"), ("World", "**y")):
            proc = self.invoke(function)
            body = json.loads(json.loads(proc.stdout)["body"])
            self.assertEqual(body["pad"], expected)
            self.assertNotIn("runs its last build", proc.stderr)

        with Server(self.tmp) as server:
            self.assertEqual(server.json(None, "GET", "/hello")["pad"], "***x")
            self.assertEqual(server.json(None, "GET", "/world")["pad"], "**y")

        with Server(self.tmp, command="start-lambda") as server:
            port = server.port("lambda")
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/2015-03-31/functions/World/invocations", data=b"{}",
                method="POST")
            payload = json.loads(urllib.request.urlopen(request, timeout=60).read())
            self.assertEqual(json.loads(payload["body"])["fn"], "world")

        # No change: --cached reuses both, npm does not run again.
        again = wisp("build", "--cached", cwd=self.tmp, extra_env=self.extra)
        self.assertWisp(again, 0)
        self.assertEqual(again.stdout.count("cached "), 2, again.stdout)
        self.assertEqual(self.npm_runs(), 1)

    def test_a_changed_source_warns_and_runs_the_build(self):
        self.assertWisp(wisp("build", cwd=self.tmp, extra_env=self.extra), 0)
        self.write("app/index.js", INDEX.replace("'v1'", "'v2'"))
        proc = self.invoke("Hello")
        self.assertIn("warning: function Hello runs its last build, but index.js changed since: "
                      "run `wisp build` to refresh it", proc.stderr)
        self.assertEqual(json.loads(json.loads(proc.stdout)["body"])["version"], "v1")
        # Only the function invoked is checked.
        self.assertNotIn("World", proc.stderr)
        with Server(self.tmp) as server:
            # stderr is collected by a reader thread: wait for the line rather than read once.
            self.assertTrue(wait_until(
                lambda: "function World runs its last build" in server.stderr(), timeout=30),
                server.stderr())
        # Rebuilt: current again, no warning.
        self.assertWisp(wisp("build", "--cached", cwd=self.tmp, extra_env=self.extra), 0)
        proc = self.invoke("Hello")
        self.assertNotIn("runs its last build", proc.stderr)
        self.assertEqual(json.loads(json.loads(proc.stdout)["body"])["version"], "v2")

    def test_start_api_follows_each_new_build_and_reports_source_edits(self):
        self.assertWisp(wisp("build", cwd=self.tmp, extra_env=self.extra), 0)
        with Server(self.tmp) as server:
            self.assertEqual(server.json(None, "GET", "/hello")["version"], "v1")
            # An edit to the sources of an npm-built function: reported, not run.
            self.write("app/index.js", INDEX.replace("'v1'", "'v2'"))
            self.assertTrue(wait_until(
                lambda: "index.js changed, but Hello runs its build: run `wisp build` to use the change"
                in server.stderr(), timeout=30), server.stderr())
            self.assertEqual(server.json(None, "GET", "/hello")["version"], "v1")
            # Each `wisp build` swaps a new staged directory in: every one is picked up.
            for version in ("v2", "v3"):
                self.write("app/index.js", INDEX.replace("'v1'", f"'{version}'"))
                self.assertWisp(wisp("build", cwd=self.tmp, extra_env=self.extra), 0)
                self.assertTrue(wait_until(
                    lambda: server.json(None, "GET", "/hello")["version"] == version, timeout=30),
                    server.stderr())

    def test_build_dir_flag_and_samconfig(self):
        self.assertWisp(wisp("build", "-b", "out", cwd=self.tmp, extra_env=self.extra), 0)
        self.assertTrue(os.path.isdir(self.path("out/Hello/node_modules/leftpad-local")))
        # The default build dir has nothing: the source runs (and fails to import).
        self.invoke("Hello", code=1)
        self.invoke("Hello", "--build-dir", "out")
        # samconfig's build_dir for `build` is where both commands look.
        self.write("samconfig.toml", 'version = 0.1\n[default.build.parameters]\nbuild_dir = "out"\n')
        self.invoke("Hello")

    def test_failed_npm_shows_npm_error_lines(self):
        self.write("app/package.json", json.dumps({
            "name": "app", "version": "1.0.0",
            "scripts": {"postinstall": "node -e \"console.error('boom from postinstall'); process.exit(3)\""}}))
        proc = wisp("build", cwd=self.tmp)
        self.assertWisp(proc, 1)
        self.assertIn("error: Hello: 'npm install --omit=dev --no-audit --no-fund' failed with exit code",
                      proc.stderr)
        # npm's own lines, and the script's.
        self.assertIn("  | npm error", proc.stderr)
        self.assertIn("boom from postinstall", proc.stderr)
        self.assertIn("error: World: shares the build of Hello, which failed", proc.stderr)


class ArchiveCodeUri(WispTestCase):
    TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Zipped:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: dist/function.zip
      Handler: pkg/app.handler
      Runtime: python3.12
  Single:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: single.py
      Handler: single.handler
      Runtime: python3.12
"""

    def test_zip_and_single_file_code_uris_run_corrupt_zip_is_an_error(self):
        self.write("template.yaml", self.TEMPLATE)
        os.makedirs(self.path("dist"))
        with zipfile.ZipFile(self.path("dist/function.zip"), "w") as z:
            z.writestr("pkg/__init__.py", "")
            z.writestr("pkg/app.py", "import os\ndef handler(e, c):\n"
                                     "    return {'zipped': True, 'root': os.environ['LAMBDA_TASK_ROOT'] != ''}\n")
        self.write("single.py", "def handler(e, c):\n    return 'single'\n")
        cache = self.path("xdg-cache")
        extra = {"XDG_CACHE_HOME": cache}
        proc = wisp("local", "invoke", "Zipped", cwd=self.tmp, extra_env=extra)
        self.assertWisp(proc, 0)
        self.assertEqual(json.loads(proc.stdout), {"zipped": True, "root": True})
        proc = wisp("local", "invoke", "Single", cwd=self.tmp, extra_env=extra)
        self.assertWisp(proc, 0)
        self.assertEqual(json.loads(proc.stdout), "single")
        # Extracted once, keyed by the zip's digest.
        self.assertEqual(len(os.listdir(os.path.join(cache, "wisp", "code"))), 2)

        with open(self.path("dist/function.zip"), "wb") as f:
            f.write(b"PK\x03\x04 this is not a zip")
        proc = wisp("local", "invoke", "Zipped", cwd=self.tmp, extra_env=extra)
        self.assertWisp(proc, 1, stderr_has=[
            "function Zipped: CodeUri " + self.path("dist/function.zip") + " cannot be used"])
        entries = os.listdir(os.path.join(cache, "wisp", "code"))
        self.assertEqual(len(entries), 2, entries)  # nothing half-written

        # After a build, the zip's staged extraction runs.
        with zipfile.ZipFile(self.path("dist/function.zip"), "w") as z:
            z.writestr("pkg/app.py", "def handler(e, c):\n    return 'rebuilt'\n")
        self.assertWisp(wisp("build", cwd=self.tmp), 0)
        proc = wisp("local", "invoke", "Zipped", cwd=self.tmp, extra_env=extra)
        self.assertWisp(proc, 0)
        self.assertEqual(json.loads(proc.stdout), "rebuilt")


if __name__ == "__main__":
    harness.main()
