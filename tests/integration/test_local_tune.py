"""`wisp local tune`: a function at several memory sizes, its CPU share limited by a cgroup.

The handler spins the CPU for a fixed amount of work. With the cpu controller (this test needs
root and cgroup v1 or v2's cpu controller; it says so and is skipped otherwise) the 128 MB run
gets 128/1769 of a CPU: its warm invocations must take several times as long as at 1,769 MB
(the limit gives ~13.8×; the test asks for 3×, so a busy machine cannot fail it). Without cgroups
(--no-cpu-limit) every size is predicted from the one measurement, by the documented model."""

import json
import os

import harness
from harness import WispTestCase

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Spin:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      CodeUri: src/
      MemorySize: 512
      Timeout: 30
"""

APP = """\
def handler(event, context):
    total = 0
    for i in range(event.get("n", 300000)):
        total += i * i
    return total
"""


def cgroup_cpu_available():
    if os.geteuid() != 0:
        return False
    if os.path.exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"):
        return True
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            return "cpu" in f.read().split()
    except OSError:
        return False


class LocalTune(WispTestCase):
    def setUp(self):
        super().setUp()
        harness.require_peer("python3.12", "the python3.12 runtime")
        self.write("template.yaml", TEMPLATE)
        self.write("src/app.py", APP)
        self.write("event.json", '{"n": 300000}')

    def tune(self, *args):
        proc = harness.wisp("local", "tune", "Spin", "-e", "event.json", "--output", "json", *args,
                            cwd=self.tmp, timeout=300)
        self.assertWisp(proc, 0)
        return json.loads(proc.stdout)

    def test_cpu_share_emulated_by_cgroups(self):
        if not cgroup_cpu_available():
            self.skipTest("PEER MISSING: the cgroup cpu controller and root (wisp local tune then predicts)")
        result = self.tune("--memory", "1769,128", "--invocations", "3")
        self.assertTrue(result["emulated"], result["cpuLimit"])
        sizes = {s["memoryMB"]: s for s in result["sizes"]}
        self.assertEqual(sorted(sizes), [128, 1769])
        for s in sizes.values():
            self.assertEqual(s["runs"], 3)
            self.assertEqual(s["errors"], 0)
            self.assertTrue(s["emulated"])
            self.assertGreater(s["initDurationMs"], 0)
        # At 128 MB the group's quota is 128/1769 of a CPU: the wall time of the function's CPU
        # work is at least its CPU time × 1769/128 (halved for the quota's period granularity),
        # however loaded the machine is (load only adds wall time, to both sizes).
        self.assertGreater(sizes[128]["cpuMs"], 0, sizes)
        self.assertGreater(sizes[128]["durationMs"], 0.5 * sizes[128]["cpuMs"] * 1769 / 128, sizes)
        self.assertEqual(result["fastestMB"], 1769)
        # Cost per invocation: requests + Billed Duration × memory at $0.0000166667/GB-s.
        for mb, s in sizes.items():
            expected = 0.2e-6 + s["billedDurationMs"] / 1000 * mb / 1024 * 0.0000166667
            self.assertAlmostEqual(s["costPerInvocation"], expected, places=12)
        # The groups are gone.
        leftovers = [d for d in os.listdir("/sys/fs/cgroup/cpu" if os.path.isdir("/sys/fs/cgroup/cpu")
                                           else "/sys/fs/cgroup") if d.startswith("wisp-tune-")]
        self.assertEqual(leftovers, [])
        # The text form charts the same and names the cheapest and the fastest.
        proc = harness.wisp("local", "tune", "Spin", "-e", "event.json", "--memory", "128,1769",
                            "--invocations", "1", cwd=self.tmp, timeout=300)
        self.assertWisp(proc, 0, stdout_has=["1769 MB", "Fastest: 1769 MB", "#"])

    def test_predicted_without_cgroups(self):
        result = self.tune("--memory", "128,1769,3008", "--invocations", "3", "--no-cpu-limit")
        self.assertFalse(result["emulated"])
        self.assertIn("--no-cpu-limit", result["cpuLimit"])
        sizes = {s["memoryMB"]: s for s in result["sizes"]}
        cpu = sizes[1769]["cpuMs"]
        self.assertGreater(cpu, 0)
        # One CPU-bound thread: no faster beyond 1,769 MB; at 128 MB its CPU work takes
        # 1769/128 times as long, its waiting as long.
        self.assertAlmostEqual(sizes[3008]["durationMs"], sizes[1769]["durationMs"], places=6)
        self.assertAlmostEqual(sizes[128]["durationMs"] - sizes[1769]["durationMs"],
                               cpu * (1769 / 128 - 1), places=3)

    def test_bad_sizes_are_usage_errors(self):
        proc = harness.wisp("local", "tune", "Spin", "--memory", "64,512", cwd=self.tmp)
        self.assertWisp(proc, 2, stderr_has="--memory 64: Lambda's MemorySize is 128 to 10240 MB")
        proc = harness.wisp("local", "tune", "Spin", "--memory", "512,lots", cwd=self.tmp)
        self.assertWisp(proc, 2, stderr_has="--memory: 'lots' is not a size in MB")


if __name__ == "__main__":
    harness.main()
