"""samconfig applies to `wisp init` with SAM's semantics: the command's table, the global
table under it, flags winning, no inheritance between environments, --config-env,
--config-file, and a malformed file reported with line:col."""

import os

import harness
from harness import WispTestCase, wisp


class InitSamConfig(WispTestCase):
    def runtime_of(self, name):
        for line in self.read(os.path.join(name, "template.yaml")).splitlines():
            if line.strip().startswith("Runtime:"):
                return line.split(":", 1)[1].strip()
        self.fail(f"{name}/template.yaml has no Runtime")

    def test_config_supplies_the_runtime(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.init.parameters]\nruntime = "nodejs22.x"\n')
        wisp("init", "--name", "a", cwd=self.tmp, check=0)
        self.assertEqual(self.runtime_of("a"), "nodejs22.x")

    def test_config_supplies_every_flag(self):
        self.write("samconfig.toml", "version = 0.1\n[default.init.parameters]\n"
                                     'name = "cfg-app"\nruntime = "nodejs24.x"\n'
                                     'app_template = "hello-world-esm"\noutput_dir = "apps"\n'
                                     "no_interactive = true\n")
        proc = wisp("init", cwd=self.tmp, check=0)
        self.assertEqual(proc.stderr, "")
        self.assertTrue(os.path.isfile(self.path("apps", "cfg-app", "hello-world", "app.mjs")))
        self.assertEqual(self.runtime_of("apps/cfg-app"), "nodejs24.x")

    def test_flag_beats_config(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.init.parameters]\nruntime = "nodejs22.x"\n')
        wisp("init", "--name", "a", "--runtime", "python3.13", cwd=self.tmp, check=0)
        self.assertEqual(self.runtime_of("a"), "python3.13")

    def test_command_table_beats_global(self):
        self.write("samconfig.toml", "version = 0.1\n"
                                     '[default.global.parameters]\nruntime = "python3.12"\n'
                                     '[default.init.parameters]\nruntime = "nodejs24.x"\n')
        wisp("init", "--name", "a", cwd=self.tmp, check=0)
        self.assertEqual(self.runtime_of("a"), "nodejs24.x")

    def test_global_applies_when_the_command_table_is_silent(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.global.parameters]\nruntime = "python3.12"\n')
        wisp("init", "--name", "a", cwd=self.tmp, check=0)
        self.assertEqual(self.runtime_of("a"), "python3.12")

    def test_no_inheritance_from_default_into_another_env(self):
        self.write("samconfig.toml", "version = 0.1\n"
                                     '[default.init.parameters]\nruntime = "nodejs22.x"\n'
                                     '[prod.init.parameters]\nname = "prod-app"\n')
        proc = wisp("init", "--config-env", "prod", cwd=self.tmp)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stderr, "error: missing --runtime: stdin is not a terminal, so wisp init "
                                      "cannot ask for it (example: wisp init --name my-app --runtime "
                                      "python3.13)\n")
        self.assertFalse(os.path.exists(self.path("prod-app")))

    def test_config_env_selects_the_environment(self):
        self.write("samconfig.toml", "version = 0.1\n"
                                     '[default.init.parameters]\nruntime = "nodejs22.x"\n'
                                     '[prod.init.parameters]\nruntime = "provided.al2023"\n')
        wisp("init", "--name", "a", "--config-env", "prod", cwd=self.tmp, check=0)
        self.assertEqual(self.runtime_of("a"), "provided.al2023")
        wisp("init", "--name", "b", cwd=self.tmp, check=0)
        self.assertEqual(self.runtime_of("b"), "nodejs22.x")

    def test_config_file_names_another_file(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.init.parameters]\nruntime = "nodejs22.x"\n')
        self.write("conf/other.toml", 'version = 0.1\n[default.init.parameters]\nruntime = "python3.14"\n')
        wisp("init", "--name", "a", "--config-file", "conf/other.toml", cwd=self.tmp, check=0)
        self.assertEqual(self.runtime_of("a"), "python3.14")
        self.write("conf/other.yaml", "version: 0.1\ndefault:\n  init:\n    parameters:\n      runtime: nodejs24.x\n")
        wisp("init", "--name", "b", "--config-file", self.path("conf/other.yaml"), cwd=self.tmp, check=0)
        self.assertEqual(self.runtime_of("b"), "nodejs24.x")

    def test_malformed_file_is_an_error_with_line_and_column(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.init.parameters]\nruntime = "nodejs22.x\n')
        proc = wisp("init", "--name", "a", "--runtime", "python3.13", cwd=self.tmp)
        self.assertEqual(proc.returncode, 1)
        self.assertRegex(proc.stderr, r"^samconfig\.toml:3:\d+: error: ")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["samconfig.toml"])

    def test_malformed_yaml_is_an_error_with_line_and_column(self):
        self.write("samconfig.yaml", "version: 0.1\ndefault:\n  init:\n    parameters:\n      runtime: [a\n")
        proc = wisp("init", "--name", "a", "--runtime", "python3.13", cwd=self.tmp)
        self.assertEqual(proc.returncode, 1)
        self.assertRegex(proc.stderr, r"^samconfig\.yaml:\d+:\d+: error: ")
        self.assertEqual(sorted(os.listdir(self.tmp)), ["samconfig.yaml"])

    def test_a_refused_runtime_in_config_points_at_the_line(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.init.parameters]\nruntime = "python3.11"\n')
        proc = wisp("init", "--name", "a", cwd=self.tmp)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr, "samconfig.toml:3:1: error: invalid value for 'runtime': "
                                      "--runtime: python3.11 can no longer be created on AWS Lambda "
                                      "(blocked since 2026-07-31); use python3.14, python3.13 or "
                                      "python3.12 [config]\n")

    def test_a_bad_name_in_config_is_refused(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.init.parameters]\nname = "my app"\n')
        proc = wisp("init", "--runtime", "python3.13", cwd=self.tmp)
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stderr, "error: invalid name 'my app': ' ' is not allowed (use letters, "
                                      "digits, '-' and '_')\n")

    def test_unknown_key_warns_with_a_suggestion(self):
        self.write("samconfig.toml", 'version = 0.1\n[default.init.parameters]\nruntim = "nodejs22.x"\n')
        proc = wisp("init", "--name", "a", "--runtime", "python3.13", cwd=self.tmp, check=0)
        self.assertIn("samconfig.toml:3:1: warning: 'runtim' is not a parameter of 'wisp init'; "
                      "did you mean 'runtime'?", proc.stderr)


if __name__ == "__main__":
    harness.main()
