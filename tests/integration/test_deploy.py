"""wisp deploy / deploy status / promote / rollback / delete against moto_server, verified with
the real aws CLI and boto3: first deploy, no-change redeploys, canary and linear weights
observed step by step, alarm rollback, dev and prod stages on different versions, hooks,
interruptions (Ctrl-C and kill -9 mid-shift), the stage lock, faults injected by a loopback
proxy, REST stage canaries recorded by a proxy (moto drops them), and delete."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest
import urllib.request

import harness
from aws_proxy import FaultProxy
from harness import Moto, WispTestCase, wisp

STACK = "shop"

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
    Timeout: 5
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      AutoPublishAlias: live
      Environment:
        Variables:
          WORLD_FUNCTION: !Ref World
      Policies:
        - DynamoDBReadPolicy:
            TableName: orders
        - SQSSendMessagePolicy:
            QueueName: jobs
{preference}
      Events:
        Rest:
          Type: Api
          Properties:
            Path: /hello
            Method: get
        Http:
          Type: HttpApi
          Properties:
            Path: /hi
            Method: get
  World:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: world/
      AutoPublishAlias: live
{extra}
"""

ALARM = """\
  HelloErrors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: shop-hello-errors
      MetricName: Errors
      Namespace: AWS/Lambda
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
"""

HOOK = """\
  PreHook:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: world/
"""


def preference(kind, alarms=False, hook=False, post_hook=False):
    lines = ["      DeploymentPreference:", f"        Type: {kind}"]
    if alarms:
        lines += ["        Alarms:", "          - !Ref HelloErrors"]
    if hook or post_hook:
        lines += ["        Hooks:"]
    if hook:
        lines += ["          PreTraffic: !Ref PreHook"]
    if post_hook:
        lines += ["          PostTraffic: !Ref PreHook"]
    return "\n".join(lines)


class MotoForDeploy(Moto):
    """moto with AWS-managed IAM policies and Lambda invoke without Docker."""

    def __enter__(self):
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        try:
            super().__enter__()
        finally:
            os.environ.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)
        self.configure()
        return self

    def configure(self):
        request = urllib.request.Request(self.url + "/moto-api/config", method="POST",
                                         data=json.dumps({"lambda": {"use_docker": False}}).encode())
        urllib.request.urlopen(request).read()

    def reset(self):
        super().reset()
        self.configure()

    def queue_invoke_results(self, *results):
        request = urllib.request.Request(self.url + "/moto-api/static/lambda-simple/response", method="POST",
                                         data=json.dumps({"results": list(results), "region": "us-east-1"}).encode())
        urllib.request.urlopen(request).read()


def boto(service, url):
    import boto3

    return boto3.client(service, endpoint_url=url, region_name="us-east-1")


class DeployTestCase(WispTestCase):
    moto = None

    @classmethod
    def setUpClass(cls):
        harness.require_peer("aws", "the AWS CLI verifies what wisp deployed")
        cls.moto = MotoForDeploy().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)

    def setUp(self):
        super().setUp()
        self.moto.reset()
        self.url = self.moto.url
        self.app = self.path("app")
        self.write_app("v1")

    def write_app(self, version, kind=None, alarms=False, hook=False, world="w1", extra_resources="",
                  post_hook=False):
        pref = preference(kind, alarms, hook, post_hook) if kind else ""
        extra = (ALARM if alarms else "") + (HOOK if hook or post_hook else "") + extra_resources
        self.write("app/template.yaml", TEMPLATE.format(preference=pref, extra=extra))
        self.write("app/hello/app.py", f'def handler(event, context):\n    return {{"statusCode": 200, "body": "{version}"}}\n')
        self.write("app/world/app.py", f'def handler(event, context):\n    return {{"statusCode": 200, "body": "{world}"}}\n')

    def deploy(self, *args, code=0, url=None, stage=None, env=None, timeout=180):
        stage_args = ["--stage", stage] if stage else []
        proc = wisp("deploy", "--endpoint-url", url or self.url, "--stack-name", STACK, "--resolve-s3",
                    *stage_args, *args, cwd=self.app, timeout=timeout, extra_env=env)
        self.assertWisp(proc, code)
        return proc

    def deploy_json(self, *args, code=0, **kw):
        proc = self.deploy("--output", "json", *args, code=code, **kw)
        return json.loads(proc.stdout)

    def start_deploy(self, *args, stage=None, url=None):
        stage_args = ["--stage", stage] if stage else []
        return subprocess.Popen(
            [harness.WISP, "deploy", "--endpoint-url", url or self.url, "--stack-name", STACK, "--resolve-s3",
             *stage_args,
             *args],
            cwd=self.app, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=harness.env(),
            start_new_session=True)

    def aws(self, *args):
        proc = subprocess.run(["aws", "--endpoint-url", self.url, "--output", "json", *args], capture_output=True,
                              text=True, timeout=60, env=harness.env())
        if proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)}: {proc.stderr}")
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def alias(self, name="shop-Hello", alias="live"):
        return self.aws("lambda", "get-alias", "--function-name", name, "--name", alias)

    def wait_for_alias(self, predicate, timeout=30, name="shop-Hello", alias="live"):
        lam = boto("lambda", self.url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = lam.get_alias(FunctionName=name, Name=alias)
            if predicate(current):
                return current
            time.sleep(0.1)
        raise AssertionError(f"alias never matched; last: {current}")

    def bucket(self):
        return "wisp-managed-123456789012-us-east-1"

    def stage_state(self, stage="live"):
        out = self.path("state.json")
        self.aws("s3api", "get-object", "--bucket", self.bucket(), "--key", f"{STACK}/state/stages/{stage}.json", out)
        with open(out) as f:
            return json.load(f)


class FirstDeploy(DeployTestCase):
    def test_first_deploy_then_no_change_then_dry_run(self):
        proc = self.deploy()
        self.assertRegex(proc.stdout, r"\+ function +shop-Hello +code [0-9a-f]{8} \(\d+ B\)")
        self.assertRegex(proc.stdout, r"\+ alias +shop-Hello:live +→ new version")
        self.assertIn("Deployed in", proc.stdout)
        self.assertRegex(proc.stdout, r"Endpoint ServerlessRestApi \(REST API, stage Prod\): "
                                      r"https://\w+\.execute-api\.us-east-1\.amazonaws\.com/Prod/")

        # What the aws CLI sees.
        self.assertEqual(self.alias()["FunctionVersion"], "1")
        self.assertEqual(self.alias("shop-World")["FunctionVersion"], "1")
        versions = self.aws("lambda", "list-versions-by-function", "--function-name", "shop-Hello")["Versions"]
        self.assertEqual([v["Version"] for v in versions], ["$LATEST", "1"])
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Hello")
        self.assertEqual(config["Environment"]["Variables"], {"WORLD_FUNCTION": "shop-World"})
        self.assertEqual(config["Role"], "arn:aws:iam::123456789012:role/shop-Hello-role")
        with open(self.path("app", ".wisp", "build", "Hello.zip"), "rb") as f:
            import base64
            import hashlib
            self.assertEqual(config["CodeSha256"], base64.b64encode(hashlib.sha256(f.read()).digest()).decode())
        attached = self.aws("iam", "list-attached-role-policies", "--role-name", "shop-Hello-role")
        self.assertEqual([p["PolicyArn"] for p in attached["AttachedPolicies"]],
                         ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"])
        inline = self.aws("iam", "get-role-policy", "--role-name", "shop-Hello-role", "--policy-name",
                          "HelloRolePolicy0")["PolicyDocument"]
        self.assertEqual(inline["Statement"][0]["Resource"],
                         ["arn:aws:dynamodb:us-east-1:123456789012:table/orders",
                          "arn:aws:dynamodb:us-east-1:123456789012:table/orders/index/*"])
        apis = self.aws("apigateway", "get-rest-apis")["items"]
        self.assertEqual([a["name"] for a in apis], ["shop-ServerlessRestApi"])
        stage = self.aws("apigateway", "get-stage", "--rest-api-id", apis[0]["id"], "--stage-name", "Prod")
        self.assertEqual(stage["variables"], {"lambdaAlias": "live"})
        resources = self.aws("apigateway", "get-resources", "--rest-api-id", apis[0]["id"], "--embed", "methods")
        hello = [r for r in resources["items"] if r["path"] == "/hello"][0]
        self.assertTrue(hello["resourceMethods"]["GET"]["methodIntegration"]["uri"].endswith(
            ":function:shop-Hello:${stageVariables.lambdaAlias}/invocations"))
        policy = json.loads(self.aws("lambda", "get-policy", "--function-name", "shop-Hello", "--qualifier",
                                     "live")["Policy"])
        self.assertIn("wisp-ServerlessRestApi-live", [s["Sid"] for s in policy["Statement"]])
        http_apis = self.aws("apigatewayv2", "get-apis")["Items"]
        self.assertEqual([a["Name"] for a in http_apis], ["shop-ServerlessHttpApi"])
        http_stage = self.aws("apigatewayv2", "get-stages", "--api-id", http_apis[0]["ApiId"])["Items"]
        self.assertEqual([(s["StageName"], s["AutoDeploy"]) for s in http_stage], [("$default", True)])
        keys = [o["Key"] for o in self.aws("s3api", "list-objects-v2", "--bucket", self.bucket())["Contents"]]
        self.assertIn(f"{STACK}/state/app.json", keys)
        self.assertIn(f"{STACK}/state/stages/live.json", keys)
        import re
        self.assertEqual(len([k for k in keys if re.fullmatch(f"{STACK}/[0-9a-f]{{64}}\\.zip", k)]), 2)
        self.assertFalse([k for k in keys if "/locks/" in k], "locks are released")
        state = self.stage_state()
        self.assertEqual(state["status"], "deployed")
        self.assertEqual(state["functions"]["Hello"]["version"], "1")
        self.assertEqual(state["history"][-1]["status"], "deployed")

        # Nothing changed: no mutating call at all.
        again = self.deploy_json()
        self.assertEqual(again["status"], "no-change")
        self.assertEqual(again["mutating_calls"], 0)
        self.assertEqual(again["plan"]["summary"]["create"] + again["plan"]["summary"]["update"], 0)

        # A dry run shows the change and changes nothing.
        self.write_app("v2")
        dry = self.deploy("--dry-run")
        self.assertRegex(dry.stdout, r"~ function +shop-Hello +code [0-9a-f]{8} → [0-9a-f]{8}")
        self.assertIn("Dry run: nothing was changed.", dry.stdout)
        self.assertEqual(self.alias()["FunctionVersion"], "1")
        versions = self.aws("lambda", "list-versions-by-function", "--function-name", "shop-Hello")["Versions"]
        self.assertEqual(len(versions), 2)

        status = json.loads(wisp("deploy", "status", "--endpoint-url", self.url, "--stack-name", STACK,
                                 "--output", "json", cwd=self.app, check=0).stdout)
        self.assertEqual(status["stage"], "live")
        self.assertEqual({f["logical_id"]: f["version"] for f in status["functions"]}, {"Hello": "1", "World": "1"})
        self.assertFalse(status["locked"])

    def test_samconfig_and_sam_flags(self):
        self.write("app/samconfig.toml", 'version = 0.1\n[default.deploy.parameters]\nstack_name = "shop"\n'
                   'resolve_s3 = true\ncapabilities = "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND"\n'
                   'stage = "qa"\n')
        first = wisp("deploy", "--endpoint-url", self.url, cwd=self.app)
        self.assertWisp(first, 0, stdout_has="Plan for shop stage qa")
        self.assertNotIn("warning", first.stderr)
        self.assertEqual(self.alias(alias="qa")["FunctionVersion"], "1")
        empty = wisp("deploy", "--endpoint-url", self.url, "--fail-on-empty-changeset", cwd=self.app)
        self.assertWisp(empty, 1, stderr_has="no changes to deploy (--fail-on-empty-changeset)")
        # status finds the bucket through .wisp/deploy-targets.json.
        status = wisp("deploy", "status", "--endpoint-url", self.url, "--stack-name", "shop", cwd=self.app)
        self.assertWisp(status, 0, stdout_has="shop stage qa: deployed")

    def test_a_function_removed_from_the_template_loses_its_alias(self):
        self.deploy()
        template = self.read("app/template.yaml")
        cut = template.index("  World:")
        self.write("app/template.yaml", template[:cut].replace("          WORLD_FUNCTION: !Ref World\n",
                                                                  "          WORLD_FUNCTION: none\n"))
        proc = self.deploy()
        self.assertRegex(proc.stdout, r"- alias +shop-World:live +no longer in the template")
        aliases = self.aws("lambda", "list-aliases", "--function-name", "shop-World")["Aliases"]
        self.assertEqual(aliases, [])
        self.assertNotIn("World", self.stage_state()["functions"])
        self.assertEqual(self.deploy_json()["status"], "no-change")

    def test_configuration_change_publishes_and_moves_the_alias(self):
        self.deploy()
        template = self.read("app/template.yaml").replace("Timeout: 5", "Timeout: 9")
        self.write("app/template.yaml", template)
        proc = self.deploy()
        self.assertIn("Timeout 5 → 9", proc.stdout)
        self.assertEqual(self.alias()["FunctionVersion"], "2")
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Hello:live")
        self.assertEqual(config["Timeout"], 9)
        self.assertEqual(self.deploy_json()["status"], "no-change")

    def test_bad_input_is_refused_before_anything_changes(self):
        no_bucket = wisp("deploy", "--endpoint-url", self.url, "--stack-name", STACK, cwd=self.app)
        self.assertWisp(no_bucket, 2, stderr_has="pass --s3-bucket BUCKET or --resolve-s3")
        no_stack = wisp("deploy", "--endpoint-url", self.url, "--resolve-s3", cwd=self.app)
        self.assertWisp(no_stack, 2, stderr_has="missing --stack-name")
        bad_stage = self.deploy(stage="12", code=1)
        self.assertIn("invalid stage name '12'", bad_stage.stderr)
        bad_interval = self.deploy("--step-interval", "soon", code=2)
        self.assertIn("--step-interval: 'soon' is not a duration", bad_interval.stderr)
        self.write_app("v1", kind="Canary10Percent5Minute")
        typo = self.deploy(code=1)
        self.assertRegex(typo.stderr, r"template\.yaml:\d+:\d+: error: unknown deployment type "
                                      r"'Canary10Percent5Minute'; did you mean 'Canary10Percent5Minutes'\?")
        self.write_app("v1")
        # A parameter with no Default and no value: CloudFormation's refusal, before any call.
        with open(self.path("app/template.yaml")) as f:
            template = f.read()
        self.assertEqual(template.count("\nResources:"), 1)
        self.write("app/template.yaml", template.replace(
            "\nResources:", "\nParameters:\n  Owner:\n    Type: String\n  Team:\n    Type: String\n"
                            "    Default: core\nResources:"))
        line = template[:template.index("\nResources:")].count("\n") + 3
        no_value = self.deploy(code=1)
        self.assertIn(f"template.yaml:{line}:3: error: parameter 'Owner' has no value: it has no Default and "
                      "--parameter-overrides does not set it (CloudFormation refuses the stack: "
                      "\"Parameters: [Owner] must have values\")", no_value.stderr)
        self.assertNotIn("'Team'", no_value.stderr)
        self.write_app("v1")
        missing_bucket = wisp("deploy", "--endpoint-url", self.url, "--stack-name", STACK, "--s3-bucket",
                              "no-such-bucket", cwd=self.app)
        self.assertWisp(missing_bucket, 1, stderr_has="the bucket no-such-bucket does not exist")
        self.assertEqual(boto("lambda", self.url).list_functions()["Functions"], [])


class Shifting(DeployTestCase):
    def observe(self, proc, stop):
        """Records every distinct (version, weights) of the alias while `proc` runs."""
        seen = []
        lam = boto("lambda", self.url)

        def sample():
            try:
                a = lam.get_alias(FunctionName="shop-Hello", Name="live")
                entry = (a["FunctionVersion"], dict(a.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})))
                if not seen or seen[-1] != entry:
                    seen.append(entry)
            except Exception:  # noqa: BLE001 - the function may not exist yet
                pass

        while proc.poll() is None and not stop.is_set():
            sample()
            time.sleep(0.05)
        # The last step may land between the previous sample and the exit: look once more.
        proc.wait()
        sample()
        return seen

    def run_observed(self, *args):
        proc = self.start_deploy(*args)
        stop = threading.Event()
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault("seen", self.observe(proc, stop)))
        thread.start()
        out, err = proc.communicate(timeout=180)
        stop.set()
        thread.join()
        return proc.returncode, out, err, result["seen"]

    def test_canary_holds_ten_percent_then_moves_everything(self):
        self.write_app("v1", kind="Canary10Percent5Minutes")
        self.deploy()
        self.write_app("v2", kind="Canary10Percent5Minutes")
        code, out, err, seen = self.run_observed("--step-interval", "2s")
        self.assertEqual(code, 0, err)
        self.assertIn("10% on version 2, 90% on version 1 (Canary10Percent5Minutes, next step in 2s)", err)
        self.assertEqual(seen[-2:], [("1", {"2": 0.1}), ("2", {})])
        self.assertEqual(self.alias()["FunctionVersion"], "2")
        state = self.stage_state()
        self.assertEqual(state["functions"]["Hello"], {**state["functions"]["Hello"], "version": "2",
                                                       "previous_version": "1"})
        self.assertEqual(state["shift"], {})

    def test_progress_redraws_in_place_on_a_terminal(self):
        script = harness.require_peer("script", "util-linux script gives wisp a terminal")
        self.write_app("v1", kind="Canary10Percent5Minutes")
        self.deploy()
        self.write_app("v2", kind="Canary10Percent5Minutes")
        command = " ".join([harness.WISP, "deploy", "--endpoint-url", self.url, "--stack-name", STACK,
                            "--step-interval", "2500ms", "--color", "never"])
        proc = subprocess.run([script, "-qec", command, "/dev/null"], cwd=self.app, capture_output=True,
                              timeout=120, env=harness.env(TERM="xterm"))
        out = proc.stdout.decode()  # bytes: text mode would turn "\r" into "\n"
        self.assertEqual(proc.returncode, 0, out)
        # The status line is redrawn in place ("\r" + erase line), then cleared for step lines.
        self.assertRegex(out, r"\r\x1b\[2Kshifting: Hello 10% · next step in [12]s")
        self.assertIn("\r\x1b[2K• shop-Hello:live → version 2 (100%)", out)

    def test_linear_weights_grow_in_order(self):
        self.write_app("v1", kind="Linear10PercentEvery1Minute")
        self.deploy()
        self.write_app("v2", kind="Linear10PercentEvery1Minute")
        code, out, err, seen = self.run_observed("--step-interval", "600ms")
        self.assertEqual(code, 0, err)
        weights = [w.get("2") for v, w in seen if v == "1" and w]
        self.assertEqual(weights, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
        self.assertEqual(seen[-1], ("2", {}))

    def test_all_at_once_and_functions_without_preference_move_at_once(self):
        self.write_app("v1", kind="AllAtOnce")
        self.deploy()
        self.write_app("v2", kind="AllAtOnce", world="w2")
        self.deploy()
        self.assertEqual(self.alias()["FunctionVersion"], "2")
        self.assertEqual(self.alias("shop-World")["FunctionVersion"], "2")
        self.assertEqual(self.alias().get("RoutingConfig", {}).get("AdditionalVersionWeights", {}), {})

    def test_alarm_in_alarm_mid_shift_rolls_back(self):
        self.write_app("v1", kind="Canary10Percent10Minutes", alarms=True)
        self.deploy()
        alarms = self.aws("cloudwatch", "describe-alarms", "--alarm-names", "shop-hello-errors")["MetricAlarms"]
        self.assertEqual(alarms[0]["Threshold"], 1.0)
        self.write_app("v2", kind="Canary10Percent10Minutes", alarms=True)
        proc = self.start_deploy("--step-interval", "60s")
        self.wait_for_alias(lambda a: a.get("RoutingConfig", {}).get("AdditionalVersionWeights") == {"2": 0.1})
        self.aws("cloudwatch", "set-alarm-state", "--alarm-name", "shop-hello-errors", "--state-value", "ALARM",
                 "--state-reason", "test")
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("rolled-back: alarm shop-hello-errors is in ALARM", err)
        self.assertIn("rolled back shop-Hello:live to version 1", err)
        alias = self.alias()
        self.assertEqual(alias["FunctionVersion"], "1")
        self.assertEqual(alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}), {})
        state = self.stage_state()
        self.assertEqual(state["status"], "rolled-back")
        self.assertEqual(state["functions"]["Hello"]["version"], "1")
        self.assertEqual(state["history"][-1]["message"], "alarm shop-hello-errors is in ALARM")

    def test_pre_traffic_hook_success_and_failure(self):
        self.write_app("v1", kind="Canary10Percent5Minutes", hook=True)
        self.deploy()
        self.write_app("v2", kind="Canary10Percent5Minutes", hook=True)
        ok = self.deploy("--step-interval", "200ms")
        self.assertIn("PreTraffic hook: invoking shop-PreHook:live", ok.stderr)
        self.assertIn("PreTraffic hook: shop-PreHook:live succeeded", ok.stderr)
        self.assertEqual(self.alias()["FunctionVersion"], "2")
        self.write_app("v3", kind="Canary10Percent5Minutes", hook=True)
        self.moto.queue_invoke_results(json.dumps({"status": "Failed"}))
        failed = self.deploy("--step-interval", "200ms", code=1)
        self.assertIn("PreTraffic hook shop-PreHook:live reported status Failed", failed.stderr)
        self.assertEqual(self.alias()["FunctionVersion"], "2")


    def test_post_traffic_hook_failure_rolls_back_after_the_shift(self):
        self.write_app("v1", kind="Linear10PercentEvery1Minute", post_hook=True)
        self.deploy()
        self.write_app("v2", kind="Linear10PercentEvery1Minute", post_hook=True)
        self.moto.queue_invoke_results(json.dumps({"status": "Failed"}))
        failed = self.deploy("--step-interval", "100ms", code=1)
        self.assertIn("shop-Hello:live → version 2 (100%)", failed.stderr)
        self.assertIn("PostTraffic hook shop-PreHook:live reported status Failed", failed.stderr)
        self.assertEqual(self.alias()["FunctionVersion"], "1")
        self.assertEqual(self.stage_state()["history"][-1]["status"], "rolled-back")


class Roles(DeployTestCase):
    def test_a_role_of_the_template_is_created_and_used(self):
        role = """\
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
      Policies:
        - PolicyName: read-things
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: s3:GetObject
                Resource: arn:aws:s3:::things/*
"""
        template = TEMPLATE.replace("      CodeUri: world/\n", "      CodeUri: world/\n      Role: !GetAtt AppRole.Arn\n")
        self.write("app/template.yaml", template.format(preference="", extra=role))
        self.deploy()
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-World")
        self.assertEqual(config["Role"], "arn:aws:iam::123456789012:role/shop-AppRole")
        document = self.aws("iam", "get-role-policy", "--role-name", "shop-AppRole", "--policy-name",
                            "read-things")["PolicyDocument"]
        self.assertEqual(document["Statement"][0]["Resource"], "arn:aws:s3:::things/*")
        # A policy change updates the role in place; nothing else changes.
        self.write("app/template.yaml", template.format(preference="", extra=role.replace("things/*", "others/*")))
        proc = self.deploy()
        self.assertRegex(proc.stdout, r"~ role +shop-AppRole +policies")
        self.assertRegex(proc.stdout, r"= function +shop-World")
        document = self.aws("iam", "get-role-policy", "--role-name", "shop-AppRole", "--policy-name",
                            "read-things")["PolicyDocument"]
        self.assertEqual(document["Statement"][0]["Resource"], "arn:aws:s3:::others/*")
        self.assertEqual(self.deploy_json()["status"], "no-change")


class Stages(DeployTestCase):
    def test_dev_and_prod_hold_different_versions(self):
        self.deploy(stage="dev")
        self.deploy(stage="prod")
        self.write_app("v2")
        proc = self.deploy(stage="dev")
        self.assertIn("version 1 → new version", proc.stdout)
        self.assertEqual(self.alias(alias="dev")["FunctionVersion"], "2")
        self.assertEqual(self.alias(alias="prod")["FunctionVersion"], "1")
        api = self.aws("apigateway", "get-rest-apis")["items"]
        self.assertEqual(len(api), 1, "one API, one stage per deploy stage")
        for stage in ("dev", "prod"):
            got = self.aws("apigateway", "get-stage", "--rest-api-id", api[0]["id"], "--stage-name", stage)
            self.assertEqual(got["variables"], {"lambdaAlias": stage})
        # prod catches up; then both are unchanged.
        self.deploy(stage="prod")
        self.assertEqual(self.alias(alias="prod")["FunctionVersion"], "2")
        for stage in ("dev", "prod"):
            self.assertEqual(self.deploy_json(stage=stage)["status"], "no-change")

    def test_delete_one_stage_then_the_app(self):
        self.deploy(stage="dev")
        self.deploy(stage="prod")
        refused = wisp("delete", "--endpoint-url", self.url, "--stack-name", STACK, "--stage", "dev", cwd=self.app)
        self.assertWisp(refused, 2, stderr_has="pass --no-prompts")
        gone = wisp("delete", "--endpoint-url", self.url, "--stack-name", STACK, "--stage", "dev", "--no-prompts",
                    cwd=self.app)
        self.assertWisp(gone, 0, stdout_has="Deleted stage dev")
        aliases = self.aws("lambda", "list-aliases", "--function-name", "shop-Hello")["Aliases"]
        self.assertEqual([a["Name"] for a in aliases], ["prod"])
        api = self.aws("apigateway", "get-rest-apis")["items"][0]
        stages = self.aws("apigateway", "get-stages", "--rest-api-id", api["id"])["item"]
        self.assertEqual([s["stageName"] for s in stages], ["prod"])
        self.assertEqual(self.deploy_json(stage="prod")["status"], "no-change")

        everything = wisp("delete", "--endpoint-url", self.url, "--stack-name", STACK, "--no-prompts",
                          "--output", "json", cwd=self.app)
        self.assertWisp(everything, 0)
        self.assertEqual(boto("lambda", self.url).list_functions()["Functions"], [])
        self.assertEqual(self.aws("apigateway", "get-rest-apis")["items"], [])
        self.assertEqual(self.aws("apigatewayv2", "get-apis")["Items"], [])
        roles = [r["RoleName"] for r in self.aws("iam", "list-roles")["Roles"]]
        self.assertNotIn("shop-Hello-role", roles)
        listing = self.aws("s3api", "list-objects-v2", "--bucket", self.bucket())
        self.assertEqual(listing.get("Contents", []), [])
        nothing = wisp("deploy", "status", "--endpoint-url", self.url, "--stack-name", STACK, "--stage", "prod",
                       cwd=self.app)
        self.assertWisp(nothing, 1, stderr_has="nothing is deployed for shop")


class Interruptions(DeployTestCase):
    def start_slow_canary(self):
        self.write_app("v1", kind="Canary10Percent30Minutes")
        self.deploy()
        self.write_app("v2", kind="Canary10Percent30Minutes")
        proc = self.start_deploy("--step-interval", "120s")
        self.wait_for_alias(lambda a: a.get("RoutingConfig", {}).get("AdditionalVersionWeights") == {"2": 0.1})
        return proc

    def test_ctrl_c_mid_shift_leaves_the_old_version_serving_and_promote_finishes(self):
        proc = self.start_slow_canary()
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("interrupted", err)
        alias = self.alias()
        self.assertEqual((alias["FunctionVersion"], alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})),
                         ("1", {}))
        state = self.stage_state()
        self.assertEqual(state["status"], "interrupted")
        self.assertEqual(state["shift"]["Hello"]["to"], "2")
        promoted = wisp("promote", "--endpoint-url", self.url, "--stack-name", STACK, cwd=self.app)
        self.assertWisp(promoted, 0, stderr_has="shop-Hello:live → version 2 (100%)")
        self.assertEqual(self.alias()["FunctionVersion"], "2")
        self.assertEqual(self.stage_state()["shift"], {})

    def test_kill_mid_shift_keeps_the_shift_on_record_for_rollback(self):
        proc = self.start_slow_canary()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        # The old version still serves 90%; the state knows the shift.
        self.assertEqual(self.alias()["FunctionVersion"], "1")
        state = self.stage_state()
        self.assertEqual(state["status"], "shifting")
        # Recorded before any traffic moved (weight 0), then with the weight written.
        shift = state["shift"]["Hello"]
        self.assertEqual((shift["from"], shift["to"], shift["type"]), ("1", "2", "Canary10Percent30Minutes"))
        self.assertIn(shift["weight"], (0.0, 0.1))
        status = wisp("deploy", "status", "--endpoint-url", self.url, "--stack-name", STACK, cwd=self.app, check=0)
        self.assertIn("(shifting, 10% on version 2)", status.stdout)
        self.assertIn("locked by", status.stdout)
        # The dead wisp's lock is still fresh: refused without --break-lock.
        refused = wisp("rollback", "--endpoint-url", self.url, "--stack-name", STACK, cwd=self.app)
        self.assertWisp(refused, 1, stderr_has="is locked by")
        self.assertIn("--break-lock", refused.stderr)
        rolled = wisp("rollback", "--endpoint-url", self.url, "--stack-name", STACK, "--break-lock", cwd=self.app)
        self.assertWisp(rolled, 0, stdout_has="Rolled back. Versions: Hello v1")
        alias = self.alias()
        self.assertEqual((alias["FunctionVersion"], alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})),
                         ("1", {}))
        self.assertEqual(self.stage_state()["status"], "rolled-back")
        # The next deploy picks the change up again.
        self.assertIn("version 1 → new version", self.deploy("--step-interval", "100ms").stdout)
        self.assertEqual(self.alias()["FunctionVersion"], "2")

    def test_a_second_deploy_to_the_stage_is_refused_by_the_lock(self):
        proc = self.start_slow_canary()
        try:
            self.write_app("v3", kind="Canary10Percent30Minutes")
            second = self.deploy(code=1)
            self.assertRegex(second.stderr, r"stage live of shop is locked by \S+@\S+ \(pid \d+\) \(deploy, since ")
            # Another stage is not blocked by this stage's shift.
            self.deploy(stage="dev")
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.communicate(timeout=60)

    def test_rollback_to_a_version(self):
        self.deploy()
        self.write_app("v2")
        self.deploy()
        self.write_app("v3")
        self.deploy()
        several = wisp("rollback", "--endpoint-url", self.url, "--stack-name", STACK, "--to", "1", cwd=self.app)
        self.assertWisp(several, 2, stderr_has="pass --function with --to")
        to = wisp("rollback", "--endpoint-url", self.url, "--stack-name", STACK, "--to", "1", "--function", "Hello",
                  cwd=self.app)
        self.assertWisp(to, 0)
        self.assertEqual(self.alias()["FunctionVersion"], "1")
        self.assertEqual(self.alias("shop-World")["FunctionVersion"], "1")  # never changed
        missing = wisp("rollback", "--endpoint-url", self.url, "--stack-name", STACK, "--to", "9", "--function",
                       "Hello", cwd=self.app)
        self.assertWisp(missing, 1, stderr_has="shop-Hello has no version 9")


class Faults(DeployTestCase):
    def test_deploy_converges_through_throttling_errors_and_drops(self):
        with FaultProxy(self.url) as proxy:
            faults = ["429", "500", "503", "drop", "timeout", "timeout-after"]
            proxy.random_faults(0.3, seed=11, faults=faults, max_in_a_row=2)
            self.write_app("v1", kind="Canary10Percent5Minutes")
            secret = {"AWS_SECRET_ACCESS_KEY": "never-print-this-secret-8d2f"}
            # A stalled answer is given up after 2 s and retried (the AWS CLI's flag).
            timeouts = ("--cli-read-timeout", "2")
            first = self.deploy("--debug", "--step-interval", "200ms", *timeouts, url=proxy.url, env=secret)
            self.assertIn("retry", first.stderr)
            self.assertNotIn("never-print-this-secret-8d2f", first.stdout + first.stderr)
            # Every request was signed (moto routes by the signature) and carried the payload hash.
            for record in proxy.records:
                self.assertTrue(record["headers"].get("authorization", "").startswith("AWS4-HMAC-SHA256 "))
                self.assertIn("x-amz-content-sha256", record["headers"])
            self.write_app("v2", kind="Canary10Percent5Minutes")
            self.deploy("--step-interval", "200ms", *timeouts, url=proxy.url)
            injected = proxy.faults_injected()
            self.assertGreater(len(injected), 10)
            self.assertTrue(set(faults) <= set(injected), injected)
        self.assertEqual(self.alias()["FunctionVersion"], "2")
        self.assertEqual(self.deploy_json()["status"], "no-change")
        self.assertEqual(len(self.aws("apigateway", "get-rest-apis")["items"]), 1)

    def test_create_alias_retried_after_a_lost_answer_updates_the_alias_that_exists(self):
        # Lambda made the alias but its answer was lost (a 500 after forwarding): the retried
        # CreateAlias conflicts (moto: ConflictException, Lambda: ResourceConflictException),
        # and wisp converges on the alias that exists instead of failing.
        def create_alias(record):
            return record["method"] == "POST" and record["path"].endswith("/aliases")
        with FaultProxy(self.url) as proxy:
            proxy.random_faults(1.0, seed=1, faults=["500-after"], match=create_alias, max_in_a_row=1)
            self.write_app("v1")
            self.deploy(url=proxy.url)
            creates = [r for r in proxy.records if create_alias(r)]
        by_path = {}
        for record in creates:
            by_path.setdefault(record["path"], []).append((record["fault"], record["status"]))
        self.assertTrue(by_path)
        for path, tries in by_path.items():
            self.assertEqual(tries[:2], [("500-after", 201), ("pass", 409)], path)
        self.assertEqual(self.alias()["FunctionVersion"], "1")
        self.assertEqual(self.deploy_json()["status"], "no-change")

    API_CANARY = """\
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      CanarySetting:
        PercentTraffic: 25
        StageVariableOverrides:
          flavour: canary
      Variables:
        flavour: stable
"""

    def canary_api_template(self):
        """The template (to format) with an API whose stage has a CanarySetting."""
        return TEMPLATE.replace("            Path: /hello\n            Method: get",
                                "            Path: /hello\n            Method: get\n            RestApiId: !Ref Api")

    def test_publish_waits_until_lambda_has_finished_the_update(self):
        # moto finishes updates at once; the proxy plays Lambda's asynchronous updates.
        with FaultProxy(self.url) as proxy:
            proxy.lambda_updates_take(3)
            self.deploy(url=proxy.url)
            self.write_app("v2")
            proxy.clear()
            self.deploy(url=proxy.url)
            self.assertEqual(proxy.faults_injected(), [], "nothing was refused: wisp waited")
            reads = [r for r in proxy.records if r.get("in_progress")]
            self.assertEqual(len(reads), 3, "three reads said InProgress")
            publish = [i for i, r in enumerate(proxy.records)
                       if r["method"] == "POST" and r["path"].endswith("/shop-Hello/versions")]
            self.assertEqual(len(publish), 1)
            self.assertGreater(publish[0], proxy.records.index(reads[-1]))
            self.assertEqual(self.alias()["FunctionVersion"], "2")

            # An update Lambda reports as failed stops the deploy before a version is published.
            proxy.lambda_updates_take(1, fail="injected: the runtime could not be set up")
            self.write_app("v3")
            failed = self.deploy(url=proxy.url, code=1)
            self.assertIn("the update of shop-Hello failed: injected: the runtime could not be set up",
                          failed.stderr)
        self.assertEqual(self.alias()["FunctionVersion"], "2")
        versions = self.aws("lambda", "list-versions-by-function", "--function-name", "shop-Hello")["Versions"]
        self.assertEqual([v["Version"] for v in versions], ["$LATEST", "1", "2"])

    def test_rest_stage_canary_calls_are_sent_and_moto_dropping_them_is_reported(self):
        template = self.canary_api_template()
        api = self.API_CANARY
        self.write("app/template.yaml", template.format(preference="", extra=api))
        with FaultProxy(self.url) as proxy:
            self.deploy(url=proxy.url)
            self.write("app/template.yaml", template.replace("Path: /hello", "Path: /hello2").format(
                preference="", extra=api))
            proxy.clear()
            second = self.deploy(url=proxy.url)
            deployments = [r for r in proxy.records if r["method"] == "POST" and r["path"].endswith("/deployments")]
            self.assertEqual(len(deployments), 1)
            body = json.loads(deployments[0]["body"])
            self.assertEqual(body["stageName"], "Prod")
            self.assertEqual(body["canarySettings"], {"percentTraffic": 25, "stageVariableOverrides": {"flavour": "canary"}})
        self.assertIn("the backend dropped the stage canary (canarySettings)", second.stderr)
        rest = self.aws("apigateway", "get-rest-apis")["items"][0]
        stage = self.aws("apigateway", "get-stage", "--rest-api-id", rest["id"], "--stage-name", "Prod")
        self.assertEqual(stage["variables"], {"flavour": "stable", "lambdaAlias": "live"})
        # moto dropped the canary, so the new deployment serves the whole stage at once.
        self.assertEqual(stage["deploymentId"], json.loads(deployments[0]["response"])["id"])

    def test_rest_stage_canary_is_promoted_when_the_shift_ends_and_removed_on_rollback(self):
        # moto drops stage canaries; the proxy plays API Gateway's part (aws_proxy.py).
        template = self.canary_api_template()
        api = self.API_CANARY + HOOK

        def write(path, version, **kw):
            self.write("app/template.yaml", template.replace("Path: /hello", f"Path: {path}").format(
                preference=preference("Canary10Percent5Minutes", **kw), extra=api))
            self.write("app/hello/app.py", f'def handler(event, context):\n    return {{"body": "{version}"}}\n')

        def patches(proxy):
            return [json.loads(r["body"])["patchOperations"] for r in proxy.records
                    if r["method"] == "PATCH" and r["path"].endswith("/stages/Prod")]

        write("/hello", "v1", hook=True)
        with FaultProxy(self.url) as proxy:
            proxy.emulate_stage_canaries()
            via_proxy = boto("apigateway", proxy.url)
            self.deploy(url=proxy.url)
            rest = self.aws("apigateway", "get-rest-apis")["items"][0]["id"]
            first = via_proxy.get_stage(restApiId=rest, stageName="Prod")
            self.assertNotIn("canarySettings", first)

            # Routes and code change: during the function's canary, the stage's canary serves the
            # new deployment to 25% of requests; the stage itself still serves the old one.
            write("/hello2", "v2", hook=True)
            proxy.clear()
            proc = self.start_deploy("--step-interval", "3s", url=proxy.url)
            self.wait_for_alias(lambda a: a.get("RoutingConfig", {}).get("AdditionalVersionWeights") == {"2": 0.1})
            during = via_proxy.get_stage(restApiId=rest, stageName="Prod")
            out, err = proc.communicate(timeout=120)
            self.assertEqual(proc.returncode, 0, err)
            created = [json.loads(r["response"])["id"] for r in proxy.records
                       if r["method"] == "POST" and r["path"].endswith("/deployments")]
            self.assertEqual(len(created), 1)
            self.assertEqual(during["deploymentId"], first["deploymentId"])
            self.assertEqual(during["canarySettings"], {"deploymentId": created[0], "percentTraffic": 25,
                                                        "stageVariableOverrides": {"flavour": "canary"}})
            self.assertNotIn("the backend dropped the stage canary", err)
            # Promoted when the shift ended: the stage serves the canary's deployment with the
            # template's variables (the overrides were for canary requests); the canary is gone.
            self.assertIn(f"canary deployment {created[0]} promoted", err)
            self.assertEqual(patches(proxy)[-1], [
                {"op": "replace", "path": "/deploymentId", "value": created[0]},
                {"op": "remove", "path": "/canarySettings"}])
            after = via_proxy.get_stage(restApiId=rest, stageName="Prod")
            self.assertNotIn("canarySettings", after)
            self.assertEqual(after["deploymentId"], created[0])
            self.assertEqual(after["variables"], {"flavour": "stable", "lambdaAlias": "live"})
            self.assertEqual(self.alias()["FunctionVersion"], "2")
            self.assertEqual(self.deploy_json(url=proxy.url)["status"], "no-change")

            # A failing PreTraffic hook rolls back: the function stays on version 2 and the new
            # stage canary is removed; the stage still serves the promoted deployment.
            write("/hello3", "v3", hook=True)
            self.moto.queue_invoke_results(json.dumps({"status": "Failed"}))
            proxy.clear()
            failed = self.deploy("--step-interval", "200ms", code=1, url=proxy.url)
            self.assertIn("PreTraffic hook shop-PreHook:live reported status Failed", failed.stderr)
            self.assertEqual(patches(proxy)[-1], [{"op": "remove", "path": "/canarySettings"}])
            rolled = via_proxy.get_stage(restApiId=rest, stageName="Prod")
            self.assertNotIn("canarySettings", rolled)
            self.assertEqual(rolled["deploymentId"], created[0])
            self.assertEqual(self.alias()["FunctionVersion"], "2")


if __name__ == "__main__":
    harness.main()
