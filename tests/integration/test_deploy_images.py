"""wisp deploy of PackageType Image functions against real peers: moto_server (its ECR and
Lambda) and docker-registry (an OCI registry on a free loopback port).

- An ImageUri with a tag is resolved to its digest (ECR DescribeImages; a registry's
  manifest HEAD) and Lambda gets the URI pinned by that digest: the same tag moved to another
  image redeploys, an unmoved one makes no mutating call.
- ImageConfig (EntryPoint, Command, WorkingDirectory) is sent and compared with what
  GetFunction reports (ImageConfigResponse).
- An image built from the template (Metadata DockerContext) is pushed to --image-repository /
  --image-repositories (also from samconfig): blobs the registry has are not sent again;
  --dry-run says what would be pushed and pushes nothing.
- Bad input: a tag that does not exist, a registry that is down, no repository to push to:
  exit 1, a message naming the function, the alias where it was."""

import hashlib
import json
import os
import subprocess
import tempfile
import urllib.error
import urllib.request

import harness
from harness import Moto, WispTestCase, wisp

STACK = "shop"

TAGGED = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Boxed:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: {uri}
      AutoPublishAlias: live
      MemorySize: 256
{extra}"""

BUILT = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Boxed:
    Type: AWS::Serverless::Function
    Metadata:
      DockerContext: ./img
      Dockerfile: Dockerfile
      DockerTag: python3.12
    Properties:
      PackageType: Image
      AutoPublishAlias: live
      Architectures: [x86_64]
      ImageConfig:
        Command: ["app.handler"]
"""

OTHER = """\
  Other:
    Type: AWS::Serverless::Function
    Metadata:
      DockerContext: ./img
    Properties:
      PackageType: Image
      AutoPublishAlias: live
      ImageConfig:
        Command: ["app.other"]
"""


class Registry:
    """docker-registry on a free loopback port, its storage in a temp dir."""

    def __enter__(self):
        harness.require_peer("docker-registry", "the OCI registry images are pushed to")
        self.root = tempfile.mkdtemp(prefix="wisp-registry-")
        self.port = harness.free_port()
        self.host = f"127.0.0.1:{self.port}"
        config = os.path.join(self.root, "registry.yml")
        with open(config, "w") as f:
            f.write(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {self.root}/data\n"
                    f"  delete:\n    enabled: true\n"
                    f"http:\n  addr: 127.0.0.1:{self.port}\nlog:\n  level: error\n")
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(["docker-registry", "serve", config], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        harness.wait_for_port(self.port, proc=self.proc)
        return self

    def __exit__(self, *exc):
        harness.stop(self.proc)
        self.log.close()
        subprocess.run(["rm", "-rf", self.root], check=False)

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(f"http://{self.host}/v2/{path}", data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def put_blob(self, repository, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, headers, _ = self.request("POST", f"{repository}/blobs/uploads/")
        assert status == 202, status
        location = headers["Location"]
        location += ("&" if "?" in location else "?") + "digest=" + digest
        if location.startswith("/"):
            location = f"http://{self.host}{location}"
        req = urllib.request.Request(location, data=data, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 201, r.status
        return digest, len(data)

    def push(self, repository, tag, content):
        """A minimal OCI image (one layer: `content`) under `tag`; returns its manifest digest."""
        layer, layer_size = self.put_blob(repository, content.encode())
        config, config_size = self.put_blob(repository, json.dumps(
            {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer]}}).encode())
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config,
                       "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer,
                        "size": layer_size}]}).encode()
        status, headers, _ = self.request("PUT", f"{repository}/manifests/{tag}", manifest,
                                          {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        assert status == 201, status
        return headers["Docker-Content-Digest"]

    def tags(self, repository):
        status, _, body = self.request("GET", f"{repository}/tags/list")
        return json.loads(body).get("tags") or [] if status == 200 else []


class ImageTestCase(WispTestCase):
    stub_ecr = True
    moto = None

    @classmethod
    def setUpClass(cls):
        harness.require_peer("aws", "the AWS CLI verifies what wisp deployed")
        saved = dict(os.environ)
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        if not cls.stub_ecr:
            os.environ["MOTO_LAMBDA_STUB_ECR"] = "false"
        try:
            cls.moto = Moto().__enter__()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    @classmethod
    def tearDownClass(cls):
        cls.moto.__exit__(None, None, None)

    def setUp(self):
        super().setUp()
        self.moto.reset()
        self.url = self.moto.url
        self.app = self.path("app")
        os.makedirs(self.app, exist_ok=True)

    def deploy(self, *args, code=0):
        proc = wisp("deploy", "--endpoint-url", self.url, "--stack-name", STACK, "--resolve-s3", *args,
                    cwd=self.app, timeout=180)
        self.assertWisp(proc, code)
        return proc

    def deploy_json(self, *args, code=0):
        proc = self.deploy("--output", "json", *args, code=code)
        return json.loads(proc.stdout) if code == 0 else proc

    def aws(self, *args, check=True):
        proc = subprocess.run(["aws", "--endpoint-url", self.url, "--output", "json", *args], capture_output=True,
                              text=True, timeout=60, env=harness.env())
        if proc.returncode != 0:
            if check:
                raise AssertionError(f"aws {' '.join(args)}: {proc.stderr}")
            return None
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def live(self):
        return self.aws("lambda", "get-function", "--function-name", "shop-Boxed", "--qualifier", "live")

    def alias_version(self):
        return self.aws("lambda", "get-alias", "--function-name", "shop-Boxed", "--name", "live")["FunctionVersion"]


class EcrImages(ImageTestCase):
    """moto's ECR, which its Lambda reads the image's digest from (MOTO_LAMBDA_STUB_ECR=false)."""
    stub_ecr = False

    def put_image(self, repository, tag, layer):
        """Puts an image manifest into moto's ECR; moto makes its digest from the layers'."""
        digest = "sha256:" + hashlib.sha256(layer.encode()).hexdigest()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1000,
                       "digest": digest},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                        "digest": digest}]})
        return self.aws("ecr", "put-image", "--repository-name", repository, "--image-tag", tag,
                        "--image-manifest", manifest)["image"]["imageId"]["imageDigest"]

    def test_a_tag_is_resolved_and_a_moved_tag_redeploys(self):
        uri = self.aws("ecr", "create-repository", "--repository-name", "boxed")["repository"]["repositoryUri"]
        first = self.put_image("boxed", "v1", "one")
        with open(os.path.join(self.app, "template.yaml"), "w") as f:
            f.write(TAGGED.format(uri=f"{uri}:v1", extra=""))
        self.deploy()
        function = self.live()
        self.assertEqual(function["Configuration"]["PackageType"], "Image")
        self.assertEqual(function["Code"]["ImageUri"], f"{uri}@{first}")  # pinned by the tag's digest
        self.assertEqual(function["Configuration"]["CodeSha256"], first.removeprefix("sha256:"))
        # The tag has not moved: nothing to do.
        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))
        # The tag moves to another image: a new version behind the alias.
        second = self.put_image("boxed", "v1", "two")
        self.assertNotEqual(first, second)
        moved = self.deploy_json()
        self.assertEqual(moved["status"], "deployed")
        live = self.live()
        self.assertEqual(live["Configuration"]["CodeSha256"], second.removeprefix("sha256:"))
        self.assertEqual(live["Code"]["ImageUri"], f"{uri}@{second}")
        self.assertEqual(self.alias_version(), "2")
        # A tag that does not exist: exit 1, the function named, the alias where it was.
        with open(os.path.join(self.app, "template.yaml"), "w") as f:
            f.write(TAGGED.format(uri=f"{uri}:nope", extra=""))
        refused = self.deploy(code=1)
        self.assertIn("Boxed", refused.stderr)
        self.assertIn("has no image tagged nope", refused.stderr)
        self.assertEqual(self.alias_version(), "2")
        # A repository that does not exist either.
        with open(os.path.join(self.app, "template.yaml"), "w") as f:
            f.write(TAGGED.format(uri=uri.replace("/boxed", "/gone") + ":v1", extra=""))
        refused = self.deploy(code=1)
        self.assertIn("Boxed", refused.stderr)
        self.assertIn("repository gone has no image tagged v1", refused.stderr)
        self.assertEqual(self.alias_version(), "2")

    def test_image_config_is_sent_and_compared(self):
        uri = self.aws("ecr", "create-repository", "--repository-name", "boxed")["repository"]["repositoryUri"]
        digest = self.put_image("boxed", "v1", "one")
        extra = ("      ImageConfig:\n        EntryPoint: [/lambda-entrypoint.sh]\n"
                 "        Command: [{command}]\n        WorkingDirectory: /var/task\n")
        with open(os.path.join(self.app, "template.yaml"), "w") as f:
            f.write(TAGGED.format(uri=f"{uri}@{digest}", extra=extra.format(command="app.handler")))
        self.deploy()
        config = self.live()["Configuration"]["ImageConfigResponse"]["ImageConfig"]
        self.assertEqual(config, {"EntryPoint": ["/lambda-entrypoint.sh"], "Command": ["app.handler"],
                                  "WorkingDirectory": "/var/task"})
        again = self.deploy_json()
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))
        # Another Command is a configuration change, compared with ImageConfigResponse.
        with open(os.path.join(self.app, "template.yaml"), "w") as f:
            f.write(TAGGED.format(uri=f"{uri}@{digest}", extra=extra.format(command="app.other")))
        plan = self.deploy_json("--dry-run")
        self.assertEqual((plan["status"], plan["mutating_calls"]), ("dry-run", 0))
        details = [d for c in plan["plan"]["changes"] if c["kind"] == "function" for d in c["details"]]
        self.assertIn("ImageConfig.Command [app.handler] → [app.other]", details)


class RegistryImages(ImageTestCase):
    """docker-registry as the image registry; moto's Lambda with its default stubbed ECR (it then
    reports the SHA-256 of the ImageUri as CodeSha256, which wisp accepts for a pinned URI)."""

    def setUp(self):
        super().setUp()
        self.registry = Registry().__enter__()
        self.addCleanup(self.registry.__exit__, None, None, None)

    def test_a_registry_tag_is_resolved_by_its_manifest(self):
        host = self.registry.host
        first = self.registry.push("team/boxed", "v1", "one")
        with open(os.path.join(self.app, "template.yaml"), "w") as f:
            f.write(TAGGED.format(uri=f"{host}/team/boxed:v1", extra=""))
        self.deploy("--insecure-registry")
        function = self.live()
        pinned = f"{host}/team/boxed@{first}"
        self.assertEqual(function["Code"]["ImageUri"], pinned)
        self.assertEqual(function["Configuration"]["CodeSha256"], hashlib.sha256(pinned.encode()).hexdigest())
        again = self.deploy_json("--insecure-registry")
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))
        second = self.registry.push("team/boxed", "v1", "two")
        self.assertEqual(self.deploy_json("--insecure-registry")["status"], "deployed")
        self.assertEqual(self.live()["Code"]["ImageUri"], f"{host}/team/boxed@{second}")
        self.assertEqual(self.alias_version(), "2")
        # No such tag (no manifest under it): exit 1, the function named, nothing moved.
        with open(os.path.join(self.app, "template.yaml"), "w") as f:
            f.write(TAGGED.format(uri=f"{host}/team/boxed:nope", extra=""))
        refused = self.deploy("--insecure-registry", code=1)
        self.assertIn("Boxed", refused.stderr)
        self.assertIn("no such tag", refused.stderr)
        self.assertEqual(self.alias_version(), "2")
        # The registry is down.
        with open(os.path.join(self.app, "template.yaml"), "w") as f:
            f.write(TAGGED.format(uri=f"{host}/team/boxed:v1", extra=""))
        harness.stop(self.registry.proc)
        down = self.deploy("--insecure-registry", code=1)
        self.assertIn("Boxed", down.stderr)
        self.assertIn(host, down.stderr)
        self.assertEqual(self.alias_version(), "2")

    def write_built(self, message, extra=""):
        with open(os.path.join(self.app, "template.yaml"), "w") as f:
            f.write(BUILT + extra)
        os.makedirs(os.path.join(self.app, "img"), exist_ok=True)
        with open(os.path.join(self.app, "img", "app.py"), "w") as f:
            f.write(f"def handler(event, context):\n    return {message!r}\n")
        with open(os.path.join(self.app, "img", "Dockerfile"), "w") as f:
            f.write("FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\n")

    def manifest_digest(self, repository, reference):
        status, headers, _ = self.registry.request(
            "HEAD", f"{repository}/manifests/{reference}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
        return headers.get("Docker-Content-Digest") if status == 200 else None

    def test_an_image_built_from_the_template_is_pushed(self):
        host = self.registry.host
        self.write_built("one")
        # Without a repository to push to: the function is named, nothing is made.
        refused = self.deploy(code=1)
        self.assertIn("Boxed", refused.stderr)
        self.assertIn("--image-repository", refused.stderr)
        self.assertIsNone(self.aws("lambda", "get-function", "--function-name", "shop-Boxed", check=False))
        # --dry-run says what would be pushed and pushes nothing.
        plan = self.deploy_json("--image-repository", f"{host}/shop", "--insecure-registry", "--dry-run")
        self.assertEqual(plan["status"], "dry-run")
        images = [c for c in plan["plan"]["changes"] if c["kind"] == "image"]
        self.assertEqual(len(images), 1, plan["plan"]["changes"])
        self.assertTrue(images[0]["name"].startswith(f"{host}/shop:boxed-"), images[0])
        function = [c for c in plan["plan"]["changes"] if c["kind"] == "function"][0]
        self.assertTrue(any(d.startswith("would push ") for d in function["details"]), function)
        self.assertEqual(self.registry.tags("shop"), [])
        # Deployed: the registry holds the image, Lambda runs it pinned by its digest.
        first = self.deploy("--image-repository", f"{host}/shop", "--insecure-registry")
        tags = self.registry.tags("shop")
        self.assertEqual(len(tags), 1, tags)
        self.assertEqual(images[0]["name"], f"{host}/shop:{tags[0]}")
        digest = self.manifest_digest("shop", tags[0])
        self.assertIsNotNone(digest)
        self.assertEqual(self.live()["Code"]["ImageUri"], f"{host}/shop@{digest}")
        self.assertEqual(self.live()["Configuration"]["ImageConfigResponse"]["ImageConfig"]["Command"],
                         ["app.handler"])
        self.assertIn("pushed Boxed", first.stderr)
        # Every blob the manifest names is in the registry.
        status, _, body = self.registry.request(
            "GET", f"shop/manifests/{digest}", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
        self.assertEqual(status, 200)
        manifest = json.loads(body)
        for blob in [manifest["config"], *manifest["layers"]]:
            self.assertEqual(self.registry.request("HEAD", f"shop/blobs/{blob['digest']}")[0], 200, blob)
        # Unchanged: no mutating call, nothing pushed.
        again = self.deploy_json("--image-repository", f"{host}/shop", "--insecure-registry")
        self.assertEqual((again["status"], again["mutating_calls"]), ("no-change", 0))
        self.assertEqual(len(self.registry.tags("shop")), 1)
        # A second function from the same DockerContext, the repositories from samconfig's
        # image_repositories: its code layer is in the repository already (HEAD), only its
        # config blob is sent; Boxed is unchanged and not pushed again.
        with open(os.path.join(self.app, "template.yaml"), "a") as f:
            f.write(OTHER)
        with open(os.path.join(self.app, "samconfig.toml"), "w") as f:
            f.write(f'version = 0.1\n[default.deploy.parameters]\n'
                    f'image_repositories = ["Boxed={host}/shop", "Other={host}/shop"]\n'
                    f'insecure_registry = true\n')
        added = self.deploy()
        self.assertRegex(added.stderr, rf"pushed Other → {host}/shop:other-[0-9a-f]{{12}} \(1 blob, .*; 1 present\)")
        self.assertNotIn("pushed Boxed", added.stderr)
        other_tags = [t for t in self.registry.tags("shop") if t.startswith("other-")]
        self.assertEqual(len(other_tags), 1, other_tags)
        other = self.aws("lambda", "get-function", "--function-name", "shop-Other", "--qualifier", "live")
        self.assertEqual(other["Code"]["ImageUri"], f"{host}/shop@{self.manifest_digest('shop', other_tags[0])}")
        self.assertEqual(other["Configuration"]["ImageConfigResponse"]["ImageConfig"]["Command"], ["app.other"])
        # New code: a new image, a new version.
        self.write_built("two", extra=OTHER)
        self.deploy()
        tags = [t for t in self.registry.tags("shop") if t.startswith("boxed-")]
        self.assertEqual(len(tags), 2, tags)
        first_tag = images[0]["name"].rsplit(":", 1)[1]
        new_digest = self.manifest_digest("shop", [t for t in tags if t != first_tag][0])
        self.assertNotEqual(new_digest, digest)
        self.assertEqual(self.live()["Code"]["ImageUri"], f"{host}/shop@{new_digest}")
        self.assertEqual(self.alias_version(), "2")
        # The registry refuses (down): exit 1, the function named, the alias where it was.
        self.write_built("three", extra=OTHER)
        harness.stop(self.registry.proc)
        down = self.deploy(code=1)
        self.assertIn("Boxed", down.stderr)
        self.assertEqual(self.alias_version(), "2")


if __name__ == "__main__":
    harness.main()
