#!/usr/bin/env python3
"""Benchmarks for `wisp build` / `wisp package` against the Debian `zip` (not run by CI).

1. Zip a node_modules-like tree (~100 MB, ~10k files) with `wisp build` (no cache: walk,
   content key, parallel deflate, write) vs `zip -qrX` (single-threaded). Goal: ≥ 1.5×.
2. No-change rebuild + repackage of a 20-function app: `wisp build --cached` followed by
   `wisp package --output-dir` after a first full run. Goal: < 200 ms for the pair.

Usage: tests/bench/bench_artifact.py [--wisp build/release/cli/wisp] [--runs 5] [--keep]
Prints each timing (median of --runs) and the ratios.
"""

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))


def text_corpus():
    """Real JavaScript text to copy (npm ships with node), else generated text."""
    corpus = []
    for root in ("/usr/lib/node_modules", "/usr/share/nodejs"):
        for dirpath, _, files in os.walk(root):
            for f in files:
                if f.endswith((".js", ".json", ".md")):
                    try:
                        with open(os.path.join(dirpath, f), "rb") as fh:
                            data = fh.read()
                    except OSError:
                        continue
                    if 200 < len(data) < 200_000:
                        corpus.append(data)
    if not corpus:
        rng = random.Random(1)
        words = [b"function", b"return", b"const", b"require", b"module", b"exports", b"if",
                 b"else", b"value", b"options", b"callback", b"=>", b"{", b"}", b"(", b")"]
        for _ in range(500):
            corpus.append(b" ".join(rng.choice(words) for _ in range(rng.randint(50, 3000))))
    return corpus


def make_node_modules(root, files=10_000, total=100_000_000, seed=42):
    """~`total` bytes in ~`files` files: mostly JS text, some semi-compressible binaries."""
    rng = random.Random(seed)
    corpus = text_corpus()
    size = 0
    count = 0
    packages = [f"pkg-{i:04d}" for i in range(files // 25)]
    binary_budget = total // 3  # a third in .node/.wasm-like blobs
    while count < files - 40:
        pkg = rng.choice(packages)
        sub = rng.choice(["", "lib/", "dist/", "lib/internal/", "src/"])
        path = os.path.join(root, pkg, sub, f"f{count}.js")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = rng.choice(corpus)
        # A per-file tweak so files are not identical.
        data = b"// " + str(count).encode() + b"\n" + data
        with open(path, "wb") as fh:
            fh.write(data)
        size += len(data)
        count += 1
        if size > total - binary_budget:
            break
    i = 0
    while size < total:
        path = os.path.join(root, rng.choice(packages), "build", f"addon{i}.node")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        n = min(rng.randint(500_000, 3_000_000), total - size + 1)
        half = rng.randbytes(n // 2)
        data = half + bytes(n - len(half))  # half random, half zeros
        with open(path, "wb") as fh:
            fh.write(data)
        size += n
        count += 1
        i += 1
    return count, size


CPU = {}


def timed(cmd, cwd, runs, env=None, before=None):
    """Median wall time; CPU[cmd[1] or cmd[0]] gets the median user+sys time (what the
    command costs on an idle machine, since the 2 cores here are usually shared)."""
    samples = []
    cpu = []
    for _ in range(runs):
        if before:
            before()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        samples.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    CPU[" ".join(os.path.basename(c) for c in cmd[:2])] = statistics.median(cpu)
    return statistics.median(samples), samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wisp", default=os.path.join(SOURCE_DIR, "build", "release", "cli", "wisp"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    wisp = os.path.abspath(args.wisp)
    if not os.path.exists(wisp):
        sys.exit(f"no wisp binary at {wisp} (build the release preset, or pass --wisp)")
    if shutil.which("zip") is None:
        sys.exit("PEER MISSING: zip (apt-get install zip)")
    env = dict(os.environ, AWS_EC2_METADATA_DISABLED="true", NO_COLOR="1")
    env.pop("SOURCE_DATE_EPOCH", None)
    work = tempfile.mkdtemp(prefix="wisp-bench-artifact-")
    try:
        print(f"machine: {os.cpu_count()} cores; wisp: {wisp}")
        # 1. One big node_modules tree.
        app = os.path.join(work, "big")
        tree = os.path.join(app, "node_modules")
        count, size = make_node_modules(tree)
        with open(os.path.join(tree, "index.js"), "w") as fh:
            fh.write("exports.handler = async () => 1;\n")
        print(f"tree: {count} files, {size / 1e6:.1f} MB")
        with open(os.path.join(app, "template.yaml"), "w") as fh:
            fh.write("Transform: AWS::Serverless-2016-10-31\nResources:\n  Big:\n"
                     "    Type: AWS::Serverless::Function\n    Properties:\n"
                     "      CodeUri: node_modules/\n      Handler: index.handler\n"
                     "      Runtime: nodejs20.x\n")
        zip_out = os.path.join(work, "zip-out.zip")
        rm = lambda: os.path.exists(zip_out) and os.remove(zip_out)
        # Warm the page cache once for both.
        subprocess.run(["zip", "-qrX", zip_out, "."], cwd=tree, check=True)
        zip_time, zip_samples = timed(["zip", "-qrX", zip_out, "."], tree, args.runs, env, rm)
        wisp_time, wisp_samples = timed([wisp, "build"], app, args.runs, env)
        wisp_zip = os.path.join(app, ".wisp", "build", "Big.zip")
        print(f"zip -qrX:   {zip_time:.3f} s  ({os.path.getsize(zip_out) / 1e6:.1f} MB)"
              f"  runs {[round(s, 3) for s in zip_samples]}")
        print(f"wisp build: {wisp_time:.3f} s  ({os.path.getsize(wisp_zip) / 1e6:.1f} MB)"
              f"  runs {[round(s, 3) for s in wisp_samples]}")
        ratio = zip_time / wisp_time
        print(f"ratio zip/wisp: {ratio:.2f}x wall  (goal >= 1.5x) {'OK' if ratio >= 1.5 else 'MISSED'}"
              f"; CPU: zip {CPU['zip -qrX']:.2f} s, wisp {CPU['wisp build']:.2f} s")

        # 2. A 20-function app, rebuilt and repackaged with nothing changed.
        top_help = subprocess.run([wisp, "--help"], capture_output=True, text=True).stdout
        if "\n  package" not in top_help:
            print("20 functions: skipped (this wisp has no `package` command)")
            return
        small = os.path.join(work, "twenty")
        lines = ["Transform: AWS::Serverless-2016-10-31", "Resources:"]
        rng = random.Random(7)
        for i in range(20):
            fn = f"Function{i:02d}"
            code = os.path.join(small, "functions", fn)
            os.makedirs(os.path.join(code, "lib"))
            with open(os.path.join(code, "app.py"), "w") as fh:  # noqa: the handler
                fh.write(f"def handler(event, context):\n    return {i}\n")
            for j in range(30):
                with open(os.path.join(code, "lib", f"m{j}.py"), "w") as fh:
                    fh.write("".join(f"X{k} = {rng.random()}\n" for k in range(200)))
            lines += [f"  {fn}:", "    Type: AWS::Serverless::Function", "    Properties:",
                      f"      CodeUri: functions/{fn}/", "      Handler: app.handler",
                      "      Runtime: python3.12"]
        with open(os.path.join(small, "template.yaml"), "w") as fh:
            fh.write("\n".join(lines) + "\n")
        out_dir = os.path.join(work, "packaged")
        subprocess.run([wisp, "build"], cwd=small, env=env, check=True, capture_output=True)
        subprocess.run([wisp, "package", "--output-dir", out_dir, "--output-template-file",
                        os.path.join(out_dir, "packaged.yaml")], cwd=small, env=env, check=True,
                       capture_output=True)
        time.sleep(2.1)  # past the stat cache's racy window
        subprocess.run([wisp, "build", "--cached"], cwd=small, env=env, check=True, capture_output=True)
        build_time, build_samples = timed([wisp, "build", "--cached"], small, args.runs, env)
        package_time, package_samples = timed(
            [wisp, "package", "--output-dir", out_dir, "--output-template-file",
             os.path.join(out_dir, "packaged.yaml")], small, args.runs, env)
        total = build_time + package_time
        cpu_total = CPU["wisp build"] + CPU["wisp package"]
        print(f"20 functions, no change: build --cached {build_time * 1000:.0f} ms, "
              f"package --output-dir {package_time * 1000:.0f} ms, "
              f"total {total * 1000:.0f} ms wall, {cpu_total * 1000:.0f} ms CPU "
              f"(goal < 200 ms) {'OK' if total < 0.2 else 'MISSED (wall)'}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
