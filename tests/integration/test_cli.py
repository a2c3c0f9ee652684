"""The command tree, exit codes, samconfig handling and completions of the built binary."""

import os
import subprocess

import harness
from harness import WispTestCase, wisp


class TopLevel(WispTestCase):
    def test_version(self):
        proc = wisp("--version", check=0)
        self.assertRegex(proc.stdout.strip(), r"^wisp \d+\.\d+\.\d+$")

    def test_help_lists_commands(self):
        proc = wisp("--help", check=0)
        self.assertIn("completion", proc.stdout)
        self.assertIn("Usage: wisp", proc.stdout)

    def test_no_command_is_a_usage_error(self):
        proc = wisp()
        self.assertWisp(proc, 2, stderr_has="Usage: wisp")

    def test_unknown_command_is_a_usage_error(self):
        proc = wisp("frobnicate")
        self.assertWisp(proc, 2, stderr_has="frobnicate")

    def test_bad_enum_value_is_a_usage_error(self):
        proc = wisp("completion", "tcsh")
        self.assertWisp(proc, 2, stderr_has="tcsh")

    def test_every_command_has_help_with_examples(self):
        top = wisp("--help", check=0).stdout
        section = top.split("Subcommands:")[1]
        names = [line.split()[0] for line in section.splitlines() if line.startswith("  ")]
        self.assertTrue(names)
        for name in names:
            proc = wisp(name, "--help", check=0)
            if "Subcommands:" in proc.stdout:
                continue
            self.assertIn("Examples:", proc.stdout, f"wisp {name} --help has no examples")


class Completions(WispTestCase):
    def test_bash_script_is_valid_and_completes(self):
        script = wisp("completion", "bash", check=0).stdout
        path = self.write("wisp.bash", script)
        # Drive the completion function the way bash would.
        probe = (
            f"source {path}\n"
            "COMP_WORDS=(wisp comp); COMP_CWORD=1; _wisp_completion; echo \"${COMPREPLY[@]}\"\n"
            "COMP_WORDS=(wisp completion ''); COMP_CWORD=2; _wisp_completion; echo \"${COMPREPLY[@]}\"\n"
            "COMP_WORDS=(wisp completion --col); COMP_CWORD=2; _wisp_completion; echo \"${COMPREPLY[@]}\"\n"
        )
        out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
        lines = out.stdout.splitlines()
        self.assertEqual(lines[0], "completion")
        self.assertEqual(sorted(lines[1].split()), ["bash", "fish", "zsh"])
        self.assertEqual(lines[2], "--color")

    def test_zsh_and_fish_scripts_parse(self):
        for shell, checker in (("zsh", ["zsh", "-n"]), ("fish", ["fish", "--no-execute"])):
            script = wisp("completion", shell, check=0).stdout
            self.assertIn("wisp", script)
            if harness.shutil.which(checker[0]) is None:
                continue  # the syntax check needs the shell; the drift test still covers it
            path = self.write(f"wisp.{shell}", script)
            subprocess.run([*checker, path], check=True)


class SamConfig(WispTestCase):
    def test_malformed_config_is_an_error_with_position(self):
        self.write("samconfig.toml", "version = 0.1\n[default.completion.parameters\n")
        proc = wisp("completion", "bash", cwd=self.tmp)
        self.assertWisp(proc, 1, stderr_has="samconfig.toml:2:")

    def test_unknown_key_warns_with_position_and_suggestion(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.completion.parameters]\ncolour = "never"\n')
        proc = wisp("completion", "bash", cwd=self.tmp, check=0)
        self.assertIn("samconfig.toml:3:1: warning: 'colour' is not a parameter of 'wisp completion'", proc.stderr)
        self.assertIn("did you mean 'color'?", proc.stderr)

    def test_global_keys_a_command_lacks_are_ignored(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.global.parameters]\nstack_name = "app"\n')
        proc = wisp("completion", "bash", cwd=self.tmp, check=0)
        self.assertEqual(proc.stderr, "")

    def test_invalid_value_is_an_error_with_position(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.global.parameters]\ncolor = "purple"\n')
        proc = wisp("completion", "bash", cwd=self.tmp)
        self.assertWisp(proc, 1, stderr_has=["samconfig.toml:3:1: error: invalid value for 'color'"])

    def test_explicit_missing_config_file_is_an_error(self):
        proc = wisp("completion", "bash", "--config-file", "nope.toml", cwd=self.tmp)
        self.assertWisp(proc, 1, stderr_has="nope.toml does not exist")

    def test_explicit_unknown_env_is_an_error(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.global.parameters]\ncolor = "never"\n')
        proc = wisp("completion", "bash", "--config-env", "prod", cwd=self.tmp)
        self.assertWisp(proc, 1, stderr_has="environment 'prod' is not in samconfig.toml")

    def test_yaml_config_is_read_when_toml_is_absent(self):
        self.write("samconfig.yaml", "version: 0.1\ndefault:\n  completion:\n    parameters:\n      colr: never\n")
        proc = wisp("completion", "bash", cwd=self.tmp, check=0)
        self.assertIn("samconfig.yaml:5:7: warning: 'colr'", proc.stderr)


if __name__ == "__main__":
    harness.main()
