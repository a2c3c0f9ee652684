#!/usr/bin/env python3
"""`wisp validate` against AWS's own checkers on a corpus of real SAM apps.

For every SAM template under --corpus (template.yaml/template.yml with the
AWS::Serverless-2016-10-31 transform, e.g. a checkout of aws-samples/serverless-patterns),
three verdicts:

  wisp      `wisp validate --output json` exits 0 (warnings allowed)
  sam       aws-sam-translator transforms it (after the local-artifact substitution
            `sam validate` performs; tests/differential/samtranslator_verdicts.py)
  cfn-lint  cfn-lint reports no error (E...) — warnings and informational results pass

The reference verdict is "valid" when both sam and cfn-lint accept. Every template where
wisp differs from the reference is a disagreement; REASONS below names each known one (by
path relative to the corpus) with why, and the run fails (exit 1) on an unexplained or a
stale entry. Not a CI test — the corpus is not in the repository — but a measurement
(docs/validate.md, "Real apps"):

  python3 tests/differential/corpus_validate.py --wisp build/ci/cli/wisp \\
      --corpus /path/serverless-patterns [--only REGEX] [--jobs 2] [--json out.json]

cfn-lint and the translator are slow (seconds per template); their verdicts are cached by
template content under ~/.cache/wisp-corpus-verdicts (--no-cache to redo them). The corpus is
never written to.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# Disagreements that remain, by template path (relative to the corpus): why wisp's verdict
# differs from aws-sam-translator + cfn-lint. Keys of docs/validate.md's "Real apps" table.
CFN_SCHEMA = ("cfn-lint checks a plain CloudFormation resource's properties against the "
              "resource provider's schema (patterns, formats, item counts, exclusive "
              "properties); wisp checks the properties of the SAM and Lambda types it runs, "
              "not of every AWS resource type")
RUNTIME_BLOCKED = ("the runtime is past both of Lambda's deprecation blocks (create and update); "
                   "cfn-lint E2533 refuses it, wisp warns (runtime-deprecated, with the dates) "
                   "and still runs the function locally")
SUB_OUTSIDE = ("cfn-lint E1029 guesses that '${...}' outside Fn::Sub is a mistake; "
               "CloudFormation deploys the text as it is")
SERVICE_GONE = ("the resource type belongs to a service AWS shut down (QLDB, 2025-07-31; "
                "cfn-lint E3710); wisp has no catalogue of retired services")
INCLUDE = ("DefinitionBody is an AWS::Include of a local file: the translator run alone sees "
           "the Fn::Transform unresolved and cannot add Auth to it; CloudFormation (and wisp) "
           "include the file first")
PLACEHOLDER_URI = ("cfn-lint replaces a missing DefinitionBody by an S3 DefinitionUri before "
                   "translating, then the translator refuses Models on it; SAM itself builds "
                   "the body from the events and accepts")
NULL_VALUE = ("an environment variable without a value: CloudFormation refuses the stack "
              "(\"'null' values are not allowed in templates\", aws-sam-cli#2788); neither "
              "the translator nor cfn-lint checks it")
DUPLICATE = ("a key appears twice in one mapping: cfn-lint refuses it (E0000); the SAM CLI, the "
             "AWS CLI and CloudFormation take the last value and deploy, and so does wisp (with "
             "a duplicate-key warning)")

REASONS = {
    "apigw-ec2/template.yaml": DUPLICATE,
    "cloudfront-apigw-http-api-lambda-rust/template.yml": DUPLICATE,
    "cloudfront-lambda-url-rust/template.yml": DUPLICATE,
    "cognito-sns-sms-origination-id-sam/template.yaml": DUPLICATE,
    "lambda-streaming-sdk-sam/template.yaml": DUPLICATE,
    "multi-account-private-apigw/centralAccount/template.yaml": DUPLICATE,
    "public-nlb-or-alb-private-api-cfn/template.yaml": DUPLICATE,
    "sam-webapp-cognito/template.yaml": DUPLICATE,
    "vpc-lattice-lambda/template.yaml": DUPLICATE,
    "apigw-data-validation/template.yaml": PLACEHOLDER_URI,
    "apigw-http-api-lambda-dotnet-sam/template.yaml": RUNTIME_BLOCKED,
    "apigw-kinesis-lambda-ddb/template.yaml": INCLUDE,
    "apigw-lambda-memorydb/template.yaml": CFN_SCHEMA + "; and " + RUNTIME_BLOCKED,
    "apigw-lambda-qldb/template.yaml": SERVICE_GONE,
    "apigw-lambda-sns-sms/template.yaml": CFN_SCHEMA,
    "apigw-route53-failover/template.yaml": CFN_SCHEMA,
    "apigw-sns-sms/template.yaml": CFN_SCHEMA,
    "apigw-websocket-api-bedrock-streaming/template.yaml": SUB_OUTSIDE,
    "apigw-websocket-api-lambda-authorizer/template.yaml": RUNTIME_BLOCKED + "; and " + SUB_OUTSIDE,
    "apigw-websocket-mapping-template-authorizer/template.yaml": SUB_OUTSIDE,
    "appsync-apigateway-dynamodb-sam/template.yaml": INCLUDE,
    "cloudfront-apigw-rest-api-lambda-dynamodb-sam/template.yaml": SUB_OUTSIDE,
    "custom-http-headers-to-sqs-message-attributes-using-http-api-gateway/template.yaml":
        SUB_OUTSIDE,
    "eventbridge-schedule-to-lambda-sam-go/template.yaml": RUNTIME_BLOCKED,
    "lambda-functionurl-dynamodb-sam-go/template.yaml": RUNTIME_BLOCKED,
    "lambda-streaming-ttfb-write-sam-with-bedrock-streaming/template.yaml": NULL_VALUE,
    "qldb-kinesis-lambda-dynamodb/template.yaml": SERVICE_GONE + "; and " + CFN_SCHEMA,
    "rabbitmq-lambda/template.yaml": CFN_SCHEMA,
    "route53-alb-s3/template.yaml": CFN_SCHEMA,
    "s3-lambda-resizing-dotnet/template.yaml": RUNTIME_BLOCKED,
    "sfn-log-export/template.yaml": CFN_SCHEMA,
    "stepfunctions-fargate-lambda/template.yaml": CFN_SCHEMA,
}


def templates(corpus, only):
    out = []
    for root, dirs, files in os.walk(corpus):
        dirs[:] = sorted(d for d in dirs if d not in ("node_modules", ".aws-sam", ".git"))
        for name in sorted(files):
            if name not in ("template.yaml", "template.yml"):
                continue
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    text = f.read()
            except OSError:
                continue
            if b"AWS::Serverless-2016-10-31" not in text:
                continue
            relative = os.path.relpath(path, corpus)
            if only and not re.search(only, relative):
                continue
            out.append(relative)
    return out


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def cfn_lint_version():
    proc = subprocess.run(["cfn-lint", "--version"], capture_output=True, text=True)
    return proc.stdout.strip() or proc.stderr.strip()


def cfn_lint_verdicts(paths):
    """path → list of cfn-lint errors ("E1234 line N: message"); empty: accepted. cfn-lint
    crashes on some templates (a null section); a crash in a batch would hide the other
    templates' results, so a failed batch is split, and a template that crashes it alone
    gets a "crash" entry (not an acceptance)."""
    proc = subprocess.run(["cfn-lint", "--format", "json", "--", *paths], capture_output=True,
                          text=True, timeout=3600)
    matches = None
    if "Traceback" not in proc.stderr:
        try:
            matches = json.loads(proc.stdout or "[]")
        except json.JSONDecodeError:
            matches = None
    if matches is None:
        if len(paths) == 1:
            last = proc.stderr.strip().splitlines()[-1:] or ["no output"]
            return {paths[0]: [f"crash line 0: cfn-lint failed: {last[0]}"]}
        half = len(paths) // 2
        out = cfn_lint_verdicts(paths[:half])
        out.update(cfn_lint_verdicts(paths[half:]))
        return out
    out = {path: [] for path in paths}
    by_abs = {os.path.abspath(p): p for p in paths}
    for match in matches:
        if match.get("Level") != "Error":
            continue
        name = by_abs.get(os.path.abspath(match.get("Filename", "")))
        if name is None:
            continue
        rule = match.get("Rule", {}).get("Id", "?")
        line = match.get("Location", {}).get("Start", {}).get("LineNumber", 0)
        out[name].append(f"{rule} line {line}: {match.get('Message', '').strip()}")
    return out


def sam_verdict(path):
    import logging

    import samtranslator_verdicts

    logging.disable(logging.WARNING)  # the translator's metrics and feature-toggle chatter

    return samtranslator_verdicts.verdict(path)


def wisp_verdict(wisp, path):
    proc = subprocess.run([wisp, "validate", "-t", path, "--output", "json"], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    try:
        items = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        items = [{"severity": "error", "code": "crash", "message": proc.stderr.strip()[-300:],
                  "line": 0}]
    errors = [f"{d['code']} line {d['line']}: {d['message']}" for d in items
              if d.get("severity") == "error"]
    warnings = [f"{d['code']} line {d['line']}: {d['message']}" for d in items
                if d.get("severity") == "warning"]
    return {"valid": proc.returncode == 0, "exit": proc.returncode, "errors": errors,
            "warnings": warnings}


def reference_verdicts(corpus, names, use_cache):
    cache_dir = os.path.join(os.path.expanduser("~"), ".cache", "wisp-corpus-verdicts")
    os.makedirs(cache_dir, exist_ok=True)
    import samtranslator

    tools = f"samtranslator {samtranslator.__version__}, {cfn_lint_version()}"
    key = hashlib.sha256(tools.encode()).hexdigest()[:16]
    cache_file = os.path.join(cache_dir, f"{key}.json")
    cache = {}
    if use_cache and os.path.exists(cache_file):
        with open(cache_file) as f:
            cache = json.load(f)
    out = {}
    todo = []
    for name in names:
        path = os.path.join(corpus, name)
        entry = cache.get(digest(path))
        if entry is None:
            todo.append(name)
        else:
            out[name] = entry
    if todo:
        print(f"{len(todo)} templates through the translator and cfn-lint ({tools}) ...",
              file=sys.stderr)
        lint = {}
        batch = 40
        for start in range(0, len(todo), batch):
            chunk = [os.path.join(corpus, n) for n in todo[start:start + batch]]
            lint.update(cfn_lint_verdicts(chunk))
            print(f"  cfn-lint {min(start + batch, len(todo))}/{len(todo)}", file=sys.stderr)
        for name in todo:
            path = os.path.join(corpus, name)
            entry = {"sam": sam_verdict(path), "cfn_lint": lint[path]}
            out[name] = entry
            cache[digest(path)] = entry
        tmp = cache_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(cache, f)
        os.replace(tmp, cache_file)
    return out, tools


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wisp", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--only", help="regex on the template path relative to the corpus")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", help="write every verdict to this file")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--markdown", action="store_true",
                        help="also print the disagreements as docs/validate.md's table")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print wisp's errors and the reference's reasons per disagreement")
    args = parser.parse_args()
    corpus = os.path.abspath(args.corpus)
    wisp = os.path.abspath(args.wisp)
    names = templates(corpus, args.only)
    reference, tools = reference_verdicts(corpus, names, not args.no_cache)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        wisp_results = dict(zip(names, pool.map(
            lambda n: wisp_verdict(wisp, os.path.join(corpus, n)), names)))

    rows = []
    table = []
    counts = {"templates": len(names), "wisp_refuses": 0, "reference_refuses": 0,
              "agree": 0, "wisp_stricter": 0, "wisp_more_lenient": 0}
    problems = []
    for name in names:
        w = wisp_results[name]
        ref = reference[name]
        ref_valid = ref["sam"]["valid"] and not ref["cfn_lint"]
        counts["wisp_refuses"] += not w["valid"]
        counts["reference_refuses"] += not ref_valid
        row = {"template": name, "wisp": w, "sam": ref["sam"], "cfn_lint": ref["cfn_lint"],
               "reference_valid": ref_valid}
        rows.append(row)
        if w["valid"] == ref_valid:
            counts["agree"] += 1
            if name in REASONS:
                problems.append(f"{name}: verdicts agree now; remove it from REASONS")
            continue
        counts["wisp_stricter" if not w["valid"] else "wisp_more_lenient"] += 1
        reason = REASONS.get(name)
        direction = ("wisp refuses, sam + cfn-lint accept" if not w["valid"]
                     else "wisp accepts, " + ("sam" if not ref["sam"]["valid"] else "cfn-lint")
                     + " refuses")
        print(f"{name}: {direction}" + (f" — {reason}" if reason else " — UNEXPLAINED"))
        table.append((direction, reason or "?", os.path.dirname(name) or name))
        if args.verbose or reason is None:
            for line in w["errors"][:6]:
                print(f"    wisp: {line}")
            if not ref["sam"]["valid"]:
                print(f"    sam: {ref['sam']['error'][:300]}")
            for line in ref["cfn_lint"][:6]:
                print(f"    cfn-lint: {line[:300]}")
        if reason is None:
            problems.append(f"{name}: {direction}, and REASONS does not say why")
    for name in REASONS:
        if name not in wisp_results and not args.only:
            problems.append(f"{name}: in REASONS but not in the corpus")
    print(f"\n{tools}; {json.dumps(counts)}")
    if args.markdown:
        accepted = counts["templates"] - counts["wisp_refuses"]
        print(f"\n{counts['templates']} templates; wisp accepts {accepted} and refuses "
              f"{counts['wisp_refuses']}; aws-sam-translator + cfn-lint accept "
              f"{counts['templates'] - counts['reference_refuses']} and refuse "
              f"{counts['reference_refuses']}; the verdicts agree on {counts['agree']}.\n")
        print("| verdicts | why | apps |\n|---|---|---|")
        groups = {}
        for direction, reason, app in table:
            groups.setdefault((direction, reason), []).append(app)
        for (direction, reason), apps in sorted(groups.items(), key=lambda g: -len(g[1])):
            print(f"| {direction} | {reason} | {', '.join(f'`{a}`' for a in apps)} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tools": tools, "counts": counts, "rows": rows}, f, indent=1)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
