#!/usr/bin/env python3
"""Real SAM apps, run as a new user would: for every python/node function of every SAM
template under --corpus (e.g. a checkout of aws-samples/serverless-patterns), optionally
`wisp build`, then `wisp local invoke FUNCTION -e {}` and classify the outcome:

  reached       the handler ran (it returned, or raised its own error)
  not-reached   the runtime never got to the handler (import/handler/syntax errors, a
                runtime that exited during init) or wisp refused to run it

Each not-reached function is then put in a class (see cause_of): `machine` (this machine
lacks what the cloud has: PyPI, a layer that lives in AWS, a real AWS endpoint), `app` (it
fails the same way in the cloud, or CloudFormation rejects its template) or `wisp` (wisp's
fault); the counts per class and cause are printed (`--markdown`: as a table).

Not a CI test (the corpus is not in the repository): a measurement, like tests/bench/.
Each app (its whole pattern directory: a CodeUri may point outside the template's own) is
copied to a scratch directory first, so the corpus is never written to. Functions with
TenancyConfig are invoked with `--tenant-id`, as a SAM user invokes them. A nested
application's functions (AWS::Serverless::Application with a local Location, or
AWS::CloudFormation::Stack with a local TemplateURL) are invoked from
the parent template by their full path (`Child/Function`), as with SAM CLI; a template that
another includes is not run on its own.

  python3 tests/realapps/run.py --wisp build/ci/cli/wisp --corpus /path/serverless-patterns \
      [--build] [--only REGEX] [--jobs 2] [--json out.json] [--markdown]
  python3 tests/realapps/run.py --wisp - --corpus ... --reclassify out.json   # no runs
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


NESTED = {"AWS::Serverless::Application": "Location", "AWS::CloudFormation::Stack": "TemplateURL"}


def _nested_locations(path, doc):
    """(logical id, child template path) of the nested applications with a local Location and
    the nested stacks with a local TemplateURL."""
    out = []
    for logical_id, res in (doc.get("Resources") or {}).items():
        if not isinstance(res, dict) or res.get("Type") not in NESTED:
            continue
        location = (res.get("Properties") or {}).get(NESTED[res["Type"]])
        if not isinstance(location, str) or location.startswith(("s3://", "http://", "https://")):
            continue  # remote: SAM CLI and wisp skip it
        location = location[len("file://"):] if location.startswith("file://") else location
        child = os.path.normpath(os.path.join(os.path.dirname(path), location))
        if os.path.isfile(child):
            out.append((logical_id, child))
    return out


def nested_children(path, seen=()):
    """Every template `path` includes as a nested application, recursively."""
    try:
        with open(path, "rb") as f:
            doc = yaml.load(f, Loader=Loader)
    except Exception:  # noqa: BLE001 - a template PyYAML cannot read
        return set()
    if not isinstance(doc, dict):
        return set()
    out = set()
    for _, child in _nested_locations(path, doc):
        if child not in seen and os.path.abspath(child) != os.path.abspath(path):
            out.add(os.path.abspath(child))
            out |= nested_children(child, seen + (os.path.abspath(path),))
    return out


def functions_of(path, prefix="", base=None, seen=()):
    """The python/node functions of a template, and those of its nested applications with a
    local Location under their full path (`Child/Function`), as SAM CLI and wisp address them
    from the parent; their CodeUri relative to the parent's directory."""
    with open(path, "rb") as f:
        doc = yaml.load(f, Loader=Loader)
    if not isinstance(doc, dict):
        return []
    base = base or os.path.dirname(path)
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
        env = {}
        for source in (glob, res.get("Properties") or {}):
            variables = ((source.get("Environment") or {}).get("Variables") or {}) \
                if isinstance(source.get("Environment"), dict) else {}
            if isinstance(variables, dict):
                env.update(variables)
        code_uri = props.get("CodeUri", ".")
        if isinstance(code_uri, str) and prefix:
            code_uri = os.path.relpath(os.path.join(os.path.dirname(path), code_uri), base)
        out.append({"id": prefix + logical_id, "runtime": runtime,
                    "tenancy": isinstance(props.get("TenancyConfig"), dict),
                    "layer_arns": "arn:aws:lambda:" in json.dumps(props.get("Layers") or []),
                    "code_uri": code_uri if isinstance(code_uri, str) else None,
                    "env": sorted(env)})
    for logical_id, child in _nested_locations(path, doc):
        if os.path.abspath(child) in seen or os.path.abspath(child) == os.path.abspath(path):
            continue
        try:
            out += functions_of(child, prefix + logical_id + "/", base, seen + (os.path.abspath(path),))
        except Exception:  # noqa: BLE001 - a child PyYAML cannot read: wisp reports it
            pass
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


def _init_failed(err):
    return "INIT_REPORT" in err or re.search(r'"type":"platform.initReport".{0,300}"status":"error"',
                                             err) is not None


def classify(proc, timed_out_stderr=None):
    if proc is None:
        # No answer in time. A durable function whose steps keep retrying (a service that is not
        # there) or wait still ran its handler: its invocations were reported (START ... REPORT,
        # no init error).
        err = _text(timed_out_stderr)
        # Text log lines, or (LoggingConfig LogFormat JSON) the platform records.
        started = "START RequestId" in err or '"type":"platform.start"' in err
        reported = "REPORT RequestId" in err or '"type":"platform.report"' in err
        if (started and reported and not _init_failed(err)
                and not any(t in err for t in NOT_REACHED)):
            return "reached", "timeout after the handler ran (its own waits or retries)"
        # No report yet, but the invocation's own log lines (stamped with its request id by
        # the runtime, which stamps only while the handler runs).
        start = re.search(r"START RequestId: (\S+)", err)
        if (start and re.search("\t" + re.escape(start.group(1)) + "\t", err)
                and not _init_failed(err) and not any(t in err for t in NOT_REACHED)):
            return "reached", "timeout after the handler logged (its own waits or retries)"
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
    if _init_failed(err) or (error_type == "Runtime.ExitError" and "Init Duration" not in err):
        return "not-reached", f"init failed: {(error_type or '')} {out[-160:]}"
    if proc.returncode == 2 or (not out and proc.returncode != 0):
        first = next((l for l in err.splitlines() if "error" in l.lower()), err.strip()[:160])
        return "not-reached", f"wisp refused: {first[:200]}"
    return "reached", (error_type or "ok")


# Why a function did not reach its handler, as one of three classes:
#   machine  this machine lacks what the cloud (or a connected laptop) has: PyPI (unreachable
#            here), a layer that lives in AWS (named by its ARN), a real AWS endpoint
#   app      the app fails the same way in the cloud (or CloudFormation rejects its template):
#            the JavaScript SDK v2 on nodejs18.x+, a callback handler on nodejs24.x, a handler
#            or module it does not ship, an environment variable its template never sets, a
#            CodeUri missing from the sample, an npm dependency conflict
#   wisp     wisp's fault (the goal is none)
# Each rule names its cause; the first that matches wins.

PYPI_DOWN = ("Name or service not known", "No matching distribution found",
             "NewConnectionError", "could not install")


def _manifest_names(code_dir):
    names = set()
    try:
        with open(os.path.join(code_dir, "package.json"), encoding="utf-8") as f:
            doc = json.load(f)
        for key in ("dependencies", "devDependencies", "optionalDependencies"):
            names.update((doc.get(key) or {}).keys())
    except (OSError, ValueError, AttributeError):
        pass
    try:
        with open(os.path.join(code_dir, "requirements.txt"), encoding="utf-8") as f:
            for line in f:
                m = re.match(r"\s*([A-Za-z0-9_.\-]+)", line)
                if m:
                    names.add(m.group(1).lower().replace("-", "_"))
    except OSError:
        pass
    return names


def cause_of(fn, entry, result, work):
    detail, full = entry["detail"], entry.get("full", "")
    build_error = result.get("build_error") or ""
    text = detail + "\n" + full
    node = fn["runtime"].startswith("nodejs")
    code_dir = os.path.normpath(os.path.join(work, fn["code_uri"] or "."))
    if "Cannot find module 'aws-sdk'" in text and node:
        return "app", "the JavaScript SDK v2 (`aws-sdk`): no nodejs18.x+ runtime ships it"
    if "Runtime.CallbackHandlerDeprecated" in text:
        return "app", "callback-style handler on nodejs24.x (Lambda refuses it)"
    if "Runtime.HandlerNotFound" in text:
        return "app", "the handler is not exported by its module (wrong Handler)"
    m = re.search(r"Cannot find module '/opt/(nodejs/[^']+)'", text)
    if m and result.get("build") == 0:
        # A layer whose ContentUri already has nodejs/ but whose BuildMethod is nodejsNN.x: SAM's
        # build (aws-lambda-builders: no package.json at its root, so the sources are copied)
        # stages it under nodejs/, so its files land at /opt/nodejs/nodejs/..., in the cloud too.
        deeper = os.path.join("nodejs", m.group(1))
        for root, _, files in os.walk(os.path.join(work, ".wisp", "build")):
            if os.path.basename(m.group(1)) in files and \
                    os.path.join(root, os.path.basename(m.group(1))).endswith(deeper):
                return "app", ("`sam build` stages its layer one level deeper than its code imports "
                               "it (/opt/nodejs/nodejs/...: BuildMethod nodejsNN.x on a ContentUri "
                               "that already has nodejs/), so the deployed function fails too")
    if re.search(r"circular dependency|must be a string, not null|has no attribute", detail):
        return "app", "a template CloudFormation rejects (a cycle, a null value, an unknown attribute)"
    if (re.search(r"CodeUri .* (does not exist|is not a directory)", detail) or
            "[code-missing]" in build_error) and not os.path.exists(code_dir):
        return "app", "its CodeUri is not in the sample (or differs in case)"
    if re.search(r"EndpointConnectionError|Could not connect to the endpoint", text) or (
            re.search(r"getaddrinfo|ENOTFOUND", text) and "amazonaws.com" in text):
        return "machine", "calls a real AWS endpoint during init (no network here)"
    if "Invalid URL" in text and "init failed" in detail:
        return "machine", ("an environment value only a deployed resource has (an API's URL from "
                           "!GetAtt; sam local gives '' too: pass it with --env-vars)")
    m = re.search(r"KeyError.{0,80}?os\.environ\[[\\]*['\"]([A-Z0-9_]+)", text) or \
        re.search(r"environ\[[\\]*['\"]([A-Z0-9_]+)[\\]*['\"]\]", text)
    if m and m.group(1) not in fn["env"]:
        return "app", "reads an environment variable its template does not set"
    if "not installed: Lambda's python" in text or (
            "wisp refused" in detail and any(t in text for t in PYPI_DOWN)):
        return "machine", "a library Lambda's python runtime ships, which pip cannot fetch (PyPI unreachable)"
    unresolved = re.search(r'Could not resolve "([^"]+)"|mark the path "([^"]+)" as external', build_error)
    if unresolved:
        package = unresolved.group(1) or unresolved.group(2)
        if package not in _manifest_names(code_dir) and package not in _manifest_names(work):
            return "app", "imports a package its package.json does not list (the build fails, SAM's too)"
    m = re.search(r"No module named '([^'.]+)|Cannot find module '([^']+)'", text)
    if m:
        module = m.group(1) or m.group(2)
        if result.get("build") not in (0, None) and any(t in build_error for t in PYPI_DOWN):
            return "machine", "its requirements need PyPI (unreachable here)"
        if fn["layer_arns"]:
            return "machine", "a layer named by its ARN provides it (the layer's content lives in AWS)"
        if "ERESOLVE" in build_error or "npm error" in build_error:
            return "app", "its npm install fails (SAM's too: a dependency conflict)"
        base = module.split("/")[0] if not module.startswith("@") else "/".join(module.split("/")[:2])
        if not module.startswith(("/", ".")) and \
                base.lower().replace("-", "_") not in {n.lower().replace("-", "_") for n in _manifest_names(code_dir)} and \
                not os.path.exists(os.path.join(code_dir, module + (".py" if not node else ".js"))) and \
                not os.path.exists(os.path.join(code_dir, module)):
            if module in ("index", "app", "handler", "run") or "/" in module:
                pass  # the handler's own module: below
            else:
                return "app", "imports a module neither its dependencies nor its layers provide"
    if _nested_child(work, result["template"]):
        return "wisp", ("a nested application's function: wisp does not run AWS::Serverless::Application "
                        "locally (run alone, the child template lacks what its parent passes)")
    return "wisp", "not explained (" + " ".join(detail.split())[:80] + ")"


def _nested_child(work, rel_template):
    """Whether a template of the same pattern names this one as a nested application."""
    parts = rel_template.split(os.sep)
    if len(parts) < 3:
        return False
    root = os.path.normpath(os.path.join(work, *([".."] * (len(parts) - 2))))
    name = parts[-1]
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith((".yaml", ".yml")) and os.path.join(dirpath, f) != os.path.join(work, name):
                try:
                    with open(os.path.join(dirpath, f), encoding="utf-8", errors="replace") as h:
                        text = h.read()
                except OSError:
                    continue
                if re.search(r"(Location|TemplateURL):\s*['\"]?(\./)?" + re.escape("/".join(parts[1:])),
                             text):
                    return True
    return False


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
    # The whole pattern directory (its top-level directory in the corpus): a CodeUri may point
    # outside the template's own directory (`CodeUri: ../src/`).
    top = rel.split(os.sep)[0]
    inner = os.path.relpath(app_dir, os.path.join(args.corpus, top))
    shutil.copytree(os.path.join(args.corpus, top), os.path.join(scratch, "app"), symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "node_modules", ".aws-sam", ".wisp"))
    work = os.path.normpath(os.path.join(scratch, "app", inner))
    tname = os.path.basename(template)
    result = {"template": rel, "functions": []}
    if args.build:
        try:
            b = subprocess.run([args.wisp, "build", "-t", tname], cwd=work, capture_output=True,
                               text=True, timeout=args.build_timeout, stdin=subprocess.DEVNULL)
            result["build"] = b.returncode
            if b.returncode != 0:
                result["build_error"] = b.stderr.strip()[-4000:]
        except subprocess.TimeoutExpired:
            result["build"] = "timeout"
    for fn in fns:
        argv = [args.wisp, "local", "invoke", fn["id"], "-t", tname, "-e", "-"]
        if fn["tenancy"]:
            argv += ["--tenant-id", "tenant-1"]  # as a SAM user does for TenancyConfig
        try:
            proc = subprocess.run(argv, cwd=work, input="{}", capture_output=True, text=True,
                                  timeout=args.timeout)
            timed_out_stderr = None
        except subprocess.TimeoutExpired as e:
            proc, timed_out_stderr = None, e.stderr
        verdict, detail = classify(proc, timed_out_stderr)
        entry = {"id": fn["id"], "runtime": fn["runtime"], "verdict": verdict, "detail": detail}
        if verdict != "reached":
            entry["full"] = (_text(proc.stdout if proc else "")[-1500:] + "\n" +
                             _text(proc.stderr if proc else timed_out_stderr)[-3000:])
            entry["class"], entry["cause"] = cause_of(fn, entry, result, work)
        result["functions"].append(entry)
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
    ap.add_argument("--verbose", action="store_true", help="list the functions of every cause")
    ap.add_argument("--markdown", action="store_true",
                    help="also print the not-reached functions as a Markdown table")
    ap.add_argument("--reclassify", metavar="JSON",
                    help="classify the results of an earlier --json run again (no runs)")
    ap.add_argument("--scratch", default=None)
    args = ap.parse_args()
    args.wisp = os.path.abspath(args.wisp)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    if args.reclassify:
        with open(args.reclassify, encoding="utf-8") as f:
            results = json.load(f)
        paths = [r["template"] for r in results]
        for r in results:
            template = os.path.join(args.corpus, r["template"])
            if not any(f["verdict"] != "reached" for f in r["functions"]):
                continue
            by_id = {fn["id"]: fn for fn in functions_of(template)}
            for f in r["functions"]:
                if f["verdict"] != "reached" and f["detail"].startswith("timeout") and "full" in f:
                    f["verdict"], f["detail"] = classify(None, f["full"])
                if f["verdict"] != "reached" and f["id"] in by_id:
                    f["class"], f["cause"] = cause_of(by_id[f["id"]], f, r, os.path.dirname(template))
    else:
        paths = sorted(templates(args.corpus, args.only))
        # A template another one includes as a nested application runs from its parent (its
        # functions as `Child/Function`), as a SAM user runs it: not on its own.
        children = set()
        for path in paths:
            children |= nested_children(path)
        paths = [p for p in paths if os.path.abspath(p) not in children]
        results = []
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            for r in pool.map(lambda t: run_app(args, t), paths):
                results.append(r)
                for f in r["functions"]:
                    print(f"{f['verdict']:<12} {r['template']} {f['id']} ({f['runtime']}): "
                          f"{f['detail']}" + (f" [{f['class']}: {f['cause']}]" if "class" in f else ""),
                          flush=True)
                if args.json:  # as it goes: an interrupted run keeps what it measured
                    with open(args.json + ".tmp", "w") as out:
                        json.dump(results, out, indent=1)
                    os.replace(args.json + ".tmp", args.json)
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
    classes = {}
    for r in results:
        for f in r["functions"]:
            if f["verdict"] != "reached":
                classes.setdefault(f["class"], {}).setdefault(f["cause"], []).append(
                    f"{r['template'].split(os.sep)[0]}:{f['id']}")
    print("\nnot reached, by class: " + ", ".join(
        f"{c} {sum(len(v) for v in classes.get(c, {}).values())}" for c in ("machine", "app", "wisp")))
    for c in ("machine", "app", "wisp"):
        for cause, where in sorted(classes.get(c, {}).items(), key=lambda kv: -len(kv[1])):
            print(f"  {c:<8} {len(where):3d}  {cause}")
            if c == "wisp" or args.verbose:
                for w in where:
                    print(f"                 {w}")
    if args.markdown:
        print("\n| class | why | functions (pattern: function) |\n|---|---|---|")
        for c in ("machine", "app", "wisp"):
            for cause, where in sorted(classes.get(c, {}).items(), key=lambda kv: -len(kv[1])):
                print(f"| {c} | {cause} ({len(where)}) | {', '.join(where)} |")
    if args.json and not args.reclassify:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
