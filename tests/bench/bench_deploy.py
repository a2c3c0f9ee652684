#!/usr/bin/env python3
"""Deploy benchmark (not run by CI): a 20-function app (one REST route each) deployed to
moto_server, wisp side by side with a boto3 deploy script as the peer; and an app with
infrastructure (tests/integration/test_deploy_infra.py's proof app: queue + DLQ, tables, bucket,
bus, rules, state machine, triggers) redeployed with no change (goal < 1 s, zero mutating
calls), with a code change (goal < 2 s, no CloudFormation update) and with an infrastructure
change (one change set), beside what `sam deploy` does for any of these: a change set created,
described and, when it has changes, executed (boto3, same moto).

wisp:  first deploy; no-change redeploy (goal < 1 s, zero mutating calls); one function's
       code changed (goal < 2 s, no DeploymentPreference so no shift wait).
peer:  a sequential boto3 script doing what a hand-written deploy does: role, functions,
       versions, aliases, API, permissions on the first run; on a redeploy it updates every
       function's code, publishes and moves every alias (it does not diff).
moto is warmed up first (its first call per service costs seconds), and both sides use the
same moto, so the ratios compare the deploy logic, not the backend.

Usage: tests/bench/bench_deploy.py [--build build/ci] [--runs 5]
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402  (sets the safe AWS environment)

FUNCTIONS = 20


def template():
    out = ["AWSTemplateFormatVersion: '2010-09-09'", "Transform: AWS::Serverless-2016-10-31",
           "Globals:", "  Function:", "    Runtime: python3.12", "    Handler: app.handler",
           "    AutoPublishAlias: live", "Resources:"]
    for i in range(1, FUNCTIONS + 1):
        out += [f"  F{i:02d}:", "    Type: AWS::Serverless::Function", "    Properties:",
                f"      CodeUri: f{i:02d}/", "      Events:", "        Get:", "          Type: Api",
                "          Properties:", f"            Path: /f{i:02d}", "            Method: get"]
    return "\n".join(out) + "\n"


def handler(i, version):
    return f'def handler(event, context):\n    return {{"statusCode": 200, "body": "f{i:02d} {version}"}}\n'


def write_app(root, version, only=None):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "template.yaml"), "w") as f:
        f.write(template())
    for i in range(1, FUNCTIONS + 1):
        if only is not None and i != only:
            continue
        os.makedirs(os.path.join(root, f"f{i:02d}"), exist_ok=True)
        with open(os.path.join(root, f"f{i:02d}", "app.py"), "w") as f:
            f.write(handler(i, version))


def wisp_deploy(wisp, root, url, *extra):
    stack = [] if "--stack-name" in extra else ["--stack-name", "bench"]
    started = time.perf_counter()
    proc = subprocess.run([wisp, "deploy", "--endpoint-url", url, *stack, "--resolve-s3",
                           "--output", "json", *extra], cwd=root, capture_output=True, text=True,
                          env=harness.env())
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"wisp deploy failed:\n{proc.stderr}")
    return elapsed, json.loads(proc.stdout)


class Peer:
    """A straightforward sequential boto3 deploy of the same app."""

    def __init__(self, url):
        import boto3

        kw = dict(endpoint_url=url, region_name="us-east-1")
        self.lam = boto3.client("lambda", **kw)
        self.iam = boto3.client("iam", **kw)
        self.agw = boto3.client("apigateway", **kw)
        self.role_arn = None
        self.api = None

    @staticmethod
    def zipped(i, version):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("app.py", handler(i, version))
        return buffer.getvalue()

    def first(self, version):
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                          "Action": "sts:AssumeRole"}]}
        self.role_arn = self.iam.create_role(RoleName="peer-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.iam.attach_role_policy(RoleName="peer-role",
                                    PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
        self.api = self.agw.create_rest_api(name="peer")["id"]
        root = self.agw.get_resources(restApiId=self.api)["items"][0]["id"]
        for i in range(1, FUNCTIONS + 1):
            name = f"peer-F{i:02d}"
            self.lam.create_function(FunctionName=name, Runtime="python3.12", Handler="app.handler", Role=self.role_arn,
                                     Code={"ZipFile": self.zipped(i, version)})
            v = self.lam.publish_version(FunctionName=name)["Version"]
            self.lam.create_alias(FunctionName=name, Name="live", FunctionVersion=v)
            resource = self.agw.create_resource(restApiId=self.api, parentId=root, pathPart=f"f{i:02d}")["id"]
            self.agw.put_method(restApiId=self.api, resourceId=resource, httpMethod="GET", authorizationType="NONE")
            self.agw.put_integration(restApiId=self.api, resourceId=resource, httpMethod="GET", type="AWS_PROXY",
                                     integrationHttpMethod="POST",
                                     uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                         f"arn:aws:lambda:us-east-1:123456789012:function:{name}:live/invocations")
            self.lam.add_permission(FunctionName=name, Qualifier="live", StatementId="api", Action="lambda:InvokeFunction",
                                    Principal="apigateway.amazonaws.com")
        deployment = self.agw.create_deployment(restApiId=self.api)["id"]
        self.agw.create_stage(restApiId=self.api, stageName="Prod", deploymentId=deployment)

    def redeploy(self, version):
        for i in range(1, FUNCTIONS + 1):
            name = f"peer-F{i:02d}"
            self.lam.update_function_code(FunctionName=name, ZipFile=self.zipped(i, version))
            v = self.lam.publish_version(FunctionName=name)["Version"]
            self.lam.update_alias(FunctionName=name, Name="live", FunctionVersion=v)


class StackPeer:
    """The CloudFormation part of `sam deploy`: a change set for the whole template every time."""

    def __init__(self, url):
        import boto3

        self.cf = boto3.client("cloudformation", endpoint_url=url, region_name="us-east-1")
        self.count = 0

    def deploy(self, template):
        self.count += 1
        name = f"peer-{self.count}"
        try:
            self.cf.describe_stacks(StackName="peer")
            kind = "UPDATE"
        except Exception:  # noqa: BLE001 - not found
            kind = "CREATE"
        self.cf.create_change_set(StackName="peer", ChangeSetName=name, ChangeSetType=kind,
                                  TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
        while True:
            described = self.cf.describe_change_set(StackName="peer", ChangeSetName=name)
            if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
                break
            time.sleep(0.1)
        if described["Status"] == "FAILED":
            self.cf.delete_change_set(StackName="peer", ChangeSetName=name)
            return
        self.cf.execute_change_set(StackName="peer", ChangeSetName=name)
        while self.cf.describe_stacks(StackName="peer")["Stacks"][0]["StackStatus"].endswith("_IN_PROGRESS"):
            time.sleep(0.1)


def infra_app(root, visibility, version):
    from test_deploy_infra import PROOF

    os.makedirs(os.path.join(root, "worker"), exist_ok=True)
    with open(os.path.join(root, "template.yaml"), "w") as f:
        f.write(PROOF.format(visibility=visibility))
    with open(os.path.join(root, "worker", "app.py"), "w") as f:
        f.write(f'def handler(event, context):\n    return "{version}"\n')


def infra_benchmark(wisp, url, tmp, runs):
    """The proof app: (first, [no change], [code only], [infra change], calls, peer no-change, peer change)."""
    root = os.path.join(tmp, "infra")
    infra_app(root, 30, "v0")
    first, _ = wisp_deploy(wisp, root, url, "--stack-name", "infra")
    no_change, code_only, infra_change, facts = [], [], [], {}
    for run in range(runs):
        elapsed, result = wisp_deploy(wisp, root, url, "--stack-name", "infra")
        assert result["status"] == "no-change", result
        no_change.append(elapsed)
        facts["no-change mutating calls"] = max(facts.get("no-change mutating calls", 0), result["mutating_calls"])
        facts["no-change calls"] = result["calls"]
    for run in range(runs):
        infra_app(root, 30, f"v{run + 1}")
        elapsed, result = wisp_deploy(wisp, root, url, "--stack-name", "infra")
        assert result["status"] == "deployed", result
        code_only.append(elapsed)
        facts["code-only calls"] = result["calls"]
    for run in range(runs):
        infra_app(root, 31 + run, f"v{runs}")
        elapsed, result = wisp_deploy(wisp, root, url, "--stack-name", "infra")
        assert result["status"] == "deployed", result
        infra_change.append(elapsed)
        facts["infra-change calls"] = result["calls"]
    # The peer: the stack wisp deployed, as one template, through change sets each time.
    import boto3

    cf = boto3.client("cloudformation", endpoint_url=url, region_name="us-east-1")
    template = cf.get_template(StackName="infra")["TemplateBody"]
    if isinstance(template, str):
        template = json.loads(template)
    template = json.loads(json.dumps(template))
    parameters = {p["ParameterKey"]: p["ParameterValue"]
                  for p in cf.describe_stacks(StackName="infra")["Stacks"][0].get("Parameters", [])}
    for key, spec in template.get("Parameters", {}).items():
        spec["Default"] = parameters.get(key, "x")
    # Physical names the template spells out (the bus's Name) are wisp's stack's already.
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if isinstance(properties.get("Name"), str):
            properties["Name"] += "-peer"
    peer = StackPeer(url)
    peer.deploy(template)
    peer_no_change = [timed(peer.deploy, template) for _ in range(runs)]
    peer_change = []
    for run in range(runs):
        template["Resources"]["Jobs"]["Properties"]["VisibilityTimeout"] = 100 + run
        peer_change.append(timed(peer.deploy, template))
    return first, no_change, code_only, infra_change, facts, peer_no_change, peer_change


def timed(fn, *args):
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "ci"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    wisp = os.path.abspath(os.path.join(args.build, "cli", "wisp"))
    if not os.path.exists(wisp):
        raise SystemExit(f"{wisp} not found: build first (cmake --build --preset ci)")
    harness.WISP = wisp

    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    with harness.Moto() as moto, tempfile.TemporaryDirectory(prefix="wisp-bench-") as tmp:
        import boto3

        kw = dict(endpoint_url=moto.url, region_name="us-east-1")
        # Warm moto: its first call per service initialises that backend (seconds).
        boto3.client("sts", **kw).get_caller_identity()
        boto3.client("iam", **kw).list_roles()
        boto3.client("lambda", **kw).list_functions()
        boto3.client("apigateway", **kw).get_rest_apis()
        boto3.client("apigatewayv2", **kw).get_apis()
        boto3.client("cloudwatch", **kw).describe_alarms()
        boto3.client("s3", **kw).list_buckets()
        boto3.client("cloudformation", **kw).list_stacks()
        for service, call in (("sqs", "list_queues"), ("dynamodb", "list_tables"), ("events", "list_rules"),
                              ("stepfunctions", "list_state_machines")):
            getattr(boto3.client(service, **kw), call)()

        root = os.path.join(tmp, "app")
        write_app(root, "v1")
        first, first_json = wisp_deploy(wisp, root, moto.url)
        no_change = []
        mutating = []
        for _ in range(args.runs):
            elapsed, result = wisp_deploy(wisp, root, moto.url)
            assert result["status"] == "no-change", result["status"]
            no_change.append(elapsed)
            mutating.append(result["mutating_calls"])
        one_change = []
        for run in range(args.runs):
            write_app(root, f"v{run + 2}", only=7)
            elapsed, result = wisp_deploy(wisp, root, moto.url)
            assert result["status"] == "deployed", result["status"]
            one_change.append(elapsed)
        calls_no_change = result_calls = None
        _, no_change_json = wisp_deploy(wisp, root, moto.url)
        calls_no_change = no_change_json["calls"]
        result_calls = result["calls"]

        peer = Peer(moto.url)
        peer_first = timed(peer.first, "v1")
        peer_redeploy = [timed(peer.redeploy, f"v{run + 2}") for run in range(args.runs)]

        infra = infra_benchmark(wisp, moto.url, tmp, args.runs)

    median = statistics.median
    print(f"20-function app (one REST route each) on moto_server; {args.runs} runs, medians\n")
    print(f"{'scenario':<44}{'wisp':>10}{'peer':>10}{'ratio':>9}")
    print(f"{'first deploy':<44}{first:>9.2f}s{peer_first:>9.2f}s{first / peer_first:>8.2f}×")
    print(f"{'no-change redeploy (peer: naive redeploy)':<44}{median(no_change):>9.2f}s"
          f"{median(peer_redeploy):>9.2f}s{median(no_change) / median(peer_redeploy):>8.2f}×")
    print(f"{'one function changed (peer: naive redeploy)':<44}{median(one_change):>9.2f}s"
          f"{median(peer_redeploy):>9.2f}s{median(one_change) / median(peer_redeploy):>8.2f}×")
    print()
    print(f"no-change redeploy: {median(no_change):.3f} s (goal < 1 s), mutating calls "
          f"{max(mutating)} (goal 0), backend calls {calls_no_change}")
    print(f"one function changed: {median(one_change):.3f} s (goal < 2 s), backend calls {result_calls}")
    print(f"first deploy: {first:.3f} s, backend calls {first_json['calls']}")

    i_first, i_none, i_code, i_infra, facts, p_none, p_change = infra
    print("\nApp with infrastructure (the proof app of test_deploy_infra.py: 14 stack resources)\n")
    print(f"{'scenario':<44}{'wisp':>10}{'peer':>10}{'ratio':>9}")
    print(f"{'first deploy (two change sets)':<44}{i_first:>9.2f}s{'':>10}")
    print(f"{'no-change redeploy (peer: change set)':<44}{median(i_none):>9.2f}s{median(p_none):>9.2f}s"
          f"{median(i_none) / median(p_none):>8.2f}×")
    print(f"{'code-only change (peer: stack part only)':<44}{median(i_code):>9.2f}s{median(p_none):>9.2f}s"
          f"{median(i_code) / median(p_none):>8.2f}×")
    print(f"{'infrastructure change (peer: change set)':<44}{median(i_infra):>9.2f}s{median(p_change):>9.2f}s"
          f"{median(i_infra) / median(p_change):>8.2f}×")
    print(f"\nno-change redeploy: {median(i_none):.3f} s (goal < 1 s), mutating calls "
          f"{facts['no-change mutating calls']} (goal 0), backend calls {facts['no-change calls']}")
    print(f"code-only change: {median(i_code):.3f} s (goal < 2 s), backend calls {facts['code-only calls']}")
    print(f"infrastructure change: {median(i_infra):.3f} s, backend calls {facts['infra-change calls']}")


if __name__ == "__main__":
    main()
