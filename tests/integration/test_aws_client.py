"""wisp's AWS client (src/wisp/aws, driven through tests/tools/aws_probe.cpp) against
moto_server, the aws CLI and botocore: SigV4 verified by moto with signature checks on and
by botocore's signer, the credential chain, retries through a fault-injecting proxy, S3
round trips, and secrets that never show up in output."""

import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import harness
from aws_proxy import FaultProxy
from harness import Moto, WispTestCase

PROBE = os.path.join(
    os.environ.get("WISP_BUILD_DIR", os.path.join(harness.SOURCE_DIR, "build", "dev")),
    "tests",
    "wisp_aws_probe",
)
ORACLE = os.path.join(harness.SOURCE_DIR, "tests", "tools", "sigv4_oracle.py")


def probe(*args, extra_env=None, timeout=60, input=None):
    return subprocess.run(
        [PROBE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        env=harness.env(**(extra_env or {})),
    )


def aws_cli(url, *args, extra_env=None):
    harness.require_peer("aws", "the AWS CLI")
    proc = subprocess.run(
        ["aws", "--endpoint-url", url, "--output", "json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=harness.env(**(extra_env or {})),
    )
    if proc.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed: {proc.stderr}")
    return json.loads(proc.stdout) if proc.stdout.strip() else None


class MotoWithAuth(Moto):
    """moto_server that enforces SigV4 after the first `free` calls."""

    def __init__(self, free):
        super().__init__()
        self.free = free

    def __enter__(self):
        old = os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT")
        os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = str(self.free)
        try:
            return super().__enter__()
        finally:
            if old is None:
                os.environ.pop("INITIAL_NO_AUTH_ACTION_COUNT")
            else:
                os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = old


def setUpModule():
    if not os.path.exists(PROBE):
        raise unittest.SkipTest(f"PEER MISSING: {PROBE} was not built")


class S3RoundTrip(WispTestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)

    def call(self, *args, **kw):
        return probe("--endpoint-url", self.moto.url, *args, **kw)

    def test_put_with_wisp_read_with_aws_cli_and_back(self):
        self.assertEqual(self.call("s3", "mb", "round-trip").returncode, 0)
        # Creating it again is fine (the bucket is ours).
        self.assertEqual(self.call("s3", "mb", "round-trip").returncode, 0)
        payload = os.urandom(3 * 1024 * 1024 + 17)  # streamed from a file
        src = self.write("payload.bin", payload)
        key = "dir/a b+c~d=é.zip"
        put = self.call("s3", "put", "round-trip", key, src, "--meta", "wisp-digest=abc")
        self.assertEqual(put.returncode, 0, put.stderr)
        out = self.path("via-cli.bin")
        head = aws_cli(self.moto.url, "s3api", "get-object", "--bucket", "round-trip", "--key", key, out)
        self.assertEqual(head["Metadata"], {"wisp-digest": "abc"})
        with open(out, "rb") as f:
            self.assertEqual(f.read(), payload)
        self.assertEqual(json.loads(put.stdout)["etag"], head["ETag"])

        aws_cli(self.moto.url, "s3api", "put-object", "--bucket", "round-trip", "--key", "from-cli.txt",
                "--body", src)
        got = self.call("s3", "get", "round-trip", "from-cli.txt", self.path("sub", "got.bin"))
        self.assertEqual(got.returncode, 0, got.stderr)
        with open(self.path("sub", "got.bin"), "rb") as f:
            self.assertEqual(f.read(), payload)

        listing = json.loads(self.call("s3", "ls", "round-trip").stdout)
        self.assertEqual([o["key"] for o in listing], [key, "from-cli.txt"])
        only_dir = json.loads(self.call("s3", "ls", "round-trip", "dir/").stdout)
        self.assertEqual([o["key"] for o in only_dir], [key])

    def test_missing_objects_and_buckets(self):
        self.call("s3", "mb", "missing-things")
        head = self.call("s3", "head", "missing-things", "nope")
        self.assertEqual((head.returncode, head.stdout.strip()), (0, "null"))
        # A failed download leaves no file behind.
        target = self.path("never.bin")
        got = self.call("s3", "get", "missing-things", "nope", target)
        self.assertEqual((got.returncode, got.stdout.strip()), (0, "false"))
        self.assertFalse(os.path.exists(target))
        self.assertEqual(os.listdir(self.tmp), [])
        listing = self.call("s3", "ls", "no-such-bucket-here")
        self.assertEqual(listing.returncode, 1)
        self.assertIn("s3 ListObjectsV2: NoSuchBucket: ", listing.stderr)
        self.assertIn("(HTTP 404", listing.stderr)
        self.assertEqual(json.loads(self.call("s3", "exists", "no-such-bucket-here").stdout), False)
        self.assertEqual(json.loads(self.call("s3", "exists", "missing-things").stdout), True)
        self.assertEqual(self.call("s3", "rm", "missing-things", "nope").returncode, 0)

    def test_conditional_writes(self):
        self.call("s3", "mb", "conditional")
        first = self.call("s3", "put-text", "conditional", "lock", "one", "--if-none-match")
        self.assertEqual(first.returncode, 0, first.stderr)
        second = self.call("s3", "put-text", "conditional", "lock", "two", "--if-none-match")
        self.assertEqual(second.returncode, 1)
        self.assertIn("code: PreconditionFailed", second.stderr)
        self.assertEqual(self.call("s3", "cat", "conditional", "lock").stdout, "one")
        etag = json.loads(first.stdout)["etag"]
        self.assertEqual(
            self.call("s3", "put-text", "conditional", "lock", "three", "--if-match", '"0000"').returncode, 1)
        ok = self.call("s3", "put-text", "conditional", "lock", "three", "--if-match", etag)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertEqual(self.call("s3", "cat", "conditional", "lock").stdout, "three")

    def test_protocols_and_service_errors(self):
        listed = self.call("rest-json", "lambda", "ListFunctions", "GET", "/2015-03-31/functions/")
        self.assertEqual(json.loads(listed.stdout), {"Functions": []})
        missing = self.call("rest-json", "lambda", "GetFunction", "GET", "/2015-03-31/functions/nope")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("error: lambda GetFunction: ResourceNotFoundException: Function not found: "
                      "arn:aws:lambda:us-east-1:123456789012:function:nope (HTTP 404", missing.stderr)
        logs = self.call("json", "logs", "Logs_20140328", "CreateLogGroup", '{"logGroupName": "/wisp/x"}')
        self.assertEqual(logs.returncode, 0, logs.stderr)
        again = self.call("json", "logs", "Logs_20140328", "CreateLogGroup", '{"logGroupName": "/wisp/x"}')
        self.assertIn("code: ResourceAlreadyExistsException", again.stderr)
        groups = aws_cli(self.moto.url, "logs", "describe-log-groups")
        self.assertIn("/wisp/x", [g["logGroupName"] for g in groups["logGroups"]])
        role = self.call("query", "iam", "GetRole", "2010-05-08", "RoleName=nope")
        self.assertIn("error: iam GetRole: NoSuchEntity: Role nope not found (HTTP 404", role.stderr)
        alarms = self.call("query", "cloudwatch", "PutMetricAlarm", "2010-08-01", "AlarmName=a b",
                           "MetricName=Errors", "Namespace=AWS/Lambda", "Statistic=Sum", "Period=60",
                           "EvaluationPeriods=1", "Threshold=1", "ComparisonOperator=GreaterThanThreshold")
        self.assertEqual(alarms.returncode, 0, alarms.stderr)
        described = aws_cli(self.moto.url, "cloudwatch", "describe-alarms", "--alarm-names", "a b")
        self.assertEqual(described["MetricAlarms"][0]["Threshold"], 1.0)
        who = json.loads(self.call("whoami").stdout)
        self.assertEqual(who["GetCallerIdentityResult"]["Account"], "123456789012")


class Signatures(WispTestCase):
    def test_matches_botocore_on_fresh_random_requests(self):
        seed = random.randrange(1 << 30)
        cases = subprocess.run([sys.executable, ORACLE, "--cases", "40", str(seed)], capture_output=True,
                               text=True, check=True).stdout
        expected = json.loads(subprocess.run([sys.executable, ORACLE], input=cases, capture_output=True,
                                             text=True, check=True).stdout)
        ours = probe("sign", input=cases)
        self.assertEqual(ours.returncode, 0, ours.stderr)
        got = json.loads(ours.stdout)
        for index, (mine, theirs) in enumerate(zip(got, expected)):
            self.assertEqual(mine, theirs, f"seed {seed}, case {index}")
        self.assertEqual(len(got), 40)

    def test_moto_enforcing_signatures_accepts_ours_and_rejects_a_wrong_secret(self):
        with MotoWithAuth(free=3) as moto:
            # The free calls create a user with full rights and an access key for it.
            subprocess.run(["aws", "--endpoint-url", moto.url, "iam", "create-user", "--user-name", "u"],
                           check=True, capture_output=True, env=harness.env())
            key = json.loads(subprocess.run(
                ["aws", "--endpoint-url", moto.url, "iam", "create-access-key", "--user-name", "u"],
                check=True, capture_output=True, text=True, env=harness.env()).stdout)["AccessKey"]
            policy = json.dumps({"Version": "2012-10-17",
                                 "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
            subprocess.run(["aws", "--endpoint-url", moto.url, "iam", "put-user-policy", "--user-name", "u",
                            "--policy-name", "all", "--policy-document", policy],
                           check=True, capture_output=True, env=harness.env())
            good = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
            bad = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": "not-the-secret-xyz"}
            base = ["--endpoint-url", moto.url]
            calls = [
                ["s3", "mb", "signed-bucket"],
                # moto's own check rejects '+', '=', non-ASCII in keys and '/', ' ' in query
                # values even from the aws CLI; botocore (above) covers those.
                ["s3", "put-text", "signed-bucket", "a key/with spaces~tilde", "body"],
                ["s3", "ls", "signed-bucket", "a~"],
                ["rest-json", "lambda", "ListFunctions", "GET", "/2015-03-31/functions/"],
                ["json", "logs", "Logs_20140328", "DescribeLogGroups", "{}"],
                ["query", "cloudwatch", "DescribeAlarms", "2010-08-01"],
                ["query", "iam", "ListRoles", "2010-05-08"],
                ["rest-json", "apigateway", "GetRestApis", "GET", "/restapis"],
                ["whoami"],
            ]
            for call in calls:
                ok = probe(*base, *call, extra_env=good)
                self.assertEqual(ok.returncode, 0, f"{call}: {ok.stderr}")
            for call in calls[2:]:
                rejected = probe(*base, "--debug", *call, extra_env=bad)
                self.assertEqual(rejected.returncode, 1, call)
                self.assertTrue("SignatureDoesNotMatch" in rejected.stderr or "InvalidClientTokenId" in rejected.stderr
                                or "AccessDenied" in rejected.stderr, rejected.stderr)
                self.assertNotIn("not-the-secret-xyz", rejected.stderr + rejected.stdout)
            self.assertEqual(probe(*base, "s3", "cat", "signed-bucket", "a key/with spaces~tilde",
                                   extra_env=good).stdout, "body")


class Credentials(WispTestCase):
    def setUp(self):
        super().setUp()
        self.home = self.path("home")
        os.makedirs(os.path.join(self.home, ".aws"))
        self.base_env = {"HOME": self.home, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                         "AWS_DEFAULT_REGION": "", "AWS_REGION": ""}

    def run_probe(self, *args, **env):
        merged = dict(self.base_env)
        merged.update(env)
        return probe(*args, extra_env=merged)

    def test_profile_files_and_credential_process(self):
        helper = self.write("helper.py", "import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': "
                            "'PROCESSKEY', 'SecretAccessKey': 'process-secret-xyz'}))\n")
        self.write("home/.aws/config", "[default]\nregion = eu-west-3\n[profile proc]\nregion = ap-south-1\n"
                   f"credential_process = {sys.executable} {helper}\n")
        self.write("home/.aws/credentials", "[default]\naws_access_key_id = FILEKEY\n"
                   "aws_secret_access_key = file-secret-xyz\n")
        default = self.run_probe("credentials")
        self.assertEqual(default.returncode, 0, default.stderr)
        self.assertEqual(json.loads(default.stdout),
                         {"source": "shared-credentials-file", "access_key_id": "FILEKEY",
                          "has_token": False, "region": "eu-west-3"})
        proc = self.run_probe("--profile", "proc", "credentials")
        self.assertEqual(json.loads(proc.stdout)["access_key_id"], "PROCESSKEY")
        self.assertEqual(json.loads(proc.stdout)["region"], "ap-south-1")
        by_env = self.run_probe("credentials", AWS_PROFILE="proc", AWS_REGION="us-west-1")
        self.assertEqual(json.loads(by_env.stdout)["source"], "custom-process")
        self.assertEqual(json.loads(by_env.stdout)["region"], "us-west-1")
        missing = self.run_probe("--profile", "nope", "credentials")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("The config profile (nope) could not be found", missing.stderr)
        for proc_result in (default, proc, by_env):
            self.assertNotIn("secret-xyz", proc_result.stdout + proc_result.stderr)

    def test_no_credentials_and_no_region(self):
        none = self.run_probe("credentials", AWS_REGION="us-east-1")
        self.assertEqual(none.returncode, 1)
        self.assertIn("Unable to locate credentials", none.stderr)
        no_region = self.run_probe("credentials")
        self.assertEqual(no_region.returncode, 1)
        self.assertIn("no AWS region: pass --region", no_region.stderr)
        bad_region = self.run_probe("--region", "us-east-1.evil.com/x", "credentials")
        self.assertIn("invalid AWS region", bad_region.stderr)
        bad_endpoint = self.run_probe("--region", "us-east-1", "--endpoint-url", "localhost:1", "credentials")
        self.assertIn("invalid endpoint URL 'localhost:1'", bad_endpoint.stderr)

    def test_instance_metadata_from_moto_only_when_enabled(self):
        with Moto() as moto:
            enabled = self.run_probe("credentials", AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="false",
                                     AWS_EC2_METADATA_SERVICE_ENDPOINT=moto.url)
            self.assertEqual(enabled.returncode, 0, enabled.stderr)
            self.assertEqual(json.loads(enabled.stdout)["source"], "iam-role")
            self.assertEqual(json.loads(enabled.stdout)["access_key_id"], "test-key")
            self.assertTrue(json.loads(enabled.stdout)["has_token"])
            disabled = self.run_probe("credentials", AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                                      AWS_EC2_METADATA_SERVICE_ENDPOINT=moto.url)
            self.assertEqual(disabled.returncode, 1)
            self.assertIn("Unable to locate credentials", disabled.stderr)


class Retries(WispTestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = Moto().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)

    def test_throttling_5xx_and_dropped_connections_are_retried(self):
        with FaultProxy(self.moto.url) as proxy:
            # A drop on a fresh connection is a transport failure wisp retries; a drop on a
            # reused keep-alive connection is retried by libcurl itself on a new one.
            proxy.schedule(["drop", "429", "500", "drop", "503"])
            started = time.monotonic()
            result = probe("--endpoint-url", proxy.url, "--base-delay-ms", "20", "--stats", "--debug",
                           "rest-json", "lambda", "ListFunctions", "GET", "/2015-03-31/functions/")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("stats: requests=5 mutating=0 retries=4", result.stderr)
            self.assertEqual([r["fault"] for r in proxy.records], ["drop", "429", "500", "drop", "503", "pass"])
            self.assertLess(time.monotonic() - started, 10)
            # Every retry was signed afresh and carried the payload hash.
            for record in proxy.records:
                self.assertTrue(record["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 "))
                self.assertEqual(record["headers"]["x-amz-content-sha256"],
                                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

    def test_gives_up_after_max_attempts_with_a_clear_error(self):
        with FaultProxy(self.moto.url) as proxy:
            proxy.schedule(["429"] * 10)
            result = probe("--endpoint-url", proxy.url, "--base-delay-ms", "5", "--max-attempts", "3",
                           "rest-json", "lambda", "ListFunctions", "GET", "/2015-03-31/functions/")
            self.assertEqual(result.returncode, 1)
            self.assertIn("error: lambda ListFunctions: ThrottlingException: injected 429 (HTTP 429, "
                          "after 3 attempts)", result.stderr)
            self.assertEqual(len(proxy.records), 3)

    def test_timeouts_are_retried(self):
        with FaultProxy(self.moto.url) as proxy:
            proxy.schedule(["slow:3"])
            result = probe("--endpoint-url", proxy.url, "--timeout-ms", "500", "--base-delay-ms", "5",
                           "--stats", "json", "logs", "Logs_20140328", "DescribeLogGroups", "{}")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("retries=1", result.stderr)

    def test_client_errors_are_not_retried_and_unsupported_is_reported(self):
        with FaultProxy(self.moto.url) as proxy:
            missing = probe("--endpoint-url", proxy.url, "rest-json", "lambda", "GetFunction", "GET",
                            "/2015-03-31/functions/none")
            self.assertEqual(missing.returncode, 1)
            self.assertEqual(len(proxy.records), 1)
            proxy.clear()
            proxy.schedule(["html500"])
            unsupported = probe("--endpoint-url", proxy.url, "rest-json", "apigatewayv2", "CreateDeployment",
                                "POST", "/v2/apis/x/deployments", "{}")
            self.assertEqual(unsupported.returncode, 1)
            self.assertIn("code: UnsupportedOperation", unsupported.stderr)
            self.assertIn("not supported by the endpoint", unsupported.stderr)
            self.assertEqual(len(proxy.records), 1)

    def test_tls_certificates_are_verified(self):
        openssl = harness.require_peer("openssl", "makes a self-signed certificate")
        cert, key = self.path("cert.pem"), self.path("key.pem")
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                        "-days", "1", "-keyout", key, "-out", cert], check=True, capture_output=True)
        import http.server
        import ssl

        server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        import threading

        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            result = probe("--endpoint-url", f"https://127.0.0.1:{server.server_address[1]}", "--max-attempts",
                           "1", "s3", "ls", "x")
            self.assertEqual(result.returncode, 1)
            self.assertIn("SSL certificate", result.stderr)
        finally:
            server.shutdown()
            server.server_close()

    def test_connection_refused_is_a_clear_error(self):
        port = harness.free_port()
        result = probe("--endpoint-url", f"http://127.0.0.1:{port}", "--max-attempts", "2", "--base-delay-ms", "5",
                       "s3", "ls", "x")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"error: s3 ListObjectsV2: GET http://127.0.0.1:{port}/x/: ", result.stderr)
        self.assertIn("(after 2 attempts)", result.stderr)


if __name__ == "__main__":
    harness.main()
