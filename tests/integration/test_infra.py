"""The infrastructure stack wisp generates (src/wisp/infra), checked against aws-sam-translator:
SAM's expansions of SimpleTable, StateMachine (role, policy templates, events) and of function
event sources (SQS, Kinesis, DynamoDB, S3, SNS, Schedule, ScheduleV2, EventBridgeRule,
CloudWatchLogs) must be the resources samtranslator writes, with wisp's side (functions, their
aliases and roles) turned into stack parameters; every SAM policy template must grant what
samtranslator's does. Also: references both ways (outputs wisp reads, parameters the stack
gets), the early/late split for new functions, the cycle error, NoEcho parameters kept out of
the template. Driven through wisp_infra_probe (tests/tools/infra_probe.cpp)."""

import copy
import json
import os
import re
import subprocess
import unittest

import harness
from harness import WispTestCase

PROBE = os.path.join(os.environ.get("WISP_BUILD_DIR", os.path.join(harness.SOURCE_DIR, "build", "ci")), "tests",
                     "wisp_infra_probe")

EVENTS_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://bucket/key.zip
      Handler: app.handler
      Runtime: python3.12
      AutoPublishAlias: live
      Environment:
        Variables:
          TABLE: !Ref Table
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref Table
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 5
            MaximumBatchingWindowInSeconds: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig: {MaximumConcurrency: 3}
            FilterCriteria:
              Filters:
                - Pattern: '{"body": {"kind": ["a"]}}'
        Uploads:
          Type: S3
          Properties:
            Bucket: !Ref Bucket
            Events: [s3:ObjectCreated:*, s3:ObjectRemoved:*]
            Filter:
              S3Key:
                Rules:
                  - Name: prefix
                    Value: in/
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Input: '{"a": 1}'
            Enabled: false
            Description: every five minutes
        Tock:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 hour)
            ScheduleExpressionTimezone: Europe/Paris
        Orders:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref Bus
            Pattern:
              source: [shop.orders]
            RetryPolicy: {MaximumRetryAttempts: 2}
        Notes:
          Type: SNS
          Properties:
            Topic: !Ref Topic
            FilterPolicy: {kind: [note]}
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: LATEST
            BisectBatchOnFunctionError: true
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt DeadLetters.Arn
        Clicks:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Clickstream.Arn
            StartingPosition: TRIM_HORIZON
            ParallelizationFactor: 2
        Logs:
          Type: CloudWatchLogs
          Properties:
            LogGroupName: !Ref Group
            FilterPattern: ERROR
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetters.Arn
        maxReceiveCount: 3
  DeadLetters:
    Type: AWS::SQS::Queue
  Bucket:
    Type: AWS::S3::Bucket
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: shop-bus
  Topic:
    Type: AWS::SNS::Topic
  Clickstream:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 1
  Group:
    Type: AWS::Logs::LogGroup
  Table:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Simple:
    Type: AWS::Serverless::SimpleTable
  Keyed:
    Type: AWS::Serverless::SimpleTable
    DeletionPolicy: Retain
    Properties:
      TableName: keyed
      PrimaryKey: {Name: pk, Type: Number}
      ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 3}
      Tags: {team: shop, tier: gold}
      SSESpecification: {SSEEnabled: true}
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Call
        States:
          Call:
            Type: Task
            Resource: arn:aws:states:::lambda:invoke
            Parameters:
              FunctionName: !GetAtt Fn.Arn
              Payload:
                table: !Ref Simple
            Next: Done
          Done:
            Type: Succeed
      DefinitionSubstitutions:
        Bucket: !Ref Bucket
      Tags: {team: shop}
      Policies:
        - LambdaInvokePolicy:
            FunctionName: !Ref Fn
        - DynamoDBReadPolicy:
            TableName: !Ref Simple
        - Statement:
            - Effect: Allow
              Action: s3:GetObject
              Resource: !Sub '${Bucket.Arn}/*'
      Events:
        Nightly:
          Type: Schedule
          Properties:
            Schedule: cron(0 2 * * ? *)
        Placed:
          Type: EventBridgeRule
          Properties:
            Pattern:
              detail-type: [placed]
        Hourly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 hour)
"""


def samtranslator(template_path):
    """aws-sam-translator's output for the template (run as the peer it is: in its own process)."""
    code = ("import json, sys\n"
            "from samtranslator.translator.transform import transform\n"
            "from samtranslator.yaml_helper import yaml_parse\n"
            "class Loader:\n"
            "    def load(self): return {}\n"
            "print(json.dumps(transform(yaml_parse(open(sys.argv[1]).read()), {}, Loader())))\n")
    proc = subprocess.run(["python3", "-c", code, template_path], capture_output=True, text=True, timeout=120,
                          env=harness.env(AWS_DEFAULT_REGION="us-east-1"))
    if proc.returncode != 0:
        raise AssertionError(f"samtranslator failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def probe(template_path, *args, code=0):
    proc = subprocess.run([PROBE, template_path, "--stack", "app", *args], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != code:
        raise AssertionError(f"wisp_infra_probe exited {proc.returncode}: {proc.stderr}")
    return json.loads(proc.stdout) if code == 0 else proc.stderr


class Normalizer:
    """Both sides as comparable JSON: references to the function, its alias and its role become
    symbols (samtranslator names them FnAliaslive/Fn/FnRole, wisp through stack parameters),
    Fn::Sub becomes its text with the variables' values written in, and a state machine's
    definition its parsed JSON."""

    def __init__(self, parameters):
        self.parameters = parameters  # wisp's parameter → symbol

    def sam_symbol(self, name, attribute):
        if name == "FnAliaslive" or (name == "Fn" and attribute == "Arn"):
            return "ALIAS(Fn)"
        if name == "Fn" and attribute is None:
            return "NAME(Fn)"
        if name == "FnRole":
            return "ROLE(Fn)" if attribute is None else "ROLEARN(Fn)"
        return None

    def symbol(self, name, attribute):
        if name in self.parameters:
            return self.parameters[name]
        return self.sam_symbol(name, attribute)

    def text(self, value):
        value = self.norm(value)
        if isinstance(value, str):
            return value
        return json.dumps(value, sort_keys=True)

    def sub(self, argument):
        pattern, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

        def replace(match):
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self.text(variables[name])
            base, _, attribute = name.partition(".")
            symbol = self.symbol(base, attribute or None)
            if symbol:
                return symbol
            return "REF(" + name + ")" if not attribute else f"ATT({base}.{attribute})"

        return re.sub(r"\$\{([^}]+)\}", replace, pattern)

    def norm(self, value):
        if isinstance(value, list):
            return [self.norm(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref" and isinstance(argument, str):
                return self.symbol(argument, None) or f"REF({argument})"
            if key == "Fn::GetAtt":
                name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.symbol(name, attribute) or f"ATT({name}.{attribute})"
            if key == "Fn::Sub":
                return self.sub(argument)
            if key == "Fn::Join" and argument[0] == "\n":
                try:
                    return json.loads("\n".join(argument[1]))
                except (TypeError, ValueError):
                    pass
        out = {k: self.norm(v) for k, v in value.items()}
        if isinstance(out.get("DependsOn"), list):
            out["DependsOn"] = sorted(out["DependsOn"])
        return out


def wisp_symbols(result):
    symbols = {}
    for p in result["parameters"]:
        key = p["key"]
        match = re.fullmatch(r"Wisp(\w+?)(Alias|Name|Arn|Id)", key)
        if not match:
            continue
        thing, kind = match.groups()
        if thing.endswith("Role"):
            symbols[key] = ("ROLE" if kind == "Name" else "ROLEARN") + f"({thing[:-4]})"
        elif kind == "Alias":
            symbols[key] = f"ALIAS({thing})"
        elif kind == "Name":
            symbols[key] = f"NAME({thing})"
    return symbols


@unittest.skipUnless(os.path.exists(PROBE), f"PEER MISSING: {PROBE} was not built")
class AgainstSamTranslator(WispTestCase):
    def setUp(self):
        super().setUp()
        try:
            import samtranslator  # noqa: F401
        except ImportError:
            self.skipTest("PEER MISSING: aws-sam-translator (python3 -m pip install aws-sam-translator)")

    def compare(self, template, ids, args=()):
        path = self.write("template.yaml", template)
        sam = samtranslator(path)["Resources"]
        mine = probe(path, *args)
        resources = mine["body"]["Resources"]
        sam_side = Normalizer({})
        wisp_side = Normalizer(wisp_symbols(mine))
        for logical_id in ids:
            with self.subTest(resource=logical_id):
                self.assertIn(logical_id, resources, f"wisp generated no {logical_id}")
                self.assertEqual(wisp_side.norm(resources[logical_id]), sam_side.norm(sam[logical_id]))
        return mine, sam

    def test_function_events_expand_as_samtranslator_expands_them(self):
        ids = ["FnJobs", "FnUploadsPermission", "Bucket", "FnTick", "FnTickPermission", "FnTock", "FnTockRole",
               "FnOrders", "FnOrdersPermission", "FnNotes", "FnNotesPermission", "FnChanges", "FnClicks", "FnLogs",
               "FnLogsPermission"]
        mine, sam = self.compare(EVENTS_TEMPLATE, ids)
        # What is not SAM's expansion is carried as written (attributes included).
        self.assertEqual(mine["body"]["Resources"]["Table"]["DeletionPolicy"], "Retain")
        # Everything SAM generates, except what wisp deploys itself, is in the stack.
        wisp_side = {"Fn", "FnRole", "FnAliaslive"} | {k for k in sam if k.startswith("FnVersion")}
        self.assertEqual(set(mine["body"]["Resources"]), set(sam) - wisp_side)

    def test_simple_tables_and_state_machines_expand_as_samtranslator_expands_them(self):
        self.compare(EVENTS_TEMPLATE, ["Simple", "Keyed", "Flow", "FlowRole", "FlowNightly", "FlowNightlyRole",
                                       "FlowPlaced", "FlowPlacedRole", "FlowHourly", "FlowHourlyRole"])

    def test_every_policy_template_grants_what_samtranslator_grants(self):
        import samtranslator as package
        data = os.path.join(os.path.dirname(package.__file__), "policy_templates_data", "policy_templates.json")
        with open(data) as f:
            templates = json.load(f)["Templates"]
        lines = ["Transform: AWS::Serverless-2016-10-31", "Resources:", "  Flow:",
                 "    Type: AWS::Serverless::StateMachine", "    Properties:",
                 "      Definition: {StartAt: A, States: {A: {Type: Succeed}}}", "      Policies:"]
        for name, spec in sorted(templates.items()):
            parameters = {p: f"{p.lower()}-value" for p in spec["Parameters"]}
            lines.append(f"        - {name}: {json.dumps(parameters)}")
        path = self.write("template.yaml", "\n".join(lines) + "\n")
        sam = samtranslator(path)["Resources"]["FlowRole"]["Properties"]["Policies"]
        mine = probe(path)["body"]["Resources"]["FlowRole"]["Properties"]["Policies"]
        self.assertEqual(len(mine), len(templates))
        norm = Normalizer({})
        for expected, got in zip(sam, mine):
            with self.subTest(policy=expected["PolicyName"]):
                self.assertEqual(norm.norm(got), norm.norm(expected))

    def test_a_nested_application_is_the_stack_samtranslator_makes_of_it(self):
        # A Location already in S3 (as `sam package` / `wisp package` write it); a local one is
        # uploaded first and named the same way (tests/integration/test_deploy_nested.py).
        template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Auth:
    Type: AWS::Serverless::Application
    DependsOn: [Topic]
    Properties:
      Location: https://s3.us-east-1.amazonaws.com/bucket/auth.template
      Parameters:
        Stage: prod
        TopicArn: !Ref Topic
      NotificationARNs: [!Ref Topic]
      Tags:
        team: auth
      TimeoutInMinutes: 15
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !GetAtt Auth.Outputs.QueueName
"""
        mine, _ = self.compare(template, ["Auth", "Queue"])
        self.assertEqual(mine["body"]["Resources"]["Auth"]["Type"], "AWS::CloudFormation::Stack")


@unittest.skipUnless(os.path.exists(PROBE), f"PEER MISSING: {PROBE} was not built")
class ReferencesBothWays(WispTestCase):
    def test_outputs_for_wisp_and_parameters_for_the_stack(self):
        path = self.write("template.yaml", EVENTS_TEMPLATE)
        mine = probe(path)
        exports = {(e["id"], e["attribute"]): e["output"] for e in mine["exports"]}
        # The function's environment and policy name the table: wisp reads its name from an output.
        self.assertIn(("Table", ""), exports)
        self.assertEqual(mine["body"]["Outputs"][exports[("Table", "")]], {"Value": {"Ref": "Table"}})
        # The function's event sources are not read back: they live in the stack.
        self.assertNotIn(("Queue", "Arn"), exports)
        # The stack gets the stage alias's ARN as a parameter (deterministic: no output needed).
        parameters = {p["key"]: p["value"] for p in mine["parameters"]}
        self.assertEqual(parameters["WispFnAlias"], "arn:aws:lambda:us-east-1:123456789012:function:app-Fn:live")
        self.assertEqual(mine["body"]["Parameters"]["WispFnAlias"], {"Type": "String"})
        self.assertEqual(mine["late"], [])
        self.assertEqual(mine["early"], mine["body"])

    def test_a_new_function_splits_the_stack_and_s3_notifications_wait_for_it(self):
        path = self.write("template.yaml", EVENTS_TEMPLATE)
        mine = probe(path, "--new", "Fn")
        late = set(mine["late"])
        # What checks that the function exists waits for it.
        self.assertTrue({"FnJobs", "FnUploadsPermission", "FnTickPermission", "FnChanges", "FnLogs"} <= late, late)
        # Rules, schedules and subscriptions do not: they name the alias ARN, which is known.
        self.assertFalse({"FnTick", "FnTock", "FnNotes", "Bucket", "Table"} & late)
        early = mine["early"]["Resources"]
        self.assertNotIn("FnJobs", early)
        # The bucket is created early without its notification (the function may name it)...
        self.assertNotIn("NotificationConfiguration", early["Bucket"].get("Properties", {}))
        self.assertNotIn("DependsOn", early["Bucket"])
        # ... and gets it with the rest once the function exists.
        body = mine["body"]["Resources"]["Bucket"]
        self.assertEqual(body["DependsOn"], ["FnUploadsPermission"])
        self.assertEqual(len(body["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]), 2)

    def test_a_cycle_the_two_sides_cannot_break_is_an_error_naming_it(self):
        template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://bucket/key.zip
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          MAPPING: !Ref FnJobs
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: arn:aws:sqs:us-east-1:123456789012:jobs
"""
        path = self.write("template.yaml", template)
        error = probe(path, "--new", "Fn", code=1)
        self.assertRegex(error, r"template\.yaml:\d+:\d+: Fn and FnJobs need each other: Fn names FnJobs, "
                                r"and FnJobs \(AWS::Lambda::EventSourceMapping\) can only be created after Fn exists")
        # Once the function exists there is no cycle: the mapping names its alias.
        mine = probe(path)
        self.assertEqual(mine["body"]["Resources"]["FnJobs"]["Properties"]["FunctionName"], {"Ref": "WispFnAlias"})

    def test_an_apis_stage_named_by_sams_ref_is_its_stage_name_as_samtranslator_resolves_it(self):
        # `!Ref Api.Stage` (a usage plan's stage) and `${Api.Stage}` (a WAF association's ARN):
        # aws-sam-translator turns both into the Ref of the stage it generates, i.e. its name.
        template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Shop:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      ApiStages:
        - ApiId: !Ref Shop
          Stage: !Ref Shop.Stage
  Guard:
    Type: AWS::WAFv2::WebACLAssociation
    Properties:
      ResourceArn: !Sub arn:aws:apigateway:${AWS::Region}::/restapis/${Shop}/stages/${Shop.Stage}
      WebACLArn: arn:aws:wafv2:us-east-1:123456789012:regional/webacl/guard/1
"""
        path = self.write("template.yaml", template)
        sam = samtranslator(path)["Resources"]
        stage_ref = sam["Plan"]["Properties"]["ApiStages"][0]["Stage"]
        self.assertEqual(stage_ref, {"Ref": "Shopv1Stage"})
        self.assertEqual(sam[stage_ref["Ref"]]["Properties"]["StageName"], "v1")
        mine = probe(path, "--stage", "v1")
        parameters = {p["key"]: p["value"] for p in mine["parameters"]}
        self.assertEqual(parameters["WispShopStage"], "v1")
        resources = mine["body"]["Resources"]
        self.assertEqual(resources["Plan"]["Properties"]["ApiStages"][0]["Stage"], {"Ref": "WispShopStage"})
        self.assertEqual(resources["Guard"]["Properties"]["ResourceArn"],
                         {"Fn::Sub": "arn:aws:apigateway:us-east-1::/restapis/${WispShopId}/stages/${WispShopStage}"})
        # Before the API exists, what names it waits for it.
        self.assertEqual(sorted(mine["late"]), ["Guard", "Plan"])
        created = probe(path, "--stage", "v1", "--api", "Shop=abc123")
        self.assertEqual(created["late"], [])

    def test_an_output_naming_a_new_api_waits_for_it_and_is_in_the_final_template(self):
        # Shaped like serverless-patterns' apigw-translate: the API's integration names the
        # stack's role (so the API is created after the stack), and an output names the API.
        # Before, the output was left out of both templates until the API existed: the first
        # deploy left the stack without it, and the next deploy (nothing changed) updated it.
        template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Shop:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
  Caller:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: apigateway.amazonaws.com}
            Action: sts:AssumeRole
Outputs:
  Endpoint:
    Value: !Sub "https://${Shop}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1/items"
  CallerArn:
    Value: !GetAtt Caller.Arn
"""
        path = self.write("template.yaml", template)
        mine = probe(path, "--stage", "v1")
        endpoint = {"Value": {"Fn::Sub": "https://${WispShopId}.execute-api.us-east-1.amazonaws.com/v1/items"}}
        # Early (before the API exists): without the output, nor the parameter it names.
        self.assertNotIn("Endpoint", mine["early"]["Outputs"])
        self.assertIn("CallerArn", mine["early"]["Outputs"])
        self.assertNotIn("Parameters", mine["early"])
        # Final: with it, so the stack is deployed twice (split) on the deploy that creates the API.
        self.assertEqual(mine["body"]["Outputs"]["Endpoint"], endpoint)
        self.assertEqual(mine["body"]["Parameters"], {"WispShopId": {"Type": "String"}})
        self.assertNotEqual(mine["early"], mine["body"])
        # Once the API exists: one template, the same as the final one above.
        created = probe(path, "--stage", "v1", "--api", "Shop=abc123")
        self.assertEqual(created["early"], created["body"])
        self.assertEqual(created["body"], mine["body"])
        self.assertEqual({p["key"]: p["value"] for p in created["parameters"]}["WispShopId"], "abc123")

    def test_an_arn_the_template_qualifies_itself_is_the_functions_own(self):
        # `${Fn.Arn}:live` names the alias already: the stack gets the function's unqualified
        # ARN there (a stage alias ARN would read `...:live:live`), and the alias elsewhere.
        template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://bucket/key.zip
      Handler: app.handler
      Runtime: python3.12
      AutoPublishAlias: live
  Invoke:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Sub '${Fn.Arn}:live'
      Principal: apigateway.amazonaws.com
  Plain:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Sub '${Fn.Arn}'
      Principal: apigateway.amazonaws.com
"""
        path = self.write("template.yaml", template)
        mine = probe(path)
        parameters = {p["key"]: p["value"] for p in mine["parameters"]}
        self.assertEqual(parameters["WispFnArn"], "arn:aws:lambda:us-east-1:123456789012:function:app-Fn")
        self.assertEqual(parameters["WispFnAlias"], "arn:aws:lambda:us-east-1:123456789012:function:app-Fn:live")
        resources = mine["body"]["Resources"]
        self.assertEqual(resources["Invoke"]["Properties"]["FunctionName"], {"Fn::Sub": "${WispFnArn}:live"})
        self.assertEqual(resources["Plain"]["Properties"]["FunctionName"], {"Fn::Sub": "${WispFnAlias}"})

    def test_no_echo_parameters_stay_out_of_the_template(self):
        template = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Password:
    Type: String
    NoEcho: true
    Default: s3cr3t-value
Resources:
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      SecretString: !Sub '{"password": "${Password}"}'
"""
        path = self.write("template.yaml", template)
        mine = probe(path)
        text = json.dumps(mine["body"])
        self.assertNotIn("s3cr3t-value", text)
        self.assertEqual(mine["body"]["Parameters"]["WispSecretPassword"], {"Type": "String", "NoEcho": True})
        self.assertEqual(mine["body"]["Resources"]["Secret"]["Properties"]["SecretString"],
                         {"Fn::Join": ["", ['{"password": "', {"Ref": "WispSecretPassword"}, '"}']]})
        self.assertIn({"key": "WispSecretPassword", "value": "s3cr3t-value", "no_echo": True}, mine["parameters"])

    def test_what_wisp_cannot_deploy_is_an_error_with_its_position(self):
        template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Link:
    Type: AWS::Serverless::Connector
    Properties:
      Source: {Id: A}
      Destination: {Id: B}
      Permissions: [Read]
  A:
    Type: AWS::SQS::Queue
  B:
    Type: AWS::SQS::Queue
"""
        path = self.write("template.yaml", template)
        error = probe(path, code=1)
        self.assertRegex(error, r"template\.yaml:3:3: Link: AWS::Serverless::Connector is not deployed by wisp yet")


if __name__ == "__main__":
    harness.main()
