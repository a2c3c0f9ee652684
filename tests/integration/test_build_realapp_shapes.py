"""Shapes of real SAM apps that `wisp build` used to refuse where SAM builds them: a handler whose
module a layer provides (SAM never looks for the handler's file: a warning, then the handler
runs from /opt/python as in Lambda; a handler file nobody provides gets Lambda's own
Runtime.ImportModuleError), and a TypeScript app built with `BuildMethod: esbuild` on a machine
without esbuild (wisp installs the pinned esbuild from npm into its cache once; without npm's
registry, SAM's message and npm's reason)."""

import json
import os

import harness
from harness import WispTestCase, wisp

LAYER_HANDLER = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
      CompatibleRuntimes: [python3.12]
  FromLayer:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: shared_handler.handle
      Layers: [!Ref SharedLayer]
  Nowhere:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: missing_module.handle
"""

SHARED_HANDLER = """\
import os
import settings  # the function's own module, from /var/task
def handle(event, context):
    return {"from": os.path.dirname(__file__), "greeting": settings.GREETING, "event": event}
"""

ESBUILD_APP = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs22.x
      CodeUri: .
      Handler: orders.handler
    Metadata:
      BuildMethod: esbuild
      BuildProperties:
        Target: es2022
        Minify: true
        EntryPoints: [src/orders.ts]
"""

ORDERS_TS = """\
interface Order { id: string; qty: number }
export const handler = async (event: { orders?: Order[] }): Promise<{ total: number }> => {
  const total: number = (event.orders ?? []).reduce((sum: number, o: Order) => sum + o.qty, 0);
  return { total };
};
"""


def path_without(tool):
    return os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if not os.path.exists(os.path.join(p, tool)))


class HandlerFromALayer(WispTestCase):
    def setUp(self):
        super().setUp()
        harness.require_peer("python3.12", "runs python3.12 functions")
        self.write("template.yaml", LAYER_HANDLER)
        self.write("src/settings.py", "GREETING = 'hello from the function'\n")
        self.write("layer/python/shared_handler.py", SHARED_HANDLER)

    def test_build_warns_and_the_layer_handler_runs(self):
        built = wisp("build", cwd=self.tmp)
        self.assertWisp(built, 0, stderr_has=[
            "warning: handler 'shared_handler.handle' names shared_handler.py, which is not in "
            "CodeUri 'src/' (unless a layer or an exec wrapper provides it",
            "handler 'missing_module.handle' names missing_module.py"])
        self.assertIn("built  FromLayer", built.stdout)
        proc = wisp("local", "invoke", "FromLayer", "-e", "-", cwd=self.tmp, input='{"n": 1}')
        self.assertWisp(proc, 0)
        self.assertEqual(json.loads(proc.stdout),
                         {"from": "/opt/python", "greeting": "hello from the function",
                          "event": {"n": 1}})

    def test_a_handler_nobody_provides_gets_lambdas_error(self):
        self.assertWisp(wisp("build", cwd=self.tmp), 0)
        proc = wisp("local", "invoke", "Nowhere", "-e", "-", cwd=self.tmp, input="{}")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        body = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(body["errorType"], "Runtime.ImportModuleError")
        self.assertEqual(body["errorMessage"],
                         "Unable to import module 'missing_module': No module named 'missing_module'")


class EsbuildFromWispsCache(WispTestCase):
    def setUp(self):
        super().setUp()
        harness.require_peer("npm", "installs esbuild")
        self.write("template.yaml", ESBUILD_APP)
        self.write("src/orders.ts", ORDERS_TS)
        self.write("package.json", json.dumps({"name": "orders", "version": "1.0.0"}))
        self.cache = self.path("xdg-cache")
        self.env = {"PATH": path_without("esbuild"), "XDG_CACHE_HOME": self.cache}

    def test_esbuild_is_installed_once_then_the_bundle_runs(self):
        built = wisp("build", cwd=self.tmp, extra_env=self.env, timeout=600)
        self.assertWisp(built, 0, stderr_has=["installing esbuild@0.28.2 with npm into " +
                                              os.path.join(self.cache, "wisp", "tools")])
        self.assertTrue(os.access(os.path.join(self.cache, "wisp", "tools", "esbuild-0.28.2",
                                               "node_modules", ".bin", "esbuild"), os.X_OK))
        tools = os.listdir(os.path.join(self.cache, "wisp", "tools"))
        self.assertEqual([t for t in tools if t.startswith("tmp-")], [])
        proc = wisp("local", "invoke", "Orders", "-e", "-", cwd=self.tmp, extra_env=self.env,
                    input=json.dumps({"orders": [{"id": "a", "qty": 2}, {"id": "b", "qty": 5}]}))
        self.assertWisp(proc, 0)
        self.assertEqual(json.loads(proc.stdout), {"total": 7})
        again = wisp("build", cwd=self.tmp, extra_env=self.env, timeout=600)
        self.assertWisp(again, 0)
        self.assertNotIn("installing esbuild", again.stderr)

    def test_without_npms_registry_sams_message_and_npms_reason(self):
        env = dict(self.env, npm_config_offline="true",
                   npm_config_cache=self.path("empty-npm-cache"))
        proc = wisp("build", cwd=self.tmp, extra_env=env, timeout=600)
        self.assertWisp(proc, 1, stderr_has=[
            "Orders: Cannot find esbuild. esbuild must be installed on the host machine",
            "wisp could not install esbuild@0.28.2 (npm install",
            "ENOTCACHED"])
        tools = os.path.join(self.cache, "wisp", "tools")
        self.assertEqual([t for t in os.listdir(tools) if t != ".esbuild.lock"], [])


if __name__ == "__main__":
    harness.main()
