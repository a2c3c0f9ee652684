"""`wisp local invoke` on real templates: python, node (CommonJS, ES modules, async, callback,
streaming) and a `provided` bootstrap — success, thrown errors, init errors, timeouts,
crashes, output floods, oversized responses, the environment and the context object."""

import json
import os
import re
import shutil
import signal
import subprocess
import textwrap
import time

import harness
from harness import WispTestCase, wisp


def task_root(code_dir):
    """LAMBDA_TASK_ROOT as the worker sees it: /var/task in Lambda's file layout (an
    unprivileged mount namespace), the CodeUri directory where the OS refuses one."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-Urm", "true"],
                                                  capture_output=True).returncode == 0:
        return "/var/task"
    return os.path.realpath(code_dir)

REPORT_RE = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: (?P<mem>\d+) MB\tMax Memory Used: \d+ MB\t(?P<rest>.*)$",
    re.M,
)


def template(functions, globals_=""):
    body = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"
    if globals_:
        body += globals_
    body += "Resources:\n"
    for name, props in functions.items():
        body += f"  {name}:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        body += textwrap.indent(textwrap.dedent(props).strip() + "\n", "      ")
    return body


class LocalInvoke(WispTestCase):
    def project(self, functions, files, globals_=""):
        self.write("template.yaml", template(functions, globals_))
        for name, content in files.items():
            mode = 0o755 if name.endswith("bootstrap") else None
            self.write(name, textwrap.dedent(content) if isinstance(content, str) else content, mode)

    def invoke_raw(self, *args):
        """stdout and stderr as bytes decoded without newline translation (keeps \r)."""
        proc = subprocess.run([harness.WISP, "local", "invoke", *args], cwd=self.tmp,
                              capture_output=True, env=harness.env(), stdin=subprocess.DEVNULL,
                              timeout=120)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    def invoke(self, *args, event=None, code=None, timeout=60):
        extra = ["-e", "-"] if event is not None else []
        proc = wisp("local", "invoke", *args, *extra, cwd=self.tmp, input=event, timeout=timeout)
        if code is not None:
            self.assertEqual(
                proc.returncode, code, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    def assertFramed(self, stderr, memory=128, cold=True):
        """START, END and REPORT lines as Lambda prints them, for one request id."""
        start = re.search(r"^START RequestId: ([0-9a-f-]{36}) Version: \$LATEST$", stderr, re.M)
        self.assertIsNotNone(start, stderr)
        request_id = start.group(1)
        self.assertRegex(stderr, rf"(?m)^END RequestId: {request_id}$")
        report = REPORT_RE.search(stderr)
        self.assertIsNotNone(report, stderr)
        self.assertEqual(report.group("id"), request_id)
        self.assertEqual(int(report.group("mem")), memory)
        if cold:
            self.assertRegex(report.group("rest"), r"^Init Duration: \d+\.\d\d ms\t")
        return request_id, report.group("rest")


PY_FUNCTIONS = {
    "PyFunction": """
        CodeUri: src/
        Handler: app.handler
        Runtime: python3.11
        MemorySize: 256
        Timeout: 2
        Environment:
          Variables:
            FROM_TEMPLATE: template
            OVERRIDDEN: template
    """,
    "Flood": """
        CodeUri: src/
        Handler: app.handler
        Runtime: python3.11
        Timeout: 60
    """,
}

PY_APP = """
import json, os, sys, time, logging
logger = logging.getLogger()
logger.setLevel(logging.INFO)

def handler(event, context):
    action = event.get("action")
    if action == "raise":
        raise KeyError("missing thing")
    if action == "sleep":
        time.sleep(10)
    if action == "exit":
        sys.stdout.flush()
        os._exit(7)
    if action == "segv":
        import signal
        os.kill(os.getpid(), signal.SIGSEGV)
    if action == "flood":
        for i in range(50000):
            print("line", i, "x" * 200)
        return "flooded"
    if action == "big":
        return "x" * (7 * 1024 * 1024)
    if action == "exact":
        return "y" * (6291556 - 2)  # 6291556 bytes with the JSON quotes: still allowed
    print("hello from python")
    logger.info("a log record")
    env = {k: os.environ.get(k) for k in [
        "FROM_TEMPLATE", "OVERRIDDEN", "FROM_PARAMETERS", "AWS_REGION", "AWS_DEFAULT_REGION",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_EXECUTION_ENV", "_HANDLER",
        "LAMBDA_TASK_ROOT", "AWS_LAMBDA_RUNTIME_API", "AWS_SAM_LOCAL", "TZ", "_X_AMZN_TRACE_ID",
        "AWS_ACCESS_KEY_ID", "AWS_LAMBDA_INITIALIZATION_TYPE", "PYTHONPATH", "AWS_ENDPOINT_URL"]}
    return {
        "event": event,
        "env": env,
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
            "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
            "client_context": context.client_context,
        },
        "python": "%d.%d" % sys.version_info[:2],
        "executable": sys.executable,
    }
"""


class Python(LocalInvoke):
    def setUp(self):
        super().setUp()
        self.project(PY_FUNCTIONS, {"src/app.py": PY_APP})

    def test_success_response_logs_env_and_context(self):
        self.write("env.json", json.dumps({
            "Parameters": {"FROM_PARAMETERS": "parameters", "OVERRIDDEN": "parameters"},
            "PyFunction": {"OVERRIDDEN": "function"},
        }))
        proc = self.invoke("PyFunction", "--env-vars", "env.json", "--region", "ap-south-1",
                           "--endpoint-url", "http://127.0.0.1:4566", event='{"k": [1, 2]}', code=0)
        out = json.loads(proc.stdout)
        self.assertEqual(out["event"], {"k": [1, 2]})
        env = out["env"]
        self.assertEqual(env["FROM_TEMPLATE"], "template")
        self.assertEqual(env["FROM_PARAMETERS"], "parameters")
        self.assertEqual(env["OVERRIDDEN"], "function")          # function > Parameters > template
        self.assertEqual(env["AWS_REGION"], "ap-south-1")
        self.assertEqual(env["AWS_DEFAULT_REGION"], "ap-south-1")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_NAME"], "PyFunction")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256")
        self.assertEqual(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST")
        self.assertEqual(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/PyFunction")
        self.assertRegex(env["AWS_LAMBDA_LOG_STREAM_NAME"], r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$")
        self.assertEqual(env["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.11")
        self.assertEqual(env["_HANDLER"], "app.handler")
        self.assertEqual(env["LAMBDA_TASK_ROOT"], task_root(self.path("src")))
        self.assertRegex(env["AWS_LAMBDA_RUNTIME_API"], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(env["AWS_SAM_LOCAL"], "true")
        self.assertEqual(env["TZ"], ":UTC")
        self.assertEqual(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand")
        self.assertEqual(env["AWS_ACCESS_KEY_ID"], "testing")     # the harness's credentials
        self.assertRegex(env["_X_AMZN_TRACE_ID"], r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0;Lineage=1:[0-9a-f]{8}:0$")
        self.assertIsNone(env["PYTHONPATH"])
        self.assertEqual(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:4566")
        ctx = out["context"]
        self.assertEqual(ctx["function_name"], "PyFunction")
        self.assertEqual(ctx["function_version"], "$LATEST")
        self.assertEqual(ctx["memory_limit_in_mb"], "256")
        self.assertEqual(ctx["invoked_function_arn"],
                         "arn:aws:lambda:ap-south-1:123456789012:function:PyFunction")
        self.assertEqual(ctx["log_group_name"], "/aws/lambda/PyFunction")
        self.assertEqual(ctx["log_stream_name"], env["AWS_LAMBDA_LOG_STREAM_NAME"])
        self.assertTrue(0 < ctx["remaining"] <= 2000, ctx["remaining"])
        self.assertEqual(ctx["identity"], [None, None])
        self.assertIsNone(ctx["client_context"])
        self.assertEqual(out["python"], "3.11")
        self.assertNotIn("/shims/", out["executable"])
        # Logs: framed, with the function's own lines in between.
        request_id, _ = self.assertFramed(proc.stderr, memory=256)
        self.assertEqual(ctx["aws_request_id"], request_id)
        self.assertIn("\nhello from python\n", proc.stderr)
        self.assertRegex(proc.stderr, rf"(?m)^\[INFO\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{request_id}\ta log record$")
        # The log store got the same lines.
        records = []
        for root, _, files in os.walk(self.path(".wisp", "logs", "PyFunction")):
            for name in files:
                with open(os.path.join(root, name)) as f:
                    records += [json.loads(line) for line in f]
        messages = [r["message"] for r in records]
        self.assertIn("hello from python", messages)
        self.assertTrue(any(m.startswith("REPORT RequestId: " + request_id) for m in messages))
        self.assertEqual({r["logGroup"] for r in records}, {"/aws/lambda/PyFunction"})
        self.assertEqual({r["logStream"] for r in records}, {env["AWS_LAMBDA_LOG_STREAM_NAME"]})

    def test_thrown_error(self):
        proc = self.invoke("PyFunction", event='{"action": "raise"}', code=1)
        body = json.loads(proc.stdout)
        self.assertEqual(body["errorType"], "KeyError")
        self.assertEqual(body["errorMessage"], "'missing thing'")
        self.assertRegex(body["requestId"], r"^[0-9a-f-]{36}$")
        self.assertTrue(any('app.py", line' in frame for frame in body["stackTrace"]), body)
        self.assertFalse(any("bootstrap.py" in frame for frame in body["stackTrace"]), body)
        _, _, raw_err = self.invoke_raw("PyFunction", "-e", self.write("raise.json", '{"action": "raise"}'))
        self.assertIn("[ERROR] KeyError: 'missing thing'\rTraceback (most recent call last):\r\u00a0\u00a0File ", raw_err)
        _, rest = self.assertFramed(proc.stderr, memory=256)
        self.assertNotIn("Status:", rest)  # a handled function error has no platform status

    def test_timeout(self):
        proc = self.invoke("PyFunction", event='{"action": "sleep"}', code=1)
        body = json.loads(proc.stdout)
        self.assertEqual(body["errorType"], "Sandbox.Timedout")
        # The elapsed time, two decimals: 2.00 on an idle machine, a little more on a busy one.
        match = re.match(r"^RequestId: ([0-9a-f-]{36}) Error: (Task timed out after (\d\.\d\d) seconds)$", body["errorMessage"])
        self.assertIsNotNone(match, body)
        self.assertTrue(2.0 <= float(match.group(3)) < 9.0, match.group(3))  # not the 10 s sleep
        self.assertRegex(proc.stderr, rf"(?m)^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {match.group(1)} {re.escape(match.group(2))}$")
        _, rest = self.assertFramed(proc.stderr, memory=256)
        self.assertTrue(rest.endswith("Status: timeout\t"), rest)

    def test_crash_is_runtime_exit_error(self):
        proc = self.invoke("PyFunction", event='{"action": "exit"}', code=1)
        body = json.loads(proc.stdout)
        self.assertEqual(body, {
            "errorType": "Runtime.ExitError",
            "errorMessage": body["errorMessage"],
        })
        self.assertRegex(body["errorMessage"], r"^RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 7$")
        _, rest = self.assertFramed(proc.stderr, memory=256)
        self.assertTrue(rest.endswith("Status: error\tError Type: Runtime.ExitError\t"), rest)
        proc = self.invoke("PyFunction", event='{"action": "segv"}', code=1)
        self.assertIn("Runtime exited with error: signal: segmentation fault", proc.stdout)

    def test_flood_of_output(self):
        proc = self.invoke("Flood", event='{"action": "flood"}', code=0, timeout=120)
        self.assertEqual(proc.stdout.strip(), '"flooded"')
        self.assertEqual(proc.stderr.count("\nline "), 50000)
        self.assertFramed(proc.stderr)

    def test_response_too_large_and_the_exact_limit(self):
        proc = self.invoke("PyFunction", event='{"action": "big"}', code=1)
        self.assertEqual(json.loads(proc.stdout), {
            "errorType": "Function.ResponseSizeTooLarge",
            "errorMessage": "Response payload size (7340034 bytes) exceeded maximum allowed payload size (6291556 bytes).",
        })
        proc = self.invoke("PyFunction", event='{"action": "exact"}', code=0)
        self.assertEqual(len(proc.stdout.strip()), 6291556)

    def test_oversized_event_is_rejected(self):
        proc = self.invoke("PyFunction", event=json.dumps({"pad": "z" * (6 * 1024 * 1024)}), code=1)
        self.assertEqual(json.loads(proc.stdout), {
            "Type": "User",
            "message": "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
        })


class PythonInitErrors(LocalInvoke):
    def run_handler(self, handler, files):
        functions = {"Fn": f"CodeUri: src/\nHandler: {handler}\nRuntime: python3.11\n"}
        self.project(functions, files)
        proc = self.invoke(code=1)
        return json.loads(proc.stdout), proc.stderr

    def test_missing_module(self):
        body, stderr = self.run_handler("nope.handler", {"src/app.py": "x = 1\n"})
        self.assertEqual(body, {
            "errorMessage": "Unable to import module 'nope': No module named 'nope'",
            "errorType": "Runtime.ImportModuleError",
            "requestId": "",
            "stackTrace": [],
        })
        self.assertRegex(stderr, r"(?m)^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError$")
        _, rest = self.assertFramed(stderr)
        self.assertTrue(rest.endswith("Status: error\tError Type: Runtime.ImportModuleError\t"), rest)

    def test_missing_handler(self):
        body, _ = self.run_handler("app.nothing", {"src/app.py": "x = 1\n"})
        self.assertEqual(body["errorType"], "Runtime.HandlerNotFound")
        self.assertEqual(body["errorMessage"], "Handler 'nothing' missing on module 'app'")

    def test_syntax_error(self):
        body, _ = self.run_handler("app.handler", {"src/app.py": "def handler(:\n"})
        self.assertEqual(body["errorType"], "Runtime.UserCodeSyntaxError")
        self.assertTrue(body["errorMessage"].startswith("Syntax error in module 'app': "), body)

    def test_module_importing_a_missing_package(self):
        body, _ = self.run_handler("app.handler", {"src/app.py": "import not_installed_pkg\n"})
        self.assertEqual(body["errorType"], "Runtime.ImportModuleError")
        self.assertEqual(body["errorMessage"], "Unable to import module 'app': No module named 'not_installed_pkg'")

    def test_exception_at_import(self):
        body, _ = self.run_handler("app.handler", {"src/app.py": "raise RuntimeError('init boom')\n"})
        self.assertEqual(body["errorType"], "RuntimeError")
        self.assertEqual(body["errorMessage"], "init boom")


class PythonVersions(LocalInvoke):
    def test_python_minor_versions_run_on_their_own_interpreter(self):
        functions = {}
        for minor in (12, 13):
            functions[f"Py3{minor}"] = f"CodeUri: src/\nHandler: app.handler\nRuntime: python3.{minor}\n"
        self.project(functions, {"src/app.py": "import sys\ndef handler(e, c):\n    return [list(sys.version_info[:2]), sys.executable]\n"})
        cache = self.path("cache")
        for minor in (12, 13):
            proc = wisp("local", "invoke", f"Py3{minor}", cwd=self.tmp, extra_env={"XDG_CACHE_HOME": cache})
            if proc.returncode != 0 and f"python3.{minor} is not installed" in proc.stderr:
                self.skipTest(f"PEER MISSING: python3.{minor} is not installed")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            version, executable = json.loads(proc.stdout)
            if version != [3, minor]:
                self.assertIn(f"python3.{minor} is not installed", proc.stderr)
                continue
            self.assertNotIn("/shims/", executable)
        # A minor the machine lacks runs on the closest installed one, with a warning.
        if shutil.which("python3.14") is None:
            self.project({"Py314": "CodeUri: src/\nHandler: app.handler\nRuntime: python3.14\n"},
                         {"src/app.py": "import sys\ndef handler(e, c):\n    return [list(sys.version_info[:2]), sys.executable]\n"})
            proc = wisp("local", "invoke", "Py314", cwd=self.tmp, extra_env={"XDG_CACHE_HOME": cache})
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertRegex(proc.stderr, r"python3\.14: python3\.14 is not installed; running with "
                                          r"python 3\.\d+\.\d+, the closest version installed")
        with open(os.path.join(cache, "wisp", "interpreters.json")) as f:
            cached = json.load(f)
        self.assertTrue(any(key.startswith("python3.13\n") for key in cached))


NODE_FUNCTIONS = {
    "Cjs": "CodeUri: node/\nHandler: cjs.handler\nRuntime: nodejs20.x\nTimeout: 2\n"
           "Environment:\n  Variables:\n    FROM_TEMPLATE: template\n    OVERRIDDEN: template\n",
    "Callback": "CodeUri: node/\nHandler: cjs.callback\nRuntime: nodejs20.x\n",
    "Esm": "CodeUri: node/\nHandler: esm.handler\nRuntime: nodejs20.x\n",
    "TypeModule": "CodeUri: typemodule/\nHandler: lib/app.handler\nRuntime: nodejs20.x\n",
    "Streaming": "CodeUri: node/\nHandler: stream.handler\nRuntime: nodejs20.x\n",
    "StreamFail": "CodeUri: node/\nHandler: stream.failing\nRuntime: nodejs20.x\n",
    "NoModule": "CodeUri: node/\nHandler: missing.handler\nRuntime: nodejs20.x\n",
    "NoExport": "CodeUri: node/\nHandler: cjs.nothing\nRuntime: nodejs20.x\n",
}

NODE_FILES = {
    "node/cjs.js": """
        let count = 0;
        exports.handler = async (event, context) => {
          count++;
          if (event.action === 'throw') throw new RangeError('out of range');
          if (event.action === 'sleep') await new Promise((r) => setTimeout(r, 10000));
          if (event.action === 'exit') process.exit(4);
          if (event.action === 'big') return 'x'.repeat(7 * 1024 * 1024);
          if (event.action === 'exact') return 'y'.repeat(6291556 - 2);
          if (event.action === 'env') {
            const { FROM_TEMPLATE, OVERRIDDEN, FROM_PARAMETERS, AWS_LAMBDA_FUNCTION_NAME } = process.env;
            return { count, FROM_TEMPLATE, OVERRIDDEN, FROM_PARAMETERS: FROM_PARAMETERS ?? null, AWS_LAMBDA_FUNCTION_NAME };
          }
          console.log('multi\\nline');
          console.error('to stderr');
          return {
            count, event,
            context: {
              functionName: context.functionName, functionVersion: context.functionVersion,
              memoryLimitInMB: context.memoryLimitInMB, invokedFunctionArn: context.invokedFunctionArn,
              awsRequestId: context.awsRequestId, logGroupName: context.logGroupName,
              logStreamName: context.logStreamName, remaining: context.getRemainingTimeInMillis(),
              waits: context.callbackWaitsForEmptyEventLoop,
            },
            env: { NODE_PATH: process.env.NODE_PATH, AWS_EXECUTION_ENV: process.env.AWS_EXECUTION_ENV,
                   trace: process.env._X_AMZN_TRACE_ID },
          };
        };
        exports.callback = (event, context, callback) => {
          setTimeout(() => console.log('timer ran'), 200);
          callback(null, { callback: true });
        };
    """,
    "node/esm.mjs": """
        import { basename } from 'node:path';
        export const handler = async (event) => ({ esm: basename('/a/b.mjs'), event });
    """,
    "typemodule/package.json": '{"type": "module"}',
    "typemodule/lib/app.js": "export async function handler() { return 'type module'; }\n",
    "node/stream.mjs": """
        export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
          responseStream.setContentType('text/plain');
          for (const word of ['streamed ', 'in ', 'chunks']) {
            responseStream.write(word);
            await new Promise((r) => setTimeout(r, 30));
          }
          responseStream.end();
        });
        export const failing = awslambda.streamifyResponse(async (event, responseStream) => {
          responseStream.write('partial ');
          await new Promise((r) => setTimeout(r, 30));
          throw new Error('mid-stream failure');
        });
    """,
}


class Node(LocalInvoke):
    def setUp(self):
        super().setUp()
        harness.require_peer("node")
        self.project(NODE_FUNCTIONS, NODE_FILES)

    def test_commonjs_async_success_context_and_logs(self):
        proc = self.invoke("Cjs", event='{"x": 1}', code=0)
        out = json.loads(proc.stdout)
        self.assertEqual(out["count"], 1)
        self.assertEqual(out["event"], {"x": 1})
        ctx = out["context"]
        self.assertEqual(ctx["functionName"], "Cjs")
        self.assertEqual(ctx["memoryLimitInMB"], "128")
        self.assertEqual(ctx["functionVersion"], "$LATEST")
        self.assertEqual(ctx["invokedFunctionArn"], "arn:aws:lambda:us-east-1:123456789012:function:Cjs")
        self.assertEqual(ctx["logGroupName"], "/aws/lambda/Cjs")
        self.assertTrue(0 < ctx["remaining"] <= 2000)
        self.assertIs(ctx["waits"], True)
        self.assertEqual(out["env"]["AWS_EXECUTION_ENV"], "AWS_Lambda_nodejs20.x")
        if task_root(self.path("node")) == "/var/task":  # Lambda's NODE_PATH in its layout
            self.assertEqual(out["env"]["NODE_PATH"], "/opt/nodejs/node20/node_modules:"
                             "/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task")
        else:
            self.assertTrue(out["env"]["NODE_PATH"].endswith("/node"), out["env"]["NODE_PATH"])
        self.assertTrue(out["env"]["trace"].startswith("Root=1-"))
        request_id, _ = self.assertFramed(proc.stderr)
        self.assertEqual(ctx["awsRequestId"], request_id)
        ts = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
        _, _, raw_err = self.invoke_raw("Cjs")
        self.assertRegex(raw_err, rf"(?m)^{ts}\t[0-9a-f-]{{36}}\tINFO\tmulti\rline$")
        self.assertRegex(proc.stderr, rf"(?m)^{ts}\t{request_id}\tERROR\tto stderr$")

    def test_thrown_error(self):
        proc = self.invoke("Cjs", event='{"action": "throw"}', code=1)
        body = json.loads(proc.stdout)
        self.assertEqual(body["errorType"], "RangeError")
        self.assertEqual(body["errorMessage"], "out of range")
        self.assertEqual(body["trace"][0], "RangeError: out of range")
        self.assertRegex(proc.stderr, r"\tERROR\tInvoke Error \t\{\"errorType\":\"RangeError\",\"errorMessage\":\"out of range\"")

    def test_timeout_and_exit(self):
        proc = self.invoke("Cjs", event='{"action": "sleep"}', code=1)
        self.assertEqual(json.loads(proc.stdout)["errorType"], "Sandbox.Timedout")
        proc = self.invoke("Cjs", event='{"action": "exit"}', code=1)
        self.assertRegex(json.loads(proc.stdout)["errorMessage"], r"Runtime exited with error: exit status 4$")

    def test_response_too_large_and_the_exact_limit(self):
        proc = self.invoke("Cjs", event='{"action": "big"}', code=1)
        self.assertEqual(json.loads(proc.stdout), {
            "errorType": "Function.ResponseSizeTooLarge",
            "errorMessage": "Response payload size (7340034 bytes) exceeded maximum allowed payload size (6291556 bytes).",
        })
        proc = self.invoke("Cjs", event='{"action": "exact"}', code=0)
        self.assertEqual(len(proc.stdout.strip()), 6291556)

    def test_environment_precedence(self):
        self.write("env.json", json.dumps({
            "Parameters": {"FROM_PARAMETERS": "parameters", "OVERRIDDEN": "parameters"},
            "Cjs": {"OVERRIDDEN": "function"},
        }))
        out = json.loads(self.invoke("Cjs", "--env-vars", "env.json", event='{"action": "env"}', code=0).stdout)
        self.assertEqual(out, {"count": 1, "FROM_TEMPLATE": "template", "OVERRIDDEN": "function",
                               "FROM_PARAMETERS": "parameters", "AWS_LAMBDA_FUNCTION_NAME": "Cjs"})
        self.write("env.json", json.dumps({"Parameters": {"OVERRIDDEN": "parameters"}}))
        out = json.loads(self.invoke("Cjs", "--env-vars", "env.json", event='{"action": "env"}', code=0).stdout)
        self.assertEqual((out["OVERRIDDEN"], out["FROM_PARAMETERS"]), ("parameters", None))

    def test_callback_waits_for_the_event_loop(self):
        proc = self.invoke("Callback", code=0)
        self.assertEqual(json.loads(proc.stdout), {"callback": True})
        # The response was posted after the pending timer ran, as Lambda does.
        self.assertLess(proc.stderr.index("timer ran"), proc.stderr.index("END RequestId"))

    def test_es_modules(self):
        proc = self.invoke("Esm", event='{"y": 2}', code=0)
        self.assertEqual(json.loads(proc.stdout), {"esm": "b.mjs", "event": {"y": 2}})
        proc = self.invoke("TypeModule", code=0)
        self.assertEqual(json.loads(proc.stdout), "type module")

    def test_streaming(self):
        proc = self.invoke("Streaming", code=0)
        self.assertEqual(proc.stdout, "streamed in chunks")
        proc = self.invoke("StreamFail", code=1)
        self.assertTrue(proc.stdout.startswith("partial \n"), proc.stdout)
        error = json.loads(proc.stdout.split("\n", 1)[1])
        self.assertEqual(error["errorType"], "Error")
        self.assertEqual(error["errorMessage"], "mid-stream failure")

    def test_other_majors_run_on_the_machines_node_with_a_warning(self):
        major = subprocess.run(["node", "-p", "process.versions.node.split('.')[0]"],
                               capture_output=True, text=True, check=True).stdout.strip()
        other = "22" if major != "22" else "20"
        self.project({"Other": f"CodeUri: node/\nHandler: esm.handler\nRuntime: nodejs{other}.x\n"}, NODE_FILES)
        proc = self.invoke("Other", event='{"z": 3}', code=0)
        self.assertEqual(json.loads(proc.stdout), {"esm": "b.mjs", "event": {"z": 3}})
        self.assertRegex(proc.stderr, rf"nodejs{other}\.x: node {other} is not installed; running with "
                                      rf"node {major}\.\d+\.\d+, the closest version installed")

    def test_init_errors(self):
        proc = self.invoke("NoModule", code=1)
        body = json.loads(proc.stdout)
        self.assertEqual(body["errorType"], "Runtime.ImportModuleError")
        self.assertTrue(body["errorMessage"].startswith("Error: Cannot find module 'missing'"), body)
        self.assertEqual(body["trace"][0], "Runtime.ImportModuleError: Error: Cannot find module 'missing'")
        self.assertIn("\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\"Runtime.ImportModuleError\"", proc.stderr)
        proc = self.invoke("NoExport", code=1)
        body = json.loads(proc.stdout)
        self.assertEqual(body["errorType"], "Runtime.HandlerNotFound")
        self.assertEqual(body["errorMessage"], "cjs.nothing is undefined or not exported")


PROVIDED_BOOTSTRAP = r"""#!/bin/sh
# A custom runtime in the shape of AWS's tutorial: curl against the Runtime API.
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
echo "init on ${_HANDLER}"
if [ "${_HANDLER}" = "init-fails" ]; then
  curl -sS -X POST "$API/init/error" -H 'Lambda-Runtime-Function-Error-Type: Runtime.ConfigError' \
    -d '{"errorMessage":"bad config","errorType":"Runtime.ConfigError"}' >/dev/null
  exit 1
fi
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"
  ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | tr -d '\r' | cut -d' ' -f2)"
  rm -f "$HEADERS"
  echo "handling $ID"
  case "$EVENT" in
    *fail*) curl -sS -X POST "$API/invocation/$ID/error" -H 'Lambda-Runtime-Function-Error-Type: Custom.Failure' \
              -d '{"errorMessage":"custom failure","errorType":"Custom.Failure"}' >/dev/null ;;
    *crash*) exit 2 ;;
    *) curl -sS -X POST "$API/invocation/$ID/response" -d "{\"echo\": $EVENT}" >/dev/null ;;
  esac
done
"""


class Provided(LocalInvoke):
    def setUp(self):
        super().setUp()
        harness.require_peer("curl", "the custom runtime under test is a curl script")

    def test_bootstrap_success_error_crash_init_error(self):
        self.project({
            "Custom": "CodeUri: custom/\nHandler: echo\nRuntime: provided.al2023\n",
            "InitFails": "CodeUri: custom/\nHandler: init-fails\nRuntime: provided.al2\n",
            "FromLayer": "CodeUri: empty/\nHandler: echo\nRuntime: provided\nLayers:\n  - !Ref RuntimeLayer\n",
            "NoBootstrap": "CodeUri: empty/\nHandler: echo\nRuntime: provided.al2023\n",
        }, {"custom/bootstrap": PROVIDED_BOOTSTRAP, "layer/bootstrap": PROVIDED_BOOTSTRAP, "empty/README": "no bootstrap\n"})
        with open(self.path("template.yaml"), "a") as f:
            f.write("  RuntimeLayer:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n      ContentUri: layer/\n")
        proc = self.invoke("Custom", event='{"n": 1}', code=0)
        self.assertEqual(json.loads(proc.stdout), {"echo": {"n": 1}})
        request_id, _ = self.assertFramed(proc.stderr)
        self.assertIn("init on echo\n", proc.stderr)
        self.assertIn(f"handling {request_id}\n", proc.stderr)

        proc = self.invoke("Custom", event='"fail"', code=1)
        self.assertEqual(json.loads(proc.stdout), {"errorMessage": "custom failure", "errorType": "Custom.Failure"})

        proc = self.invoke("Custom", event='"crash"', code=1)
        self.assertRegex(json.loads(proc.stdout)["errorMessage"], r"Error: Runtime exited with error: exit status 2$")

        proc = self.invoke("InitFails", code=1)
        self.assertEqual(json.loads(proc.stdout), {"errorMessage": "bad config", "errorType": "Runtime.ConfigError"})
        self.assertIn("Error Type: Runtime.ConfigError", proc.stderr)

        proc = self.invoke("FromLayer", event='{"layer": true}', code=0)
        self.assertEqual(json.loads(proc.stdout), {"echo": {"layer": True}})

        proc = self.invoke("NoBootstrap", code=1)
        body = json.loads(proc.stdout)
        self.assertEqual(body["errorType"], "Runtime.InvalidEntrypoint")
        self.assertRegex(body["errorMessage"], r"^RequestId: [0-9a-f-]{36} Error: Couldn't find valid bootstrap\(s\): \[.*/empty/bootstrap\]$")


CONTEXT_BOOTSTRAP = r"""#!/bin/sh
# A custom runtime that reports what the Runtime API and the environment gave it.
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
while true; do
  curl -sS -D "$WORK/h" -o "$WORK/event" "$API/invocation/next"
  hdr() { grep -i "^$1:" "$WORK/h" | tr -d '\r' | cut -d' ' -f2-; }
  ID="$(hdr Lambda-Runtime-Aws-Request-Id)"
  case "$(cat "$WORK/event")" in
    *sleep*) sleep 60 & echo "sleeping in $ID as $!"; wait $! ;;
    *) printf '{"id":"%s","deadline":"%s","arn":"%s","trace":"%s","client_context":"%s","identity":"%s","env":{"FROM_TEMPLATE":"%s","OVERRIDDEN":"%s","FROM_PARAMETERS":"%s","AWS_LAMBDA_FUNCTION_NAME":"%s","AWS_LAMBDA_FUNCTION_MEMORY_SIZE":"%s","_HANDLER":"%s","AWS_EXECUTION_ENV":"%s","LAMBDA_TASK_ROOT":"%s","AWS_REGION":"%s"}}' \
         "$ID" "$(hdr Lambda-Runtime-Deadline-Ms)" "$(hdr Lambda-Runtime-Invoked-Function-Arn)" \
         "$(hdr Lambda-Runtime-Trace-Id)" "$(hdr Lambda-Runtime-Client-Context)" "$(hdr Lambda-Runtime-Cognito-Identity)" \
         "${FROM_TEMPLATE:-}" "${OVERRIDDEN:-}" "${FROM_PARAMETERS:-}" "$AWS_LAMBDA_FUNCTION_NAME" \
         "$AWS_LAMBDA_FUNCTION_MEMORY_SIZE" "$_HANDLER" "${AWS_EXECUTION_ENV:-}" "$LAMBDA_TASK_ROOT" "$AWS_REGION" > "$WORK/out"
       curl -sS -X POST "$API/invocation/$ID/response" --data-binary @"$WORK/out" >/dev/null ;;
  esac
done
"""


def running(pid, grace=2.0):
    """True while `pid` exists and is not a zombie (an orphan may wait for its reaper)."""
    end = time.monotonic() + grace
    while True:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state == "Z":
            return False
        if time.monotonic() > end:
            return True
        time.sleep(0.05)


class ProvidedContext(LocalInvoke):
    def setUp(self):
        super().setUp()
        harness.require_peer("curl", "the custom runtime under test is a curl script")
        self.project({"Ctx": """
            CodeUri: custom/
            Handler: some.handler
            Runtime: provided.al2023
            MemorySize: 512
            Timeout: 2
            Environment:
              Variables:
                FROM_TEMPLATE: template
                OVERRIDDEN: template
        """}, {"custom/bootstrap": CONTEXT_BOOTSTRAP})

    def test_invocation_headers_and_environment_precedence(self):
        self.write("env.json", json.dumps({
            "Parameters": {"FROM_PARAMETERS": "parameters", "OVERRIDDEN": "parameters"},
            "Ctx": {"OVERRIDDEN": "function"},
        }))
        before = time.time()
        proc = self.invoke("Ctx", "--env-vars", "env.json", "--region", "eu-west-3", event="{}", code=0)
        after = time.time()
        out = json.loads(proc.stdout)
        request_id, _ = self.assertFramed(proc.stderr, memory=512)
        self.assertEqual(out["id"], request_id)
        # Deadline: epoch milliseconds, now + the 2 s timeout.
        deadline = int(out["deadline"])
        self.assertGreaterEqual(deadline, int(before * 1000) + 2000)
        self.assertLessEqual(deadline, int(after * 1000) + 2000)
        self.assertEqual(out["arn"], "arn:aws:lambda:eu-west-3:123456789012:function:Ctx")
        self.assertRegex(out["trace"], r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0;Lineage=1:[0-9a-f]{8}:0$")
        # Headers set only when non-empty (RIE's renderInvokeHeaders): none for a plain invoke.
        self.assertEqual(out["client_context"], "")
        self.assertEqual(out["identity"], "")
        self.assertEqual(out["env"], {
            "FROM_TEMPLATE": "template",
            "OVERRIDDEN": "function",          # function > Parameters > template
            "FROM_PARAMETERS": "parameters",
            "AWS_LAMBDA_FUNCTION_NAME": "Ctx",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "_HANDLER": "some.handler",
            "AWS_EXECUTION_ENV": "",           # Lambda sets none for OS-only runtimes
            "LAMBDA_TASK_ROOT": out["env"]["LAMBDA_TASK_ROOT"],
            "AWS_REGION": "eu-west-3",
        })
        self.assertEqual(out["env"]["LAMBDA_TASK_ROOT"], task_root(self.path("custom")))
        # Without --env-vars the template's values stand.
        out = json.loads(self.invoke("Ctx", event="{}", code=0).stdout)
        self.assertEqual((out["env"]["OVERRIDDEN"], out["env"]["FROM_PARAMETERS"]), ("template", ""))

    def test_timeout_kills_the_bootstrap_and_its_children(self):
        proc = self.invoke("Ctx", event='"sleep"', code=1)
        body = json.loads(proc.stdout)
        self.assertEqual(body["errorType"], "Sandbox.Timedout")
        match = re.match(r"^RequestId: ([0-9a-f-]{36}) Error: Task timed out after (\d+\.\d\d) seconds$", body["errorMessage"])
        self.assertIsNotNone(match, body)
        self.assertTrue(2.0 <= float(match.group(2)) < 9.0, match.group(2))  # not the 60 s sleep
        request_id, rest = self.assertFramed(proc.stderr, memory=512)
        self.assertEqual(match.group(1), request_id)
        self.assertTrue(rest.endswith("Status: timeout\t"), rest)
        # The whole process group went, the bootstrap's child `sleep 60` included.
        sleeper = re.search(rf"(?m)^sleeping in {request_id} as (\d+)$", proc.stderr)
        self.assertIsNotNone(sleeper, proc.stderr)
        self.assertFalse(running(int(sleeper.group(1))), "the bootstrap's child outlived the timeout")


class CommandLine(LocalInvoke):
    def test_choosing_the_function_and_bad_input(self):
        self.project({
            "One": "CodeUri: src/\nHandler: app.handler\nRuntime: python3.11\n",
            "Two": "CodeUri: src/\nHandler: app.handler\nRuntime: python3.11\n",
        }, {"src/app.py": "def handler(e, c):\n    return 'ok'\n"})
        proc = self.invoke()
        self.assertWisp(proc, 2, stderr_has="template.yaml has 2 functions; name the one to invoke: One, Two")
        proc = self.invoke("two")
        self.assertWisp(proc, 2, stderr_has="function 'two' is not in template.yaml; did you mean 'Two'?")
        self.write("bad.json", "{not json")
        proc = self.invoke("One", "--env-vars", "bad.json")
        self.assertWisp(proc, 1, stderr_has="bad.json:1:2: error: invalid JSON")
        proc = self.invoke("One", "-e", "missing.json")
        self.assertWisp(proc, 1, stderr_has="missing.json")
        proc = self.invoke("One", "-l", "fn.log", code=0)
        self.assertEqual(proc.stdout, '"ok"\n')
        self.assertNotIn("START RequestId", proc.stderr)
        self.assertIn("START RequestId", self.read("fn.log"))

    def test_parameters_and_unresolved_intrinsics_in_the_environment(self):
        self.write("template.yaml", textwrap.dedent("""\
            AWSTemplateFormatVersion: '2010-09-09'
            Transform: AWS::Serverless-2016-10-31
            Parameters:
              Stage: {Type: String, Default: dev}
            Resources:
              Table:
                Type: AWS::DynamoDB::Table
                Properties:
                  AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
                  KeySchema: [{AttributeName: id, KeyType: HASH}]
                  BillingMode: PAY_PER_REQUEST
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: src/
                  Handler: app.handler
                  Runtime: python3.11
                  Environment:
                    Variables:
                      STAGE: !Ref Stage
                      NAME: !Sub 'svc-${Stage}'
                      TABLE_ARN: !GetAtt Table.Arn
            """))
        self.write("src/app.py", "import os\ndef handler(e, c):\n"
                   "    return {k: os.environ.get(k) for k in ('STAGE', 'NAME', 'TABLE_ARN')}\n")
        proc = self.invoke(code=0)
        self.assertEqual(json.loads(proc.stdout), {"STAGE": "dev", "NAME": "svc-dev", "TABLE_ARN": ""})
        self.assertIn("function Fn: environment variable TABLE_ARN cannot be resolved locally; it is set to "
                      "an empty string (give it a value with --env-vars)", proc.stderr)
        proc = self.invoke("--parameter-overrides", "Stage=prod", code=0)
        self.assertEqual(json.loads(proc.stdout)["NAME"], "svc-prod")
        self.write("env.json", json.dumps({"Fn": {"TABLE_ARN": "arn:aws:dynamodb:us-east-1:1:table/t"}}))
        proc = self.invoke("--parameter-overrides", "ParameterKey=Stage,ParameterValue=qa",
                           "--env-vars", "env.json", code=0)
        self.assertEqual(json.loads(proc.stdout), {
            "STAGE": "qa", "NAME": "svc-qa", "TABLE_ARN": "arn:aws:dynamodb:us-east-1:1:table/t"})
        self.assertNotIn("cannot be resolved locally", proc.stderr)

    def test_interrupt_stops_the_worker(self):
        self.project({"Slow": "CodeUri: src/\nHandler: app.handler\nRuntime: python3.11\nTimeout: 60\n"},
                     {"src/app.py": "import os, time\ndef handler(e, c):\n    print('pid', os.getpid(), flush=True)\n    time.sleep(50)\n"})
        proc = subprocess.Popen([harness.WISP, "local", "invoke"], cwd=self.tmp, env=harness.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
        pid = None
        for line in proc.stderr:
            if line.startswith("pid "):
                pid = int(line.split()[1])
                break
        self.assertIsNotNone(pid)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 130, err)
        self.assertIn("interrupted; the function's worker was stopped", err)
        self.assertEqual(out, "")
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)

    def test_unsupported_runtime_is_a_clear_error(self):
        self.project({"J": "CodeUri: src/\nHandler: a.b\nRuntime: java21\n"}, {"src/x": ""})
        proc = self.invoke()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("runtime 'java21' is not supported locally", proc.stderr)


if __name__ == "__main__":
    harness.main()
