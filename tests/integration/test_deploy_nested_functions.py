"""wisp deploy of nested stacks that hold functions, layers and SAM resources, against
moto_server's CloudFormation and Lambda (shaped like the corpus apps lambda-layer-ssm-parameters
and eventbridge-pipes-msk-to-lambda): a child application with a layer whose ARN is an output;
a child with a function triggered by the child's queue, reading the child's SimpleTable (`!Ref`
in its environment and a DynamoDBReadPolicy), using the layer through
`!GetAtt Layers.Outputs.LayerArn`, given the parent's parameter; a state machine calling it; a raw IAM role of the child that
names the child function; a child function whose Role is a role of the child. The child functions are deployed by wisp (named with their stack
path); the child's other resources are in its nested stack, whose template wisp generates.
Checked resource by resource with the aws CLI; redeployed with no change (no mutating call), with
a code change (code update only), deleted. Bad input: a function two levels down, a SAM resource wisp does not deploy
in a child (at its file:line:col)."""

import json

import harness
from aws_proxy import FaultProxy
from harness import wisp
from test_deploy_infra import MUTATING_CFN, InfraTestCase, cloudformation_actions
from test_infra import samtranslator

STACK = "shop"

ROOT = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Prefix:
    Type: String
    Default: shop
Resources:
  Layers:
    Type: AWS::Serverless::Application
    Properties:
      Location: ./layers/template.yaml
  Orders:
    Type: AWS::Serverless::Application
    Properties:
      Location: ./orders/template.yaml
      Parameters:
        Prefix: !Ref Prefix
        LayerArn: !GetAtt Layers.Outputs.LayerArn
Outputs:
  OrdersFunction:
    Value: !GetAtt Orders.Outputs.FunctionName
"""

LAYERS = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Common:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: ./common
      CompatibleRuntimes: [python3.12]
Outputs:
  LayerArn:
    Value: !Ref Common
"""

ORDERS = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Prefix:
    Type: String
    Default: nobody
  LayerArn:
    Type: String
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      Tags: [{Key: stack, Value: !Sub "${AWS::StackName}-jobs"}]
  Orders:
    Type: AWS::Serverless::SimpleTable
    Properties:
      TableName: !Sub "${Prefix}-orders"
      PrimaryKey: {Name: id, Type: String}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./worker
      Runtime: python3.12
      Handler: app.handler
      AutoPublishAlias: live
      Layers: [!Ref LayerArn]
      Environment:
        Variables:
          TABLE: !Ref Orders
          PREFIX: !Ref Prefix
          STACK: !Ref AWS::StackName
      Policies:
        - DynamoDBReadPolicy:
            TableName: !Ref Orders
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
            BatchSize: 5
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Work
        States:
          Work: {Type: Task, Resource: !GetAtt Worker.Arn, End: true}
      Policies:
        - LambdaInvokePolicy: {FunctionName: !Ref Worker}
  Reporter:
    Type: AWS::Serverless::Function
    Properties:
      InlineCode: "def handler(event, context):\n    return 1\n"
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt ReportRole.Arn
  ReportRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
      Policies:
        - PolicyName: Read
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - {Effect: Allow, Action: dynamodb:GetItem, Resource: !GetAtt Orders.Arn}
  PipeRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - {Effect: Allow, Principal: {Service: pipes.amazonaws.com}, Action: sts:AssumeRole}
      Policies:
        - PolicyName: Target
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - {Effect: Allow, Action: lambda:InvokeFunction, Resource: !GetAtt Worker.Arn}
Outputs:
  FunctionName:
    Value: !Ref Worker
"""

GRANDCHILD = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Deeper:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./deeper.yaml
"""

DEEPER = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./worker
      Handler: app.handler
      Runtime: python3.12
"""


class NestedFunctions(InfraTestCase):
    def write_app(self, code="v1"):
        self.write("app/template.yaml", ROOT)
        self.write("app/layers/template.yaml", LAYERS)
        self.write("app/layers/common/python/common.py", "NAME = 'common'\n")
        self.write("app/orders/template.yaml", ORDERS)
        self.write("app/orders/worker/app.py", f'def handler(event, context):\n    return "{code}"\n')

    def setUp(self):
        super().setUp()
        self.write_app()

    def nested_stack(self, logical_id):
        physical = self.stack_resources()[logical_id]
        return self.aws("cloudformation", "describe-stacks", "--stack-name", physical)["Stacks"][0]

    def nested_template(self, logical_id):
        physical = self.stack_resources()[logical_id]
        return self.aws("cloudformation", "get-template", "--stack-name", physical)["TemplateBody"]

    def test_deploy_check_redeploy_code_change_and_delete(self):
        first = self.deploy()
        self.assertIn("Deployed in", first.stdout)

        # The child's layer and function are wisp's, named with their stack path.
        layers = self.aws("lambda", "list-layer-versions", "--layer-name", "Layers-Common")["LayerVersions"]
        self.assertEqual(len(layers), 1)
        layer_arn = layers[0]["LayerVersionArn"]
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Orders-Worker:live")
        self.assertEqual([layer["Arn"] for layer in config["Layers"]], [layer_arn])

        # The nested stacks: the child's queue and table there, SAM's SimpleTable expanded, the
        # function's trigger on its stage alias (a parameter the parent passes).
        orders = self.nested_stack("Orders")
        self.assertEqual(orders["StackStatus"], "CREATE_COMPLETE")
        child = self.nested_template("Orders")
        self.assertNotIn("Worker", child["Resources"])
        self.assertEqual(child["Resources"]["Orders"]["Type"], "AWS::DynamoDB::Table")
        self.assertEqual(child["Resources"]["WorkerWork"]["Type"], "AWS::Lambda::EventSourceMapping")
        self.assertEqual(child["Resources"]["WorkerWork"]["Properties"]["FunctionName"], {"Ref": "WispWorkerAlias"})
        self.assertEqual(child["Resources"]["WorkerWork"]["Properties"]["BatchSize"], 5)
        self.assertEqual(child["Resources"]["PipeRole"]["Properties"]["Policies"][0]["PolicyDocument"]
                         ["Statement"][0]["Resource"], {"Ref": "WispWorkerAlias"})
        self.assertEqual(child["Parameters"]["Prefix"], {"Type": "String", "Default": "nobody"})
        # The child's state machine calls the function's stage alias; its role may invoke the function.
        flow = child["Resources"]["Flow"]
        self.assertEqual(flow["Type"], "AWS::StepFunctions::StateMachine")
        self.assertEqual(flow["Properties"]["DefinitionSubstitutions"],
                         {"definition_substitution_1": {"Ref": "WispWorkerAlias"}})
        self.assertEqual(child["Resources"]["FlowRole"]["Type"], "AWS::IAM::Role")
        machines = self.aws("stepfunctions", "list-state-machines")["stateMachines"]
        self.assertEqual(len(machines), 1, machines)
        # The child's SimpleTable is what aws-sam-translator makes of it, its parameter left a parameter.
        sam = samtranslator(self.write("sam/orders.yaml", ORDERS.replace("CodeUri: ./worker",
                                                                          "CodeUri: s3://b/worker.zip")))
        self.assertEqual(child["Resources"]["Orders"], sam["Resources"]["Orders"])

        root = self.aws("cloudformation", "get-template", "--stack-name", STACK)["TemplateBody"]
        passed = root["Resources"]["Orders"]["Properties"]["Parameters"]
        self.assertEqual(passed["Prefix"], "shop")
        self.assertEqual(passed["WispWorkerAlias"], {"Ref": "WispOrdersWorkerAlias"})
        # The layer ARN is wisp's value: passed as it is, not read back from the sibling.
        self.assertEqual(passed["LayerArn"], {"Ref": "WispLayersCommonArn"})
        params = {p["ParameterKey"]: p["ParameterValue"]
                  for p in self.aws("cloudformation", "describe-stacks", "--stack-name", STACK)["Stacks"][0]
                  ["Parameters"]}
        alias_arn = "arn:aws:lambda:us-east-1:123456789012:function:shop-Orders-Worker:live"
        self.assertEqual(params["WispOrdersWorkerAlias"], alias_arn)
        self.assertEqual(params["WispLayersCommonArn"], layer_arn)

        # The function reads the child's table (its real name) and the parent's value.
        outputs = {o["OutputKey"]: o["OutputValue"] for o in orders.get("Outputs", [])}
        table = outputs["WispRefOrders"]
        self.assertEqual(table, "shop-orders")
        variables = config["Environment"]["Variables"]
        self.assertEqual({k: v for k, v in variables.items() if k != "STACK"}, {"TABLE": table, "PREFIX": "shop"})
        # AWS::StackName in the child is the nested stack's own name, CloudFormation's to choose, read from
        # it (moto replaces a nested stack on each update, so the one read after the first change set is gone).
        self.assertRegex(variables["STACK"], r"^shop-Orders-[A-Z0-9]{12}$")
        self.assertEqual(child["Resources"]["Jobs"]["Properties"]["Tags"],
                         [{"Key": "stack", "Value": {"Fn::Join": ["", [{"Ref": "AWS::StackName"}, "-jobs"]]}}])
        self.assertEqual(self.aws("dynamodb", "describe-table", "--table-name", table)["Table"]["TableStatus"],
                         "ACTIVE")
        role = config["Role"].rsplit("/", 1)[1]
        policy = self.aws("iam", "get-role-policy", "--role-name", role, "--policy-name",
                          "WorkerRolePolicy0")["PolicyDocument"]
        resources = json.dumps(policy)
        self.assertIn(f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}", resources)

        # The child queue triggers the function's alias (moto reports the version it serves).
        mappings = [m for m in self.aws("lambda", "list-event-source-mappings")["EventSourceMappings"]
                    if ":function:shop-Orders-Worker:" in m["FunctionArn"]]
        self.assertEqual(len(mappings), 1, mappings)
        self.assertIn(mappings[0]["FunctionArn"], (alias_arn, alias_arn.replace(":live", ":1")))
        self.assertEqual(mappings[0]["BatchSize"], 5)
        queue = mappings[0]["EventSourceArn"].rsplit(":", 1)[1]
        self.assertRegex(queue, r"^shop-Orders-.*-Jobs-")
        self.assertIsNotNone(self.aws("sqs", "get-queue-url", "--queue-name", queue))

        # A child function whose Role is the child's IAM role: wisp makes that role too (named with
        # the stack path), with the real table ARN; the child stack does not hold it.
        reporter = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Orders-Reporter")
        self.assertEqual(reporter["Role"], "arn:aws:iam::123456789012:role/shop-Orders-ReportRole")
        self.assertNotIn("ReportRole", child["Resources"])
        read = self.aws("iam", "get-role-policy", "--role-name", "shop-Orders-ReportRole", "--policy-name",
                        "Read")["PolicyDocument"]
        self.assertEqual(read["Statement"][0]["Resource"], f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}")

        # status sees the child function.
        status = wisp("deploy", "status", "--endpoint-url", self.url, "--stack-name", STACK, "--output", "json",
                      cwd=self.app)
        self.assertWisp(status, 0)
        self.assertIn("Orders/Worker", status.stdout)

        # moto replaced the Orders nested stack in the second change set (AWS updates it in place): the next
        # deploy gives the function the name of the one there now, read from it again.
        settled = self.deploy_json()
        self.assertEqual(settled["status"], "deployed")
        now = self.nested_stack("Orders")["StackName"]
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Orders-Worker:live")
        self.assertEqual(config["Environment"]["Variables"]["STACK"], now)

        # No change: no mutating call.
        with FaultProxy(self.url) as proxy:
            again = self.deploy_json(url=proxy.url)
            self.assertEqual(again["status"], "no-change")
            self.assertEqual(again["mutating_calls"], 0)
            actions = cloudformation_actions(proxy)
            self.assertFalse(MUTATING_CFN & set(actions), actions)

        # A changed child function: its code only; the stacks untouched.
        self.write_app(code="v2")
        with FaultProxy(self.url) as proxy:
            changed = self.deploy_json(url=proxy.url)
            self.assertEqual(changed["status"], "deployed")
            actions = cloudformation_actions(proxy)
            self.assertFalse(MUTATING_CFN & set(actions), actions)
            lambda_calls = [r["path"] for r in proxy.records if r["method"] in ("PUT", "POST")
                            and "/functions/" in r["path"]]
            self.assertTrue(any(p.endswith("/shop-Orders-Worker/code") for p in lambda_calls), lambda_calls)
            self.assertFalse(any(p.endswith("/configuration") for p in lambda_calls), lambda_calls)

        # rollback knows the child function by its path.
        back = wisp("rollback", "--endpoint-url", self.url, "--stack-name", STACK, "--stage", "live", "--function",
                    "Orders/Worker", "--to", "1", cwd=self.app)
        self.assertWisp(back, 0)
        alias = self.aws("lambda", "get-alias", "--function-name", "shop-Orders-Worker", "--name", "live")
        self.assertEqual(alias["FunctionVersion"], "1")

        # Delete: the child functions, the layer's versions, the stacks.
        gone = wisp("delete", "--endpoint-url", self.url, "--stack-name", STACK, "--no-prompts", "--output", "json",
                    cwd=self.app)
        self.assertWisp(gone, 0)
        self.assertIsNone(self.aws("lambda", "get-function", "--function-name", "shop-Orders-Worker", check=False))
        self.assertIsNone(self.aws("iam", "get-role", "--role-name", "shop-Orders-ReportRole", check=False))
        self.assertIsNone(self.aws("cloudformation", "describe-stacks", "--stack-name", STACK, check=False))
        self.assertIsNone(self.aws("dynamodb", "describe-table", "--table-name", table, check=False))

    def child_physical(self, child, logical_id):
        physical = self.stack_resources()[child]
        listed = self.aws("cloudformation", "list-stack-resources", "--stack-name", physical)
        return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed["StackResourceSummaries"]}[logical_id]

    def test_function_two_levels_down_is_refused(self):
        self.write("app/template.yaml", "Transform: AWS::Serverless-2016-10-31\nResources:\n  Orders:\n    Type: AWS::Serverless::Application\n"
                                        "    Properties:\n      Location: ./orders/template.yaml\n")
        self.write("app/orders/template.yaml", GRANDCHILD)
        self.write("app/orders/deeper.yaml", DEEPER)
        self.write("app/orders/worker/app.py", "def handler(e, c):\n    return 1\n")
        proc = self.deploy(code=1)
        self.assertRegex(proc.stderr, r"deeper\.yaml:3:3: Orders/Deeper/Fn \(AWS::Serverless::Function\) is in a "
                                      r"nested stack of a nested stack")
        self.assertIsNone(self.aws("cloudformation", "describe-stacks", "--stack-name", STACK, check=False))


    def test_package_packages_children_with_functions(self):
        # package packages each child as sam package does (test_deploy_nested.py NestedPackageCode has the rest).
        self.aws("s3api", "create-bucket", "--bucket", "pkg-bucket")
        proc = wisp("package", "--endpoint-url", self.url, "--s3-bucket", "pkg-bucket", "--output", "json",
                    cwd=self.app)
        self.assertWisp(proc, 0)
        result = json.loads(proc.stdout)
        self.assertEqual(sorted(a["logicalId"] for a in result["artifacts"]), ["Layers/Common", "Orders/Worker"])
        self.assertEqual(sorted(t["logicalId"] for t in result["nestedTemplates"]), ["Layers", "Orders"])

    def test_sam_resource_wisp_does_not_deploy_is_refused_at_its_position(self):
        self.write("app/orders/template.yaml", ORDERS.replace("Outputs:\n", CONNECTOR + "Outputs:\n"))
        proc = self.deploy(code=1)
        self.assertRegex(proc.stderr, r"orders/template\.yaml:\d+:3: Link: AWS::Serverless::Connector is not deployed by "
                                      r"wisp yet.* \(in nested stack Orders\)")
        self.assertIsNone(self.aws("cloudformation", "describe-stacks", "--stack-name", STACK, check=False))


CONNECTOR = """\
  Link:
    Type: AWS::Serverless::Connector
    Properties:
      Source: {Id: Worker}
      Destination: {Id: Orders}
      Permissions: [Read]
"""

if __name__ == "__main__":
    harness.main()
