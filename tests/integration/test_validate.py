"""`wisp validate`: exit codes, the diagnostic format, --output json, --lint,
--parameter-overrides, --import-values and samconfig, driven through the built binary."""

import json
import os
import pty
import subprocess

import harness
from harness import WispTestCase, wisp

HEADER = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"

GOOD = HEADER + """Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.13
      CodeUri: src/
      Environment:
        Variables:
          VPC: !ImportValue shared-vpc
      Events:
        Get: {Type: Api, Properties: {Path: /hello, Method: get}}
"""

BAD = HEADER + """Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.13
      CodeUri: src/
      Timout: 10
      Environment:
        Variables:
          TABLE: !Ref Missing
"""


class Validate(WispTestCase):
    def setUp(self):
        super().setUp()
        self.write("src/app.py", "def handler(event, context):\n    return {}\n")

    def test_valid_template_exits_0(self):
        self.write("template.yaml", GOOD)
        proc = wisp("validate", cwd=self.tmp)
        self.assertWisp(proc, 0, stdout_has="template.yaml is a valid SAM template")
        self.assertEqual(proc.stderr, "")

    def test_template_yml_is_the_fallback(self):
        self.write("template.yml", GOOD)
        proc = wisp("validate", cwd=self.tmp)
        self.assertWisp(proc, 0, stdout_has="template.yml is a valid SAM template")

    def test_every_problem_in_one_run_with_positions(self):
        self.write("template.yaml", BAD)
        proc = wisp("validate", cwd=self.tmp)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(
            proc.stderr,
            "template.yaml:10:7: error: unknown property 'Timout' in AWS::Serverless::Function; "
            "did you mean 'Timeout'? [unknown-property]\n"
            "template.yaml:13:18: error: Ref to 'Missing', which is not a parameter or resource "
            "of this template [ref-undefined]\n"
            "template.yaml: 2 errors\n",
        )
        self.assertEqual(proc.stdout, "")

    def test_terminal_shows_the_source_line_and_a_caret(self):
        self.write("template.yaml", BAD)
        leader, follower = pty.openpty()
        try:
            proc = subprocess.run([harness.WISP, "validate"], cwd=self.tmp, env=harness.env(),
                                  stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
                                  timeout=60)
            os.close(follower)
            follower = None
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the terminal has no writer left
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            if follower is not None:
                os.close(follower)
            os.close(leader)
        self.assertEqual(proc.returncode, 1)
        # The harness sets NO_COLOR: the source lines stay, without colour.
        text = b"".join(chunks).decode().replace("\r\n", "\n")
        self.assertNotIn("\x1b[", text)
        self.assertIn("template.yaml:10:7: error: unknown property 'Timout' in "
                      "AWS::Serverless::Function; did you mean 'Timeout'? [unknown-property]\n"
                      "   10 |       Timout: 10\n"
                      "      |       ^\n", text)
        self.assertIn("template.yaml:13:18: error: Ref to 'Missing', which is not a parameter or "
                      "resource of this template [ref-undefined]\n"
                      "   13 |           TABLE: !Ref Missing\n"
                      "      |                  ^\n", text)

    def test_json_output(self):
        self.write("t.yaml", BAD)
        proc = wisp("validate", "-t", "t.yaml", "--output", "json", cwd=self.tmp)
        self.assertEqual(proc.returncode, 1)
        items = json.loads(proc.stdout)
        self.assertEqual(len(items), 2)
        self.assertEqual(
            items[0],
            {
                "file": "t.yaml",
                "line": 10,
                "column": 7,
                "severity": "error",
                "code": "unknown-property",
                "message": "unknown property 'Timout' in AWS::Serverless::Function; did you mean "
                "'Timeout'?",
            },
        )
        ok = wisp("validate", "-t", self.write("ok.yaml", GOOD), "--output", "json", cwd=self.tmp)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertEqual(json.loads(ok.stdout), [])

    def test_parameter_overrides_are_checked(self):
        self.write("template.yaml", GOOD)
        proc = wisp("validate", "--parameter-overrides", "Stage=qa", cwd=self.tmp)
        self.assertWisp(
            proc, 1, stderr_has="parameter 'Stage': 'qa' (from --parameter-overrides) is not one"
        )
        ok = wisp("validate", "--parameter-overrides", "ParameterKey=Stage,ParameterValue=prod",
                  cwd=self.tmp)
        self.assertWisp(ok, 0)

    def test_bad_parameter_overrides_is_a_usage_error(self):
        self.write("template.yaml", GOOD)
        proc = wisp("validate", "--parameter-overrides", "justaword", cwd=self.tmp)
        self.assertWisp(proc, 2, stderr_has="'justaword' is neither Key=Value")

    def test_samconfig_parameter_overrides_apply(self):
        self.write("template.yaml", GOOD)
        self.write("samconfig.toml",
                   'version = 0.1\n[default.validate.parameters]\nparameter_overrides = "Stage=qa"\n')
        proc = wisp("validate", cwd=self.tmp)
        self.assertWisp(proc, 1, stderr_has="'qa' (from --parameter-overrides)")

    def test_import_values(self):
        self.write("template.yaml", GOOD)
        self.write("exports.json", json.dumps({"shared-vpc": "vpc-1"}))
        self.assertWisp(wisp("validate", "--import-values", "exports.json", cwd=self.tmp), 0)
        self.write("broken.json", "[1, 2]")
        proc = wisp("validate", "--import-values", "broken.json", cwd=self.tmp)
        self.assertWisp(proc, 2, stderr_has="must be a JSON object")
        proc = wisp("validate", "--import-values", "missing.json", cwd=self.tmp)
        self.assertWisp(proc, 2, stderr_has="missing.json")

    def test_warnings_do_not_fail(self):
        self.write("template.yaml", GOOD.replace("python3.13", "python3.11"))
        proc = wisp("validate", cwd=self.tmp)
        self.assertWisp(proc, 0, stdout_has="(1 warning)", stderr_has="[runtime-deprecated]")

    def test_missing_template_and_directory(self):
        proc = wisp("validate", cwd=self.tmp)
        self.assertWisp(proc, 1, stderr_has="neither template.yaml nor template.yml")
        proc = wisp("validate", "-t", "src", cwd=self.tmp)
        self.assertWisp(proc, 1, stderr_has="is a directory")

    def test_duplicate_keys_warn_and_the_last_wins(self):
        # CloudFormation, the SAM CLI and the AWS CLI take the last of two equal keys (cfn-lint
        # alone refuses them): a warning, and the function runs with the last value.
        self.write("dups.yaml", HEADER + "Resources:\n"
                   "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                   "      Runtime: python3.13\n      Handler: index.handler\n"
                   "      InlineCode: \"def handler(e, c): return 1\"\n"
                   "      Timeout: 3\n      Timeout: 5000\n")
        proc = wisp("validate", "-t", "dups.yaml", cwd=self.tmp, timeout=30)
        self.assertWisp(proc, 1, stderr_has=["duplicate key 'Timeout' (first defined at line 10)",
                                              "[limit-timeout]"])
        self.write("dups.yaml", HEADER + "Resources:\n  A: {Type: AWS::SNS::Topic}\n"
                   "  A: {Type: AWS::SQS::Queue}\n")
        proc = wisp("validate", "-t", "dups.yaml", "--output", "json", cwd=self.tmp, timeout=30)
        self.assertWisp(proc, 0)
        items = json.loads(proc.stdout)
        self.assertEqual([(d["severity"], d["code"], d["line"]) for d in items],
                         [("warning", "duplicate-key", 5)])

    def test_hostile_inputs_are_diagnostics(self):
        cases = {
            "bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [" + ", ".join([f"*{p}"] * 9) + "]\n"
                for p, c in zip("abcdefghij", "bcdefghijk")
            ),
            "deep.yaml": "a: " + "[" * 50000 + "]" * 50000 + "\n",
            "utf8.yaml": b"a: \xff\xfe\n",
            "empty.yaml": "",
            "list.yaml": "- 1\n- 2\n",
        }
        expected = {
            "bomb.yaml": "[limit-alias]",
            "deep.yaml": "[limit-depth]",
            "utf8.yaml": "invalid UTF-8 (byte 0xFF)",
            "empty.yaml": "the template is empty",
            "list.yaml": "a template is a mapping of sections, not a list",
        }
        for name, content in cases.items():
            self.write(name, content)
            proc = wisp("validate", "-t", name, cwd=self.tmp, timeout=30)
            self.assertWisp(proc, 1, stderr_has=expected[name])


if __name__ == "__main__":
    harness.main()
