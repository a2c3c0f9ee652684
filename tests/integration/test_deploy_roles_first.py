"""wisp deploy of an app whose stack and functions need each other through a role, shaped like
serverless-multi-tenant-api: a stack role (AccessRole) trusts the AWS::IAM::Role wisp makes for
a function (ExecRole), and that function's environment names the stack role. One
CloudFormation stack orders it (ExecRole, AccessRole, the function); wisp's two sides do it the
same way: ExecRole is created with its trust policy before the stack, its policies (which name
the stack's table) after it. Against moto_server, checked with the aws CLI; redeployed with no
change (no mutating call). Also what the stack's generator says of the cycle by itself (the
role not made first): the members, and where."""

import json
import unittest

from test_deploy_infra import InfraTestCase, STACK
from test_infra import probe

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  ConfigTable:
    Type: AWS::Serverless::SimpleTable
  ExecRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: config
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: dynamodb:GetItem
                Resource: !GetAtt ConfigTable.Arn
  AccessRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal:
              AWS: !GetAtt ExecRole.Arn
            Action: sts:AssumeRole
      Policies:
        - PolicyName: items
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: dynamodb:Query
                Resource: !GetAtt ConfigTable.Arn
  AuthFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      Role: !GetAtt ExecRole.Arn
      Environment:
        Variables:
          ACCESS_ROLE_ARN: !GetAtt AccessRole.Arn
          CONFIG_TABLE: !Ref ConfigTable
"""


class RolesFirst(InfraTestCase):
    def write_app(self, **kw):
        self.write("app/template.yaml", TEMPLATE)
        self.write("app/worker/app.py", 'def handler(event, context):\n    return "v1"\n')

    def test_a_stack_role_trusting_a_role_wisp_makes_deploys_in_one_pass(self):
        # By itself the generator finds the cycle and names its members, with where.
        error = probe(self.path("app/template.yaml"), "--new", "AuthFunction", "--new", "ExecRole", code=1)
        self.assertRegex(error, r"template\.yaml:\d+:\d+: AuthFunction and AccessRole need each other: "
                                r"AuthFunction names AccessRole\.Arn, and AccessRole \(AWS::IAM::Role\) can "
                                r"only be created after ExecRole exists \(a role wisp creates after the "
                                r"stack's first change set; IAM checks that a role exists\)")

        # --dry-run says which role goes first, and makes nothing.
        dry = self.deploy("--dry-run")
        self.assertRegex(dry.stdout, rf"\+ role +{STACK}-ExecRole +before the stack \(the stack names it\)")
        self.assertIsNone(self.aws("iam", "get-role", "--role-name", f"{STACK}-ExecRole", check=False))

        proc = self.deploy()
        self.assertIn(f"role {STACK}-ExecRole created before the stack", proc.stdout + proc.stderr)
        physical = self.stack_resources()
        # The stack's role trusts the role wisp made.
        access = self.aws("iam", "get-role", "--role-name", physical["AccessRole"])["Role"]
        document = access["AssumeRolePolicyDocument"]
        if isinstance(document, str):
            document = json.loads(document)
        exec_role = self.aws("iam", "get-role", "--role-name", f"{STACK}-ExecRole")["Role"]
        self.assertEqual(document["Statement"][0]["Principal"]["AWS"], exec_role["Arn"])
        # Its policies, which name the stack's table, came after the stack.
        policy = self.aws("iam", "get-role-policy", "--role-name", f"{STACK}-ExecRole", "--policy-name",
                          "config")["PolicyDocument"]
        if isinstance(policy, str):
            policy = json.loads(policy)
        self.assertIn(physical["ConfigTable"], json.dumps(policy))
        # The function runs as that role and knows the stack role's ARN.
        functions = [f for f in self.aws("lambda", "list-functions")["Functions"] if "AuthFunction" in f["FunctionName"]]
        self.assertEqual(len(functions), 1)
        self.assertEqual(functions[0]["Role"], exec_role["Arn"])
        self.assertEqual(functions[0]["Environment"]["Variables"]["ACCESS_ROLE_ARN"], access["Arn"])
        self.assertEqual(functions[0]["Environment"]["Variables"]["CONFIG_TABLE"], physical["ConfigTable"])

        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))


if __name__ == "__main__":
    unittest.main()
