#!/usr/bin/env python3
"""Benchmarks for `wisp build`'s build graph and esbuild builds, side by side with the tools
they run (not run by CI).

1. 10 functions sharing one CodeUri with npm dependencies (a lockfile, registry packages from
   npm's cache): `wisp build` (one build for all ten: copy, `npm ci --omit=dev`, zip, records)
   vs one `npm ci --omit=dev` in that directory by hand. Goal: <= 1.2x.
2. A 20-function TypeScript app (one CodeUri, `Metadata: BuildMethod: esbuild`, each function
   its own entry point importing shared modules): `wisp build` (and `--parallel`) vs running
   esbuild by hand with the same arguments, one command per function. Goal: <= 1.2x. Also
   shown: one esbuild command for all 20 entry points (a different output layout; the floor
   of esbuild itself).
3. No-change `wisp build --cached` of both apps. Goal: < 200 ms.

Usage: tests/bench/bench_build.py [--wisp build/release/cli/wisp] [--esbuild PATH] [--runs 5]
Needs npm (and the registry, or npm's cache, for case 1) and esbuild (install-deps.sh
--with-peers puts it in ~/.cache/wisp-peers/esbuild).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))
PEERS = os.environ.get("WISP_PEERS_DIR", os.path.join(
    os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "wisp-peers"))

NPM_DEPENDENCIES = {"lodash": "4.17.21", "uuid": "9.0.1", "ms": "2.1.3", "dayjs": "1.11.13"}


def run(cmd, cwd, env=None):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def timed(fn, runs, before=None):
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def npm_app(root, functions=10):
    resources = "".join(f"""\
  Fn{i}:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: app/
      Handler: index.handler{i}
""" for i in range(functions))
    write(os.path.join(root, "template.yaml"), f"""\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: nodejs22.x
Resources:
{resources}""")
    write(os.path.join(root, "app/index.js"), "".join(
        f"exports.handler{i} = async () => require('lodash').chunk([{i}], 1);\n"
        for i in range(functions)))
    write(os.path.join(root, "app/package.json"), json.dumps(
        {"name": "bench-app", "version": "1.0.0", "dependencies": NPM_DEPENDENCIES}))
    run(["npm", "install", "--package-lock-only", "--no-audit", "--no-fund"], os.path.join(root, "app"))


def ts_app(root, functions=20):
    resources = "".join(f"""\
  Fn{i:02d}:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: handlers/fn{i:02d}.handler
    Metadata:
      BuildMethod: esbuild
      BuildProperties:
        Minify: true
        Target: es2020
        Sourcemap: true
        EntryPoints: [handlers/fn{i:02d}.ts]
""" for i in range(functions))
    write(os.path.join(root, "template.yaml"), f"""\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: nodejs22.x
Resources:
{resources}""")
    # Shared modules of some size, imported by every handler.
    for m in range(10):
        body = "\n".join(
            f"export function helper{m}_{k}(x: number): number {{ return x * {k} + {m}; }}"
            for k in range(300))
        write(os.path.join(root, f"src/lib/mod{m}.ts"), body + "\n")
    for i in range(functions):
        imports = "\n".join(f"import {{ helper{m}_{i} }} from '../lib/mod{m}';" for m in range(10))
        calls = " + ".join(f"helper{m}_{i}(n)" for m in range(10))
        write(os.path.join(root, f"src/handlers/fn{i:02d}.ts"), f"""{imports}
interface Event {{ n?: number }}
export const handler = async (event: Event): Promise<number> => {{
  const n: number = event.n ?? {i};
  return {calls};
}};
""")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wisp", default=os.path.join(SOURCE_DIR, "build/release/cli/wisp"))
    parser.add_argument("--esbuild", default=os.path.join(PEERS, "esbuild/node_modules/.bin/esbuild"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    wisp = os.path.abspath(args.wisp)
    esbuild = os.path.abspath(args.esbuild)
    for tool in (wisp, esbuild):
        if not os.access(tool, os.X_OK):
            sys.exit(f"not found: {tool}")
    env = dict(os.environ, PATH=os.path.dirname(esbuild) + os.pathsep + os.environ["PATH"],
               npm_config_update_notifier="false")
    work = tempfile.mkdtemp(prefix="wisp-bench-build-")
    results = []
    try:
        # 1. Shared CodeUri, npm.
        npm_root = os.path.join(work, "npm")
        npm_app(npm_root)
        app = os.path.join(npm_root, "app")
        run(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund"], app)  # warm npm's cache
        shutil.rmtree(os.path.join(app, "node_modules"))
        by_hand = timed(lambda: run(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund"], app, env),
                        args.runs,
                        before=lambda: shutil.rmtree(os.path.join(app, "node_modules"), ignore_errors=True))
        shutil.rmtree(os.path.join(app, "node_modules"), ignore_errors=True)
        built = timed(lambda: run([wisp, "build"], npm_root, env), args.runs)
        out = run([wisp, "build"], npm_root, env)
        assert out.stderr.count("npm ci") == 1, out.stderr
        cached_npm = timed(lambda: run([wisp, "build", "--cached"], npm_root, env), args.runs)
        results.append(("10 functions, one CodeUri: wisp build", built, "npm ci --omit=dev by hand", by_hand, 1.2))

        # 2. TypeScript, 20 functions.
        ts_root = os.path.join(work, "ts")
        ts_app(ts_root)
        src = os.path.join(ts_root, "src")
        out_dir = os.path.join(work, "by-hand")

        def esbuild_by_hand():
            for i in range(20):
                run([esbuild, f"handlers/fn{i:02d}.ts", "--bundle", "--platform=node",
                     f"--outdir={out_dir}/fn{i:02d}", "--format=cjs", "--minify", "--target=es2020",
                     "--sourcemap"], src)

        def esbuild_once():
            run([esbuild, *[f"handlers/fn{i:02d}.ts" for i in range(20)], "--bundle",
                 "--platform=node", f"--outdir={out_dir}/all", "--format=cjs", "--minify",
                 "--target=es2020", "--sourcemap"], src)

        hand = timed(esbuild_by_hand, args.runs)
        once = timed(esbuild_once, args.runs)
        ts_built = timed(lambda: run([wisp, "build"], ts_root, env), args.runs)
        ts_parallel = timed(lambda: run([wisp, "build", "--parallel"], ts_root, env), args.runs)
        cached_ts = timed(lambda: run([wisp, "build", "--cached"], ts_root, env), args.runs)
        results.append(("20 TS functions: wisp build", ts_built, "20 esbuild commands by hand", hand, 1.2))
        results.append(("20 TS functions: wisp build --parallel", ts_parallel, "20 esbuild commands by hand",
                        hand, 1.2))
        results.append(("20 TS functions: wisp build", ts_built, "one esbuild, 20 entry points", once, None))
        results.append(("no-change build --cached, npm app", cached_npm, None, 0.2, None))
        results.append(("no-change build --cached, TS app", cached_ts, None, 0.2, None))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"median of {args.runs} runs, {os.cpu_count()} cores")
    for what, mine, peer, theirs, goal in results:
        if peer is None:
            verdict = "ok" if mine < theirs else "MISSED"
            print(f"  {what}: {mine * 1000:.0f} ms (goal < {theirs * 1000:.0f} ms: {verdict})")
            continue
        ratio = mine / theirs
        line = f"  {what}: {mine:.3f} s vs {peer}: {theirs:.3f} s = {ratio:.2f}x"
        if goal is not None:
            line += f" (goal <= {goal}x: {'ok' if ratio <= goal else 'MISSED'})"
        print(line)


if __name__ == "__main__":
    main()
