"""Differential test: on the whole template corpus (tests/fixtures/templates), the verdict
of `wisp validate` agrees with AWS's SAM translator (aws-sam-translator), or the fixture
says why not with a `# samtranslator: KEY` line whose KEY docs/validate.md explains.

The translator runs in one Python process (tests/differential/samtranslator_verdicts.py),
after the same local-artifact substitution `sam validate` performs."""

import json
import os
import re
import subprocess
import sys
import unittest

import harness
from harness import SOURCE_DIR, WispTestCase, wisp

CORPUS = os.path.join(SOURCE_DIR, "tests", "fixtures", "templates")
SCRIPT = os.path.join(SOURCE_DIR, "tests", "differential", "samtranslator_verdicts.py")
DOCS = os.path.join(SOURCE_DIR, "docs", "validate.md")


def corpus():
    """(kind, template path) for every fixture."""
    out = []
    for kind in ("valid", "invalid"):
        directory = os.path.join(CORPUS, kind)
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if os.path.isdir(path):
                out.append((kind, os.path.join(path, "template.yaml")))
            elif not name.endswith(".expect"):
                out.append((kind, path))
    return out


def annotation(path):
    texts = []
    for candidate in (path, path + ".expect"):
        if os.path.exists(candidate):
            with open(candidate, "rb") as f:
                texts.append(f.read().decode("utf-8", "replace"))
    match = re.search(r"^# samtranslator: (\S+)", "\n".join(texts), re.MULTILINE)
    return match.group(1) if match else None


class Differential(WispTestCase):
    @classmethod
    def setUpClass(cls):
        probe = subprocess.run([sys.executable, "-c", "import samtranslator"], capture_output=True)
        if probe.returncode != 0:
            raise unittest.SkipTest("PEER MISSING: aws-sam-translator (python3 -m pip install aws-sam-translator)")
        cls.fixtures = corpus()
        proc = subprocess.run(
            [sys.executable, SCRIPT, *[path for _, path in cls.fixtures]],
            capture_output=True,
            text=True,
            timeout=600,
            env=harness.env(),
        )
        if proc.returncode == 3:
            raise unittest.SkipTest("PEER MISSING: samtranslator is not importable")
        if proc.returncode != 0:
            raise AssertionError(f"samtranslator_verdicts.py failed:\n{proc.stderr}")
        cls.verdicts = json.loads(proc.stdout)
        with open(DOCS) as f:
            cls.documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", f.read(), re.MULTILINE))

    def test_corpus_is_large(self):
        kinds = [kind for kind, _ in self.fixtures]
        self.assertGreaterEqual(kinds.count("valid"), 20)
        self.assertGreaterEqual(kinds.count("invalid"), 100)

    def test_verdicts_agree_or_the_difference_is_documented(self):
        problems = []
        disagreements = 0
        for kind, path in self.fixtures:
            proc = wisp("validate", "-t", path, "--output", "json", timeout=60)
            self.assertIn(proc.returncode, (0, 1), proc.stderr)
            wisp_valid = proc.returncode == 0
            self.assertEqual(wisp_valid, kind == "valid", f"{path}: {proc.stdout}")
            translator = self.verdicts[path]
            key = annotation(path)
            relative = os.path.relpath(path, CORPUS)
            if wisp_valid == translator["valid"]:
                if key is not None:
                    problems.append(f"{relative}: verdicts agree, but the fixture claims "
                                    f"'{key}' (stale annotation)")
                continue
            disagreements += 1
            if key is None:
                problems.append(f"{relative}: wisp says {'valid' if wisp_valid else 'invalid'}, "
                                f"samtranslator says {'valid' if translator['valid'] else 'invalid'}"
                                f" ({translator['error']}) and no '# samtranslator:' reason")
            elif key not in self.documented:
                problems.append(f"{relative}: reason '{key}' is not explained in docs/validate.md")
        self.assertEqual(problems, [], "\n".join(problems))
        print(f"\n{len(self.fixtures)} fixtures, {disagreements} documented disagreements",
              file=sys.stderr)


if __name__ == "__main__":
    harness.main()
