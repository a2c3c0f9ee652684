#!/usr/bin/env python3
"""Real SAM apps, run as a new user would: for every python/node function of every SAM
template under --corpus (e.g. a checkout of aws-samples/serverless-patterns), optionally
`wisp build`, then `wisp local invoke FUNCTION -e {}` and classify the outcome:

  reached       the handler ran (it returned, or raised its own error)
  not-reached   the runtime never got to the handler (import/handler/syntax errors, a
                runtime that exited during init) or wisp refused to run it

Not a CI test (the corpus is not in the repository): a measurement, like tests/bench/.
Each app is copied to a scratch directory first, so the corpus is never written to.

  python3 tests/realapps/run.py --wisp build/ci/cli/wisp --corpus /path/serverless-patterns \
      [--build] [--only REGEX] [--jobs 2] [--json out.json]
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

NOT_REACHED = {
    "Runtime.ImportModuleError", "Runtime.HandlerNotFound", "Runtime.MalformedHandlerName",
    "Runtime.UserCodeSyntaxError", "Runtime.InvalidEntrypoint", "Runtime.BuiltInModuleConflict",
    "Runtime.CallbackHandlerDeprecated",
}


class Loader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else "Fn::" + suffix
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


Loader.add_multi_constructor("!", _tag)


def functions_of(path):
    with open(path, "rb") as f:
        doc = yaml.load(f, Loader=Loader)
    if not isinstance(doc, dict):
        return []
    glob = ((doc.get("Globals") or {}).get("Function") or {}) if isinstance(doc.get("Globals"), dict) else {}
    out = []
    for logical_id, res in (doc.get("Resources") or {}).items():
        if not isinstance(res, dict) or res.get("Type") != "AWS::Serverless::Function":
            continue
        props = dict(glob)
        props.update(res.get("Properties") or {})
        runtime = props.get("Runtime")
        if not isinstance(runtime, str) or not re.match(r"^(python|nodejs)", runtime):
            continue
        if props.get("PackageType") == "Image" or "InlineCode" in props:
            continue
        out.append((logical_id, runtime))
    return out


def templates(corpus, only):
    for root, dirs, files in os.walk(corpus):
        dirs[:] = [d for d in dirs if d not in (".git", "node_modules", ".aws-sam", ".wisp")]
        for name in files:
            if name in ("template.yaml", "template.yml"):
                path = os.path.join(root, name)
                if only and not re.search(only, path):
                    continue
                with open(path, "rb") as f:
                    if b"AWS::Serverless-2016-10-31" in f.read():
                        yield path


def _text(data):
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")


def classify(proc, timed_out_stderr=None):
    if proc is None:
        # No answer in time. A durable function whose steps keep retrying (a service that is not
        # there) or wait still ran its handler: its invocations were reported (START ... REPORT,
        # no init error).
        err = _text(timed_out_stderr)
        if ("START RequestId" in err and "REPORT RequestId" in err and "INIT_REPORT" not in err
                and not any(t in err for t in NOT_REACHED)):
            return "reached", "timeout after the handler ran (its own waits or retries)"
        return "not-reached", "timeout (no answer in time)"
    out = proc.stdout.strip()
    err = proc.stderr
    error_type = None
    try:
        body = json.loads(out.splitlines()[-1]) if out else None
        if isinstance(body, dict):
            error_type = body.get("errorType")
    except (ValueError, IndexError):
        body = None
    if error_type in NOT_REACHED:
        return "not-reached", f"{error_type}: {str(body.get('errorMessage'))[:160]}"
    if "INIT_REPORT" in err or (error_type == "Runtime.ExitError" and "Init Duration" not in err):
        return "not-reached", f"init failed: {(error_type or '')} {out[-160:]}"
    if proc.returncode == 2 or (not out and proc.returncode != 0):
        first = next((l for l in err.splitlines() if "error" in l.lower()), err.strip()[:160])
        return "not-reached", f"wisp refused: {first[:200]}"
    return "reached", (error_type or "ok")


def run_app(args, template):
    app_dir = os.path.dirname(template)
    rel = os.path.relpath(template, args.corpus)
    try:
        fns = functions_of(template)
    except Exception as e:  # noqa: BLE001 - a template PyYAML cannot read
        return {"template": rel, "error": f"yaml: {e}", "functions": []}
    if not fns:
        return {"template": rel, "functions": []}
    scratch = tempfile.mkdtemp(prefix="realapp-", dir=args.scratch)
    work = os.path.join(scratch, "app")
    shutil.copytree(app_dir, work, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "node_modules", ".aws-sam", ".wisp"))
    tname = os.path.basename(template)
    result = {"template": rel, "functions": []}
    if args.build:
        try:
            b = subprocess.run([args.wisp, "build", "-t", tname], cwd=work, capture_output=True,
                               text=True, timeout=args.build_timeout, stdin=subprocess.DEVNULL)
            result["build"] = b.returncode
            if b.returncode != 0:
                result["build_error"] = b.stderr.strip()[-400:]
        except subprocess.TimeoutExpired:
            result["build"] = "timeout"
    for logical_id, runtime in fns:
        try:
            proc = subprocess.run([args.wisp, "local", "invoke", logical_id, "-t", tname, "-e", "-"],
                                  cwd=work, input="{}", capture_output=True, text=True,
                                  timeout=args.timeout)
            timed_out_stderr = None
        except subprocess.TimeoutExpired as e:
            proc, timed_out_stderr = None, e.stderr
        verdict, detail = classify(proc, timed_out_stderr)
        result["functions"].append({"id": logical_id, "runtime": runtime, "verdict": verdict,
                                    "detail": detail})
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wisp", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--only", help="regex on the template path")
    ap.add_argument("--build", action="store_true", help="run `wisp build` before invoking")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--build-timeout", type=float, default=600)
    ap.add_argument("--json", help="write every result here")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copies")
    ap.add_argument("--scratch", default=None)
    args = ap.parse_args()
    args.wisp = os.path.abspath(args.wisp)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    paths = sorted(templates(args.corpus, args.only))
    results = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for i, r in enumerate(pool.map(lambda t: run_app(args, t), paths), 1):
            results.append(r)
            for f in r["functions"]:
                print(f"{f['verdict']:<12} {r['template']} {f['id']} ({f['runtime']}): {f['detail']}",
                      flush=True)
    fns = [f for r in results for f in r["functions"]]
    reached = sum(f["verdict"] == "reached" for f in fns)
    by_lang = {}
    for f in fns:
        lang = "python" if f["runtime"].startswith("python") else "node"
        tot, ok = by_lang.get(lang, (0, 0))
        by_lang[lang] = (tot + 1, ok + (f["verdict"] == "reached"))
    print(f"\n{len(paths)} templates, {len(fns)} python/node functions: {reached} reached their handler "
          f"({100.0 * reached / max(1, len(fns)):.1f}%)")
    for lang, (tot, ok) in sorted(by_lang.items()):
        print(f"  {lang}: {ok}/{tot}")
    reasons = {}
    for f in fns:
        if f["verdict"] != "reached":
            key = re.sub(r"'[^']*'|\"[^\"]*\"|\S+/\S+", "…", f["detail"])[:90]
            reasons[key] = reasons.get(key, 0) + 1
    for key, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:25]:
        print(f"  {n:4d}  {key}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
