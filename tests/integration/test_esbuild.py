"""TypeScript apps built as SAM builds them (`Metadata: BuildMethod: esbuild`), with the real
esbuild (pinned, from npm: packaging/install-deps.sh --with-peers): two functions (CJS with a
source map and an external module from a layer, ESM through OutExtension), built then run by
local invoke and start-api; byte-identical zips across clean builds; esbuild's errors with
file:line:col; --cached; SAM's message without esbuild; the app through package and a deploy
against moto."""

import hashlib
import json
import os
import shutil
import subprocess

import harness
from gateway_helpers import Server, wait_until
from harness import Moto, WispTestCase, wisp

ESBUILD_BIN = os.path.join(harness.PEERS_DIR, "esbuild", "node_modules", ".bin")

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: nodejs22.x
    Timeout: 10
    Environment:
      Variables:
        STAGE: test
Resources:
  GreeterLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
      CompatibleRuntimes: [nodejs22.x]
  CjsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: handlers/cjs.handler
      Layers: [!Ref GreeterLayer]
      Events:
        Api:
          Type: HttpApi
          Properties: {Path: /cjs, Method: get}
    Metadata:
      BuildMethod: esbuild
      BuildProperties:
        Minify: true
        Target: es2020
        Sourcemap: true
        External: [greeter]
        EntryPoints: [handlers/cjs.ts]
  EsmFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: handlers/esm.handler
      Events:
        Api:
          Type: HttpApi
          Properties: {Path: /esm, Method: get}
    Metadata:
      BuildMethod: esbuild
      BuildProperties:
        Format: esm
        OutExtension: [.js=.mjs]
        Minify: false
        EntryPoints: [handlers/esm.ts]
"""

CJS = """\
import leftpad = require('leftpad');
const greeter = require('greeter'); // external: the layer provides it
interface Reply { statusCode: number; body: string }
export const handler = async (): Promise<Reply> => {
  const where: string = new Error('where').stack!.split('\\n')[1].trim();
  return {
    statusCode: 200,
    body: JSON.stringify({ pad: leftpad('cjs', 6), greet: greeter.greet('ts'), where,
                           nodeOptions: process.env.NODE_OPTIONS, stage: process.env.STAGE }),
  };
};
"""

ESM = """\
import leftpad from 'leftpad';
export const handler = async (): Promise<{ statusCode: number; body: string }> => {
  const kind: string = typeof import.meta.url;
  return { statusCode: 200, body: JSON.stringify({ pad: leftpad('esm', 6), kind,
                                                   nodeOptions: process.env.NODE_OPTIONS ?? null }) };
};
"""


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class EsbuildApp(WispTestCase):
    def setUp(self):
        super().setUp()
        harness.require_peer("npm", "installs the app's dependencies")
        if not os.access(os.path.join(ESBUILD_BIN, "esbuild"), os.X_OK):
            self.skipTest(f"PEER MISSING: esbuild not in {ESBUILD_BIN} "
                          "(packaging/install-deps.sh --with-peers)")
        self.env = {"PATH": ESBUILD_BIN + os.pathsep + os.environ["PATH"]}
        self.write("template.yaml", TEMPLATE)
        self.write("src/package.json", json.dumps({
            "name": "ts-app", "version": "1.0.0",
            "dependencies": {"leftpad": "file:./vendor/leftpad"},
            "devDependencies": {"typescript": "*"}}))  # never installed: --omit=dev
        self.write("src/vendor/leftpad/package.json",
                   json.dumps({"name": "leftpad", "version": "1.0.0", "main": "index.js"}))
        self.write("src/vendor/leftpad/index.js",
                   "module.exports = (s, n) => String(s).padStart(n, '*');\n")
        self.write("src/handlers/cjs.ts", CJS)
        self.write("src/handlers/esm.ts", ESM)
        self.write("layer/nodejs/node_modules/greeter/package.json",
                   json.dumps({"name": "greeter", "version": "1.0.0"}))
        self.write("layer/nodejs/node_modules/greeter/index.js",
                   "exports.greet = (n) => `hello ${n}`;\n")

    def wisp(self, *args, code=0, **kw):
        proc = wisp(*args, cwd=self.tmp, extra_env=self.env, **kw)
        self.assertWisp(proc, code)
        return proc

    def build(self, *args, code=0):
        return self.wisp("build", *args, code=code)

    def body(self, proc):
        return json.loads(json.loads(proc.stdout)["body"])

    def test_build_then_invoke_and_start_api(self):
        # Not built: the sources run (and cannot), with a warning saying what to do.
        unbuilt = self.wisp("local", "invoke", "CjsFunction", code=1)
        self.assertIn("warning: function CjsFunction is built with esbuild and has no build in", unbuilt.stderr)
        self.assertIn("Runtime.ImportModuleError", unbuilt.stdout)
        built = self.build()
        listed = self.build("--cached", "--output", "json")
        artifacts = {a["logicalId"]: a for a in json.loads(listed.stdout)["artifacts"]}
        self.assertEqual(artifacts["CjsFunction"]["method"], "esbuild")
        # SAM's handler rewrite and NODE_OPTIONS for the source map.
        self.assertEqual(artifacts["CjsFunction"]["handler"], "cjs.handler")
        self.assertEqual(artifacts["CjsFunction"]["environment"], {"NODE_OPTIONS": " --enable-source-maps"})
        self.assertEqual(artifacts["EsmFunction"]["handler"], "esm.handler")
        self.assertNotIn("environment", artifacts["EsmFunction"])
        self.assertEqual(sorted(os.listdir(self.path(".wisp/build/CjsFunction"))), ["cjs.js", "cjs.js.map"])
        self.assertEqual(sorted(os.listdir(self.path(".wisp/build/EsmFunction"))), ["esm.mjs"])
        # The sources are untouched; the dependencies stay in the scratch copy for cached builds.
        self.assertFalse(os.path.exists(self.path("src/node_modules")))
        self.assertTrue(os.path.isdir(self.path(".wisp/build/.work/esbuild/src/node_modules/leftpad")))
        # Dependencies were installed once for both functions (one scratch per CodeUri).
        self.assertEqual(built.stderr.count("npm install"), 1, built.stderr)

        cjs = self.body(self.wisp("local", "invoke", "CjsFunction"))
        self.assertEqual(cjs["pad"], "***cjs")
        self.assertEqual(cjs["greet"], "hello ts")
        self.assertEqual(cjs["stage"], "test")
        self.assertEqual(cjs["nodeOptions"], " --enable-source-maps")
        # The source map points the stack at the TypeScript line (line 5 of cjs.ts).
        self.assertRegex(cjs["where"], r"handlers/cjs\.ts:5:\d+\)$")
        esm = self.body(self.wisp("local", "invoke", "EsmFunction"))
        self.assertEqual(esm, {"pad": "***esm", "kind": "string", "nodeOptions": None})

        with Server(self.tmp, extra_env=self.env) as server:
            self.assertEqual(server.json(None, "GET", "/cjs")["greet"], "hello ts")
            self.assertEqual(server.json(None, "GET", "/esm")["pad"], "***esm")

    def test_start_api_rebuilds_a_changed_ts_file_before_the_next_request(self):
        self.build()
        with Server(self.tmp, extra_env=self.env) as server:
            self.assertEqual(server.json(None, "GET", "/esm")["pad"], "***esm")
            self.write("src/handlers/esm.ts", ESM.replace("leftpad('esm', 6)", "leftpad('new', 7)"))
            self.assertTrue(wait_until(lambda: "Rebuilding EsmFunction: " in server.stderr(), timeout=30),
                            server.stderr())
            # Requests wait for the rebuild: the first one after the change sees it.
            self.assertEqual(server.json(None, "GET", "/esm")["pad"], "****new")
            self.assertTrue(wait_until(lambda: "Rebuilt EsmFunction in " in server.stderr(), timeout=30))
            # The CJS function shares the CodeUri: its build was redone too, and still works.
            self.assertTrue(wait_until(lambda: "Rebuilt CjsFunction in " in server.stderr(), timeout=30))
            self.assertEqual(server.json(None, "GET", "/cjs")["greet"], "hello ts")

            # A syntax error: reported with its position; the last good build keeps serving.
            self.write("src/handlers/esm.ts", "export const handler = async () => {\n  const x y = 1;\n};\n")
            self.assertTrue(wait_until(lambda: "Rebuild of EsmFunction failed" in server.stderr(), timeout=30),
                            server.stderr())
            self.assertIn("src/handlers/esm.ts:2:10: Expected \";\" but found \"y\"", server.stderr())
            self.assertEqual(server.json(None, "GET", "/esm")["pad"], "****new")
        # What the hot rebuild wrote is what `wisp build` writes: nothing left to rebuild.
        self.write("src/handlers/esm.ts", ESM.replace("leftpad('esm', 6)", "leftpad('new', 7)"))
        cached = self.build("--cached")
        self.assertIn("cached EsmFunction", cached.stdout)
        # CjsFunction was rebuilt (successfully) while esm.ts was broken: its key moved on.
        self.assertIn("built  CjsFunction", cached.stdout)

    def test_zips_are_identical_across_clean_builds_and_cached_rebuilds_only_on_change(self):
        self.build()
        first = {n: sha256(self.path(".wisp/build", n)) for n in ("CjsFunction.zip", "EsmFunction.zip")}
        shutil.rmtree(self.path(".wisp"))
        self.build()
        second = {n: sha256(self.path(".wisp/build", n)) for n in ("CjsFunction.zip", "EsmFunction.zip")}
        self.assertEqual(first, second)
        # The same bytes from a copy of the app elsewhere (no absolute paths in the bundle).
        elsewhere = self.path("copy")
        shutil.copytree(self.tmp, elsewhere, ignore=shutil.ignore_patterns(".wisp", "copy"))
        proc = wisp("build", cwd=elsewhere, extra_env=self.env)
        self.assertWisp(proc, 0)
        self.assertEqual(sha256(os.path.join(elsewhere, ".wisp/build/CjsFunction.zip")),
                         first["CjsFunction.zip"])

        cached = self.build("--cached")
        self.assertEqual(cached.stdout.count("cached "), 3, cached.stdout)
        self.assertNotIn("esbuild", cached.stderr)
        # A build property changes only that function's key.
        self.write("template.yaml", TEMPLATE.replace("Minify: false", "Minify: true"))
        changed = self.build("--cached")
        self.assertIn("cached CjsFunction", changed.stdout)
        self.assertIn("built  EsmFunction", changed.stdout)
        # A source change rebuilds with the dependencies already installed (SAM's cached deps).
        self.write("src/handlers/esm.ts", ESM.replace("'esm'", "'ESM'"))
        changed = self.build("--cached")
        self.assertIn("built  EsmFunction", changed.stdout)
        self.assertNotIn("npm install", changed.stderr)
        # Without --cached, dependencies are installed afresh.
        self.assertIn("npm install", self.build().stderr)
        # A lockfile (any source of the CodeUri) rebuilds both.
        self.write("src/package-lock.json", json.dumps({"name": "ts-app", "lockfileVersion": 3}))
        changed = self.build("--cached")
        self.assertIn("built  CjsFunction", changed.stdout)
        self.assertIn("built  EsmFunction", changed.stdout)

    def test_syntax_error_is_shown_with_its_position(self):
        self.write("src/handlers/esm.ts", "export const handler = async () => {\n  const x y = 1;\n};\n")
        proc = self.build(code=1)
        self.assertIn('error: EsmFunction: esbuild: src/handlers/esm.ts:2:10: Expected ";" but found "y"',
                      proc.stderr)
        self.assertIn("  | \u2718 [ERROR]", proc.stderr)  # esbuild's own report follows
        # The other function still built.
        self.assertIn("built  CjsFunction", proc.stdout)

    def test_without_esbuild_sams_message(self):
        # Neither on PATH nor installable (npm offline with an empty cache; wisp's own cache
        # empty): SAM's message, then why wisp could not install it
        # (test_build_realapp_shapes.py installs it).
        self.write("src/package.json", json.dumps({
            "name": "ts-app", "version": "1.0.0",
            "dependencies": {"leftpad": "file:./vendor/leftpad"}}))
        path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                               if not os.path.exists(os.path.join(p, "esbuild")))
        proc = wisp("build", "CjsFunction", cwd=self.tmp, extra_env={
            "PATH": path, "XDG_CACHE_HOME": self.path("xdg-cache"), "npm_config_offline": "true",
            "npm_config_cache": self.path("empty-npm-cache")})
        self.assertWisp(proc, 1, stderr_has=[
            "CjsFunction: Cannot find esbuild. esbuild must be installed on the host machine to use "
            "this feature. It is recommended to be installed on the PATH, but can also be included as "
            "a project dependency.; install it with `npm install --global esbuild`",
            "(wisp could not install esbuild@"])

    def test_package_then_deploy_against_moto(self):
        # wisp deploy does not deploy template layers yet: the deployed app has none (the
        # external module would come from a layer version ARN).
        self.write("template.yaml", TEMPLATE.replace(
            "  GreeterLayer:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n"
            "      ContentUri: layer/\n      CompatibleRuntimes: [nodejs22.x]\n", "").replace(
            "      Layers: [!Ref GreeterLayer]\n", ""))
        self.build()
        packaged = self.wisp("package", "--output-dir", "dist", "--output-template-file", "packaged.yaml")
        self.assertIn("Packaged template", packaged.stderr + packaged.stdout)
        text = self.read("packaged.yaml")
        self.assertIn("CodeUri: dist/CjsFunction.zip", text)
        self.assertIn("Handler: cjs.handler", text)
        self.assertIn('Environment: {Variables: {NODE_OPTIONS: " --enable-source-maps"}}', text)
        self.assertIn("Handler: esm.handler", text)
        self.assertEqual(sha256(self.path("dist/CjsFunction.zip")),
                         sha256(self.path(".wisp/build/CjsFunction.zip")))

        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # the execution role's policy
        try:
            moto = Moto().__enter__()
        finally:
            os.environ.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)
        self.addCleanup(moto.__exit__, None, None, None)
        if True:
            proc = wisp("deploy", "--endpoint-url", moto.url, "--stack-name", "tsapp", "--resolve-s3",
                        cwd=self.tmp, extra_env=self.env, timeout=180)
            self.assertWisp(proc, 0)
            config = json.loads(subprocess.run(
                ["aws", "--endpoint-url", moto.url, "--output", "json", "lambda",
                 "get-function-configuration", "--function-name", "tsapp-CjsFunction"],
                capture_output=True, text=True, check=True, env=harness.env()).stdout)
            self.assertEqual(config["Handler"], "cjs.handler")
            self.assertEqual(config["Environment"]["Variables"],
                             {"STAGE": "test", "NODE_OPTIONS": " --enable-source-maps"})
            artifacts = json.loads(self.build("--cached", "--output", "json").stdout)["artifacts"]
            code = next(a["codeSha256"] for a in artifacts if a["logicalId"] == "CjsFunction")
            self.assertEqual(config["CodeSha256"], code)
            esm = json.loads(subprocess.run(
                ["aws", "--endpoint-url", moto.url, "--output", "json", "lambda",
                 "get-function-configuration", "--function-name", "tsapp-EsmFunction"],
                capture_output=True, text=True, check=True, env=harness.env()).stdout)
            self.assertEqual(esm["Handler"], "esm.handler")


if __name__ == "__main__":
    harness.main()
