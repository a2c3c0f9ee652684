"""The libraries Lambda's runtimes ship, for functions that use them without bundling them:
node functions (CommonJS and ES modules) using @aws-sdk/client-dynamodb with no package.json,
talking to moto_server through AWS_ENDPOINT_URL; boto3 for a python whose interpreter has none;
and what happens when npm cannot reach its registry (one clear error, nothing half-written)."""

import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import unittest

import boto3

import harness
from harness import Moto, WispTestCase, wisp

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  PutCjs:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: put.handler
      CodeUri: cjs/
      Timeout: 30
  GetEsm:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: get.handler
      CodeUri: esm/
      Timeout: 30
  Sqs:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: sqs.handler
      CodeUri: sqs/
  SmithyCjs:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: sign.handler
      CodeUri: smithy-cjs/
      Timeout: 30
  CrtOptional:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs22.x
      Handler: bundle.handler
      CodeUri: crt-optional/
      Timeout: 30
  SmithyEsm:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs22.x
      Handler: sign.handler
      CodeUri: smithy-esm/
      Timeout: 30
"""

PUT_CJS = """\
const { DynamoDBClient, PutItemCommand } = require('@aws-sdk/client-dynamodb');
const client = new DynamoDBClient({});
exports.handler = async (event) => {
  await client.send(new PutItemCommand({
    TableName: 'orders', Item: { id: { S: event.id }, total: { N: String(event.total) } } }));
  return { stored: event.id };
};
"""

# Shaped like a bundle that inlines the SDK: its optional CRT signer stays a require inside
# try/catch, which Lambda's runtime (without that package) answers MODULE_NOT_FOUND.
CRT_OPTIONAL = """\
let crt = 'loaded';
try { require("@aws-sdk/signature-v4-crt"); } catch (e) { crt = e.code; }
const { HttpRequest } = require('@smithy/protocol-http');
exports.handler = async () => ({ crt, isRequest: HttpRequest.isInstance(new HttpRequest({})) });
"""

GET_ESM = """\
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
const client = new DynamoDBClient({});
export const handler = async (event) => {
  const out = await client.send(new GetItemCommand({ TableName: 'orders', Key: { id: { S: event.id } } }));
  return { id: out.Item.id.S, total: Number(out.Item.total.N) };
};
"""

# The SDK's building blocks, imported directly (as functions that sign their own requests do):
# in Lambda they resolve from the runtime's node_modules, beside @aws-sdk/*.
SIGN_CJS = """\
const { HttpRequest } = require('@smithy/protocol-http');
const { Sha256 } = require('@aws-crypto/sha256-js');
// An optional require of a name npm does not have (bundles that inline the SDK keep such ones):
let optional = 'absent';
try { optional = require('@aws-sdk/wisp-no-such-package'); } catch (e) {}
exports.handler = async (event) => {
  const hash = new Sha256();
  hash.update(event.text);
  const request = new HttpRequest({ method: 'POST', hostname: 'example.com', path: '/items' });
  return { sha256: Buffer.from(await hash.digest()).toString('hex'), method: request.method,
           isRequest: HttpRequest.isInstance(request), optional };
};
"""

SIGN_ESM = """\
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
export const handler = async (event) => {
  const signer = new SignatureV4({ service: 'execute-api', region: 'eu-west-1', sha256: Sha256,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
  const request = new HttpRequest({ method: 'GET', hostname: 'example.com', path: '/items',
                                    headers: { host: 'example.com' } });
  const signed = await signer.sign(request, { signingDate: new Date(Date.UTC(2026, 0, 2)) });
  return { authorization: signed.headers.authorization, date: signed.headers['x-amz-date'] };
};
"""


def expected_sigv4_authorization(signed_headers):
    """SigV4 of SIGN_ESM's request, computed here from the specification's steps, over the headers
    the signer chose to sign (newer @smithy/signature-v4 releases add x-amz-content-sha256)."""
    empty = hashlib.sha256(b"").hexdigest()
    values = {"host": "example.com", "x-amz-date": "20260102T000000Z", "x-amz-content-sha256": empty}
    names = signed_headers.split(";")
    scope = "20260102/eu-west-1/execute-api/aws4_request"
    canonical = "\n".join(["GET", "/items", ""] + [f"{n}:{values[n]}" for n in names] +
                          ["", signed_headers, empty])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", "20260102T000000Z", scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = b"AWS4secret"
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{scope}, SignedHeaders={signed_headers}, "
            f"Signature={signature}")


class NodeSdk(WispTestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("node", "npm"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest(f"PEER MISSING: {tool}")
        cls.moto = Moto().__enter__()
        cls.cache = tempfile.mkdtemp(prefix="wisp-runtime-libs-cache-")

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)
        shutil.rmtree(cls.cache, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.write("template.yaml", TEMPLATE)
        self.write("cjs/put.js", PUT_CJS)
        self.write("esm/get.mjs", GET_ESM)
        self.write("sqs/sqs.js", "const { SQSClient } = require('@aws-sdk/client-sqs');\n"
                                 "exports.handler = async () => 'never';\n")
        self.write("smithy-cjs/sign.js", SIGN_CJS)
        self.write("smithy-esm/sign.mjs", SIGN_ESM)
        self.write("crt-optional/bundle.js", CRT_OPTIONAL)

    def invoke(self, function, event, extra_env=None):
        env = {"XDG_CACHE_HOME": self.cache}
        env.update(extra_env or {})
        return wisp("local", "invoke", function, "--endpoint-url", self.moto.url, "-e", "-",
                    cwd=self.tmp, input=json.dumps(event), extra_env=env, timeout=300)

    def test_put_then_get_with_the_runtime_sdk(self):
        dynamodb = boto3.client("dynamodb", endpoint_url=self.moto.url)
        dynamodb.create_table(TableName="orders", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        put = self.invoke("PutCjs", {"id": "o-1", "total": 42})
        self.assertEqual(put.returncode, 0, put.stderr)
        self.assertEqual(json.loads(put.stdout), {"stored": "o-1"})
        self.assertIn("function PutCjs: installing @aws-sdk/client-dynamodb", put.stderr)
        get = self.invoke("GetEsm", {"id": "o-1"})
        self.assertEqual(get.returncode, 0, get.stderr)
        self.assertEqual(json.loads(get.stdout), {"id": "o-1", "total": 42})
        self.assertNotIn("installing", get.stderr)  # the cache already has it
        item = dynamodb.get_item(TableName="orders", Key={"id": {"S": "o-1"}})["Item"]
        self.assertEqual(item["total"], {"N": "42"})

    def test_an_es_module_a_layer_ships_imports_the_runtime_sdk(self):
        # /opt/nodejs/orders.mjs (a layer's file, outside /var/task) imports @aws-sdk/*: Lambda's
        # runtimes resolve it from NODE_PATH for ES modules too.
        self.write("template.yaml", TEMPLATE + """\
  OrdersLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: orders-layer/
  GetViaLayer:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: app.handler
      CodeUri: via-layer/
      Timeout: 30
      Layers: [!Ref OrdersLayer]
""")
        self.write("orders-layer/nodejs/orders.mjs",
                   "import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';\n"
                   "const client = new DynamoDBClient({});\n"
                   "export const total = async (id) => Number((await client.send(new GetItemCommand("
                   "{ TableName: 'orders-layer', Key: { id: { S: id } } }))).Item.total.N);\n")
        self.write("via-layer/app.mjs",
                   "import { total } from '/opt/nodejs/orders.mjs';\n"
                   "export const handler = async (event) => ({ total: await total(event.id) });\n")
        dynamodb = boto3.client("dynamodb", endpoint_url=self.moto.url)
        dynamodb.create_table(TableName="orders-layer", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        dynamodb.put_item(TableName="orders-layer", Item={"id": {"S": "o-9"}, "total": {"N": "7"}})
        # A cache of its own: the layer's import alone must make wisp install the package.
        cache = self.path("own-cache")
        get = self.invoke("GetViaLayer", {"id": "o-9"}, extra_env={"XDG_CACHE_HOME": cache})
        self.assertIn("function GetViaLayer: installing @aws-sdk/client-dynamodb", get.stderr)
        self.assertEqual(get.returncode, 0, get.stdout + get.stderr)
        self.assertEqual(json.loads(get.stdout), {"total": 7})

    def test_a_function_that_bundles_its_own_sdk_keeps_it(self):
        # A stand-in package under the function's own node_modules wins over the runtime's.
        self.write("cjs/node_modules/@aws-sdk/client-dynamodb/package.json",
                   '{"name":"@aws-sdk/client-dynamodb","version":"0.0.0-own","main":"index.js"}')
        self.write("cjs/node_modules/@aws-sdk/client-dynamodb/index.js",
                   "class DynamoDBClient { async send() { return 'own'; } }\n"
                   "class PutItemCommand {}\nmodule.exports = { DynamoDBClient, PutItemCommand };\n")
        proc = self.invoke("PutCjs", {"id": "o-2", "total": 1})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("installing", proc.stderr)

    def test_smithy_and_aws_crypto_packages_without_a_package_json(self):
        cjs = self.invoke("SmithyCjs", {"text": "abc"})
        self.assertEqual(cjs.returncode, 0, cjs.stderr)
        self.assertEqual(json.loads(cjs.stdout), {
            "sha256": hashlib.sha256(b"abc").hexdigest(), "method": "POST", "isRequest": True,
            "optional": "absent"})
        self.assertIn("function SmithyCjs: @aws-sdk/wisp-no-such-package (imported in sign.js) is "
                      "not installed: npm's registry has no such package", cjs.stderr)
        esm = self.invoke("SmithyEsm", {})
        self.assertEqual(esm.returncode, 0, esm.stderr)
        out = json.loads(esm.stdout)
        self.assertEqual(out["date"], "20260102T000000Z")
        signed = re.search(r"SignedHeaders=([a-z0-9;-]+)", out["authorization"])
        self.assertIsNotNone(signed, out)
        self.assertIn(signed.group(1), ("host;x-amz-date", "host;x-amz-content-sha256;x-amz-date"))
        self.assertEqual(out["authorization"], expected_sigv4_authorization(signed.group(1)))
        # Installed into the cache, not into the function's directory.
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "smithy-cjs", "node_modules")))
        root = os.path.join(self.cache, "wisp", "runtime-libs")
        trees = [os.path.join(root, sdk, "current", "node_modules") for sdk in os.listdir(root)]
        for package in ("@smithy/protocol-http", "@smithy/signature-v4", "@aws-crypto/sha256-js"):
            self.assertTrue(any(os.path.isfile(os.path.join(t, package, "package.json")) for t in trees),
                            package)
        # The name npm lacks is remembered: the next run does not ask npm again.
        again = self.invoke("SmithyCjs", {"text": "abc"})
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertNotIn("installing", again.stderr)
        self.assertIn("is not installed: npm's registry has no such package (noted in", again.stderr)

    def test_the_optional_crt_signer_is_not_installed(self):
        proc = self.invoke("CrtOptional", {})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(json.loads(proc.stdout), {"crt": "MODULE_NOT_FOUND", "isRequest": True})
        self.assertNotIn("signature-v4-crt", proc.stderr)
        root = os.path.join(self.cache, "wisp", "runtime-libs")
        for sdk in os.listdir(root):
            tree = os.path.join(root, sdk, "current", "node_modules")
            for package in ("@aws-sdk/signature-v4-crt", "aws-crt"):
                self.assertFalse(os.path.exists(os.path.join(tree, package)), package)

    def test_an_unreachable_registry_is_one_clear_error_and_leaves_nothing(self):
        dead = harness.free_port()  # nothing listens there
        npm_cache = os.path.join(self.tmp, "empty-npm-cache")
        proc = self.invoke("Sqs", {}, extra_env={
            "npm_config_registry": f"http://127.0.0.1:{dead}/",
            "npm_config_cache": npm_cache, "npm_config_fetch_retries": "0"})
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("function Sqs: @aws-sdk/client-sqs (sqs.js) not installed", proc.stderr)
        self.assertIn("npm install failed", proc.stderr)
        self.assertIn("Install it yourself: add @aws-sdk/client-sqs to the package.json", proc.stderr)
        self.assertEqual(proc.stdout, "")
        root = os.path.join(self.cache, "wisp", "runtime-libs")
        leftovers = [name for sdk in os.listdir(root) for name in os.listdir(os.path.join(root, sdk))
                     if name.startswith("tmp-")]
        self.assertEqual(leftovers, [])
        for sdk in os.listdir(root):
            current = os.path.join(root, sdk, "current", "node_modules", "@aws-sdk", "client-sqs")
            self.assertFalse(os.path.exists(current))


def python_without_boto3():
    """An installed python3.X (X >= 12) that cannot import boto3: (minor, path), or None."""
    for minor in (13, 12):
        command = shutil.which(f"python3.{minor}")
        if command is None:
            continue
        versions = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True)
        envs = [{}] + [{"PYENV_VERSION": v} for v in versions.stdout.split() if v.startswith(f"3.{minor}.")]
        for extra in envs:
            probe = subprocess.run([command, "-c", "import importlib.util as u, sys; "
                                    "print(sys.executable, u.find_spec('boto3') is None)"],
                                   capture_output=True, text=True, env=harness.env(**extra))
            if probe.returncode == 0:
                executable, missing = probe.stdout.split()
                if missing == "True":
                    return minor, executable
                break
    return None


class PythonBoto3(WispTestCase):
    def test_boto3_for_a_python_without_it(self):
        found = python_without_boto3()
        if found is None:
            raise unittest.SkipTest("PEER MISSING: a python3.12/3.13 without boto3")
        minor, _ = found
        self.write("template.yaml", textwrap.dedent(f"""\
            AWSTemplateFormatVersion: '2010-09-09'
            Transform: AWS::Serverless-2016-10-31
            Resources:
              Fn:
                Type: AWS::Serverless::Function
                Properties:
                  Runtime: python3.{minor}
                  Handler: app.handler
                  CodeUri: src/
            """))
        self.write("src/app.py", "import boto3, botocore\n"
                                 "def handler(e, c):\n"
                                 "    return [boto3.__version__, boto3.__file__]\n")
        cache = self.path("cache")
        proc = wisp("local", "invoke", "Fn", cwd=self.tmp, extra_env={"XDG_CACHE_HOME": cache},
                    timeout=300)
        if proc.returncode != 0:
            # pip could not reach its index and no other interpreter here has boto3: the error
            # says what to install.
            self.assertIn("function Fn: boto3 (app.py) not installed", proc.stderr)
            self.assertIn(f"-m pip install boto3==", proc.stderr)
            return
        version, path = json.loads(proc.stdout)
        self.assertTrue(path.startswith(f"/var/lang/lib/python3.{minor}/site-packages/") or
                        path.startswith(os.path.join(cache, "wisp", "runtime-libs")), path)
        if "copied from the site-packages of python" in proc.stderr:
            self.assertIn(f"boto3 {version}", proc.stderr)
        # Installed once: the second run says nothing about installing.
        again = wisp("local", "invoke", "Fn", cwd=self.tmp, extra_env={"XDG_CACHE_HOME": cache})
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertNotIn("installing", again.stderr)


if __name__ == "__main__":
    harness.main()
