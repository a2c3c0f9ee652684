"""`wisp init`: every scaffold produces a project whose own handler test passes and whose
custom runtime speaks the Runtime API (cfn-lint's verdict: test_init_cloudformation.py); names are
validated with exact messages; nothing is ever overwritten; missing flags are named when
there is no terminal, and asked for when there is one (driven through a pseudo-terminal)."""

import http.server
import json
import os
import pty
import re
import select
import shutil
import subprocess
import threading
import time

import harness
from harness import WispTestCase, wisp

# (runtime, app template, what the handler test runs with)
SCAFFOLDS = [
    ("python3.12", "hello-world", "python3"),
    ("python3.13", "hello-world", "python3"),
    ("python3.14", "hello-world", "python3"),
    ("nodejs22.x", "hello-world", "node"),
    ("nodejs22.x", "hello-world-esm", "node"),
    ("nodejs24.x", "hello-world", "node"),
    ("nodejs24.x", "hello-world-esm", "node"),
    ("provided.al2023", "hello-world", "sh"),
]

CREATABLE = ["python3.14", "python3.13", "python3.12", "nodejs24.x", "nodejs22.x", "provided.al2023"]


def tree(root):
    """Every file under root with its content and mode, for before/after comparisons."""
    out = {}
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = (f.read(), os.stat(path).st_mode)
    return out


class Scaffolds(WispTestCase):
    def init(self, name, runtime, app_template):
        proc = wisp("init", "--name", name, "--runtime", runtime, "--app-template", app_template,
                    "--output", "json", cwd=self.tmp, check=0)
        return json.loads(proc.stdout)

    def test_each_scaffold_passes_its_own_handler_test(self):
        for runtime, app_template, tool in SCAFFOLDS:
            with self.subTest(runtime=runtime, app_template=app_template):
                harness.require_peer(tool, f"runs the {runtime} scaffold's handler test")
                name = f"app-{runtime.replace('.', '-')}-{app_template}"
                result = self.init(name, runtime, app_template)
                project = self.path(name)
                self.assertEqual(result["directory"], name)
                self.assertEqual(result["runtime"], runtime)
                self.assertEqual(result["app_template"], app_template)
                for relative in result["files"]:
                    self.assertTrue(os.path.isfile(os.path.join(project, relative)), relative)
                    with open(os.path.join(project, relative), encoding="utf-8") as f:
                        text = f.read()
                    self.assertNotRegex(text, r"\{\{[a-z_]+\}\}", f"{relative} has a placeholder left")
                template = self.read(os.path.join(name, "template.yaml"))
                self.assertIn(f"Runtime: {runtime}\n", template)
                self.assertIn("AutoPublishAlias: live", template)
                self.assertIn("# DeploymentPreference:", template)
                self.assertIn("Type: Api", template)
                self.assertIn("Type: HttpApi", template)
                for event in ("events/event.json", "events/event-http.json"):
                    json.loads(self.read(os.path.join(name, event)))
                # wisp's own validator (with the project's samconfig: lint = true) finds
                # nothing, and reads the samconfig without a warning.
                # The one warning allowed is the dated one: a runtime whose deprecation is near
                # (nodejs22.x from late 2026) is still the one the issue asks for.
                checked = wisp("validate", "--output", "json", cwd=project)
                self.assertEqual((checked.returncode, checked.stderr), (0, ""), f"wisp validate in {name}")
                found = [d for d in json.loads(checked.stdout)
                         if d["code"] != "lint-runtime-deprecating"]
                self.assertEqual(found, [], f"wisp validate in {name}")
                # The project's own test, as its README says to run it.
                proc = subprocess.run(result["test_command"], shell=True, cwd=project,
                                      capture_output=True, text=True, timeout=120,
                                      env=harness.env())
                self.assertEqual(proc.returncode, 0,
                                 f"{result['test_command']} failed in {name}:\n{proc.stdout}\n{proc.stderr}")
                if tool == "node":
                    self.assertRegex(proc.stdout, r"# pass 3\b")
                    self.assertRegex(proc.stdout, r"# fail 0\b")
                elif tool == "sh":
                    self.assertIn("4 passed, 0 failed", proc.stdout)
                else:
                    self.assertIn("Ran 3 tests", proc.stderr)

    def test_each_scaffold_runs_under_wisp_local_invoke(self):
        """End to end: wisp's own Runtime API runs every scaffold's function, the
        provided.al2023 shell bootstrap included."""
        for runtime, app_template in (("python3.13", "hello-world"), ("nodejs22.x", "hello-world"),
                                      ("nodejs24.x", "hello-world-esm"),
                                      ("provided.al2023", "hello-world")):
            with self.subTest(runtime=runtime, app_template=app_template):
                name = f"run-{runtime.replace('.', '-')}-{app_template}"
                self.init(name, runtime, app_template)
                proc = wisp("local", "invoke", "HelloWorldFunction", "--event",
                            "events/event-http.json", cwd=self.path(name), timeout=120)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                response = json.loads(proc.stdout)
                self.assertEqual(response["statusCode"], 200)
                self.assertEqual(json.loads(response["body"]), {"message": "hello wisp"})

    def test_the_handler_tests_can_fail(self):
        """The scaffolds' tests assert something: a broken handler makes them fail."""
        for runtime, app_template, handler, old, new in (
            ("python3.13", "hello-world", "hello_world/app.py", 'f"hello {name}"', 'f"hi {name}"'),
            ("nodejs22.x", "hello-world", "hello-world/app.js", "`hello ${name}`", "`hi ${name}`"),
            ("nodejs22.x", "hello-world-esm", "hello-world/app.mjs", "`hello ${name}`", "`hi ${name}`"),
            ("provided.al2023", "hello-world", "hello-world/function.sh", "hello %s", "hi %s"),
        ):
            with self.subTest(runtime=runtime, app_template=app_template):
                name = f"broken-{runtime.replace('.', '-')}-{app_template}"
                result = self.init(name, runtime, app_template)
                path = os.path.join(name, handler)
                text = self.read(path)
                self.assertIn(old, text)
                self.write(path, text.replace(old, new))
                proc = subprocess.run(result["test_command"], shell=True, cwd=self.path(name),
                                      capture_output=True, text=True, timeout=120, env=harness.env())
                self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_samconfig_keys_are_flags_of_the_commands_that_exist(self):
        self.init("cfg", "python3.13", "hello-world")
        text = self.read("cfg/samconfig.toml")
        self.assertIn('[default.global.parameters]\nstack_name = "cfg"\n', text)
        top = wisp("--help", check=0).stdout
        commands = {line.split()[0] for line in top.split("Subcommands:")[1].splitlines()
                    if line.startswith("  ")}
        table = None
        for line in text.splitlines():
            header = re.match(r"^\[default\.([a-z_]+)\.parameters\]$", line)
            if header:
                table = header.group(1)
                continue
            entry = re.match(r"^([a-z_]+) = ", line)
            if not entry or table in (None, "global"):
                continue
            command = table.split("_")
            if command[0] not in commands:
                continue  # that command does not exist yet
            help_text = wisp(*[w.replace("_", "-") for w in command], "--help", check=0).stdout
            self.assertIn("--" + entry.group(1).replace("_", "-"), help_text,
                          f"samconfig.toml sets {table}.{entry.group(1)}, not a flag of wisp {' '.join(command)}")
        # And wisp reads it without a warning (init has none of those keys).
        proc = wisp("init", "--name", "inner", "--runtime", "python3.13", cwd=self.path("cfg"), check=0)
        self.assertEqual(proc.stderr, "")

    def test_output_dir_is_created(self):
        proc = wisp("init", "-n", "deep", "-r", "python3.13", "-o", "a/b/c", cwd=self.tmp, check=0)
        self.assertIn("Created a/b/c/deep (python3.13, hello-world): 12 files", proc.stdout)
        self.assertTrue(os.path.isfile(self.path("a/b/c/deep/template.yaml")))
        self.assertEqual(os.listdir(self.path("a/b/c")), ["deep"])  # no staging dir left

    def test_stack_name_is_made_valid(self):
        self.init("9_lives", "python3.13", "hello-world")
        self.assertIn('stack_name = "app-9-lives"', self.read("9_lives/samconfig.toml"))

    def test_provided_bootstrap_speaks_the_runtime_api(self):
        harness.require_peer("curl", "the provided.al2023 bootstrap posts with curl")
        self.init("custom", "provided.al2023", "hello-world")
        bootstrap = self.path("custom", "hello-world", "bootstrap")
        self.assertTrue(os.access(bootstrap, os.X_OK))
        with open(self.path("custom", "events", "event-http.json"), "rb") as f:
            event = f.read()
        # The Runtime API side of one invocation (2018-06-01), recorded for assertions.
        posted = {}
        done = threading.Event()

        class RuntimeApi(http.server.BaseHTTPRequestHandler):
            served = 0

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    self.send_error(404)
                    return
                if RuntimeApi.served > 0:
                    done.wait(10)  # the second /next: the invocation is over
                    self.send_error(500)
                    return
                RuntimeApi.served += 1
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 3000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:123456789012:function:custom")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(event)))
                self.end_headers()
                self.wfile.write(event)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                posted[self.path] = body
                self.send_response(202)
                payload = b'{"status":"OK"}'
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                done.set()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        proc = subprocess.Popen(
            [bootstrap], cwd=self.path("custom", "hello-world"), start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=harness.env(AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
                            _HANDLER="function.handler",
                            LAMBDA_TASK_ROOT=self.path("custom", "hello-world")))
        try:
            self.assertTrue(done.wait(30), "the bootstrap posted no response")
            # The next /next gets a 500: the runtime must exit (not spin).
            self.assertNotEqual(proc.wait(timeout=30), 0)
        finally:
            harness.stop(proc)
            server.shutdown()
            server.server_close()
        path = "/2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response"
        self.assertIn(path, posted)
        response = json.loads(posted[path])
        self.assertEqual(response["statusCode"], 200)
        self.assertEqual(json.loads(response["body"]), {"message": "hello wisp"})

    def test_provided_bootstrap_reports_a_missing_handler(self):
        harness.require_peer("curl", "the provided.al2023 bootstrap posts with curl")
        self.init("nohandler", "provided.al2023", "hello-world")
        posted = {}

        class RuntimeApi(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                posted[self.path] = (self.headers.get("Lambda-Runtime-Function-Error-Type"),
                                     self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            proc = subprocess.run(
                [self.path("nohandler", "hello-world", "bootstrap")], capture_output=True, timeout=30,
                env=harness.env(AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
                                _HANDLER="missing.handler",
                                LAMBDA_TASK_ROOT=self.path("nohandler", "hello-world")))
        finally:
            server.shutdown()
            server.server_close()
        self.assertEqual(proc.returncode, 1)
        error_type, body = posted["/2018-06-01/runtime/init/error"]
        self.assertEqual(error_type, "Runtime.NoSuchHandler")
        self.assertEqual(json.loads(body), {"errorMessage": "handler file missing.sh not found",
                                            "errorType": "Runtime.NoSuchHandler"})


class Names(WispTestCase):
    GOOD = ["a", "my-app", "my_app", "App2", "0day", "_private", "x" * 64]
    BAD = [
        ("", "invalid name '': a name cannot be empty"),
        ("my app", "invalid name 'my app': ' ' is not allowed (use letters, digits, '-' and '_')"),
        ("a/b", "invalid name 'a/b': '/' is not allowed (use letters, digits, '-' and '_')"),
        ("../up", "invalid name '../up': '.' is not allowed (use letters, digits, '-' and '_')"),
        ("..", "invalid name '..': '.' is not allowed (use letters, digits, '-' and '_')"),
        ("app.v2", "invalid name 'app.v2': '.' is not allowed (use letters, digits, '-' and '_')"),
        ("café", "invalid name 'caf\\xc3\\xa9': 'é' is not allowed (use letters, digits, '-' and '_')"),
        ("a:b", "invalid name 'a:b': ':' is not allowed (use letters, digits, '-' and '_')"),
        ("-app", "invalid name '-app': a name cannot start with '-'"),
        ("x" * 65, f"invalid name '{'x' * 65}': 65 characters, at most 64 are allowed"),
    ]

    def test_good_names(self):
        for name in self.GOOD:
            with self.subTest(name=name):
                wisp("init", "--name", name, "--runtime", "python3.13", cwd=self.tmp, check=0)
                self.assertTrue(os.path.isfile(self.path(name, "template.yaml")))

    def test_bad_names_have_exact_messages(self):
        for name, message in self.BAD:
            with self.subTest(name=name):
                proc = wisp("init", "--name", name, "--runtime", "python3.13", cwd=self.tmp)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(proc.stderr, f"error: {message}\n")
                self.assertEqual(proc.stdout, "")
        self.assertEqual(os.listdir(self.tmp), [])

    def test_a_bad_name_is_reported_before_asking(self):
        proc = wisp("init", "--name", "a b", cwd=self.tmp)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("invalid name 'a b'", proc.stderr)


class NoOverwrite(WispTestCase):
    def test_an_existing_directory_is_left_untouched(self):
        self.write("app/template.yaml", "mine\n")
        self.write("app/src/keep.py", "x = 1\n", mode=0o600)
        before = tree(self.path("app"))
        mtime = os.stat(self.path("app")).st_mtime_ns
        proc = wisp("init", "--name", "app", "--runtime", "python3.13", cwd=self.tmp)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr, "error: app already exists; wisp init never overwrites "
                                      "(choose another --name or --output-dir)\n")
        self.assertEqual(tree(self.path("app")), before)
        self.assertEqual(os.stat(self.path("app")).st_mtime_ns, mtime)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["app"])  # no staging dir left

    def test_an_empty_directory_or_a_file_is_not_replaced(self):
        os.makedirs(self.path("out", "empty"))
        self.write("out/file", "data")
        for name in ("empty", "file"):
            with self.subTest(name=name):
                proc = wisp("init", "-n", name, "-r", "nodejs22.x", "-o", "out", cwd=self.tmp)
                self.assertEqual(proc.returncode, 1)
                self.assertIn(f"error: out/{name} already exists", proc.stderr)
        self.assertEqual(os.listdir(self.path("out", "empty")), [])
        self.assertEqual(self.read("out/file"), "data")
        self.assertEqual(sorted(os.listdir(self.path("out"))), ["empty", "file"])

    def test_a_dangling_symlink_is_not_followed(self):
        os.symlink(self.path("elsewhere"), self.path("link"))
        proc = wisp("init", "-n", "link", "-r", "python3.13", cwd=self.tmp)
        self.assertEqual(proc.returncode, 1)
        self.assertFalse(os.path.exists(self.path("elsewhere")))

    def test_an_output_dir_that_cannot_be_made_leaves_nothing(self):
        self.write("plain", "a file where a directory should be")
        proc = wisp("init", "-n", "x", "-r", "python3.13", "-o", "plain/sub", cwd=self.tmp)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("error: cannot create plain/sub: ", proc.stderr)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["plain"])
        self.assertEqual(self.read("plain"), "a file where a directory should be")


class Runtimes(WispTestCase):
    def test_blocked_runtimes_are_refused(self):
        for runtime, since, instead in (
            ("python3.10", "2026-07-31", "python3.14, python3.13 or python3.12"),
            ("python3.11", "2026-07-31", "python3.14, python3.13 or python3.12"),
            ("nodejs20.x", "2026-06-01", "nodejs24.x or nodejs22.x"),
            ("provided.al2", "2026-07-31", "provided.al2023"),
        ):
            with self.subTest(runtime=runtime):
                proc = wisp("init", "--name", "old", "--runtime", runtime, cwd=self.tmp)
                self.assertEqual(proc.returncode, 2)
                self.assertIn(f"--runtime: {runtime} can no longer be created on AWS Lambda "
                              f"(blocked since {since}); use {instead}\n", proc.stderr)
        self.assertEqual(os.listdir(self.tmp), [])

    def test_unknown_runtime_suggests(self):
        proc = wisp("init", "--name", "x", "--runtime", "pyton3.13", cwd=self.tmp)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown runtime 'pyton3.13'; did you mean python3.13?", proc.stderr)

    def test_app_template_must_fit_the_runtime(self):
        proc = wisp("init", "-n", "x", "-r", "python3.13", "--app-template", "hello-world-esm", cwd=self.tmp)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stderr, "error: app template 'hello-world-esm' is not available for "
                                      "python3.13 (available: hello-world)\n")

    def test_completion_offers_only_creatable_runtimes(self):
        script = wisp("completion", "bash", check=0).stdout
        path = self.write("wisp.bash", script)
        probe = (f"source {path}\n"
                 "COMP_WORDS=(wisp init --runtime ''); COMP_CWORD=3; _wisp_completion; echo \"${COMPREPLY[@]}\"\n"
                 "COMP_WORDS=(wisp init --app-template ''); COMP_CWORD=3; _wisp_completion; echo \"${COMPREPLY[@]}\"\n")
        out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
        lines = out.stdout.splitlines()
        self.assertEqual(lines[0].split(), CREATABLE)
        self.assertEqual(lines[1].split(), ["hello-world", "hello-world-esm"])


class WithoutTerminal(WispTestCase):
    def test_missing_flags_are_named(self):
        cases = [
            ((), "error: missing --runtime and --name: stdin is not a terminal, so wisp init cannot "
                  "ask for them (example: wisp init --name my-app --runtime python3.13)\n"),
            (("--name", "a"), "error: missing --runtime: stdin is not a terminal, so wisp init cannot "
                              "ask for it (example: wisp init --name my-app --runtime python3.13)\n"),
            (("--runtime", "python3.13"), "error: missing --name: stdin is not a terminal, so wisp "
                                          "init cannot ask for it (example: wisp init --name my-app "
                                          "--runtime python3.13)\n"),
            (("--runtime", "python3.13", "--no-interactive"),
             "error: missing --name: --no-interactive was given, so wisp init does not ask for it "
             "(example: wisp init --name my-app --runtime python3.13)\n"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                proc = wisp("init", *args, cwd=self.tmp)
                self.assertEqual(proc.returncode, 2)
                self.assertEqual(proc.stderr, message)
                self.assertEqual(proc.stdout, "")
        self.assertEqual(os.listdir(self.tmp), [])

    def test_missing_scaffolds_are_reported(self):
        proc = wisp("init", "-n", "x", "-r", "python3.13", cwd=self.tmp,
                    extra_env={"WISP_TEMPLATES_DIR": self.path("nowhere")})
        self.assertEqual(proc.returncode, 1)
        self.assertIn(f"wisp's scaffolds were not found (looked in {self.path('nowhere')})", proc.stderr)

    def test_a_broken_manifest_is_reported_with_its_position(self):
        shutil.copytree(os.path.join(harness.SOURCE_DIR, "templates"), self.path("templates"))
        manifest = self.path("templates", "python-hello-world", "manifest.toml")
        with open(manifest, "a") as f:
            f.write("colour = 'blue'\n")
        proc = wisp("init", "-n", "x", "-r", "python3.13", cwd=self.tmp,
                    extra_env={"WISP_TEMPLATES_DIR": self.path("templates")})
        self.assertEqual(proc.returncode, 1)
        lines = self.read("templates/python-hello-world/manifest.toml").count("\n")
        self.assertIn(f"{manifest}:{lines}:1: error: unknown key 'colour' [manifest]", proc.stderr)
        self.assertFalse(os.path.exists(self.path("x")))


class Pty:
    """wisp run on a pseudo-terminal: stdin, stdout and stderr are the terminal."""

    def __init__(self, args, cwd):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen([harness.WISP, *args], cwd=cwd, stdin=slave, stdout=slave,
                                     stderr=slave, env=harness.env(), start_new_session=True,
                                     close_fds=True)
        os.close(slave)
        self.output = ""

    def expect(self, text, timeout=20):
        deadline = time.monotonic() + timeout
        while text not in self.output:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"did not see {text!r} in:\n{self.output}")
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"terminal closed before {text!r}:\n{self.output}")
                self.output += data.decode("utf-8", "replace").replace("\r\n", "\n")

    def send(self, text):
        os.write(self.master, text.encode())

    def finish(self, timeout=20):
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            harness.stop(self.proc)
        # Drain what is left.
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                break
            try:
                data = os.read(self.master, 4096)
            except OSError:
                break
            if not data:
                break
            self.output += data.decode("utf-8", "replace").replace("\r\n", "\n")
        os.close(self.master)
        return code


class WithTerminal(WispTestCase):
    def test_asks_for_runtime_template_and_name(self):
        self.write("taken/keep", "x")
        term = Pty(["init"], cwd=self.tmp)
        term.expect("Which runtime?\n")
        for i, runtime in enumerate(CREATABLE, 1):
            term.expect(f"{i:>4} - {runtime}\n")
        term.expect("Choice [2]: ")  # python3.13 is proposed
        term.send("9\n")
        term.expect("'9' is not one of the choices: enter 1 to 6\n")
        term.send("nodejs22.x\n")
        term.expect("Which app template?\n")
        term.expect("   2 - hello-world-esm")
        term.expect("Choice [1]: ")
        term.send("2\n")
        term.expect("Project name [wisp-app]: ")
        term.send("bad name\n")
        term.expect("invalid name 'bad name': ' ' is not allowed (use letters, digits, '-' and '_')\n")
        term.expect("Project name [wisp-app]: ")
        term.send("taken\n")
        term.expect("taken already exists\n")
        term.send("tty-app\n")
        code = term.finish()
        self.assertEqual(code, 0, term.output)
        self.assertIn("Created tty-app (nodejs22.x, hello-world-esm): 9 files", term.output)
        self.assertTrue(os.path.isfile(self.path("tty-app", "hello-world", "app.mjs")))
        self.assertEqual(os.listdir(self.path("taken")), ["keep"])

    def test_defaults_on_enter(self):
        term = Pty(["init"], cwd=self.tmp)
        term.expect("Choice [2]: ")
        term.send("\n")
        term.expect("Project name [wisp-app]: ")
        term.send("\n")
        self.assertEqual(term.finish(), 0, term.output)
        self.assertIn("Runtime: python3.13\n", self.read("wisp-app/template.yaml"))

    def test_only_missing_flags_are_asked(self):
        term = Pty(["init", "--runtime", "provided.al2023"], cwd=self.tmp)
        term.expect("Project name [wisp-app]: ")
        term.send("given\n")
        self.assertEqual(term.finish(), 0, term.output)
        self.assertNotIn("Which runtime?", term.output)
        self.assertNotIn("Which app template?", term.output)
        self.assertTrue(os.path.isfile(self.path("given", "hello-world", "bootstrap")))

    def test_end_of_input_aborts(self):
        term = Pty(["init"], cwd=self.tmp)
        term.expect("Choice [2]: ")
        term.send("\x04")  # Ctrl-D at the start of a line: end of input
        code = term.finish()
        self.assertEqual(code, 1, term.output)
        self.assertIn("error: no answer: end of input", term.output)
        self.assertEqual(os.listdir(self.tmp), [])

    def test_no_interactive_on_a_terminal_does_not_ask(self):
        term = Pty(["init", "--no-interactive", "--name", "x"], cwd=self.tmp)
        code = term.finish()
        self.assertEqual(code, 2, term.output)
        self.assertIn("error: missing --runtime: --no-interactive was given, so wisp init does not "
                      "ask for it", term.output)
        self.assertNotIn("Which runtime?", term.output)


if __name__ == "__main__":
    harness.main()
