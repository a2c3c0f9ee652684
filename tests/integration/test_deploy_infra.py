"""wisp deploy of an app with infrastructure, against moto_server's CloudFormation: the
template's other resources and SAM's expansions as one stack deployed through change sets,
references both ways, triggers on the stage alias, checked resource by resource with the aws
CLI; redeployed with no change (no mutating call, recorded by the proxy), with a code change
(no CloudFormation update), with an infrastructure change (one change set); deleted (the stack
after the functions, retained resources listed). Also the bad input the infrastructure adds:
a stack made by someone else, a failing change set, an interrupted deploy, another stage."""

import ast
import hashlib
import json
import os
import re
import signal
import subprocess
import time
import unittest
import urllib.parse

import harness
from aws_proxy import FaultProxy
from harness import Moto, WispTestCase, wisp

STACK = "shop"

PROOF = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: The shape of the common real apps.
Parameters:
  Retention:
    Type: Number
    Default: 3
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
    Timeout: 10
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      AutoPublishAlias: live
      Environment:
        Variables:
          TABLE: !Ref Orders
          SESSIONS: !Ref Sessions
          QUEUE_URL: !Ref Jobs
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref Orders
        - Statement:
            - Effect: Allow
              Action: sqs:SendMessage
              Resource: !GetAtt Jobs.Arn
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
            BatchSize: 5
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
        Placed:
          Type: EventBridgeRule
          Properties:
            # !Ref ShopBus is the usual form; moto's CloudFormation fails on it (it passes the
            # bus object as its name: docs/deploy.md), and Name is the same value.
            EventBusName: !GetAtt ShopBus.Name
            Pattern:
              source: [shop.orders]
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: {visibility}
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt JobsDLQ.Arn
        maxReceiveCount: !Ref Retention
  JobsDLQ:
    Type: AWS::SQS::Queue
  Orders:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      AttributeDefinitions: [{{AttributeName: id, AttributeType: S}}]
      KeySchema: [{{AttributeName: id, KeyType: HASH}}]
      BillingMode: PAY_PER_REQUEST
  Sessions:
    Type: AWS::Serverless::SimpleTable
  Uploads:
    Type: AWS::S3::Bucket
  ShopBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: shop-bus
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Work
        States:
          Work:
            Type: Task
            Resource: arn:aws:states:::lambda:invoke
            Parameters:
              FunctionName: ${{WorkerArn}}
            End: true
      DefinitionSubstitutions:
        WorkerArn: !GetAtt Worker.Arn
      Policies:
        - LambdaInvokePolicy:
            FunctionName: !Ref Worker
  ShopApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Auth:
        DefaultAuthorizer: TokenAuth
        Authorizers:
          TokenAuth:
            FunctionArn: !GetAtt Gatekeeper.Arn
            Identity:
              Header: X-Token
              ReauthorizeEvery: 60
      DefinitionBody:
        openapi: '3.0.1'
        info: {{title: shop, version: '1.0'}}
        paths:
          /orders:
            post:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{Worker.Arn}}/invocations
  Gatekeeper:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      AutoPublishAlias: live
Outputs:
  JobsUrl:
    Value: !Ref Jobs
"""

MUTATING_CFN = {"CreateChangeSet", "ExecuteChangeSet", "DeleteChangeSet", "CreateStack", "UpdateStack",
                "DeleteStack", "ContinueUpdateRollback", "CancelUpdateStack"}


def form(record):
    if record["method"] != "POST" or not record["body"]:
        return {}
    try:
        return dict(urllib.parse.parse_qsl(record["body"].decode()))
    except UnicodeDecodeError:
        return {}


def cloudformation_actions(proxy):
    return [form(r).get("Action") for r in proxy.records
            if "cloudformation" in r["headers"].get("authorization", "")]


class MotoForInfra(Moto):
    """moto with AWS-managed IAM policies. Its Lambda stays the default one: with
    {"lambda": {"use_docker": false}} the Lambda API answers from another backend than the one
    its CloudFormation creates permissions and event source mappings in."""

    def __enter__(self):
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        try:
            return super().__enter__()
        finally:
            os.environ.pop("MOTO_IAM_LOAD_MANAGED_POLICIES", None)


class InfraTestCase(WispTestCase):
    moto = None

    @classmethod
    def setUpClass(cls):
        harness.require_peer("aws", "the AWS CLI verifies what wisp deployed")
        cls.moto = MotoForInfra().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)

    def setUp(self):
        super().setUp()
        self.moto.reset()
        self.url = self.moto.url
        self.app = self.path("app")
        self.write_app()

    def write_app(self, visibility=30, version="v1", template=PROOF):
        self.write("app/template.yaml", template.format(visibility=visibility))
        self.write("app/worker/app.py", f'def handler(event, context):\n    return "{version}"\n')

    def deploy(self, *args, code=0, url=None, timeout=180):
        proc = wisp("deploy", "--endpoint-url", url or self.url, "--stack-name", STACK, "--resolve-s3", *args,
                    cwd=self.app, timeout=timeout)
        self.assertWisp(proc, code)
        return proc

    def deploy_json(self, *args, **kw):
        return json.loads(self.deploy("--output", "json", *args, **kw).stdout)

    def aws(self, *args, check=True):
        proc = subprocess.run(["aws", "--endpoint-url", self.url, "--output", "json", *args], capture_output=True,
                              text=True, timeout=60, env=harness.env())
        if proc.returncode != 0:
            if check:
                raise AssertionError(f"aws {' '.join(args)}: {proc.stderr}")
            return None
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def stack_resources(self):
        listed = self.aws("cloudformation", "list-stack-resources", "--stack-name", STACK)
        return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed["StackResourceSummaries"]
                if r["LogicalResourceId"]}


class ProofApp(InfraTestCase):
    def test_deploy_check_redeploy_change_and_delete(self):
        first = self.deploy()
        self.assertRegex(first.stdout, r"\+ stack +shop +\d+ resources")
        self.assertIn("Deployed in", first.stdout)
        self.assertNotIn("is not deployed by wisp", first.stderr)

        # Two change sets on a first deploy: the stack without what needs the new function
        # (created), then with its event source mapping and permissions (updated).
        self.assertRegex(first.stderr, r"stack shop: \+ WorkerQueue \(AWS::Lambda::EventSourceMapping\)")
        stack = self.aws("cloudformation", "describe-stacks", "--stack-name", STACK)["Stacks"][0]
        self.assertEqual(stack["StackStatus"], "UPDATE_COMPLETE")
        self.assertIn({"Key": "wisp:stack", "Value": STACK}, stack["Tags"])
        physical = self.stack_resources()
        alias_arn = "arn:aws:lambda:us-east-1:123456789012:function:shop-Worker:live"

        # The queue and its dead-letter queue.
        jobs_url = physical["Jobs"]
        attributes = self.aws("sqs", "get-queue-attributes", "--queue-url", jobs_url, "--attribute-names",
                              "All")["Attributes"]
        self.assertEqual(attributes["VisibilityTimeout"], "30")
        dlq_arn = self.aws("sqs", "get-queue-attributes", "--queue-url", physical["JobsDLQ"], "--attribute-names",
                           "QueueArn")["Attributes"]["QueueArn"]
        self.assertEqual(json.loads(attributes["RedrivePolicy"]),
                         {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
        jobs_arn = attributes["QueueArn"]

        # The SQS trigger: an event source mapping on the stage alias.
        # (moto reports the ARN of the version the alias serves where Lambda reports the alias's.)
        mappings = self.aws("lambda", "list-event-source-mappings")
        mapping = [m for m in mappings["EventSourceMappings"] if m["EventSourceArn"] == jobs_arn]
        self.assertEqual(len(mapping), 1, mappings)
        self.assertIn(mapping[0]["FunctionArn"], (alias_arn, alias_arn.replace(":live", ":1")))
        self.assertEqual(mapping[0]["BatchSize"], 5)
        self.assertEqual(self.aws("cloudformation", "get-template", "--stack-name", STACK)["TemplateBody"]
                         ["Resources"]["WorkerQueue"]["Properties"]["FunctionName"], {"Ref": "WispWorkerAlias"})

        # The table through !Ref (environment) and DynamoDBCrudPolicy (the role), with real names.
        orders = physical["Orders"]
        self.assertEqual(self.aws("dynamodb", "describe-table", "--table-name", orders)["Table"]["TableStatus"],
                         "ACTIVE")
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Worker:live")
        self.assertEqual(config["Environment"]["Variables"],
                         {"TABLE": orders, "SESSIONS": physical["Sessions"], "QUEUE_URL": jobs_url})
        crud = self.aws("iam", "get-role-policy", "--role-name", "shop-Worker-role", "--policy-name",
                        "WorkerRolePolicy0")["PolicyDocument"]
        self.assertEqual(crud["Statement"][0]["Resource"],
                         [f"arn:aws:dynamodb:us-east-1:123456789012:table/{orders}",
                          f"arn:aws:dynamodb:us-east-1:123456789012:table/{orders}/index/*"])
        send = self.aws("iam", "get-role-policy", "--role-name", "shop-Worker-role", "--policy-name",
                        "WorkerRolePolicy1")["PolicyDocument"]
        self.assertEqual(send["Statement"][0]["Resource"], jobs_arn)
        managed = self.aws("iam", "list-attached-role-policies", "--role-name", "shop-Worker-role")
        self.assertIn("arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
                      [p["PolicyArn"] for p in managed["AttachedPolicies"]])

        # The SimpleTable.
        sessions = self.aws("dynamodb", "describe-table", "--table-name", physical["Sessions"])["Table"]
        self.assertEqual(sessions["KeySchema"], [{"AttributeName": "id", "KeyType": "HASH"}])

        # The S3 trigger: the permission on the alias (moto's CloudFormation keeps the bucket's
        # NotificationConfiguration to itself: the template wisp deployed carries it).
        policy = json.loads(self.aws("lambda", "get-policy", "--function-name", "shop-Worker", "--qualifier",
                                     "live")["Policy"])
        principals = sorted(s["Principal"]["Service"] for s in policy["Statement"])
        self.assertEqual(principals, ["apigateway.amazonaws.com", "events.amazonaws.com", "events.amazonaws.com",
                                      "s3.amazonaws.com"])
        deployed = self.aws("cloudformation", "get-template", "--stack-name", STACK)["TemplateBody"]
        self.assertEqual(deployed["Resources"]["Uploads"]["Properties"]["NotificationConfiguration"],
                         {"LambdaConfigurations": [{"Event": "s3:ObjectCreated:*",
                                                    "Function": {"Ref": "WispWorkerAlias"}}]})
        self.assertEqual(deployed["Resources"]["Uploads"]["DependsOn"], ["WorkerUploadPermission"])
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
        self.assertEqual(parameters["WispWorkerAlias"], alias_arn)

        # The schedule, and the rule on the custom bus, both targeting the alias.
        tick = self.aws("events", "describe-rule", "--name", physical["WorkerTick"])
        self.assertEqual(tick["ScheduleExpression"], "rate(5 minutes)")
        targets = self.aws("events", "list-targets-by-rule", "--rule", physical["WorkerTick"])["Targets"]
        self.assertEqual([t["Arn"] for t in targets], [alias_arn])
        rules = self.aws("events", "list-rules", "--event-bus-name", "shop-bus")["Rules"]
        self.assertEqual(len(rules), 1)
        self.assertEqual(json.loads(rules[0]["EventPattern"]), {"source": ["shop.orders"]})
        targets = self.aws("events", "list-targets-by-rule", "--rule", rules[0]["Name"], "--event-bus-name",
                           "shop-bus")["Targets"]
        self.assertEqual([t["Arn"] for t in targets], [alias_arn])

        # The state machine calling the function, with the role SAM gives it.
        machine = self.aws("stepfunctions", "describe-state-machine", "--state-machine-arn", physical["Flow"])
        self.assertTrue(machine["roleArn"].endswith(physical["FlowRole"]))
        self.assertEqual(deployed["Resources"]["Flow"]["Properties"]["DefinitionSubstitutions"],
                         {"WorkerArn": {"Ref": "WispWorkerAlias"}})
        invoke = self.aws("iam", "get-role-policy", "--role-name", physical["FlowRole"], "--policy-name",
                          "FlowRolePolicy0")["PolicyDocument"]
        if isinstance(invoke, str):  # moto keeps a policy its CloudFormation made as Python's repr
            invoke = ast.literal_eval(invoke)
        self.assertEqual(invoke["Statement"][0]["Resource"],
                         "arn:aws:lambda:us-east-1:123456789012:function:shop-Worker*")

        # The API from its OpenAPI body, behind the Lambda authorizer.
        apis = {a["name"]: a["id"] for a in self.aws("apigateway", "get-rest-apis")["items"]}
        api_id = apis["shop-ShopApi"]
        authorizers = self.aws("apigateway", "get-authorizers", "--rest-api-id", api_id)["items"]
        self.assertEqual([(a["name"], a["type"], a["identitySource"], a["authorizerResultTtlInSeconds"])
                          for a in authorizers], [("TokenAuth", "TOKEN", "method.request.header.X-Token", 60)])
        self.assertTrue(authorizers[0]["authorizerUri"].endswith(
            ":function:shop-Gatekeeper:${stageVariables.lambdaAlias}/invocations"), authorizers[0])
        resources = self.aws("apigateway", "get-resources", "--rest-api-id", api_id, "--embed", "methods")["items"]
        post = [r for r in resources if r["path"] == "/orders"][0]["resourceMethods"]["POST"]
        self.assertEqual((post["authorizationType"], post["authorizerId"]), ("CUSTOM", authorizers[0]["id"]))
        self.assertTrue(post["methodIntegration"]["uri"].endswith(
            ":function:shop-Worker:${stageVariables.lambdaAlias}/invocations"))
        gate = json.loads(self.aws("lambda", "get-policy", "--function-name", "shop-Gatekeeper", "--qualifier",
                                   "live")["Policy"])
        self.assertEqual([(s["Principal"]["Service"], s["Condition"]["ArnLike"]["AWS:SourceArn"])
                          for s in gate["Statement"]],
                         [("apigateway.amazonaws.com", f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*")])
        self.assertIn(f"Endpoint ShopApi (REST API, stage prod): https://{api_id}.execute-api", first.stdout)

        # No change: no mutating call at all (CloudFormation included), seen by the proxy.
        with FaultProxy(self.url) as proxy:
            again = self.deploy_json(url=proxy.url)
            self.assertEqual(again["status"], "no-change")
            self.assertEqual(again["mutating_calls"], 0)
            actions = cloudformation_actions(proxy)
            self.assertTrue(actions, "the stack was read")
            self.assertFalse(MUTATING_CFN & set(actions), actions)
            self.assertEqual([r for r in proxy.records if r["method"] not in ("GET", "HEAD") and
                              form(r).get("Action") not in (None, "DescribeStacks", "GetTemplate",
                                                            "ListStackResources", "GetCallerIdentity")], [])

        # A code change: the function changes, the stack does not.
        self.write_app(version="v2")
        with FaultProxy(self.url) as proxy:
            code = self.deploy_json(url=proxy.url)
            self.assertEqual(code["status"], "deployed")
            self.assertEqual(code["versions"]["Worker"], "2")
            self.assertFalse(MUTATING_CFN & set(cloudformation_actions(proxy)))
        self.assertEqual(self.aws("lambda", "get-alias", "--function-name", "shop-Worker", "--name",
                                  "live")["FunctionVersion"], "2")

        # An infrastructure change: one change set, executed; the function is not republished.
        self.write_app(visibility=60, version="v2")
        with FaultProxy(self.url) as proxy:
            infra = self.deploy("--output", "json", url=proxy.url)
            result = json.loads(infra.stdout)
            self.assertEqual(result["status"], "deployed")
            actions = cloudformation_actions(proxy)
            self.assertEqual(actions.count("CreateChangeSet"), 1, actions)
            self.assertEqual(actions.count("ExecuteChangeSet"), 1, actions)
            self.assertEqual(result["versions"]["Worker"], "2")
        self.assertEqual(self.aws("sqs", "get-queue-attributes", "--queue-url", jobs_url, "--attribute-names",
                                  "VisibilityTimeout")["Attributes"]["VisibilityTimeout"], "60")
        self.assertEqual(self.deploy_json()["status"], "no-change")

        # Delete: the functions, then the stack; the retained table stays and is listed.
        gone = wisp("delete", "--endpoint-url", self.url, "--stack-name", STACK, "--no-prompts", "--output", "json",
                    cwd=self.app)
        self.assertWisp(gone, 0)
        deleted = json.loads(gone.stdout)
        self.assertIn(f"stack {STACK}", deleted["deleted"])
        self.assertLess(deleted["deleted"].index("function shop-Worker"), deleted["deleted"].index(f"stack {STACK}"))
        self.assertEqual(deleted["retained"], [f"Orders (AWS::DynamoDB::Table) {orders}"])
        self.assertIsNone(self.aws("cloudformation", "describe-stacks", "--stack-name", STACK, check=False))
        self.assertEqual(self.aws("dynamodb", "describe-table", "--table-name", orders)["Table"]["TableName"], orders)
        self.assertNotIn(physical["Sessions"], self.aws("dynamodb", "list-tables")["TableNames"])
        self.assertEqual(self.aws("lambda", "list-functions")["Functions"], [])


SMALL = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      AutoPublishAlias: live
      Environment:
        Variables:
          QUEUE: !Ref Jobs
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: {visibility}
{extra}"""


class BadInput(InfraTestCase):
    def write_small(self, visibility=30, version="v1", extra=""):
        self.write("app/template.yaml", SMALL.format(visibility=visibility, extra=extra))
        self.write("app/worker/app.py", f'def handler(event, context):\n    return "{version}"\n')

    def setUp(self):
        super().setUp()
        self.write_small()

    def alias_version(self):
        return self.aws("lambda", "get-alias", "--function-name", "shop-Worker", "--name", "live")["FunctionVersion"]

    def test_a_stack_someone_else_made_is_not_taken_over(self):
        self.aws("cloudformation", "create-stack", "--stack-name", STACK, "--template-body",
                 json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
        proc = self.deploy(code=1)
        self.assertIn("a CloudFormation stack named shop exists and was not made by wisp deploy", proc.stderr)
        self.assertEqual(self.aws("lambda", "list-functions")["Functions"], [])

    def test_a_failing_change_set_leaves_the_alias_on_the_old_version(self):
        self.deploy()
        self.assertEqual(self.alias_version(), "1")
        # New code and a resource moto's CloudFormation fails on (it answers HTTP 500).
        self.write_small(version="v2", extra="""\
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: failing-bus
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern: {source: [x]}
""")
        proc = self.deploy(code=1)
        self.assertIn("stack shop: ExecuteChangeSet failed", proc.stderr)
        # Nothing of wisp's side moved: the code change waits for its infrastructure.
        self.assertEqual(self.alias_version(), "1")
        versions = self.aws("lambda", "list-versions-by-function", "--function-name", "shop-Worker")["Versions"]
        self.assertEqual([v["Version"] for v in versions], ["$LATEST", "1"])

    def test_update_rollback_failed_is_continued_then_the_deploy_goes_on(self):
        self.deploy()
        self.write_small(visibility=45)
        with FaultProxy(self.url) as proxy:
            proxy.emulate_stack_states(STACK, ["UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS",
                                               "UPDATE_ROLLBACK_COMPLETE"])
            proc = self.deploy(url=proxy.url)
            self.assertEqual(proxy.stack_calls, ["ContinueUpdateRollback"])
        self.assertIn("stack shop is UPDATE_ROLLBACK_FAILED", proc.stderr)
        self.assertIn("continuing its rollback", proc.stderr)
        queue = self.stack_resources()["Jobs"]
        self.assertEqual(self.aws("sqs", "get-queue-attributes", "--queue-url", queue, "--attribute-names",
                                  "VisibilityTimeout")["Attributes"]["VisibilityTimeout"], "45")

    def test_a_rollback_that_fails_again_names_the_resource_and_the_reason(self):
        self.deploy()
        self.write_small(visibility=45, version="v2")
        with FaultProxy(self.url) as proxy:
            proxy.emulate_stack_states(
                STACK, ["UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED"],
                failure=("Jobs", "AWS::SQS::Queue", "UPDATE_FAILED", "Queue is being deleted elsewhere"))
            proc = self.deploy(url=proxy.url, code=1)
        self.assertRegex(proc.stderr, r"stack shop could not be rolled back \(UPDATE_ROLLBACK_FAILED\): "
                                      r"template\.yaml:\d+:\d+: Jobs \(AWS::SQS::Queue\): Queue is being "
                                      r"deleted elsewhere")
        self.assertEqual(self.alias_version(), "1")

    def test_ctrl_c_mid_change_set_then_the_next_deploy_finishes(self):
        self.deploy()
        self.write_small(visibility=50, version="v2")
        with FaultProxy(self.url) as proxy:
            # The execution takes a while (as on AWS); Ctrl-C arrives meanwhile.
            proxy.random_faults(1.0, faults=["slow:3"], match=lambda r: b"Action=ExecuteChangeSet" in r["body"])
            proc = subprocess.Popen([harness.WISP, "deploy", "--endpoint-url", proxy.url, "--stack-name", STACK,
                                     "--resolve-s3"], cwd=self.app, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env=harness.env(), start_new_session=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(
                    b"Action=ExecuteChangeSet" in r["body"] for r in list(proxy.records)):
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGINT)
            out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("interrupted", err)
        self.assertEqual(self.alias_version(), "1")
        # The stack is left in a state the next deploy goes on from.
        again = self.deploy_json()
        self.assertEqual(again["status"], "deployed")
        self.assertEqual(self.alias_version(), "2")
        self.assertEqual(self.deploy_json()["status"], "no-change")

    def test_kill_mid_change_set_then_the_next_deploy_finishes(self):
        self.deploy()
        self.write_small(visibility=55, version="v2")
        with FaultProxy(self.url) as proxy:
            proxy.random_faults(1.0, faults=["slow:2"], match=lambda r: b"Action=ExecuteChangeSet" in r["body"])
            proc = subprocess.Popen([harness.WISP, "deploy", "--endpoint-url", proxy.url, "--stack-name", STACK,
                                     "--resolve-s3"], cwd=self.app, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env=harness.env(), start_new_session=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(
                    b"Action=ExecuteChangeSet" in r["body"] for r in list(proxy.records)):
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=60)
            time.sleep(2.5)  # the change set the proxy still holds reaches moto
        self.assertEqual(self.alias_version(), "1")
        # The dead deploy's lock is fresh for two minutes: --break-lock takes it over.
        refused = self.deploy(code=1)
        self.assertIn("is locked by", refused.stderr)
        again = self.deploy_json("--break-lock")
        self.assertEqual(again["status"], "deployed")
        self.assertEqual(self.alias_version(), "2")

    def test_another_stage_of_an_app_with_triggers_is_refused(self):
        self.deploy()
        proc = wisp("deploy", "--endpoint-url", self.url, "--stack-name", STACK, "--resolve-s3", "--stage", "dev",
                    cwd=self.app)
        self.assertWisp(proc, 1, stderr_has="the infrastructure stack shop serves stage live")
        self.assertEqual(self.aws("lambda", "list-aliases", "--function-name", "shop-Worker")["Aliases"][0]["Name"],
                         "live")

    def test_dry_run_prints_the_change_sets_changes_and_changes_nothing(self):
        self.deploy()
        self.write_small(visibility=40, extra="""\
  Extra:
    Type: AWS::SQS::Queue
""")
        dry = self.deploy("--dry-run")
        self.assertRegex(dry.stdout, r"~ stack +shop +\d+ resources; template or parameters changed")
        self.assertRegex(dry.stdout, r"\+ resource +Extra +AWS::SQS::Queue")
        self.assertIn("Dry run: nothing was changed.", dry.stdout)
        self.assertNotIn("Extra", self.stack_resources())
        summaries = self.aws("cloudformation", "list-change-sets", "--stack-name", STACK)["Summaries"]
        self.assertEqual([s for s in summaries if s["ExecutionStatus"] == "AVAILABLE"], [])


LAYERED = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: shared/
      CompatibleRuntimes: [python3.12]
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      AutoPublishAlias: live
      Layers: [!Ref Shared]
"""


class Layers(InfraTestCase):
    def test_a_layer_of_the_template_is_published_once_per_content(self):
        self.write("app/template.yaml", LAYERED)
        self.write("app/shared/python/shared.py", "VALUE = 1\n")
        first = self.deploy()
        self.assertRegex(first.stdout, r"\+ layer +Shared +new version")
        versions = self.aws("lambda", "list-layer-versions", "--layer-name", "Shared")["LayerVersions"]
        self.assertEqual(len(versions), 1)
        self.assertRegex(versions[0]["Description"], r"^wisp [0-9a-f]{64}$")
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Worker:live")
        self.assertEqual([layer["Arn"] for layer in config["Layers"]], [versions[0]["LayerVersionArn"]])
        # Unchanged content: found, not published again, nothing mutated.
        again = self.deploy_json()
        self.assertEqual(again["status"], "no-change")
        self.assertEqual(again["mutating_calls"], 0)
        # New content: a new version, and the function moves to it.
        self.write("app/shared/python/shared.py", "VALUE = 2\n")
        changed = self.deploy_json()
        self.assertEqual(changed["status"], "deployed")
        versions = self.aws("lambda", "list-layer-versions", "--layer-name", "Shared")["LayerVersions"]
        self.assertEqual(len(versions), 2)
        newest = max(versions, key=lambda v: v["Version"])
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Worker:live")
        self.assertEqual([layer["Arn"] for layer in config["Layers"]], [newest["LayerVersionArn"]])
        gone = wisp("delete", "--endpoint-url", self.url, "--stack-name", STACK, "--no-prompts", cwd=self.app)
        self.assertWisp(gone, 0)
        self.assertEqual(self.aws("lambda", "list-layer-versions", "--layer-name", "Shared")["LayerVersions"],
                         [])


SETTINGS = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      AutoPublishAlias: live
      DeadLetterQueue:
        Type: SQS
        TargetArn: !GetAtt Dead.Arn
      VpcConfig:
        SecurityGroupIds: [!GetAtt Guard.GroupId]
        SubnetIds: [!Ref Private]
  Dead:
    Type: AWS::SQS::Queue
  Network:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
  Private:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Network
      CidrBlock: 10.0.1.0/24
  Guard:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: the function's
      VpcId: !Ref Network
"""


class FunctionSettings(InfraTestCase):
    def test_dead_letter_queue_and_vpc_name_the_stacks_resources(self):
        self.write("app/template.yaml", SETTINGS)
        with FaultProxy(self.url) as proxy:
            self.deploy(url=proxy.url)
            created = [json.loads(r["body"]) for r in proxy.records
                       if r["method"] == "POST" and r["path"].endswith("/functions")]
        physical = self.stack_resources()
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Worker:live")
        dead_arn = self.aws("sqs", "get-queue-attributes", "--queue-url", physical["Dead"], "--attribute-names",
                            "QueueArn")["Attributes"]["QueueArn"]
        # moto keeps no DeadLetterConfig: what wisp sent is checked through the proxy.
        self.assertEqual([c["DeadLetterConfig"] for c in created], [{"TargetArn": dead_arn}])
        self.assertEqual(config["VpcConfig"]["SubnetIds"], [physical["Private"]])
        self.assertEqual(config["VpcConfig"]["SecurityGroupIds"], [physical["Guard"]])
        # The role SAM gives such a function: VPC access, and sending to the dead-letter queue.
        managed = [p["PolicyArn"] for p in self.aws("iam", "list-attached-role-policies", "--role-name",
                                                    "shop-Worker-role")["AttachedPolicies"]]
        self.assertIn("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole", managed)
        dlq = self.aws("iam", "get-role-policy", "--role-name", "shop-Worker-role", "--policy-name",
                       "DeadLetterQueuePolicy")["PolicyDocument"]
        self.assertEqual(dlq["Statement"], [{"Action": "sqs:SendMessage", "Resource": dead_arn, "Effect": "Allow"}])
        self.assertEqual(self.deploy_json()["status"], "no-change")


SHARED_ROLE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  WorkerRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {{Service: lambda.amazonaws.com}}
            Action: sts:AssumeRole
      ManagedPolicyArns: [{managed}]
  WorkerRoleDefaultPolicy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: WorkerRoleDefaultPolicy
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: sqs:SendMessage
            Resource: !GetAtt Jobs.Arn
      Roles: [!Ref WorkerRole]
  Jobs:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    DependsOn: WorkerRoleDefaultPolicy
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      AutoPublishAlias: live
      Role: !GetAtt WorkerRole.Arn
"""


class SharedRole(InfraTestCase):
    """The shape CDK-made templates have: a role of the template (wisp's) and a policy of the
    stack attached to it."""

    def test_a_policy_of_the_stack_on_a_role_wisp_makes_waits_for_it_and_stays(self):
        basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        self.write("app/template.yaml", SHARED_ROLE.format(managed=basic))
        self.deploy()
        document = self.aws("iam", "get-role-policy", "--role-name", "shop-WorkerRole", "--policy-name",
                            "WorkerRoleDefaultPolicy")["PolicyDocument"]
        self.assertEqual(document["Statement"][0]["Action"], "sqs:SendMessage")
        # The role changes (wisp updates it): the stack's policy stays.
        xray = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
        self.write("app/template.yaml", SHARED_ROLE.format(managed=f"{basic}, {xray}"))
        self.assertEqual(self.deploy_json()["status"], "deployed")
        managed = [p["PolicyArn"] for p in self.aws("iam", "list-attached-role-policies", "--role-name",
                                                    "shop-WorkerRole")["AttachedPolicies"]]
        self.assertEqual(sorted(managed), sorted([basic, xray]))
        self.assertIsNotNone(self.aws("iam", "get-role-policy", "--role-name", "shop-WorkerRole", "--policy-name",
                                      "WorkerRoleDefaultPolicy", check=False))


API_KEYS = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
    CodeUri: worker/
    AutoPublishAlias: live
Resources:
  Keyed:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      ApiKeySourceType: {source}
      Auth:
        ApiKeyRequired: true
        UsagePlan:
          CreateUsagePlan: PER_API
          Description: per api
          Quota: {{Limit: {limit}, Period: MONTH}}
          Throttle: {{BurstLimit: 100, RateLimit: 50}}
  Partner:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Auth:
        UsagePlan:
          CreateUsagePlan: {partner}
  Open:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Auth:
        UsagePlan:
          CreateUsagePlan: SHARED
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Guarded:
          Type: Api
          Properties: {{RestApiId: !Ref Keyed, Path: /guarded, Method: get}}
        Free:
          Type: Api
          Properties: {{RestApiId: !Ref Keyed, Path: /free, Method: get, Auth: {{ApiKeyRequired: false}}}}
        PartnerOnly:
          Type: Api
          Properties: {{RestApiId: !Ref Partner, Path: /p, Method: post, Auth: {{ApiKeyRequired: true}}}}
        Anyone:
          Type: Api
          Properties: {{RestApiId: !Ref Open, Path: /o, Method: get}}
"""


class ApiKeysAndUsagePlans(InfraTestCase):
    def rest_api(self, name):
        return next(a for a in self.aws("apigateway", "get-rest-apis")["items"] if a["name"] == name)

    def method(self, api_id, path, verb):
        resources = self.aws("apigateway", "get-resources", "--rest-api-id", api_id)["items"]
        resource = next(r for r in resources if r["path"] == path)
        return self.aws("apigateway", "get-method", "--rest-api-id", api_id, "--resource-id", resource["id"],
                        "--http-method", verb)

    def plans(self):
        return {p["name"]: p for p in self.aws("apigateway", "get-usage-plans")["items"]}

    def test_api_keys_usage_plans_per_api_and_shared_then_changed_then_deleted(self):
        self.write("app/template.yaml", API_KEYS.format(source="AUTHORIZER", limit=500, partner="SHARED"))
        self.deploy()
        keyed, partner, open_ = (self.rest_api(f"shop-{n}") for n in ("Keyed", "Partner", "Open"))
        self.assertEqual(keyed["apiKeySource"], "AUTHORIZER")
        # API-wide ApiKeyRequired, a route's false overriding it, a route's own true.
        self.assertTrue(self.method(keyed["id"], "/guarded", "GET")["apiKeyRequired"])
        self.assertFalse(self.method(keyed["id"], "/free", "GET")["apiKeyRequired"])
        self.assertTrue(self.method(partner["id"], "/p", "POST")["apiKeyRequired"])
        self.assertFalse(self.method(open_["id"], "/o", "GET")["apiKeyRequired"])
        plans = self.plans()
        # PER_API: the API's own plan with its quota and throttle; SHARED: one plan for both.
        self.assertEqual(sorted(plans), ["shop-KeyedUsagePlan-prod", "shop-ServerlessUsagePlan-prod"])
        per_api = plans["shop-KeyedUsagePlan-prod"]
        self.assertEqual(per_api["apiStages"], [{"apiId": keyed["id"], "stage": "prod"}])
        self.assertEqual(per_api["description"], "per api")
        self.assertEqual(per_api["quota"]["limit"], 500)
        self.assertEqual(per_api["quota"]["period"], "MONTH")
        self.assertEqual(per_api["throttle"]["burstLimit"], 100)
        shared = plans["shop-ServerlessUsagePlan-prod"]
        self.assertEqual(sorted(s["apiId"] for s in shared["apiStages"]), sorted([partner["id"], open_["id"]]))
        keys = {k["name"]: k for k in self.aws("apigateway", "get-api-keys")["items"]}
        self.assertEqual(sorted(keys), ["shop-KeyedApiKey-prod", "shop-ServerlessApiKey-prod"])
        self.assertTrue(all(k["enabled"] for k in keys.values()))
        for plan, key in (("shop-KeyedUsagePlan-prod", "shop-KeyedApiKey-prod"),
                          ("shop-ServerlessUsagePlan-prod", "shop-ServerlessApiKey-prod")):
            linked = self.aws("apigateway", "get-usage-plan-keys", "--usage-plan-id", plans[plan]["id"])["items"]
            self.assertEqual([k["id"] for k in linked], [keys[key]["id"]])
        # Nothing changed: nothing mutated.
        again = self.deploy_json()
        self.assertEqual(again["status"], "no-change")
        self.assertEqual(again["mutating_calls"], 0)
        # The quota and the key source change; Partner leaves the shared plan (NONE).
        self.write("app/template.yaml", API_KEYS.format(source="HEADER", limit=900, partner="NONE"))
        self.assertEqual(self.deploy_json()["status"], "deployed")
        self.assertEqual(self.rest_api("shop-Keyed")["apiKeySource"], "HEADER")
        plans = self.plans()
        self.assertEqual(plans["shop-KeyedUsagePlan-prod"]["quota"]["limit"], 900)
        self.assertEqual(plans["shop-ServerlessUsagePlan-prod"]["apiStages"], [{"apiId": open_["id"], "stage": "prod"}])
        self.assertEqual(self.deploy_json()["status"], "no-change")
        gone = wisp("delete", "--endpoint-url", self.url, "--stack-name", STACK, "--no-prompts", cwd=self.app)
        self.assertWisp(gone, 0)
        self.assertEqual(self.aws("apigateway", "get-usage-plans")["items"], [])
        self.assertEqual(self.aws("apigateway", "get-api-keys")["items"], [])

    def test_resource_policy_is_samtranslators_and_is_updated_in_place(self):
        account = self.aws("sts", "get-caller-identity")["Account"]
        values = {"Vpc": "vpc-0a1b2c", "AWS::AccountId": account}
        template = self.write("app/template.yaml",
                              RESOURCE_POLICY.format(auth=POLICY_AUTH.format(blocked="192.0.2.0/24")))
        proc = self.deploy()
        self.assertNotIn("Cors", proc.stderr)
        api = self.rest_api("shop-Guarded")
        # Every statement SAM makes: per path (parameters as *, ANY as *, CORS's OPTIONS),
        # accounts, IP ranges, VPCs and endpoints, the custom statement with its Ref resolved.
        wanted = samtranslator_policy(template, "Guarded", values)
        self.assertEqual(policy_statements(json.loads(api["policy"])), policy_statements(wanted))
        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))
        # A changed policy is set on the same API; removed, it goes.
        template = self.write("app/template.yaml", RESOURCE_POLICY.format(
            auth=POLICY_AUTH.format(blocked="[198.51.100.0/24, 203.0.113.7/32]")))
        self.assertEqual(self.deploy_json()["status"], "deployed")
        changed = self.rest_api("shop-Guarded")
        self.assertEqual(changed["id"], api["id"])
        self.assertEqual(policy_statements(json.loads(changed["policy"])),
                         policy_statements(samtranslator_policy(template, "Guarded", values)))
        self.assertIn("198.51.100.0/24", changed["policy"])
        self.assertEqual(self.deploy_json()["status"], "no-change")
        self.write("app/template.yaml", RESOURCE_POLICY.format(auth=""))
        self.assertEqual(self.deploy_json()["status"], "deployed")
        self.assertFalse(self.rest_api("shop-Guarded").get("policy"))


RESOURCE_POLICY = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Vpc:
    Type: String
    Default: vpc-0a1b2c
Resources:
  Guarded:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Cors: "'*'"
{auth}  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: worker/
      AutoPublishAlias: live
      Events:
        Item: {{Type: Api, Properties: {{RestApiId: !Ref Guarded, Path: '/items/{{id}}', Method: get}}}}
        Drop: {{Type: Api, Properties: {{RestApiId: !Ref Guarded, Path: '/items/{{id}}', Method: delete}}}}
        Items: {{Type: Api, Properties: {{RestApiId: !Ref Guarded, Path: /items/, Method: ANY}}}}
        Rest: {{Type: Api, Properties: {{RestApiId: !Ref Guarded, Path: '/{{proxy+}}', Method: post}}}}
        Root: {{Type: Api, Properties: {{RestApiId: !Ref Guarded, Path: /, Method: get}}}}
"""


POLICY_AUTH = """\
      Auth:
        ResourcePolicy:
          AwsAccountWhitelist: ['111122223333']
          AwsAccountBlacklist: ['444455556666']
          IpRangeWhitelist: [10.0.0.0/8]
          IpRangeBlacklist: {blocked}
          SourceVpcWhitelist: [vpc-1234, vpce-5678]
          SourceVpcBlacklist: [vpc-9999]
          IntrinsicVpcWhitelist: [!Ref Vpc]
          CustomStatements:
            - Effect: Allow
              Principal: '*'
              Action: execute-api:Invoke
              Resource: execute-api:/*
              Condition:
                StringEquals:
                  aws:PrincipalAccount: !Ref AWS::AccountId
"""


def samtranslator_policy(template_path, api, values):
    """The x-amazon-apigateway-policy aws-sam-translator writes for the API (run in its own
    process, the peer it is; local CodeUris read as S3 ones), with Fn::Sub and Ref written in
    from `values`."""
    code = ("import json, sys\n"
            "from samtranslator.translator.transform import transform\n"
            "from samtranslator.yaml_helper import yaml_parse\n"
            "class Loader:\n"
            "    def load(self): return {}\n"
            "out = transform(yaml_parse(sys.stdin.read()), {}, Loader())\n"
            "print(json.dumps(out['Resources'][sys.argv[1]]['Properties']['Body']"
            ".get('x-amazon-apigateway-policy')))\n")
    with open(template_path) as f:
        template = re.sub(r"CodeUri: (\S+)/", r"CodeUri: s3://code/\1.zip", f.read())
    proc = subprocess.run(["python3", "-c", code, api], input=template, capture_output=True, text=True,
                          timeout=120, env=harness.env(AWS_DEFAULT_REGION="us-east-1"))
    if proc.returncode != 0:
        raise AssertionError(f"samtranslator failed: {proc.stderr[-2000:]}")

    def resolve(v):
        if isinstance(v, list):
            return [resolve(x) for x in v]
        if isinstance(v, dict):
            if list(v) == ["Ref"]:
                return values[v["Ref"]]
            if list(v) == ["Fn::Sub"]:
                text, variables = v["Fn::Sub"]
                return re.sub(r"\$\{([^}]+)\}", lambda m: variables.get(m.group(1), values.get(m.group(1))), text)
            return {k: resolve(x) for k, x in v.items()}
        return v
    return resolve(json.loads(proc.stdout))


def policy_statements(policy):
    """A policy's statements, order aside (IAM evaluates them as a set): each Resource list
    sorted, the statements sorted."""
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    out = []
    for s in statements:
        s = dict(s)
        if isinstance(s.get("Resource"), list):
            s["Resource"] = sorted(s["Resource"])
        out.append(json.dumps(s, sort_keys=True))
    return policy["Version"], sorted(out)


SERVICE_INTEGRATIONS = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  ApiRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {{Service: apigateway.amazonaws.com}}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: send
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: sqs:SendMessage
                Resource: !GetAtt Jobs.Arn
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      AutoPublishAlias: live
  Gateway:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      DefinitionBody:
        openapi: '3.0.1'
        info: {{title: gateway, version: '1.0'}}
        paths:
          /health:
            get:
              responses:
                '200':
                  description: ok
                  headers:
                    X-Health: {{schema: {{type: string}}}}
              x-amazon-apigateway-integration:
                type: mock
                requestTemplates:
                  application/json: '{{"statusCode": 200}}'
                responses:
                  default:
                    statusCode: '200'
                    responseParameters:
                      method.response.header.X-Health: "'{health}'"
                    responseTemplates:
                      application/json: '{{"status": "{health}"}}'
          /jobs:
            post:
              responses:
                '200': {{description: queued}}
              x-amazon-apigateway-integration:
                type: aws
                httpMethod: POST
                credentials: !GetAtt ApiRole.Arn
                uri: !Sub arn:aws:apigateway:${{AWS::Region}}:sqs:path/${{AWS::AccountId}}/${{Jobs.QueueName}}
                passthroughBehavior: never
                requestParameters:
                  integration.request.header.Content-Type: "'application/x-www-form-urlencoded'"
                requestTemplates:
                  application/json: Action=SendMessage&MessageBody=$input.body
                responses:
                  default: {{statusCode: '200'}}
                  '4\\d{{2}}': {{statusCode: '400'}}
          /items/{{id}}:
            get:
              parameters:
                - {{name: id, in: path, required: true, schema: {{type: string}}}}
              x-amazon-apigateway-integration:
                type: http_proxy
                httpMethod: GET
                uri: https://example.com/items/{{id}}
                requestParameters:
                  integration.request.path.id: method.request.path.id
          /work:
            post:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{Worker.Arn}}/invocations
"""


class ServiceIntegrations(InfraTestCase):
    def integration(self, api_id, resources, path, verb):
        return self.aws("apigateway", "get-integration", "--rest-api-id", api_id, "--resource-id", resources[path],
                        "--http-method", verb)

    def test_mock_http_and_aws_service_integrations_of_an_openapi_body(self):
        self.write("app/template.yaml", SERVICE_INTEGRATIONS.format(health="fine"))
        self.deploy()
        api = next(a for a in self.aws("apigateway", "get-rest-apis")["items"] if a["name"] == "shop-Gateway")
        resources = {r["path"]: r["id"] for r in self.aws("apigateway", "get-resources", "--rest-api-id",
                                                          api["id"])["items"]}
        physical = self.stack_resources()
        role = self.aws("iam", "get-role", "--role-name", physical["ApiRole"])["Role"]["Arn"]
        account = self.aws("sts", "get-caller-identity")["Account"]
        queue_name = physical["Jobs"].rsplit("/", 1)[1]
        # mock: its request template, its response (status, header, template) and the method's.
        mock = self.integration(api["id"], resources, "/health", "GET")
        self.assertEqual(mock["type"], "MOCK")
        self.assertEqual(mock["requestTemplates"], {"application/json": '{"statusCode": 200}'})
        response = self.aws("apigateway", "get-integration-response", "--rest-api-id", api["id"], "--resource-id",
                            resources["/health"], "--http-method", "GET", "--status-code", "200")
        self.assertEqual(response["responseParameters"], {"method.response.header.X-Health": "'fine'"})
        self.assertEqual(response["responseTemplates"], {"application/json": '{"status": "fine"}'})
        method_response = self.aws("apigateway", "get-method-response", "--rest-api-id", api["id"], "--resource-id",
                                   resources["/health"], "--http-method", "GET", "--status-code", "200")
        self.assertEqual(method_response["responseParameters"], {"method.response.header.X-Health": False})
        # aws: SQS SendMessage with the stack's role and queue, templates and selection patterns.
        sqs = self.integration(api["id"], resources, "/jobs", "POST")
        self.assertEqual(sqs["type"], "AWS")
        self.assertEqual(sqs["httpMethod"], "POST")
        self.assertEqual(sqs["credentials"], role)
        self.assertEqual(sqs["uri"], f"arn:aws:apigateway:us-east-1:sqs:path/{account}/{queue_name}")
        self.assertEqual(sqs["passthroughBehavior"], "NEVER")
        self.assertEqual(sqs["requestTemplates"],
                         {"application/json": "Action=SendMessage&MessageBody=$input.body"})
        self.assertEqual(sqs["requestParameters"],
                         {"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"})
        rejected = self.aws("apigateway", "get-integration-response", "--rest-api-id", api["id"], "--resource-id",
                            resources["/jobs"], "--http-method", "POST", "--status-code", "400")
        self.assertEqual(rejected["selectionPattern"], "4\\d{2}")
        # http_proxy: the path parameter declared on the method and mapped.
        proxy = self.integration(api["id"], resources, "/items/{id}", "GET")
        self.assertEqual((proxy["type"], proxy["uri"]), ("HTTP_PROXY", "https://example.com/items/{id}"))
        method = self.aws("apigateway", "get-method", "--rest-api-id", api["id"], "--resource-id",
                          resources["/items/{id}"], "--http-method", "GET")
        self.assertEqual(method["requestParameters"], {"method.request.path.id": True})
        # The Lambda proxy operation still calls the stage alias.
        work = self.integration(api["id"], resources, "/work", "POST")
        self.assertEqual(work["type"], "AWS_PROXY")
        self.assertIn(":function:shop-Worker:${stageVariables.lambdaAlias}/", work["uri"])
        self.assertEqual(self.deploy_json()["status"], "no-change")
        # A response template changes: the operation is made again, and deployed.
        self.write("app/template.yaml", SERVICE_INTEGRATIONS.format(health="great"))
        self.assertEqual(self.deploy_json()["status"], "deployed")
        response = self.aws("apigateway", "get-integration-response", "--rest-api-id", api["id"], "--resource-id",
                            resources["/health"], "--http-method", "GET", "--status-code", "200")
        self.assertEqual(response["responseTemplates"], {"application/json": '{"status": "great"}'})
        self.assertEqual(self.deploy_json()["status"], "no-change")


CODE_IN_S3 = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
    AutoPublishAlias: live
Resources:
  Prebuilt:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://team-code/prebuilt.zip
  Pinned:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri:
        Bucket: team-versions
        Key: pinned.zip
        Version: {version}
"""


def zipped(text):
    import base64
    import hashlib
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", f"def handler(event, context):\n    return {text!r}\n")
    data = buffer.getvalue()
    return data, base64.b64encode(hashlib.sha256(data).digest()).decode()


class CodeInS3(InfraTestCase):
    def put(self, bucket, key, data):
        path = self.path(f"{bucket}-{key}")
        with open(path, "wb") as f:
            f.write(data)
        return self.aws("s3api", "put-object", "--bucket", bucket, "--key", key, "--body", path)

    def test_code_already_in_s3_is_used_where_it_is_and_changes_by_its_etag(self):
        self.aws("s3api", "create-bucket", "--bucket", "team-code")
        self.aws("s3api", "create-bucket", "--bucket", "team-versions")
        self.aws("s3api", "put-bucket-versioning", "--bucket", "team-versions", "--versioning-configuration",
                 "Status=Enabled")
        first, first_sha = zipped("v1")
        pinned, pinned_sha = zipped("pinned")
        self.put("team-code", "prebuilt.zip", first)
        version = self.put("team-versions", "pinned.zip", pinned)["VersionId"]
        self.write("app/template.yaml", CODE_IN_S3.format(version=version))
        with FaultProxy(self.url) as proxy:
            self.deploy(url=proxy.url)
            created = {json.loads(r["body"])["FunctionName"]: json.loads(r["body"])["Code"] for r in proxy.records
                       if r["method"] == "POST" and r["path"].endswith("/functions")}
        # Lambda is pointed at the objects themselves (the version when one is named) ...
        self.assertEqual(created["shop-Prebuilt"], {"S3Bucket": "team-code", "S3Key": "prebuilt.zip"})
        self.assertEqual(created["shop-Pinned"],
                         {"S3Bucket": "team-versions", "S3Key": "pinned.zip", "S3ObjectVersion": version})
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Prebuilt:live")
        self.assertEqual(config["CodeSha256"], first_sha)
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Pinned:live")
        self.assertEqual(config["CodeSha256"], pinned_sha)
        # ... and nothing is uploaded for them.
        managed = [b["Name"] for b in self.aws("s3api", "list-buckets")["Buckets"] if b["Name"].startswith("wisp-")]
        for bucket in managed:
            listed = self.aws("s3api", "list-objects-v2", "--bucket", bucket) or {}
            self.assertFalse([o["Key"] for o in listed.get("Contents", []) if o["Key"].endswith(".zip")])
        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))
        # New content at the key: a new ETag, a new version of the function.
        second, second_sha = zipped("v2")
        self.put("team-code", "prebuilt.zip", second)
        self.assertEqual(self.deploy_json()["status"], "deployed")
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Prebuilt:live")
        self.assertEqual(config["CodeSha256"], second_sha)
        self.assertEqual(self.deploy_json()["status"], "no-change")
        # A key that is not there is named.
        self.write("app/template.yaml", CODE_IN_S3.format(version=version).replace("prebuilt.zip", "gone.zip"))
        failed = self.deploy(code=1)
        self.assertIn("s3://team-code/gone.zip", failed.stderr)
        # The user's objects are theirs: wisp delete leaves them.
        self.write("app/template.yaml", CODE_IN_S3.format(version=version))
        gone = wisp("delete", "--endpoint-url", self.url, "--stack-name", STACK, "--no-prompts", cwd=self.app)
        self.assertWisp(gone, 0)
        self.assertIsNotNone(self.aws("s3api", "head-object", "--bucket", "team-code", "--key", "prebuilt.zip"))


IMAGE_FUNCTION = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Boxed:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: {uri}
      AutoPublishAlias: live
      MemorySize: 256
"""


class ImageFunctions(InfraTestCase):
    """PackageType Image from an image already in the registry (moto's ECR, which its Lambda
    reads the image's digest from when MOTO_LAMBDA_STUB_ECR is false)."""

    @classmethod
    def setUpClass(cls):
        harness.require_peer("aws", "the AWS CLI verifies what wisp deployed")
        os.environ["MOTO_LAMBDA_STUB_ECR"] = "false"
        try:
            cls.moto = MotoForInfra().__enter__()
        finally:
            os.environ.pop("MOTO_LAMBDA_STUB_ECR", None)

    def push(self, repository, tag, layer):
        """Puts an image manifest; moto's digest of it is made from its layers' digests."""
        digest = "sha256:" + hashlib.sha256(layer.encode()).hexdigest()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1000,
                       "digest": digest},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                        "digest": digest}]})
        image = self.aws("ecr", "put-image", "--repository-name", repository, "--image-tag", tag,
                         "--image-manifest", manifest)["image"]
        return image["imageId"]["imageDigest"]

    def test_an_image_pinned_by_digest_is_deployed_and_changes_by_its_digest(self):
        uri = self.aws("ecr", "create-repository", "--repository-name", "boxed")["repository"]["repositoryUri"]
        first = self.push("boxed", "v1", "one")
        self.write("app/template.yaml", IMAGE_FUNCTION.format(uri=f"{uri}@{first}"))
        self.deploy()
        function = self.aws("lambda", "get-function", "--function-name", "shop-Boxed", "--qualifier", "live")
        self.assertEqual(function["Configuration"]["PackageType"], "Image")
        self.assertEqual(function["Code"]["ImageUri"], f"{uri}@{first}")
        self.assertEqual(function["Configuration"]["CodeSha256"], first.removeprefix("sha256:"))
        self.assertEqual(function["Configuration"]["MemorySize"], 256)
        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))
        # Another image: a new version behind the alias.
        second = self.push("boxed", "v2", "two")
        self.write("app/template.yaml", IMAGE_FUNCTION.format(uri=f"{uri}@{second}"))
        self.assertEqual(self.deploy_json()["status"], "deployed")
        live = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Boxed", "--qualifier",
                        "live")
        self.assertEqual(live["CodeSha256"], second.removeprefix("sha256:"))
        self.assertEqual(live["Version"], "2")
        # (Tags, ImageConfig and images built from the template: test_deploy_images.py.)
        gone = wisp("delete", "--endpoint-url", self.url, "--stack-name", STACK, "--no-prompts", cwd=self.app)
        self.assertWisp(gone, 0)
        self.assertIsNone(self.aws("lambda", "get-function", "--function-name", "shop-Boxed", check=False))


def samtranslator_body(template_path, api, values):
    """The OpenAPI body aws-sam-translator makes for the API (its Cors, its events, its
    DefinitionBody), with Ref and Fn::Sub written in from `values` (see samtranslator_policy)."""
    code = ("import json, sys\n"
            "from samtranslator.translator.transform import transform\n"
            "from samtranslator.yaml_helper import yaml_parse\n"
            "class Loader:\n"
            "    def load(self): return {}\n"
            "out = transform(yaml_parse(sys.stdin.read()), {}, Loader())\n"
            "print(json.dumps(out['Resources'][sys.argv[1]]['Properties']['Body']))\n")
    with open(template_path) as f:
        template = re.sub(r"CodeUri: (\S+)/", r"CodeUri: s3://code/\1.zip", f.read())
    proc = subprocess.run(["python3", "-c", code, api], input=template, capture_output=True, text=True,
                          timeout=120, env=harness.env(AWS_DEFAULT_REGION="us-east-1"))
    if proc.returncode != 0:
        raise AssertionError(f"samtranslator failed: {proc.stderr[-2000:]}")

    def resolve(v):
        if isinstance(v, list):
            return [resolve(x) for x in v]
        if isinstance(v, dict):
            if list(v) == ["Ref"] and v["Ref"] in values:
                return values[v["Ref"]]
            return {k: resolve(x) for k, x in v.items()}
        return v
    return resolve(json.loads(proc.stdout))


REST_CORS = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Origin:
    Type: String
    Default: "'https://shop.example'"
Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
    CodeUri: worker/
    AutoPublishAlias: live
Resources:
  Shop:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
{cors}      Auth:
        DefaultAuthorizer: TokenAuth
        AddDefaultAuthorizerToCorsPreflight: false
        Authorizers:
          TokenAuth:
            FunctionArn: !GetAtt Worker.Arn
  Open:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Cors: "'*'"
      DefinitionBody:
        swagger: '2.0'
        info: {{title: open, version: '1'}}
        paths:
          /health:
            get:
              responses:
                '200': {{description: ok}}
              x-amazon-apigateway-integration:
                type: mock
                requestTemplates: {{application/json: '{{"statusCode": 200}}'}}
                responses: {{default: {{statusCode: '200'}}}}
          /work:
            post:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{Worker.Arn}}/invocations
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        List: {{Type: Api, Properties: {{RestApiId: !Ref Shop, Path: /items, Method: get}}}}
        Add: {{Type: Api, Properties: {{RestApiId: !Ref Shop, Path: /items, Method: post}}}}
        One: {{Type: Api, Properties: {{RestApiId: !Ref Shop, Path: '/items/{{id}}', Method: any}}}}
"""

SHOP_CORS = """\
      Cors:
        AllowOrigin: !Ref Origin
        AllowHeaders: "'Content-Type,X-Token'"
        MaxAge: "'600'"
        AllowCredentials: true
"""

SHOP_CORS_CHANGED = """\
      Cors:
        AllowOrigin: "'https://other.example'"
        AllowMethods: "'GET,POST'"
"""


HTTP_CORS = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  ApiRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {{Service: [apigateway.amazonaws.com, states.amazonaws.com]}}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: calls
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: [sqs:SendMessage, events:PutEvents, states:StartExecution]
                Resource: '*'
  Flow:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt ApiRole.Arn
      DefinitionString: '{{"StartAt": "Done", "States": {{"Done": {{"Type": "Pass", "End": true}}}}}}'
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      AutoPublishAlias: live
  Web:
    Type: AWS::Serverless::HttpApi
    Properties:
{cors}      DefinitionBody:
        openapi: '3.0.1'
        info: {{title: web, version: '1.0'}}
{extension}        paths:
          /jobs:
            post:
              x-amazon-apigateway-integration:
                type: aws_proxy
                integrationSubtype: SQS-SendMessage
                credentials: !GetAtt ApiRole.Arn
                connectionType: INTERNET
                payloadFormatVersion: '1.0'
                requestParameters:
                  QueueUrl: !Ref Jobs
                  MessageBody: $request.body.{field}
          /events:
            post:
              x-amazon-apigateway-integration:
                type: aws_proxy
                integrationSubtype: EventBridge-PutEvents
                credentials: !GetAtt ApiRole.Arn
                payloadFormatVersion: '1.0'
                requestParameters:
                  Detail: $request.body.Detail
                  DetailType: Placed
                  Source: shop
          /flows:
            post:
              x-amazon-apigateway-integration:
                type: aws_proxy
                integrationSubtype: StepFunctions-StartExecution
                credentials: !GetAtt ApiRole.Arn
                payloadFormatVersion: '1.0'
                requestParameters:
                  StateMachineArn: !Ref Flow
                  Input: $request.body
          /site/{{proxy+}}:
            get:
              x-amazon-apigateway-integration:
                type: http_proxy
                httpMethod: GET
                uri: https://example.com/{{proxy}}
                payloadFormatVersion: '1.0'
                timeoutInMillis: 5000
          /work:
            post:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                payloadFormatVersion: '2.0'
                uri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{Worker.Arn}}/invocations
"""

WEB_CORS = """\
      CorsConfiguration:
        AllowOrigins: [https://shop.example]
        AllowCredentials: true
        ExposeHeaders: [X-Request-Id]
"""

WEB_EXTENSION = """\
        x-amazon-apigateway-cors:
          allowMethods: [GET, POST]
          maxAge: 300
"""


def pascal(configuration):
    """x-amazon-apigateway-cors (camelCase) as the AWS CLI reports a CorsConfiguration."""
    return {k[0].upper() + k[1:]: v for k, v in configuration.items()}


class ApiCors(InfraTestCase):
    def rest_api(self, name):
        return next(a for a in self.aws("apigateway", "get-rest-apis")["items"] if a["name"] == name)

    def resources(self, api_id):
        return {r["path"]: r for r in self.aws("apigateway", "get-resources", "--rest-api-id", api_id)["items"]}

    def assert_preflights(self, template, api, api_id, values):
        """Every OPTIONS samtranslator puts in the API's body is deployed as its import makes
        it: a MOCK integration with its request template, its 200 response with the
        Access-Control-* headers, and the method response declaring them."""
        body = samtranslator_body(template, api, values)
        resources = self.resources(api_id)
        preflights = {path: item["options"] for path, item in body["paths"].items() if "options" in item}
        self.assertTrue(preflights)
        for path, options in preflights.items():
            resource = resources[path.rstrip("/") or "/"]
            self.assertIn("OPTIONS", resource["resourceMethods"], path)
            args = ("--rest-api-id", api_id, "--resource-id", resource["id"], "--http-method", "OPTIONS")
            extension = options["x-amazon-apigateway-integration"]
            integration = self.aws("apigateway", "get-integration", *args)
            self.assertEqual(integration["type"], "MOCK")
            self.assertEqual(integration["requestTemplates"], extension["requestTemplates"])
            response = self.aws("apigateway", "get-integration-response", *args, "--status-code", "200")
            self.assertEqual(response["responseParameters"], extension["responses"]["default"]["responseParameters"],
                             path)
            self.assertEqual(response["responseTemplates"], extension["responses"]["default"]["responseTemplates"])
            method_response = self.aws("apigateway", "get-method-response", *args, "--status-code", "200")
            self.assertEqual(method_response["responseParameters"],
                             {f"method.response.header.{h}": False for h in options["responses"]["200"]["headers"]})
        return preflights

    def test_rest_cors_is_samtranslators_options_methods_updated_and_removed(self):
        template = self.write("app/template.yaml", REST_CORS.format(cors=SHOP_CORS))
        self.deploy()
        shop, open_ = self.rest_api("shop-Shop"), self.rest_api("shop-Open")
        values = {"Origin": "'https://shop.example'"}
        preflights = self.assert_preflights(template, "Shop", shop["id"], values)
        self.assertEqual(sorted(preflights), ["/items", "/items/{id}"])
        # AllowMethods made from the path's methods (ANY: all of them), the rest as given.
        response = preflights["/items"]["x-amazon-apigateway-integration"]["responses"]["default"]
        self.assertEqual(response["responseParameters"]["method.response.header.Access-Control-Allow-Methods"],
                         "'GET,OPTIONS,POST'")
        # AddDefaultAuthorizerToCorsPreflight: false leaves the preflight open; GET keeps it.
        items = self.resources(shop["id"])["/items"]["id"]
        preflight = self.aws("apigateway", "get-method", "--rest-api-id", shop["id"], "--resource-id", items,
                             "--http-method", "OPTIONS")
        self.assertEqual(preflight["authorizationType"], "NONE")
        get = self.aws("apigateway", "get-method", "--rest-api-id", shop["id"], "--resource-id", items,
                       "--http-method", "GET")
        self.assertEqual(get["authorizationType"], "CUSTOM")
        # A DefinitionBody API: an OPTIONS on each of its paths.
        self.assertEqual(sorted(self.assert_preflights(template, "Open", open_["id"], values)), ["/health", "/work"])

        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))

        # Changed: the same API, its preflights made again with the new headers.
        template = self.write("app/template.yaml", REST_CORS.format(cors=SHOP_CORS_CHANGED))
        self.assertEqual(self.deploy_json()["status"], "deployed")
        self.assertEqual(self.rest_api("shop-Shop")["id"], shop["id"])
        preflights = self.assert_preflights(template, "Shop", shop["id"], values)
        response = preflights["/items/{id}"]["x-amazon-apigateway-integration"]["responses"]["default"]
        self.assertEqual(response["responseParameters"],
                         {"method.response.header.Access-Control-Allow-Origin": "'https://other.example'",
                          "method.response.header.Access-Control-Allow-Methods": "'GET,POST'"})
        self.assertEqual(self.deploy_json()["status"], "no-change")

        # Removed: the preflights go, the routes stay.
        self.write("app/template.yaml", REST_CORS.format(cors=""))
        self.assertEqual(self.deploy_json()["status"], "deployed")
        for path, resource in self.resources(shop["id"]).items():
            self.assertNotIn("OPTIONS", resource.get("resourceMethods", {}), path)
        self.assertIn("GET", self.resources(shop["id"])["/items"]["resourceMethods"])
        self.assertEqual(self.deploy_json()["status"], "no-change")

    def test_bad_cors_is_samtranslators_error(self):
        self.write("app/template.yaml", REST_CORS.format(cors="      Cors:\n        AllowOrigin: \"'*'\"\n"
                                                              "        AllowCredentials: true\n"))
        proc = self.deploy(code=1)
        self.assertIn("Shop: Unable to add Cors configuration because 'AllowCredentials' can not be true when "
                      "'AllowOrigin' is \"'*'\" or not set", proc.stderr)
        self.write("app/template.yaml", REST_CORS.format(cors="      Cors:\n        AllowOrigins: \"'*'\"\n"))
        proc = self.deploy(code=1)
        # The template's own check says it first, with the line.
        self.assertIn("template.yaml:19:9: error: unknown property 'AllowOrigins' in Cors", proc.stderr)

    def test_cors_without_allow_origin_allows_every_origin_as_samtranslator_does(self):
        # Real apps write Cors with AllowMethods and AllowHeaders only: SAM's CorsProperties
        # default AllowOrigin to "'*'" (the template loader refused this before).
        template = self.write("app/template.yaml", REST_CORS.format(
            cors="      Cors:\n        AllowMethods: \"'GET,POST,OPTIONS'\"\n"
                 "        AllowHeaders: \"'Content-Type,X-Token'\"\n"))
        self.deploy()
        shop = self.rest_api("shop-Shop")
        preflights = self.assert_preflights(template, "Shop", shop["id"], {"Origin": "'https://shop.example'"})
        self.assertEqual(sorted(preflights), ["/items", "/items/{id}"])
        for path, options in preflights.items():
            parameters = options["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"]
            self.assertEqual(parameters["method.response.header.Access-Control-Allow-Origin"], "'*'", path)
            self.assertEqual(parameters["method.response.header.Access-Control-Allow-Methods"], "'GET,POST,OPTIONS'")

    def http_api(self):
        return next(a for a in self.aws("apigatewayv2", "get-apis")["Items"] if a["Name"] == "shop-Web")

    def test_a_timeout_that_is_not_a_number_is_an_error_naming_the_operation(self):
        self.write("app/template.yaml", HTTP_CORS.format(cors="", extension="", field="job")
                   .replace("timeoutInMillis: 5000", "timeoutInMillis: soon"))
        proc = self.deploy(code=1)
        self.assertIn("Web GET /site/{proxy+}: x-amazon-apigateway-integration timeoutInMillis soon is not a whole "
                      "number", proc.stderr)
        self.assertEqual(self.aws("apigatewayv2", "get-apis")["Items"], [])

    def test_http_cors_configuration_and_service_integrations(self):
        template = self.write("app/template.yaml", HTTP_CORS.format(cors=WEB_CORS, extension=WEB_EXTENSION,
                                                                    field="order"))
        self.deploy()
        api = self.http_api()
        # The body's x-amazon-apigateway-cors with CorsConfiguration written over it, as
        # samtranslator merges them.
        body = samtranslator_body(template, "Web", {})
        self.assertEqual(api["CorsConfiguration"], pascal(body["x-amazon-apigateway-cors"]))
        self.assertEqual(api["CorsConfiguration"]["AllowOrigins"], ["https://shop.example"])
        self.assertEqual(api["CorsConfiguration"]["MaxAge"], 300)

        physical = self.stack_resources()
        role = self.aws("iam", "get-role", "--role-name", physical["ApiRole"])["Role"]["Arn"]
        integrations = {i["IntegrationId"]: i for i in
                        self.aws("apigatewayv2", "get-integrations", "--api-id", api["ApiId"])["Items"]}
        routes = {r["RouteKey"]: integrations[r["Target"].split("/", 1)[1]] for r in
                  self.aws("apigatewayv2", "get-routes", "--api-id", api["ApiId"])["Items"]}
        self.assertEqual(sorted(routes), ["GET /site/{proxy+}", "POST /events", "POST /flows", "POST /jobs",
                                          "POST /work"])
        sqs = routes["POST /jobs"]
        self.assertEqual((sqs["IntegrationType"], sqs["IntegrationSubtype"], sqs["CredentialsArn"]),
                         ("AWS_PROXY", "SQS-SendMessage", role))
        self.assertEqual(sqs["RequestParameters"], {"QueueUrl": physical["Jobs"], "MessageBody": "$request.body.order"})
        self.assertEqual((sqs["PayloadFormatVersion"], sqs["ConnectionType"]), ("1.0", "INTERNET"))
        events = routes["POST /events"]
        self.assertEqual(events["IntegrationSubtype"], "EventBridge-PutEvents")
        self.assertEqual(events["RequestParameters"],
                         {"Detail": "$request.body.Detail", "DetailType": "Placed", "Source": "shop"})
        flows = routes["POST /flows"]
        self.assertEqual(flows["IntegrationSubtype"], "StepFunctions-StartExecution")
        machines = self.aws("stepfunctions", "list-state-machines")["stateMachines"]
        self.assertEqual(flows["RequestParameters"],
                         {"StateMachineArn": machines[0]["stateMachineArn"], "Input": "$request.body"})
        site = routes["GET /site/{proxy+}"]
        self.assertEqual((site["IntegrationType"], site["IntegrationUri"], site["IntegrationMethod"],
                          site["TimeoutInMillis"]), ("HTTP_PROXY", "https://example.com/{proxy}", "GET", 5000))
        self.assertIn(":function:shop-Worker:", routes["POST /work"]["IntegrationUri"])

        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))

        # A request parameter and the CORS origins change: the integration is replaced, the
        # configuration updated in place, nothing else touched.
        self.write("app/template.yaml", HTTP_CORS.format(cors=WEB_CORS.replace("shop.example", "other.example"),
                                                         extension=WEB_EXTENSION, field="job"))
        self.assertEqual(self.deploy_json()["status"], "deployed")
        changed = self.http_api()
        self.assertEqual(changed["ApiId"], api["ApiId"])
        self.assertEqual(changed["CorsConfiguration"]["AllowOrigins"], ["https://other.example"])
        integrations = self.aws("apigatewayv2", "get-integrations", "--api-id", api["ApiId"])["Items"]
        self.assertEqual(len(integrations), 5)
        self.assertIn({"QueueUrl": physical["Jobs"], "MessageBody": "$request.body.job"},
                      [i.get("RequestParameters") for i in integrations])
        self.assertEqual(self.deploy_json()["status"], "no-change")

        # Removed (property and extension): the API has no CORS configuration.
        self.write("app/template.yaml", HTTP_CORS.format(cors="", extension="", field="job"))
        self.assertEqual(self.deploy_json()["status"], "deployed")
        self.assertNotIn("CorsConfiguration", self.http_api())
        self.assertEqual(self.deploy_json()["status"], "no-change")


REST_EXTRAS = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      AutoPublishAlias: live
  Orders:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      DefinitionBody:
        openapi: '3.0.1'
        info: {{title: orders, version: '1.0'}}
        x-amazon-apigateway-request-validators:
          all: {{validateRequestBody: {validate_body}, validateRequestParameters: true}}
          params-only: {{validateRequestBody: false, validateRequestParameters: true}}
        x-amazon-apigateway-request-validator: all
        x-amazon-apigateway-gateway-responses:
          DEFAULT_4XX:
            responseParameters:
              gatewayresponse.header.Access-Control-Allow-Origin: "'*'"
            responseTemplates:
              application/json: '{{"message": {message}}}'
{unauthorized}        components:
          schemas:
            Item:
              type: object
              required: [sku]
              properties:
                sku: {{type: string}}
{item_extra}            Order:
              type: object
              properties:
                items:
                  type: array
                  items: {{$ref: '#/components/schemas/Item'}}
        paths:
          /orders:
            post:
              requestBody:
                content:
                  application/json:
                    schema: {{$ref: '#/components/schemas/Order'}}
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{Worker.Arn}}/invocations
          /orders/{{id}}:
            get:
              x-amazon-apigateway-request-validator: params-only
              parameters:
                - {{name: id, in: path, required: true, schema: {{type: string}}}}
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{Worker.Arn}}/invocations
"""

UNAUTHORIZED = """\
          UNAUTHORIZED:
            statusCode: 401
            responseTemplates:
              application/json: '{"message": "who are you"}'
"""


class RestDefinitionExtras(InfraTestCase):
    def write_extras(self, validate_body="true", message="$context.error.messageString", unauthorized=UNAUTHORIZED,
                     item_extra=""):
        self.write("app/template.yaml", REST_EXTRAS.format(validate_body=validate_body, message=message,
                                                           unauthorized=unauthorized, item_extra=item_extra))

    def test_models_validators_and_gateway_responses_of_an_openapi_body(self):
        self.write_extras()
        self.deploy()
        api = next(a for a in self.aws("apigateway", "get-rest-apis")["items"] if a["name"] == "shop-Orders")
        api_id = api["id"]
        models = {m["name"]: m for m in self.aws("apigateway", "get-models", "--rest-api-id", api_id)["items"]}
        self.assertEqual(sorted(models), ["Item", "Order"])
        self.assertEqual(models["Order"]["contentType"], "application/json")
        # A reference to another model of the body becomes the API's model URL (as the import makes it).
        order = json.loads(models["Order"]["schema"])
        self.assertEqual(order["properties"]["items"]["items"]["$ref"],
                         f"https://apigateway.amazonaws.com/restapis/{api_id}/models/Item")
        self.assertEqual(json.loads(models["Item"]["schema"])["required"], ["sku"])
        validators = {v["name"]: v for v in
                      self.aws("apigateway", "get-request-validators", "--rest-api-id", api_id)["items"]}
        self.assertEqual((validators["all"]["validateRequestBody"], validators["all"]["validateRequestParameters"]),
                         (True, True))
        self.assertEqual(validators["params-only"]["validateRequestBody"], False)
        resources = {r["path"]: r["id"] for r in self.aws("apigateway", "get-resources", "--rest-api-id",
                                                          api_id)["items"]}

        def method(path, verb):
            return self.aws("apigateway", "get-method", "--rest-api-id", api_id, "--resource-id", resources[path],
                            "--http-method", verb)
        post = method("/orders", "POST")
        # The API's default validator, the request body's model.
        self.assertEqual(post["requestValidatorId"], validators["all"]["id"])
        self.assertEqual(post["requestModels"], {"application/json": "Order"})
        self.assertEqual(method("/orders/{id}", "GET")["requestValidatorId"], validators["params-only"]["id"])

        def gateway_response(kind):
            return self.aws("apigateway", "get-gateway-response", "--rest-api-id", api_id, "--response-type", kind,
                            check=False)
        four = gateway_response("DEFAULT_4XX")
        self.assertEqual(four["responseParameters"], {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"})
        self.assertEqual(four["responseTemplates"], {"application/json": '{"message": $context.error.messageString}'})
        self.assertEqual(str(gateway_response("UNAUTHORIZED")["statusCode"]), "401")

        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))

        # Changed: a model's schema, a validator's flag, a response's template; one response gone.
        self.write_extras(validate_body="false", message='"denied"', unauthorized="",
                          item_extra="                quantity: {type: integer}\n")
        self.assertEqual(self.deploy_json()["status"], "deployed")
        models = {m["name"]: m for m in self.aws("apigateway", "get-models", "--rest-api-id", api_id)["items"]}
        self.assertIn("quantity", json.loads(models["Item"]["schema"])["properties"])
        validators = {v["name"]: v for v in
                      self.aws("apigateway", "get-request-validators", "--rest-api-id", api_id)["items"]}
        self.assertFalse(validators["all"]["validateRequestBody"])
        self.assertEqual(gateway_response("DEFAULT_4XX")["responseTemplates"],
                         {"application/json": '{"message": "denied"}'})
        self.assertIsNone(gateway_response("UNAUTHORIZED"))
        self.assertEqual(self.deploy_json()["status"], "no-change")


INCLUDED_BODY_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  ApiRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: apigateway.amazonaws.com}
            Action: sts:AssumeRole
  Gateway:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      DefinitionBody:
        Fn::Transform:
          Name: AWS::Include
          Parameters:
            Location: ./api.yaml
"""

INCLUDED_BODY = """\
openapi: '3.0.1'
info: {title: gateway, version: '1.0'}
paths:
  /jobs:
    post:
      responses:
        '200': {description: queued}
      x-amazon-apigateway-integration:
        type: aws
        httpMethod: POST
        credentials:
          Fn::GetAtt: [ApiRole, Arn]
        uri:
          Fn::Sub: arn:aws:apigateway:${AWS::Region}:sqs:path/${AWS::AccountId}/${Jobs.QueueName}
        responses:
          default: {statusCode: '200'}
"""


class IncludedDefinition(InfraTestCase):
    def test_an_included_bodys_references_to_the_stack_are_its_real_names(self):
        # The body is in a file (AWS::Include): its role and queue are the stack's, not stand-ins.
        self.write("app/template.yaml", INCLUDED_BODY_TEMPLATE)
        self.write("app/api.yaml", INCLUDED_BODY)
        self.deploy()
        api = next(a for a in self.aws("apigateway", "get-rest-apis")["items"] if a["name"] == "shop-Gateway")
        resource = next(r for r in self.aws("apigateway", "get-resources", "--rest-api-id", api["id"])["items"]
                        if r["path"] == "/jobs")
        integration = self.aws("apigateway", "get-integration", "--rest-api-id", api["id"], "--resource-id",
                               resource["id"], "--http-method", "POST")
        physical = self.stack_resources()
        self.assertEqual(integration["credentials"],
                         self.aws("iam", "get-role", "--role-name", physical["ApiRole"])["Role"]["Arn"])
        self.assertTrue(integration["uri"].endswith("/" + physical["Jobs"].rsplit("/", 1)[1]))
        self.assertEqual(self.deploy_json()["status"], "no-change")


RAW_API = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  GatewayRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - {Effect: Allow, Principal: {Service: apigateway.amazonaws.com}, Action: sts:AssumeRole}
      Policies:
        - PolicyName: receive
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - {Effect: Allow, Action: sqs:ReceiveMessage, Resource: !GetAtt Jobs.Arn}
  Gateway:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: raw-gateway
  JobsPath:
    Type: AWS::ApiGateway::Resource
    Properties:
      RestApiId: !Ref Gateway
      ParentId: !GetAtt Gateway.RootResourceId
      PathPart: jobs
  ReceiveJobs:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Gateway
      ResourceId: !Ref JobsPath
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS
        IntegrationHttpMethod: POST
        Credentials: !GetAtt GatewayRole.Arn
        Uri: !Join ['', ['arn:aws:apigateway:', !Ref AWS::Region, ':sqs:path/', !Ref AWS::AccountId, '/', !GetAtt Jobs.QueueName]]
        RequestParameters:
          integration.request.header.Content-Type: "'application/x-www-form-urlencoded'"
          integration.request.querystring.Action: "'ReceiveMessage'"
        IntegrationResponses:
          - StatusCode: '200'
      MethodResponses:
        - StatusCode: '200'
{status}  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [{depends}]
    Properties:
      RestApiId: !Ref Gateway
  Stage:
    Type: AWS::ApiGateway::Stage
    Properties:
      StageName: prod
      RestApiId: !Ref Gateway
      DeploymentId: !Ref Deployment
"""

RAW_API_STATUS = """\
  Status:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      AutoPublishAlias: live
  GetStatus:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Gateway
      ResourceId: !GetAtt Gateway.RootResourceId
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Status.Arn}/invocations
  StatusPermission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !GetAtt Status.Arn
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Gateway}/*
"""


class RawApiGateway(InfraTestCase):
    """A REST API written without SAM (AWS::ApiGateway::RestApi, Resource, Method,
    Deployment, Stage) is the stack's, whole: wisp used to deploy it a second time itself
    from the loader's model, and that copy had no methods when none integrated a function
    (moto: "The REST API doesn't contain any methods")."""

    def apis(self):
        return self.aws("apigateway", "get-rest-apis")["items"]

    def methods(self, api_id):
        return {r["path"]: sorted(r.get("resourceMethods", {}))
                for r in self.aws("apigateway", "get-resources", "--rest-api-id", api_id)["items"]}

    def test_a_service_integration_only_api_is_the_stacks_and_deploys(self):
        self.write("app/template.yaml", RAW_API.replace("{status}", "").replace("{depends}", "ReceiveJobs"))
        self.deploy()
        physical = self.stack_resources()
        self.assertEqual([(a["id"], a["name"]) for a in self.apis()], [(physical["Gateway"], "raw-gateway")])
        self.assertEqual(self.methods(physical["Gateway"]), {"/": [], "/jobs": ["GET"]})
        # The template's one deployment (moto's CloudFormation reports no physical id for it and
        # does not create its AWS::ApiGateway::Stage, see docs/deploy.md "Against moto").
        deployments = self.aws("apigateway", "get-deployments", "--rest-api-id", physical["Gateway"])["items"]
        self.assertEqual(len(deployments), 1)
        self.assertEqual(self.deploy_json()["status"], "no-change")

    def test_a_method_calling_a_function_gets_its_stage_alias_and_one_api_only(self):
        self.write("app/template.yaml",
                   RAW_API.replace("{status}", RAW_API_STATUS).replace("{depends}", "ReceiveJobs, GetStatus"))
        out = self.deploy_json()
        self.assertEqual(out["status"], "deployed")
        physical = self.stack_resources()
        self.assertEqual([a["id"] for a in self.apis()], [physical["Gateway"]])
        self.assertEqual(self.methods(physical["Gateway"]), {"/": ["GET"], "/jobs": ["GET"]})
        root = next(r["id"] for r in self.aws("apigateway", "get-resources", "--rest-api-id",
                                                physical["Gateway"])["items"] if r["path"] == "/")
        integration = self.aws("apigateway", "get-integration", "--rest-api-id", physical["Gateway"],
                               "--resource-id", root, "--http-method", "GET")
        alias = self.aws("lambda", "get-alias", "--function-name", "shop-Status", "--name", "live")
        self.assertIn(f"/functions/{alias['AliasArn']}/invocations", integration["uri"])
        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))


# Shaped like serverless-patterns' apigw-translate: an OpenAPI body whose AWS integration
# calls a service with the stack's role (so the API is created after the stack), and an output
# naming the API.
TRANSLATE_API = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Words:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      DefinitionBody:
        openapi: 3.0.1
        info: {title: words, version: 1.0}
        paths:
          /translate:
            post:
              x-amazon-apigateway-integration:
                type: aws
                uri: !Sub arn:aws:apigateway:${AWS::Region}:translate:action/TranslateText
                httpMethod: POST
                credentials: !GetAtt Caller.Arn
                responses:
                  default: {statusCode: 200}
  Caller:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: apigateway.amazonaws.com}
            Action: sts:AssumeRole
Outputs:
  WordsUrl:
    Value: !Sub "https://${Words}.execute-api.${AWS::Region}.${AWS::URLSuffix}/Prod/translate"
"""


class UnchangedRedeploy(InfraTestCase):
    def test_an_output_naming_a_new_api_is_deployed_with_it_and_not_again(self):
        self.write("app/template.yaml", TRANSLATE_API)
        first = self.deploy_json()
        self.assertEqual(first["status"], "deployed")
        api = next(a for a in self.aws("apigateway", "get-rest-apis")["items"] if a["name"] == "shop-Words")
        # The first deploy leaves the stack whole: the output names the API it created.
        body = self.aws("cloudformation", "get-template", "--stack-name", STACK)["TemplateBody"]
        self.assertEqual(body["Outputs"]["WordsUrl"]["Value"],
                         {"Fn::Sub": "https://${WispWordsId}.execute-api.us-east-1.amazonaws.com/Prod/translate"})
        stack = self.aws("cloudformation", "describe-stacks", "--stack-name", STACK)["Stacks"][0]
        self.assertEqual({p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["WispWordsId"],
                         api["id"])
        # Nothing changed: no mutating call, CloudFormation's included, as the proxy saw them.
        with FaultProxy(self.url) as proxy:
            again = self.deploy_json(url=proxy.url)
            self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))
            self.assertFalse(MUTATING_CFN & set(cloudformation_actions(proxy)))
            self.assertEqual([r["method"] for r in proxy.records if r["method"] not in ("GET", "HEAD") and
                              form(r).get("Action") not in ("DescribeStacks", "GetTemplate", "ListStackResources",
                                                            "GetCallerIdentity", "DescribeStackResources")], [])
        # A real change of the output is still seen: one change set.
        self.write("app/template.yaml", TRANSLATE_API.replace("/Prod/translate", "/Prod/words"))
        with FaultProxy(self.url) as proxy:
            changed = self.deploy_json(url=proxy.url)
            self.assertEqual(changed["status"], "deployed")
            self.assertEqual(cloudformation_actions(proxy).count("ExecuteChangeSet"), 1)
        body = self.aws("cloudformation", "get-template", "--stack-name", STACK)["TemplateBody"]
        self.assertTrue(body["Outputs"]["WordsUrl"]["Value"]["Fn::Sub"].endswith("/Prod/words"))

    def test_a_resource_without_properties_keeps_its_physical_id_through_a_second_change_set(self):
        # Shaped like apigw-cloudwatch: a log group declared without Properties that the API's
        # access log names; the first deploy runs two change sets (the output waits for the
        # API). moto keeps such a resource as `Properties: {}` and took the second change set
        # for an update of it, which lost the log group; wisp sends `Properties: {}` itself.
        template = TRANSLATE_API.replace("      StageName: Prod\n", """\
      StageName: Prod
      AccessLogSetting:
        DestinationArn: !GetAtt Logs.Arn
        Format: $context.requestId
""").replace("  Caller:\n", "  Logs:\n    Type: AWS::Logs::LogGroup\n  Caller:\n")
        self.write("app/template.yaml", template)
        self.assertEqual(self.deploy_json()["status"], "deployed")
        logs = self.stack_resources()["Logs"]
        self.assertTrue(logs)
        self.assertIn(logs, [g["logGroupName"] for g in self.aws("logs", "describe-log-groups")["logGroups"]])
        body = self.aws("cloudformation", "get-template", "--stack-name", STACK)["TemplateBody"]
        self.assertIn("WordsUrl", body["Outputs"])
        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))

    def test_binary_media_types_are_patched_with_json_pointer_escapes(self):
        # API Gateway's documentation: PATCH /restapis/ID with
        # {"op": "add", "path": "/binaryMediaTypes/image~1jpeg"} (`/` escaped as `~1`).
        template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Files:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      BinaryMediaTypes: [{types}]
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      Events:
        Get:
          Type: Api
          Properties: {{RestApiId: !Ref Files, Path: /files, Method: get}}
"""
        self.write("app/template.yaml", template.format(types="image~1png"))
        self.deploy()
        self.write("app/template.yaml", template.format(types="image~1png, application~1pdf"))
        with FaultProxy(self.url) as proxy:
            self.deploy(url=proxy.url)
            patches = [json.loads(r["body"]) for r in proxy.records
                       if r["method"] == "PATCH" and re.fullmatch(r"/restapis/[^/]+", r["path"])]
        paths = [op["path"] for p in patches for op in p["patchOperations"] if op["op"] == "add"]
        self.assertIn("/binaryMediaTypes/application~1pdf", paths)
        self.assertFalse([p for p in paths if "%" in p], paths)


class GeneratorWarnings(InfraTestCase):
    def test_what_the_stacks_generator_leaves_out_is_warned_like_the_rest(self):
        template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      AutoPublishAlias: live
      Definition:
        StartAt: Done
        States:
          Done: {Type: Pass, End: true}
      Policies: []
"""
        self.write("app/template.yaml", template)
        warning = "Flow: AutoPublishAlias/DeploymentPreference of a state machine are not deployed by wisp yet"
        proc = self.deploy("--dry-run")
        self.assertIn(f"warning: {warning}", proc.stderr)
        out = self.deploy_json("--dry-run")
        self.assertTrue([w for w in out["warnings"] if w.startswith(warning)], out["warnings"])

if __name__ == "__main__":
    harness.main()
