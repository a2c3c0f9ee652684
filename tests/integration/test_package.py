"""`wisp package`: OCI layouts checked with skopeo and umoci, pushes to a real
docker-registry (skopeo sees the same digest; a second push uploads no blob), zips uploaded
to moto_server's S3 (head-object finds them; a second run uploads nothing), the packaged
template, and Lambda's size limit refused before any upload."""

import json
import os
import re
import sys
import subprocess
import tempfile
import unittest

import harness
from harness import WispTestCase, wisp

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
# kept as written
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: app.handler
      Runtime: python3.12
      Layers:
        - !Ref Libs
      Environment:
        Variables:
          NUM: "123"
  Libs:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: libs/
  Img:
    Type: AWS::Serverless::Function
    Metadata:
      DockerContext: img
      Dockerfile: Dockerfile
    Properties:
      PackageType: Image
      ImageConfig:
        Command: ["app.handler"]
"""


class Registry:
    """docker-registry on a free loopback port, storage in a temp dir."""

    def __init__(self, root):
        self.root = root

    def __enter__(self):
        harness.require_peer("docker-registry", "OCI registry")
        os.makedirs(self.root, exist_ok=True)
        self.port = harness.free_port()
        config = os.path.join(self.root, "registry.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {self.root}/data\n"
                    f"http:\n  addr: 127.0.0.1:{self.port}\nlog:\n  level: error\n")
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(["docker-registry", "serve", config], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        harness.wait_for_port(self.port, proc=self.proc)
        return self

    def __exit__(self, *exc):
        harness.stop(self.proc)
        self.log.close()


class Package(WispTestCase):
    def setUp(self):
        super().setUp()
        self.write("template.yaml", TEMPLATE)
        self.write("hello/app.py", "def handler(e, c):\n    return 1\n")
        self.write("libs/python/helper.py", "X = 1\n")
        self.write("img/app.py", "def handler(e, c):\n    return 2\n")
        self.write("img/Dockerfile", "FROM public.ecr.aws/lambda/python:3.12\n")

    def unpack(self, image, dest):
        """umoci's rootless unpack of `image` (layout:tag) into `dest`."""
        proc = subprocess.run(["umoci", "unpack", "--rootless", "--image", image, dest],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_output_dir_exports_zips_and_oci_layouts(self):
        harness.require_peer("skopeo", "inspects OCI layouts")
        harness.require_peer("umoci", "unpacks OCI layouts")
        proc = wisp("package", "--output-dir", "dist", "--output-template-file",
                    "dist/packaged.yaml", "--output", "json", cwd=self.tmp)
        self.assertWisp(proc, 0)
        result = json.loads(proc.stdout)
        by_id = {a["logicalId"]: a for a in result["artifacts"]}
        self.assertEqual(by_id["Hello"]["format"], "zip")
        self.assertEqual(by_id["Img"]["format"], "oci")
        packaged = self.read("dist/packaged.yaml")
        self.assertIn("CodeUri: Hello.zip\n", packaged)
        self.assertIn("ContentUri: Libs.zip\n", packaged)
        self.assertIn("ImageUri: Img\n", packaged)
        self.assertIn("# kept as written", packaged)
        self.assertIn('NUM: "123"', packaged)
        # skopeo reads the layout and reports the manifest digest wisp printed.
        inspect = subprocess.run(["skopeo", "inspect", f"oci:{self.path('dist/Img')}:img"],
                                 capture_output=True, text=True)
        self.assertEqual(inspect.returncode, 0, inspect.stderr)
        self.assertEqual(json.loads(inspect.stdout)["Digest"], "sha256:" + by_id["Img"]["sha256"])
        rootfs = self.path("unpacked")
        self.unpack(f"{self.path('dist/Img')}:img", rootfs)
        with open(os.path.join(rootfs, "rootfs", "var", "task", "app.py")) as f:
            self.assertIn("return 2", f.read())
        # --format oci: every function as an image, layers under /opt; --oci-archive tars.
        proc = wisp("package", "--format", "oci", "--output-dir", "oci", "--oci-archive",
                    "--output", "json", cwd=self.tmp)
        self.assertWisp(proc, 0)
        rootfs2 = self.path("unpacked2")
        self.unpack(f"{self.path('oci/Hello')}:hello", rootfs2)
        self.assertTrue(os.path.exists(os.path.join(rootfs2, "rootfs/var/task/app.py")))
        self.assertTrue(os.path.exists(os.path.join(rootfs2, "rootfs/opt/python/helper.py")))
        # No base image: wisp's Runtime API client is the entrypoint.
        self.assertTrue(os.access(os.path.join(rootfs2, "rootfs/var/runtime/bootstrap"), os.X_OK))
        self.assertTrue(os.path.exists(os.path.join(rootfs2, "rootfs/var/runtime/bootstrap.py")))
        self.assertIn("Hello: the image (no --base-image) has no Lambda entrypoint", proc.stderr)
        config = subprocess.run(["skopeo", "inspect", "--config", f"oci:{self.path('oci/Hello')}:hello"],
                                capture_output=True, text=True)
        self.assertEqual(config.returncode, 0, config.stderr)
        runtime_config = json.loads(config.stdout)["config"]
        self.assertEqual(runtime_config["Entrypoint"], ["/var/runtime/bootstrap"])
        self.assertEqual(runtime_config["Cmd"], ["app.handler"])
        self.assertEqual(runtime_config["WorkingDir"], "/var/task")
        archive = subprocess.run(["skopeo", "inspect", f"oci-archive:{self.path('oci/Hello.tar')}:hello"],
                                 capture_output=True, text=True)
        self.assertEqual(archive.returncode, 0, archive.stderr)
        hello = {a["logicalId"]: a for a in json.loads(proc.stdout)["artifacts"]}["Hello"]
        self.assertEqual(json.loads(archive.stdout)["Digest"], "sha256:" + hello["sha256"])

    def test_node_image_entrypoint_gives_node_lambdas_memory_flags(self):
        harness.require_peer("umoci", "unpacks OCI layouts")
        self.write("template.yaml", """Transform: AWS::Serverless-2016-10-31
Resources:
  Web:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: web/
      Handler: index.handler
      Runtime: nodejs20.x
      MemorySize: 1024
""")
        self.write("web/index.js", "exports.handler = async () => 1;\n")
        proc = wisp("package", "--format", "oci", "--output-dir", "oci", cwd=self.tmp)
        self.assertWisp(proc, 0)
        rootfs = self.path("unpacked")
        self.unpack(f"{self.path('oci/Web')}:web", rootfs)
        bootstrap = os.path.join(rootfs, "rootfs/var/runtime/bootstrap")
        self.assertTrue(os.path.exists(os.path.join(rootfs, "rootfs/var/runtime/bootstrap.cjs")))
        # The entry script run as Lambda runs it, with a `node` that reports how it was called.
        self.write("fakebin/node", '#!/bin/sh\necho "$_HANDLER|$LAMBDA_TASK_ROOT|$*"\n', mode=0o755)
        env = dict(os.environ, PATH=self.path("fakebin") + ":" + os.environ["PATH"],
                   AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024")
        run = subprocess.run(["sh", bootstrap, "index.handler"], env=env, capture_output=True,
                             text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout.strip(),
                         "index.handler|/var/task|--expose-gc --max-http-header-size 81920 "
                         "--max-semi-space-size=51 --max-old-space-size=922 "
                         "/var/runtime/bootstrap.cjs")
        del env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        run = subprocess.run(["sh", bootstrap, "index.handler"], env=env, capture_output=True,
                             text=True)
        self.assertEqual(run.stdout.strip(), "index.handler|/var/task|--expose-gc "
                         "--max-http-header-size 81920 /var/runtime/bootstrap.cjs")

    def test_push_to_registry(self):
        harness.require_peer("skopeo", "inspects the pushed image")
        with Registry(self.path("registry")) as registry:
            repo = f"127.0.0.1:{registry.port}/wisp/app"
            # Only the image function (zips would need S3).
            self.write("template.yaml", TEMPLATE.split("  Hello:")[0] + "  Img:" +
                       TEMPLATE.split("  Img:")[1])
            proc = wisp("package", "--format", "oci", "--image-repository", repo,
                        "--insecure-registry", "--output", "json",
                        "--output-template-file", "packaged.yaml", cwd=self.tmp)
            self.assertWisp(proc, 0)
            first = json.loads(proc.stdout)
            self.assertGreater(first["uploads"], 0)
            img = {a["logicalId"]: a for a in first["artifacts"]}["Img"]
            self.assertTrue(img["location"].startswith(repo + ":img-"))
            inspect = subprocess.run(["skopeo", "inspect", "--tls-verify=false",
                                      "docker://" + img["location"]],
                                     capture_output=True, text=True)
            self.assertEqual(inspect.returncode, 0, inspect.stderr)
            self.assertEqual(json.loads(inspect.stdout)["Digest"], "sha256:" + img["sha256"])
            self.assertIn(f"ImageUri: {img['location']}", self.read("packaged.yaml"))
            # Nothing changed: every blob is already there.
            again = wisp("package", "--format", "oci", "--image-repository", repo,
                         "--insecure-registry", "--output", "json", cwd=self.tmp)
            self.assertWisp(again, 0)
            self.assertEqual(json.loads(again.stdout)["uploads"], 0)
            # The pushed image as a base pulled from the registry: its layers come first.
            base_layers = json.loads(inspect.stdout)["Layers"]
            self.write("template.yaml", TEMPLATE.split("  Libs:")[0].replace(
                "      Layers:\n        - !Ref Libs\n", ""))
            proc = wisp("package", "--format", "oci", "--output-dir", "based", "--base-image",
                        img["location"], "--insecure-registry", "--output", "json", cwd=self.tmp)
            self.assertWisp(proc, 0)
            based = subprocess.run(["skopeo", "inspect", f"oci:{self.path('based/Hello')}:hello"],
                                   capture_output=True, text=True)
            self.assertEqual(based.returncode, 0, based.stderr)
            layers = json.loads(based.stdout)["Layers"]
            self.assertEqual(layers[:len(base_layers)], base_layers)
            self.assertEqual(len(layers), len(base_layers) + 1)
            # A plain-HTTP registry without --insecure-registry fails clearly.
            proc = wisp("package", "--format", "oci", "--image-repository", repo, cwd=self.tmp)
            self.assertWisp(proc, 1, stderr_has="registry 127.0.0.1")

    def test_push_with_bearer_auth_in_chunks(self):
        harness.require_peer("skopeo", "inspects the pushed image")
        self.write("template.yaml", TEMPLATE.split("  Hello:")[0] + "  Img:" +
                   TEMPLATE.split("  Img:")[1])
        with open(self.path("img/blob.bin"), "wb") as f:
            f.write(os.urandom(20 * 1024 * 1024))  # a layer over 16 MiB goes up in chunks
        with Registry(self.path("registry")) as registry:
            port = harness.free_port()
            proxy = subprocess.Popen(
                [sys.executable, os.path.join(os.path.dirname(__file__), "registry_auth_proxy.py"),
                 str(port), str(registry.port), "alice", "s3cret"],
                start_new_session=True)
            try:
                harness.wait_for_port(port, proc=proxy)
                repo = f"127.0.0.1:{port}/wisp/app"
                args = ("package", "--image-repository", repo, "--insecure-registry",
                        "--output", "json")
                denied = wisp(*args, cwd=self.tmp)
                self.assertWisp(denied, 1, stderr_has="registry token service refused access "
                                                      "(HTTP 401) (no credentials were given)")
                creds = {"WISP_REGISTRY_USERNAME": "alice", "WISP_REGISTRY_PASSWORD": "s3cret"}
                proc = wisp(*args, cwd=self.tmp, extra_env=creds, timeout=300)
                self.assertWisp(proc, 0)
                self.assertNotIn("s3cret", proc.stdout + proc.stderr)
                img = json.loads(proc.stdout)["artifacts"][0]
                tag = img["location"].split(":")[-1]
                inspect = subprocess.run(
                    ["skopeo", "inspect", "--tls-verify=false",
                     f"docker://127.0.0.1:{registry.port}/wisp/app:{tag}"],
                    capture_output=True, text=True)
                self.assertEqual(inspect.returncode, 0, inspect.stderr)
                self.assertEqual(json.loads(inspect.stdout)["Digest"], "sha256:" + img["sha256"])
            finally:
                harness.stop(proxy)

    def test_upload_to_s3(self):
        with harness.Moto() as moto:
            subprocess.run(["aws", "--endpoint-url", moto.url, "s3api", "create-bucket",
                            "--bucket", "artifacts"], check=True, capture_output=True,
                           env=harness.env())
            args = ("package", "--s3-bucket", "artifacts", "--s3-prefix", "app",
                    "--endpoint-url", moto.url, "--region", "us-east-1", "--format", "zip",
                    "--output-template-file", "packaged.yaml", "--output", "json")
            self.write("template.yaml", TEMPLATE.split("  Img:")[0])
            proc = wisp(*args, cwd=self.tmp)
            self.assertWisp(proc, 0)
            result = json.loads(proc.stdout)
            self.assertEqual(result["uploads"], 2)
            packaged = self.read("packaged.yaml")
            for artifact in result["artifacts"]:
                key = f"app/{artifact['sha256']}.zip"
                self.assertEqual(artifact["location"], f"s3://artifacts/{key}")
                head = subprocess.run(["aws", "--endpoint-url", moto.url, "s3api", "head-object",
                                       "--bucket", "artifacts", "--key", key],
                                      capture_output=True, text=True, env=harness.env())
                self.assertEqual(head.returncode, 0, head.stderr)
                self.assertEqual(json.loads(head.stdout)["ContentLength"],
                                 os.path.getsize(self.path(".wisp/build",
                                                           artifact["logicalId"] + ".zip")))
            self.assertRegex(packaged, r"CodeUri: s3://artifacts/app/[0-9a-f]{64}\.zip\n")
            self.assertRegex(packaged, r"ContentUri: s3://artifacts/app/[0-9a-f]{64}\.zip\n")
            again = wisp(*args, cwd=self.tmp)
            self.assertWisp(again, 0)
            self.assertEqual(json.loads(again.stdout)["uploads"], 0)
            # A missing bucket is a clear error.
            proc = wisp("package", "--s3-bucket", "nope", "--endpoint-url", moto.url,
                        "--region", "us-east-1", "--format", "zip", cwd=self.tmp)
            self.assertWisp(proc, 1, stderr_has="NoSuchBucket")

    def test_size_limit_refused_before_upload(self):
        self.write("template.yaml", TEMPLATE.split("  Img:")[0])
        with open(self.path("hello/big.bin"), "wb") as f:
            f.truncate(263_000_000)  # sparse: zeros, cheap to write and to deflate
        proc = wisp("package", "--output-dir", "dist", cwd=self.tmp, timeout=300)
        self.assertWisp(proc, 1, stderr_has=(
            "Hello: unzipped size 263000"))
        self.assertIn("exceeds Lambda's limit of 262144000 bytes (250 MB)", proc.stderr)
        self.assertIn("largest: big.bin (263.0 MB)", proc.stderr)
        self.assertFalse(os.path.exists(self.path("dist/Hello.zip")))

    def test_needs_a_destination(self):
        proc = wisp("package", "--format", "zip", cwd=self.tmp)
        self.assertWisp(proc, 2, stderr_has="give --s3-bucket")


if __name__ == "__main__":
    harness.main()
