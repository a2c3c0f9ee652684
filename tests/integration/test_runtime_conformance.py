"""Conformance with AWS's own runtime client: a Node handler run by aws-lambda-ric 3.3.0
(its native part is aws-lambda-cpp; streaming goes through Node's http) against wisp's
Runtime API, through `wisp local invoke` with a `provided` function whose bootstrap execs the
client. Success, a thrown error, an init error, streaming, and streaming with a mid-stream
error (trailers)."""

import json
import os
import textwrap

import harness
from harness import WispTestCase, wisp

RIC = os.path.join(harness.PEERS_DIR, "aws-lambda-ric", "node_modules", ".bin", "aws-lambda-ric")

HANDLERS = """
exports.ok = async (event, context) => {
  console.log('ric says hi');
  return { ok: true, event, fn: context.functionName, rid: context.awsRequestId,
           remaining: context.getRemainingTimeInMillis() > 0 };
};
exports.fail = async () => { throw new TypeError('boom'); };
exports.stream = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType('text/plain');
  responseStream.write('first,');
  await new Promise((r) => setTimeout(r, 30));
  responseStream.write('second');
  if (event.fail) throw new Error('mid-stream failure');
  responseStream.end();
});
"""

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: provided.al2023
    CodeUri: fn/
    Timeout: 10
Resources:
  Ok:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.ok}
  Fail:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.fail}
  Stream:
    Type: AWS::Serverless::Function
    Properties: {Handler: index.stream}
  Missing:
    Type: AWS::Serverless::Function
    Properties: {Handler: missing.handler}
"""


class AwsLambdaRic(WispTestCase):
    def setUp(self):
        super().setUp()
        harness.require_peer("node")
        if not os.access(RIC, os.X_OK):
            raise harness.unittest.SkipTest(
                f"PEER MISSING: aws-lambda-ric 3.3.0 not installed at {RIC} "
                "(packaging/install-deps.sh --with-peers)"
            )
        self.write("template.yaml", TEMPLATE)
        self.write("fn/index.js", textwrap.dedent(HANDLERS))
        # The bootstrap is the client itself, resolving _HANDLER relative to the task root.
        self.write("fn/bootstrap", f'#!/bin/sh\ncd "$LAMBDA_TASK_ROOT"\nexec "{RIC}" "$_HANDLER"\n', 0o755)

    def invoke(self, name, event="{}"):
        return wisp("local", "invoke", name, "-e", "-", cwd=self.tmp, input=event, timeout=120)

    def test_success(self):
        proc = self.invoke("Ok", '{"n": 1}')
        self.assertWisp(proc, 0)
        out = json.loads(proc.stdout)
        self.assertEqual(out["event"], {"n": 1})
        self.assertEqual(out["fn"], "Ok")
        self.assertTrue(out["remaining"])
        self.assertIn(f"\t{out['rid']}\tINFO\tric says hi", proc.stderr)
        self.assertIn(f"START RequestId: {out['rid']} Version: $LATEST", proc.stderr)
        self.assertIn(f"REPORT RequestId: {out['rid']}\tDuration: ", proc.stderr)

    def test_thrown_error(self):
        # The native client posts /error without Lambda-Runtime-Function-Error-Type and with
        # `trace` rather than `stackTrace` (protocols.md §5): passed through verbatim.
        proc = self.invoke("Fail")
        self.assertWisp(proc, 1)
        body = json.loads(proc.stdout)
        self.assertEqual(body["errorType"], "TypeError")
        self.assertEqual(body["errorMessage"], "boom")
        self.assertEqual(body["trace"][0], "TypeError: boom")

    def test_init_error(self):
        proc = self.invoke("Missing")
        self.assertWisp(proc, 1)
        body = json.loads(proc.stdout)
        self.assertEqual(body["errorType"], "Runtime.ImportModuleError")
        self.assertIn("Cannot find module 'missing'", body["errorMessage"])
        self.assertRegex(proc.stderr, r"INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError")

    def test_streaming(self):
        proc = self.invoke("Stream")
        self.assertWisp(proc, 0)
        self.assertEqual(proc.stdout, "first,second")

    def test_streaming_with_a_mid_stream_error(self):
        proc = self.invoke("Stream", '{"fail": true}')
        self.assertWisp(proc, 1)
        streamed, error = proc.stdout.split("\n", 1)
        self.assertEqual(streamed, "first,second")
        body = json.loads(error)
        # From the trailers: Lambda-Runtime-Function-Error-Type and the base64 Error-Body.
        self.assertEqual(body["errorType"], "Error")
        self.assertEqual(body["errorMessage"], "mid-stream failure")
        self.assertEqual(body["trace"][0], "Error: mid-stream failure")


if __name__ == "__main__":
    harness.main()
