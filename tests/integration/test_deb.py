"""The Debian package: `cpack -G DEB` in the build directory makes a .deb that holds the
binary, the scaffolds, the man page and the completions where Debian's tools look for them;
unpacked into a temp root (dpkg -x), the installed wisp runs and finds its scaffolds in
share/wisp/templates beside its bin/."""

import glob
import gzip
import os
import subprocess

import harness
from harness import WispTestCase

BUILD_DIR = os.environ.get("WISP_BUILD_DIR", os.path.join(harness.SOURCE_DIR, "build", "dev"))

EXPECTED = [
    "./usr/bin/wisp",
    "./usr/share/man/man1/wisp.1.gz",
    "./usr/share/bash-completion/completions/wisp",
    "./usr/share/zsh/vendor-completions/_wisp",
    "./usr/share/fish/vendor_completions.d/wisp.fish",
    "./usr/share/wisp/templates/python-hello-world/manifest.toml",
    "./usr/share/wisp/templates/python-hello-world/files/template.yaml",
    "./usr/share/wisp/templates/nodejs-hello-world/manifest.toml",
    "./usr/share/wisp/templates/nodejs-hello-world-esm/manifest.toml",
    "./usr/share/wisp/templates/provided-hello-world/files/hello-world/bootstrap",
]


class DebianPackage(WispTestCase):
    @classmethod
    def setUpClass(cls):
        cls.cpack = harness.require_peer("cpack", "builds the .deb")
        harness.require_peer("dpkg-deb", "reads and unpacks the .deb")
        config = os.path.join(BUILD_DIR, "CPackConfig.cmake")
        if not os.path.isfile(config):
            raise AssertionError(f"{config} is missing: configure the build first")
        cls.work = harness.tempfile.mkdtemp(prefix="wisp-deb-")
        proc = subprocess.run([cls.cpack, "-G", "DEB", "--config", config, "-B", cls.work],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise AssertionError(f"cpack failed:\n{proc.stdout}\n{proc.stderr}")
        debs = glob.glob(os.path.join(cls.work, "wisp_*.deb"))
        if len(debs) != 1:
            raise AssertionError(f"expected one .deb in {cls.work}, found {debs}")
        cls.deb = debs[0]
        cls.root = os.path.join(cls.work, "root")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True)
        cls.installed = os.path.join(cls.root, "usr", "bin", "wisp")

    @classmethod
    def tearDownClass(cls):
        harness.shutil.rmtree(cls.work, ignore_errors=True)

    def run_installed(self, *args, cwd=None, **extra_env):
        env = harness.env(**extra_env)
        env.pop("WISP_TEMPLATES_DIR", None)
        return subprocess.run([self.installed, *args], cwd=cwd or self.tmp, capture_output=True,
                              text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)

    def test_contents(self):
        listing = subprocess.run(["dpkg-deb", "-c", self.deb], capture_output=True, text=True,
                                 check=True).stdout
        paths = [line.split()[-1] for line in listing.splitlines()]
        for path in EXPECTED:
            self.assertIn(path, paths)
        for line in listing.splitlines():
            if line.endswith("./usr/bin/wisp") or line.endswith("/hello-world/bootstrap"):
                self.assertTrue(line.startswith("-rwxr-xr-x"), line)
        self.assertFalse([p for p in paths if "__pycache__" in p or "node_modules" in p])

    def test_control(self):
        fields = subprocess.run(["dpkg-deb", "-f", self.deb, "Package", "Version", "Depends"],
                                capture_output=True, text=True, check=True).stdout
        self.assertIn("Package: wisp\n", fields)
        version = harness.wisp("--version", check=0).stdout.split()[1]
        self.assertIn(f"Version: {version}\n", fields)
        self.assertIn("libyaml-cpp0.7", fields)
        # Loaded with dlopen, so named by hand: a missing one would only show at the first upload.
        self.assertIn("libcurl4 (>= 7.80)", fields)
        self.assertIn("libarchive13 (>= 3.6)", fields)

    def test_installed_version(self):
        proc = self.run_installed("--version")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, harness.wisp("--version", check=0).stdout)

    def test_installed_init_uses_the_installed_templates(self):
        proc = self.run_installed("init", "--name", "pkg-app", "--runtime", "python3.13", "--debug")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        templates = os.path.join(self.root, "usr", "share", "wisp", "templates")
        self.assertIn(f"debug: scaffolds from {templates}\n", proc.stderr)
        project = self.path("pkg-app")
        self.assertTrue(os.path.isfile(os.path.join(project, "template.yaml")))
        test = subprocess.run(["python3", "-m", "unittest"], cwd=project, capture_output=True,
                              text=True, timeout=120, env=harness.env())
        self.assertEqual(test.returncode, 0, test.stderr)

    def test_installed_binary_does_not_fall_back_to_the_source_tree(self):
        """Without share/wisp/templates the installed binary fails, naming where it looked."""
        moved = os.path.join(self.work, "templates-moved")
        templates = os.path.join(self.root, "usr", "share", "wisp", "templates")
        os.rename(templates, moved)
        try:
            proc = self.run_installed("init", "--name", "x", "--runtime", "python3.13")
        finally:
            os.rename(moved, templates)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr, f"error: wisp's scaffolds were not found (looked in {templates}); "
                                      "reinstall wisp or set WISP_TEMPLATES_DIR to a templates directory\n")

    def test_man_page(self):
        with gzip.open(os.path.join(self.root, "usr/share/man/man1/wisp.1.gz"), "rt") as f:
            page = f.read()
        self.assertTrue(page.startswith(".TH WISP 1 "), page[:80])
        top = harness.wisp("--help", check=0).stdout
        commands = [line.split()[0] for line in top.split("Subcommands:")[1].splitlines()
                    if line.startswith("  ")]
        for command in commands:
            self.assertIn(f'.SS "wisp {command}', page)
        self.assertIn("\\-\\-no\\-interactive", page)
        if harness.shutil.which("groff"):
            proc = subprocess.run(["groff", "-man", "-ww", "-z"], input=page, capture_output=True,
                                  text=True)
            self.assertEqual(proc.stderr, "")

    def test_completions_match_the_binary(self):
        for shell, path in (("bash", "usr/share/bash-completion/completions/wisp"),
                            ("zsh", "usr/share/zsh/vendor-completions/_wisp"),
                            ("fish", "usr/share/fish/vendor_completions.d/wisp.fish")):
            with open(os.path.join(self.root, path)) as f:
                self.assertEqual(f.read(), self.run_installed("completion", shell).stdout)


if __name__ == "__main__":
    harness.main()
