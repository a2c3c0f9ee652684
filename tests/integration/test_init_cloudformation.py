"""cfn-lint, a real oracle that knows Lambda's runtime deprecations, accepts every template
`wisp init` writes, and flags the runtimes wisp refuses. A file of its own: cfn-lint is not
a Debian package, and when it is missing only these tests are skipped."""

import os
import subprocess

import harness
from harness import WispTestCase, wisp
from test_init import SCAFFOLDS


class CfnLint(WispTestCase):
    def init(self, name, runtime, app_template):
        wisp("init", "--name", name, "--runtime", runtime, "--app-template", app_template,
             cwd=self.tmp, check=0)

    def test_templates_pass_cfn_lint(self):
        cfn_lint = harness.require_peer("cfn-lint", "CloudFormation/SAM linter, knows Lambda deprecations")
        names = []
        for runtime, app_template, _ in SCAFFOLDS:
            name = f"lint-{runtime.replace('.', '-')}-{app_template}"
            self.init(name, runtime, app_template)
            names.append(os.path.join(name, "template.yaml"))
        proc = subprocess.run([cfn_lint, "--format", "parseable", *names], cwd=self.tmp,
                              capture_output=True, text=True, timeout=300, env=harness.env())
        # Exit 0: no errors, warnings or informational findings at all.
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_cfn_lint_rejects_what_wisp_refuses(self):
        """The oracle agrees: a blocked runtime in the same template is a cfn-lint error."""
        cfn_lint = harness.require_peer("cfn-lint", "CloudFormation/SAM linter, knows Lambda deprecations")
        self.init("oracle", "python3.13", "hello-world")
        template = self.read("oracle/template.yaml").replace("Runtime: python3.13", "Runtime: python3.11")
        self.write("oracle/template.yaml", template)
        proc = subprocess.run([cfn_lint, "oracle/template.yaml"], cwd=self.tmp, capture_output=True,
                              text=True, timeout=120, env=harness.env())
        self.assertIn("E2533", proc.stdout)


if __name__ == "__main__":
    harness.main()
