"""Nested applications run locally, as SAM CLI runs them: an AWS::Serverless::Application whose
Location is a local template brings its functions, layers and APIs, under its stack path
(`Service/Greeter`, or `Greeter` alone when no other function has that id). The parent passes
parameters (the child's Defaults for the rest), and a sibling's output (`!GetAtt
Shared.Outputs.LayerArn`: the layer another nested stack defines, read at /opt). `wisp build`
stages nested functions under the build dir as SAM does (<build dir>/Service/Greeter) and local
runs use that build. A missing child template and a template that includes itself are errors
with file:line:col; a remote Location is skipped with a warning. Two levels down, a
grandchild (by a file:// Location) runs as Mid/Leaf/Paint with a value passed down through both.
An AWS::CloudFormation::Stack with a local TemplateURL runs the same way."""

import json
import os
import re
import urllib.request

import harness
from gateway_helpers import Server
from harness import WispTestCase, wisp

PARENT = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
    Default: hello-from-parent
Resources:
  Shared:
    Type: AWS::Serverless::Application
    Properties:
      Location: ./shared/template.yaml
  Service:
    Type: AWS::Serverless::Application
    Properties:
      Location: ./service/template.yaml
      Parameters:
        Greeting: !Ref Greeting
        LayerArn: !GetAtt Shared.Outputs.LayerArn
  Remote:
    Type: AWS::Serverless::Application
    Properties:
      Location:
        ApplicationId: arn:aws:serverlessrepo:us-east-1:123456789012:applications/remote
        SemanticVersion: 1.0.0
  Root:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: root/
      Handler: app.handler
      Runtime: python3.12
Outputs:
  GreeterName:
    Value: !GetAtt Service.Outputs.GreeterName
"""

SHARED = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  ConfigLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      LayerName: shared-config
      ContentUri: layer/
      CompatibleRuntimes: [nodejs22.x]
Outputs:
  LayerArn:
    Value: !Ref ConfigLayer
"""

SERVICE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
  Suffix:
    Type: String
    Default: child-default
  LayerArn:
    Type: String
Resources:
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: greeter/
      Handler: index.handler
      Runtime: nodejs22.x
      Timeout: 10
      Layers:
        - !Ref LayerArn
      Environment:
        Variables:
          GREETING: !Ref Greeting
          SUFFIX: !Ref Suffix
      Events:
        Greet:
          Type: Api
          Properties:
            Path: /greet
            Method: get
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          GREETING: !Ref Greeting
Outputs:
  GreeterName:
    Value: !Ref Greeter
"""

GREETER = """\
const pad = require('leftpad-local');
const config = require('/opt/nodejs/config.js');
exports.handler = async (event) => ({
  statusCode: 200,
  body: JSON.stringify({
    greeting: process.env.GREETING, suffix: process.env.SUFFIX, config: config.name,
    pad: pad('x', 4),
  }),
});
"""


class NestedApplications(WispTestCase):
    def setUp(self):
        super().setUp()
        harness.require_peer("node", "runs the nested node function")
        harness.require_peer("npm", "builds the nested node function")
        self.write("template.yaml", PARENT)
        self.write("shared/template.yaml", SHARED)
        self.write("shared/layer/nodejs/config.js", "exports.name = 'from-shared-layer';\n")
        self.write("service/template.yaml", SERVICE)
        self.write("service/greeter/index.js", GREETER)
        self.write("service/greeter/package.json", json.dumps({
            "name": "greeter", "version": "1.0.0",
            "dependencies": {"leftpad-local": "file:./vendor/leftpad"}}))
        self.write("service/greeter/vendor/leftpad/package.json",
                   json.dumps({"name": "leftpad-local", "version": "1.0.0", "main": "index.js"}))
        self.write("service/greeter/vendor/leftpad/index.js",
                   "module.exports = (s, n) => String(s).padStart(n, '*');\n")
        self.write("service/echo/app.py",
                   "import os\n\ndef handler(event, context):\n"
                   "    return {'greeting': os.environ['GREETING'], 'name': context.function_name,\n"
                   "            'got': event}\n")
        self.write("root/app.py", "def handler(event, context):\n    return 'root'\n")

    def invoke(self, function, *args, code=0, event="{}"):
        proc = wisp("local", "invoke", function, "-e", "-", *args, cwd=self.tmp, input=event)
        self.assertWisp(proc, code)
        return proc

    def test_validate_loads_the_children_and_warns_about_the_remote_one(self):
        proc = wisp("validate", cwd=self.tmp)
        self.assertWisp(proc, 0)
        self.assertRegex(proc.stderr, r"template\.yaml:\d+:\d+: warning: nested application "
                                      r"'Remote' comes from the Serverless Application Repository")

    def test_invoke_by_full_path_and_by_unique_short_name_with_the_parents_parameters(self):
        # Full path; the parent's parameter, the child's own Default for the rest.
        proc = self.invoke("Service/Echo", event='{"n": 1}')
        result = json.loads(proc.stdout)
        self.assertEqual(result["greeting"], "hello-from-parent")
        self.assertEqual(result["got"], {"n": 1})
        self.assertEqual(result["name"], "Echo")  # its own logical id, as in SAM
        # The function's own logical id, unique across the stacks.
        proc = self.invoke("Echo", "--parameter-overrides", "Greeting=overridden")
        self.assertEqual(json.loads(proc.stdout)["greeting"], "overridden")
        # The root stack's function is still there.
        self.assertEqual(json.loads(self.invoke("Root").stdout), "root")
        # A remote application is warned about and skipped.
        self.assertIn("nested application 'Remote'", proc.stderr)

    def test_build_stages_nested_functions_under_their_stack_path_and_runs_the_build(self):
        # From source the npm dependency is missing.
        before = self.invoke("Service/Greeter", code=1)
        self.assertIn("Runtime.ImportModuleError", before.stdout)
        built = wisp("build", cwd=self.tmp)
        self.assertWisp(built, 0)
        build_dir = self.path(".wisp/build")
        self.assertTrue(os.path.isdir(os.path.join(build_dir, "Service/Greeter/node_modules/leftpad-local")),
                        built.stdout + built.stderr)
        self.assertTrue(os.path.isfile(os.path.join(build_dir, "Service/Greeter.zip")))
        self.assertTrue(os.path.isfile(os.path.join(build_dir, "Shared/ConfigLayer.zip")))
        self.assertFalse(os.path.exists(self.path("service/greeter/node_modules")))
        proc = self.invoke("Greeter")
        body = json.loads(json.loads(proc.stdout)["body"])
        self.assertEqual(body, {"greeting": "hello-from-parent", "suffix": "child-default",
                                "config": "from-shared-layer", "pad": "***x"})

        # start-api serves the nested stack's API; start-lambda invokes by full path.
        with Server(self.tmp) as server:
            self.assertIn("Service/ServerlessRestApi", server.ports, server.stdout())
            body = server.json("Service/ServerlessRestApi", "GET", "/greet")
            self.assertEqual(body["config"], "from-shared-layer")
            self.assertEqual(body["pad"], "***x")
        with Server(self.tmp, command="start-lambda") as server:
            port = server.port("lambda")
            for name in ("Service/Echo", "Echo"):
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/2015-03-31/functions/{name}/invocations",
                    data=b'{"via": "lambda"}', method="POST",
                    headers={"Content-Type": "application/json"})
                payload = json.loads(urllib.request.urlopen(request, timeout=60).read())
                self.assertEqual(payload["got"], {"via": "lambda"})

    def test_a_short_name_in_several_stacks_must_be_a_full_path(self):
        self.write("template.yaml", PARENT.replace("  Remote:\n", """\
  Second:
    Type: AWS::Serverless::Application
    Properties:
      Location: service/template.yaml
      Parameters:
        Greeting: second
        LayerArn: !GetAtt Shared.Outputs.LayerArn
  Remote:
"""))
        proc = self.invoke("Echo", code=2)
        self.assertIn("function 'Echo' is in several nested stacks (Service/Echo, Second/Echo): "
                      "name it by its full path", proc.stderr)
        self.assertEqual(json.loads(self.invoke("Second/Echo").stdout)["greeting"], "second")


class NestedTwoLevels(WispTestCase):
    def test_a_grandchild_runs_under_its_full_path_with_values_passed_down(self):
        harness.require_peer("python3", "runs the nested python function")
        self.write("template.yaml", """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Mid:
    Type: AWS::Serverless::Application
    Properties:
      Location: mid/template.yaml
      Parameters: {Colour: blue}
""")
        self.write("mid/template.yaml", """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Colour: {Type: String}
Resources:
  Leaf:
    Type: AWS::Serverless::Application
    Properties:
      Location: file://LEAF
      Parameters:
        Colour: !Sub '${Colour}-via-mid'
""".replace("LEAF", self.path("mid/leaf/template.yaml")))
        self.write("mid/leaf/template.yaml", """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Colour: {Type: String}
Resources:
  Paint:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables: {COLOUR: !Ref Colour}
""")
        self.write("mid/leaf/src/app.py",
                   "import os\n\ndef handler(event, context):\n    return os.environ['COLOUR']\n")
        for name in ("Mid/Leaf/Paint", "Paint"):
            proc = wisp("local", "invoke", name, cwd=self.tmp)
            self.assertWisp(proc, 0)
            self.assertEqual(json.loads(proc.stdout), "blue-via-mid")
        proc = wisp("validate", cwd=self.tmp)
        self.assertWisp(proc, 0, stdout_has=["with its nested applications Mid, Mid/Leaf"])


class NestedApplicationErrors(WispTestCase):
    PARENT = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Child:
    Type: AWS::Serverless::Application
    Properties:
      Location: {location}
"""

    def test_a_missing_child_template_is_an_error_at_its_location(self):
        self.write("template.yaml", self.PARENT.format(location="./nope/template.yaml"))
        for args in (("validate",), ("local", "invoke", "Child/Fn"), ("build",)):
            proc = wisp(*args, cwd=self.tmp)
            self.assertNotEqual(proc.returncode, 0, args)
            self.assertIn("template.yaml:7:17: error: nested application 'Child': its template "
                          "nope/template.yaml does not exist", proc.stderr)

    def test_a_template_that_includes_itself_is_an_error(self):
        self.write("template.yaml", self.PARENT.format(location="./b/template.yaml"))
        self.write("b/template.yaml", self.PARENT.format(location="../template.yaml"))
        proc = wisp("validate", cwd=self.tmp)
        self.assertWisp(proc, 1)
        self.assertIn("b/template.yaml:7:17: error: nested application 'Child': template.yaml "
                      "includes itself (template.yaml → b/template.yaml → template.yaml)",
                      proc.stderr)

    def test_a_parameter_the_child_does_not_declare_and_an_error_in_the_child(self):
        self.write("template.yaml", self.PARENT.format(location="child.yaml")
                   + "      Parameters:\n        Missing: x\n")
        self.write("child.yaml", "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                                 "    Properties:\n      Runtime: python3.12\n")
        proc = wisp("validate", cwd=self.tmp)
        self.assertWisp(proc, 1)
        self.assertIn("template.yaml:4:3: error: the nested application passes the parameter "
                      "'Missing', which child.yaml does not declare", proc.stderr)
        # The child's own errors name the child's file.
        self.assertTrue(re.search(r"child\.yaml:\d+:\d+: error:", proc.stderr), proc.stderr)


class NestedCloudFormationStacks(WispTestCase):
    """An AWS::CloudFormation::Stack whose TemplateURL is a local template runs like a nested
    application (SAM CLI's sam_stack_provider treats both alike): the shape of
    eventbridge-pipes-msk-to-lambda, whose function lives in a nested stack's pipes.yaml."""

    PARENT = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Suffix: {Type: String, Default: orders}
Resources:
  Network:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://s3.amazonaws.com/some-bucket/vpc.yaml
  Generated:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: !Join ['', ['https://', !GetAtt Assets.RegionalDomainName, '/child.yaml']]
  Assets:
    Type: AWS::S3::Bucket
  Pipes:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: "./pipes.yaml"
      Parameters:
        Topic: !Sub 'shop-${Suffix}'
"""

    CHILD = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Topic: {Type: String}
Resources:
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables: {TOPIC: !Ref Topic}
"""

    def test_a_local_template_url_runs_its_functions_under_the_stack_path(self):
        harness.require_peer("python3", "runs the nested python function")
        self.write("template.yaml", self.PARENT)
        self.write("pipes.yaml", self.CHILD)
        self.write("src/app.py", "import os\n\ndef handler(event, context):\n"
                                 "    return {'topic': os.environ['TOPIC'], 'name': context.function_name}\n")
        for name in ("Pipes/Consumer", "Consumer"):
            proc = wisp("local", "invoke", name, cwd=self.tmp)
            self.assertWisp(proc, 0)
            self.assertEqual(json.loads(proc.stdout), {"topic": "shop-orders", "name": "Consumer"})
        # The remote one and the one built with intrinsic functions: warned about, skipped.
        self.assertRegex(proc.stderr, r"template\.yaml:9:20: warning: nested stack 'Network' is at "
                                      r"https://s3\.amazonaws\.com/some-bucket/vpc\.yaml, not a "
                                      r"local template: not run locally")
        self.assertRegex(proc.stderr, r"template\.yaml:13:20: warning: nested stack 'Generated': its "
                                      r"TemplateURL is not a literal path")
        proc = wisp("validate", cwd=self.tmp)
        self.assertWisp(proc, 0, stdout_has=["valid SAM template, with its nested application Pipes (2 warnings)"])

    def test_a_missing_template_is_an_error_at_its_template_url(self):
        self.write("template.yaml", self.PARENT)
        proc = wisp("validate", cwd=self.tmp)
        self.assertWisp(proc, 1)
        self.assertIn("template.yaml:19:20: error: nested stack 'Pipes': its template pipes.yaml "
                      "does not exist", proc.stderr)


if __name__ == "__main__":
    harness.main()
