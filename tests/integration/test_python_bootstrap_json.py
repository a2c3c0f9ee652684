"""The Python bootstrap decodes events and encodes results on json's C accelerator (`_json`)
instead of `import json` (~13 ms of a cold start). Its results and its error texts must be
exactly json's, on every Python the machine has: this runs the bootstrap module's
_json_loads / _make_encoder beside the json module in each interpreter."""

import os
import subprocess
import unittest

import harness
from harness import SOURCE_DIR, WispTestCase

BOOTSTRAPS = os.path.join(SOURCE_DIR, "src", "wisp", "runtime", "bootstraps")

CHECK = r'''
import sys
sys.path.insert(0, sys.argv[1])
import wisp_bootstrap as w
assert "json" not in sys.modules, "the bootstrap imported json"
import decimal, json
good = ['{"a": [1, 2.5, "x\\u00e9", null, true, false, {"b": -1e400}]}', ' \n [1,2] \t', '"s"',
        'NaN', '-Infinity', '123456789012345678901234567890', b'{"k": "\xc3\xa9"}', '{"a": 1}  ']
for text in good:
    assert repr(w._json_loads(text)) == repr(json.loads(text)), text
bad = ['', ' ', '{', '[1,]', '{"a":1} x', b'\xef\xbb\xbf{"a":1}', '\ufeff{}', "{'a': 1}",
       '"\x01"', '1' * 5000, b'\xff']
for text in bad:
    outcomes = []
    for loads in (json.loads, w._json_loads):
        try:
            outcomes.append(("ok", repr(loads(text))))
        except Exception as e:
            outcomes.append((type(e).__name__, str(e)))
    assert outcomes[0] == outcomes[1], (text, outcomes)
for ascii_only in (True, False):
    fast = w._make_encoder(ascii_only)
    assert type(fast).__name__ == "_FastEncoder", type(fast)
    ref = json.JSONEncoder(ensure_ascii=ascii_only, default=w._json_default)
    values = [{"a": [1, 2.5, "\u00e9\u2028\U0001F600", None, True, float("inf"), float("nan")]},
              "plain \u00e9", [decimal.Decimal("1.5"), decimal.Decimal("2"), decimal.Decimal("NaN")],
              {1: "int key", 2.5: "float key", None: 1, True: 2}, [], {}, 0, -0.0, 1e300]
    for value in values:
        assert fast.encode(value) == ref.encode(value), (value, fast.encode(value), ref.encode(value))
    loop = []
    loop.append(loop)
    for value in (object(), {(1, 2): 1}, loop):
        outcomes = []
        for encoder in (ref, fast):
            try:
                outcomes.append(("ok", encoder.encode(value)))
            except Exception as e:
                outcomes.append((type(e).__name__, str(e)))
        assert outcomes[0] == outcomes[1], outcomes
print("ok", sys.version.split()[0])
'''


class FastJson(WispTestCase):
    def test_same_results_and_errors_as_json_on_every_python(self):
        ran = []
        for version in ("", "3.12", "3.13"):
            env = harness.env()
            binary = "python3"
            if version:
                listed = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True)
                full = [v for v in listed.stdout.split() if v.startswith(version + ".")]
                if not full:
                    continue
                env["PYENV_VERSION"] = full[-1]
                binary = "python" + version
            proc = subprocess.run([binary, "-c", CHECK, BOOTSTRAPS], capture_output=True, text=True,
                                  env=env, timeout=60)
            self.assertEqual((proc.returncode, proc.stderr), (0, ""), f"{binary}: {proc.stdout}")
            self.assertTrue(proc.stdout.startswith("ok "), proc.stdout)
            ran.append(proc.stdout.split()[1])
        if not ran:
            raise unittest.SkipTest("PEER MISSING: no python3")
        self.assertIn("3.", ran[0])


if __name__ == "__main__":
    harness.main()
