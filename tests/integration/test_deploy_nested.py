"""wisp deploy and wisp package of an app with nested stacks, against moto_server's
CloudFormation: an AWS::Serverless::Application (local Location) and an
AWS::CloudFormation::Stack (local TemplateURL) whose children create a queue and a table and
export them; a function whose environment is the children's outputs. Deployed (the child
templates uploaded, content-addressed, the nested stacks in the app's infrastructure stack),
checked with the aws CLI, redeployed with no change (no mutating call), with a changed child
(one change set), deleted. Bad input: a child template missing, a child with a YAML error, a
cycle, an application from the Serverless Application Repository (a child holding functions:
test_deploy_nested_functions.py). wisp package of a child holding a function, a layer and a
nested stack with a function of its own (NestedPackageCode): packaged recursively as sam package
does, checked object by object in moto's S3 and through aws-sam-translator, packaged again with
nothing uploaded; a child's CodeUri missing named at the child's file:line:col."""

import json
import subprocess

import harness
from aws_proxy import FaultProxy
from harness import wisp
from test_deploy_infra import MUTATING_CFN, InfraTestCase, cloudformation_actions, form
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
  Messaging:
    Type: AWS::Serverless::Application
    Properties:
      Location: ./messaging.yaml
      Parameters:
        QueueName: !Sub "${Prefix}-jobs"
      Tags:
        team: orders
  Storage:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: ./storage/storage.yaml
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Runtime: python3.12
      Handler: app.handler
      AutoPublishAlias: live
      Environment:
        Variables:
          QUEUE_URL: !GetAtt Messaging.Outputs.QueueUrl
          TABLE: !GetAtt Storage.Outputs.TableName
"""

MESSAGING = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  QueueName:
    Type: String
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Ref QueueName
Outputs:
  QueueUrl:
    Value: !Ref Queue
"""

SPARE = """\
  Spare:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${QueueName}-spare"
"""

STORAGE = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
Outputs:
  TableName:
    Value: !Ref Table
"""


class NestedTestCase(InfraTestCase):
    def write_app(self, messaging=MESSAGING, storage=STORAGE, root=ROOT):
        self.write("app/template.yaml", root)
        self.write("app/messaging.yaml", messaging)
        self.write("app/storage/storage.yaml", storage)
        self.write("app/worker/app.py", 'def handler(event, context):\n    return "v1"\n')

    def nested_stacks(self):
        stacks = self.aws("cloudformation", "describe-stacks")["Stacks"]
        return {s["StackName"]: s for s in stacks if s["StackName"] != STACK}

    def nested_stack(self, logical_id):
        physical = self.stack_resources()[logical_id]
        return self.aws("cloudformation", "describe-stacks", "--stack-name", physical)["Stacks"][0]


class NestedApp(NestedTestCase):
    def test_deploy_check_redeploy_change_and_delete(self):
        first = self.deploy()
        self.assertIn("Deployed in", first.stdout)
        self.assertRegex(first.stderr, r"uploaded shop/[0-9a-f]{64}\.template \(messaging\.yaml\) for nested "
                                       r"stack Messaging")
        self.assertRegex(first.stderr, r"stack shop: \+ Messaging \(AWS::CloudFormation::Stack\)")

        # The app's stack holds both nested stacks, each pointing at its uploaded template.
        deployed = self.aws("cloudformation", "get-template", "--stack-name", STACK)["TemplateBody"]
        messaging = deployed["Resources"]["Messaging"]
        self.assertEqual(messaging["Type"], "AWS::CloudFormation::Stack")
        self.assertEqual(messaging["Properties"]["Parameters"], {"QueueName": "shop-jobs"})
        self.assertEqual(messaging["Properties"]["Tags"],
                         [{"Key": "lambda:createdBy", "Value": "SAM"}, {"Key": "team", "Value": "orders"}])
        url = messaging["Properties"]["TemplateURL"]
        prefix = "https://s3.us-east-1.amazonaws.com/wisp-managed-123456789012-us-east-1/"
        self.assertTrue(url.startswith(prefix + "shop/") and url.endswith(".template"), url)
        uploaded = json.loads(self.read_object(url[len(prefix):]))
        self.assertNotIn("Transform", uploaded)  # nothing of SAM's left for CloudFormation to expand
        self.assertEqual(uploaded["Resources"]["Queue"]["Properties"]["QueueName"], {"Ref": "QueueName"})

        # The nested stacks and what they made.
        queue_stack = self.nested_stack("Messaging")
        self.assertEqual(queue_stack["StackStatus"], "CREATE_COMPLETE")
        queue_url = {o["OutputKey"]: o["OutputValue"] for o in queue_stack["Outputs"]}["QueueUrl"]
        self.assertTrue(queue_url.endswith("/shop-jobs"), queue_url)
        self.assertIsNotNone(self.aws("sqs", "get-queue-url", "--queue-name", "shop-jobs"))
        table_stack = self.nested_stack("Storage")
        table = {o["OutputKey"]: o["OutputValue"] for o in table_stack["Outputs"]}["TableName"]
        self.assertEqual(self.aws("dynamodb", "describe-table", "--table-name", table)["Table"]["TableStatus"],
                         "ACTIVE")

        # The function's environment: the nested stacks' real outputs.
        config = self.aws("lambda", "get-function-configuration", "--function-name", "shop-Worker:live")
        self.assertEqual(config["Environment"]["Variables"], {"QUEUE_URL": queue_url, "TABLE": table})

        # No change: no mutating call (the child templates' keys are their content: same URLs).
        with FaultProxy(self.url) as proxy:
            again = self.deploy_json(url=proxy.url)
            self.assertEqual(again["status"], "no-change")
            self.assertEqual(again["mutating_calls"], 0)
            actions = cloudformation_actions(proxy)
            self.assertFalse(MUTATING_CFN & set(actions), actions)
            self.assertEqual([r for r in proxy.records if r["method"] not in ("GET", "HEAD") and
                              form(r).get("Action") not in (None, "DescribeStacks", "GetTemplate",
                                                            "ListStackResources", "GetCallerIdentity")], [])

        # A changed child: a new upload, a new URL, one change set on the app's stack.
        self.write_app(messaging=MESSAGING.replace("Outputs:\n", SPARE + "Outputs:\n"))
        with FaultProxy(self.url) as proxy:
            changed = self.deploy("--output", "json", url=proxy.url)
            self.assertEqual(json.loads(changed.stdout)["status"], "deployed")
            actions = cloudformation_actions(proxy)
            self.assertEqual(actions.count("CreateChangeSet"), 1, actions)
            self.assertEqual(actions.count("ExecuteChangeSet"), 1, actions)
        self.assertRegex(changed.stderr, r"uploaded shop/[0-9a-f]{64}\.template \(messaging\.yaml\)")
        self.assertNotRegex(changed.stderr, r"\(storage/storage\.yaml\)")  # unchanged: not sent again
        now = self.aws("cloudformation", "get-template", "--stack-name", STACK)["TemplateBody"]
        self.assertNotEqual(now["Resources"]["Messaging"]["Properties"]["TemplateURL"], url)
        self.assertEqual(now["Resources"]["Storage"], deployed["Resources"]["Storage"])
        self.assertIsNotNone(self.aws("sqs", "get-queue-url", "--queue-name", "shop-jobs-spare"))
        self.assertEqual(self.deploy_json()["status"], "no-change")

        # Delete: the app's stack, and the nested stacks and their resources with it.
        gone = wisp("delete", "--endpoint-url", self.url, "--stack-name", STACK, "--no-prompts", "--output", "json",
                    cwd=self.app)
        self.assertWisp(gone, 0)
        self.assertIn(f"stack {STACK}", json.loads(gone.stdout)["deleted"])
        self.assertIsNone(self.aws("cloudformation", "describe-stacks", "--stack-name", STACK, check=False))
        self.assertIsNone(self.aws("sqs", "get-queue-url", "--queue-name", "shop-jobs", check=False))
        self.assertIsNone(self.aws("dynamodb", "describe-table", "--table-name", table, check=False))

    def read_object(self, key):
        out = self.path("object.json")
        proc = subprocess.run(["aws", "--endpoint-url", self.url, "s3", "cp",
                               f"s3://wisp-managed-123456789012-us-east-1/{key}", str(out)],
                              capture_output=True, text=True, timeout=60, env=harness.env())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(out, encoding="utf-8") as f:
            return f.read()

    def test_package_uploads_children_and_points_at_them(self):
        self.aws("s3api", "create-bucket", "--bucket", "pkg-bucket")
        packaged = wisp("package", "--endpoint-url", self.url, "--s3-bucket", "pkg-bucket", "--s3-prefix", "p",
                        "--output", "json", cwd=self.app)
        self.assertWisp(packaged, 0)
        result = json.loads(packaged.stdout)
        urls = {t["logicalId"]: t["location"] for t in result["nestedTemplates"]}
        self.assertEqual(sorted(urls), ["Messaging", "Storage"])
        body = result["templateBody"]
        self.assertIn(f"      Location: {urls['Messaging']}\n", body)
        self.assertIn(f"      TemplateURL: {urls['Storage']}\n", body)
        self.assertIn('QueueName: !Sub "${Prefix}-jobs"', body)  # the rest as written
        listed = self.aws("s3api", "list-objects-v2", "--bucket", "pkg-bucket", "--prefix", "p/")
        keys = {o["Key"] for o in listed["Contents"]}
        for url in urls.values():
            self.assertIn(url.split("/pkg-bucket/", 1)[1], keys)
        # The packaged template deploys as it is (its Locations are S3 URLs now).
        self.write("app/packaged.yaml", body)
        self.deploy("--template-file", "packaged.yaml")
        self.assertEqual(self.nested_stack("Messaging")["StackStatus"], "CREATE_COMPLETE")


CODE_ROOT = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::Application
    Properties:
      Location: ./orders/template.yaml
      Parameters:
        Stage: prod
"""

# A child with a function and a layer of its own (SAM resources, kept for SAM's transform), and
# a nested stack of its own whose template holds a function too.
CODE_CHILD = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
Globals:
  Function:
    Runtime: python3.12
Resources:
  Common:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
      CompatibleRuntimes: [python3.12]
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/   # the worker
      Handler: app.handler
      Layers: [!Ref Common]
      Environment:
        Variables:
          STAGE: !Ref Stage
  Audit:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: audit/template.yaml
Outputs:
  FunctionName:
    Value: !Ref Worker
"""

AUDIT = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Auditor:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Runtime: python3.12
      Handler: audit.handler
"""

WORKER_CODE = 'import lib\ndef handler(event, context):\n    return lib.VALUE\n'
LAYER_CODE = 'VALUE = "from the layer"\n'
AUDIT_CODE = 'def handler(event, context):\n    return "audited"\n'


def sam_yaml(text):
    """A template's YAML as aws-sam-translator reads it (its yaml_parse: `!Ref` as {"Ref": ...})."""
    code = ("import json, sys\nfrom samtranslator.yaml_helper import yaml_parse\n"
            "print(json.dumps(yaml_parse(sys.stdin.read())))\n")
    proc = subprocess.run(["python3", "-c", code], input=text, capture_output=True, text=True, timeout=60,
                          env=harness.env())
    if proc.returncode != 0:
        raise AssertionError(f"yaml_parse failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


class NestedPackageCode(NestedTestCase):
    """wisp package of a child holding code, as `sam package` does it: the child's artifacts uploaded and named
    in the child's template, the child's own nested stacks likewise, then the child uploaded."""

    def write_app(self, child=CODE_CHILD):
        self.write("app/template.yaml", CODE_ROOT)
        self.write("app/orders/template.yaml", child)
        self.write("app/orders/worker/app.py", WORKER_CODE)
        self.write("app/orders/layer/python/lib.py", LAYER_CODE)
        self.write("app/orders/audit/template.yaml", AUDIT)
        self.write("app/orders/audit/src/audit.py", AUDIT_CODE)

    def package(self, code=0):
        proc = wisp("package", "--endpoint-url", self.url, "--s3-bucket", "pkg-bucket", "--s3-prefix", "p",
                    "--output", "json", cwd=self.app, timeout=180)
        self.assertWisp(proc, code)
        return json.loads(proc.stdout) if code == 0 else proc

    def objects(self):
        listed = self.aws("s3api", "list-objects-v2", "--bucket", "pkg-bucket")
        return {o["Key"]: o["ETag"] for o in listed.get("Contents", [])}

    def fetch(self, location, name):
        """The object an s3:// or https:// location names, as bytes."""
        if location.startswith("https://"):
            prefix = "https://s3.us-east-1.amazonaws.com/pkg-bucket/"
            self.assertTrue(location.startswith(prefix), location)
            key = location[len(prefix):]
        else:
            self.assertTrue(location.startswith("s3://pkg-bucket/"), location)
            key = location[len("s3://pkg-bucket/"):]
        out = self.path(name)
        proc = subprocess.run(["aws", "--endpoint-url", self.url, "s3", "cp", f"s3://pkg-bucket/{key}", str(out)],
                              capture_output=True, text=True, timeout=60, env=harness.env())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(out, "rb") as f:
            return f.read()

    def zip_files(self, location, name):
        import io
        import zipfile
        with zipfile.ZipFile(io.BytesIO(self.fetch(location, name))) as z:
            return {n: z.read(n).decode() for n in z.namelist() if not n.endswith("/")}

    def test_child_with_function_and_layer_is_packaged_recursively(self):
        self.aws("s3api", "create-bucket", "--bucket", "pkg-bucket")
        result = self.package()
        urls = {t["logicalId"]: t["location"] for t in result["nestedTemplates"]}
        self.assertEqual(list(urls), ["Orders"])
        self.assertRegex(urls["Orders"], r"^https://s3\.us-east-1\.amazonaws\.com/pkg-bucket/p/[0-9a-f]{64}\.template$")
        body = result["templateBody"]
        self.assertIn(f"      Location: {urls['Orders']}\n", body)
        self.assertIn("        Stage: prod\n", body)  # the rest as written
        artifacts = {a["logicalId"]: a for a in result["artifacts"]}
        self.assertEqual(sorted(artifacts), ["Orders/Audit/Auditor", "Orders/Common", "Orders/Worker"])
        self.assertTrue(all(a["uploaded"] for a in artifacts.values()), artifacts)

        # The child as uploaded: its text with only the code locations changed, SAM's transform kept.
        child_text = self.fetch(urls["Orders"], "child.yaml").decode()
        child = sam_yaml(child_text)
        self.assertEqual(child["Transform"], "AWS::Serverless-2016-10-31")
        self.assertIn("# the worker", child_text)
        resources = child["Resources"]
        worker_uri = resources["Worker"]["Properties"]["CodeUri"]
        layer_uri = resources["Common"]["Properties"]["ContentUri"]
        self.assertEqual(worker_uri, artifacts["Orders/Worker"]["location"])
        self.assertEqual(layer_uri, artifacts["Orders/Common"]["location"])
        self.assertRegex(worker_uri, r"^s3://pkg-bucket/p/[0-9a-f]{64}\.zip$")
        self.assertEqual(self.zip_files(worker_uri, "worker.zip"), {"app.py": WORKER_CODE})
        self.assertEqual(self.zip_files(layer_uri, "layer.zip"), {"python/lib.py": LAYER_CODE})

        # Its own nested stack: packaged the same way, its URL in the child's TemplateURL.
        audit_url = resources["Audit"]["Properties"]["TemplateURL"]
        self.assertRegex(audit_url, r"^https://s3\.us-east-1\.amazonaws\.com/pkg-bucket/p/[0-9a-f]{64}\.template$")
        audit = sam_yaml(self.fetch(audit_url, "audit.yaml").decode())
        auditor_uri = audit["Resources"]["Auditor"]["Properties"]["CodeUri"]
        self.assertEqual(auditor_uri, artifacts["Orders/Audit/Auditor"]["location"])
        self.assertEqual(self.zip_files(auditor_uri, "auditor.zip"), {"audit.py": AUDIT_CODE})

        # aws-sam-translator takes the packaged child: the function and layer read the uploaded zips.
        sam = samtranslator(self.write("sam/child.yaml", child_text))
        function = sam["Resources"]["Worker"]
        self.assertEqual(function["Properties"]["Code"],
                         {"S3Bucket": "pkg-bucket", "S3Key": worker_uri[len("s3://pkg-bucket/"):]})
        layers = [r for r in sam["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
        self.assertEqual([r["Properties"]["Content"] for r in layers],
                         [{"S3Bucket": "pkg-bucket", "S3Key": layer_uri[len("s3://pkg-bucket/"):]}])
        self.assertEqual(sam["Resources"]["Audit"]["Properties"]["TemplateURL"], audit_url)

        # Packaged again: the same bytes, nothing uploaded.
        before = self.objects()
        again = self.package()
        self.assertEqual(again["templateBody"], body)
        self.assertEqual(again["uploads"], 0)
        self.assertFalse(any(a["uploaded"] for a in again["artifacts"]), again["artifacts"])
        self.assertEqual(self.objects(), before)

        # wisp deploy of the packaged template reads the uploaded child back and deploys its function with
        # wisp's engine (test_deploy_nested_packaged.py checks it in full): the app's stack names the child
        # template wisp generated, not the packaged one.
        self.write("app/packaged.yaml", body)
        deployed_proc = self.deploy("--template-file", "packaged.yaml")
        self.assertIn(f"read nested template Orders: {urls['Orders']}", deployed_proc.stderr)
        deployed = self.aws("cloudformation", "get-template", "--stack-name", STACK)["TemplateBody"]
        self.assertRegex(deployed["Resources"]["Orders"]["Properties"]["TemplateURL"],
                         r"/wisp-managed-123456789012-us-east-1/shop/[0-9a-f]{64}\.template$")
        self.assertEqual(deployed["Resources"]["Orders"]["Properties"]["Parameters"]["Stage"], "prod")
        self.assertIsNotNone(self.aws("lambda", "get-alias", "--function-name", "shop-Orders-Worker", "--name", "live"))

        # A changed function in the child: a new zip, so a new child template and a new Location.
        self.write("app/orders/worker/app.py", WORKER_CODE + "# v2\n")
        changed = self.package()
        self.assertNotEqual(changed["nestedTemplates"], result["nestedTemplates"])
        self.assertEqual([a["logicalId"] for a in changed["artifacts"] if a["uploaded"]], ["Orders/Worker"])

    def test_child_code_uri_missing_names_the_child(self):
        self.write_app(child=CODE_CHILD.replace("CodeUri: worker/", "CodeUri: nothere/"))
        self.aws("s3api", "create-bucket", "--bucket", "pkg-bucket")
        proc = self.package(code=1)
        self.assertRegex(proc.stderr, r"orders/template\.yaml:\d+:\d+: .*nothere")
        self.assertNotIn("Traceback", proc.stderr)
        self.assertEqual(self.objects(), {})  # nothing uploaded


class NestedBadInput(NestedTestCase):
    def refused(self, pattern):
        proc = self.deploy(code=1)
        self.assertRegex(proc.stderr, pattern)
        self.assertNotIn("Traceback", proc.stderr)
        self.assertIsNone(self.aws("cloudformation", "describe-stacks", "--stack-name", STACK, check=False))
        return proc

    def test_missing_child_names_the_location(self):
        self.write_app(root=ROOT.replace("./messaging.yaml", "./nothere.yaml"))
        self.refused(r"template\.yaml:11:17: error: nested application 'Messaging': its template nothere\.yaml does "
                     r"not exist")

    def test_child_yaml_error_names_the_child(self):
        self.write_app(messaging="Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n   bad: [\n")
        self.refused(r"messaging\.yaml:4:\d+: error: YAML syntax error")

    def test_cycle(self):
        self.write_app(messaging="Transform: AWS::Serverless-2016-10-31\nParameters:\n  QueueName:\n    Type: String\n"
                                 "Resources:\n  Loop:\n    Type: AWS::Serverless::Application\n    Properties:\n"
                                 "      Location: ./storage/storage.yaml\n",
                       storage="Resources:\n  Back:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n"
                               "      TemplateURL: ../messaging.yaml\n")
        self.refused(r"storage/storage\.yaml:5:20: error: nested stack 'Back': messaging\.yaml includes itself "
                     r"\(template\.yaml → messaging\.yaml → storage/storage\.yaml → messaging\.yaml\)")

    def test_application_from_the_repository_is_refused(self):
        self.write_app(root=ROOT.replace(
            "Location: ./messaging.yaml",
            "Location:\n        ApplicationId: arn:aws:serverlessrepo:us-east-1:123456789012:applications/x\n"
            "        SemanticVersion: 1.0.0"))
        self.refused(r"template\.yaml:12:9: Messaging: a nested application from the Serverless Application "
                     r"Repository")


if __name__ == "__main__":
    harness.main()
