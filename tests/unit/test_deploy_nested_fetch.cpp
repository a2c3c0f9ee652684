// deploy::s3_object_of_url: the S3 object a packaged nested stack's URL names (the forms
// aws-sam-cli's to_path_style_s3_url writes, and CloudFormation's virtual-hosted ones).

#include <wisp/deploy/nested_fetch.hpp>

#include <doctest/doctest.h>

using wisp::deploy::s3_object_of_url;

namespace {
const char* const k_aws = "https://s3.us-east-1.amazonaws.com";
} // namespace

TEST_CASE("s3_object_of_url: path-style, virtual-hosted, s3:// and the deploy's own endpoint") {
  auto path = s3_object_of_url("https://s3.eu-west-1.amazonaws.com/pkg/p/ab.template", k_aws);
  REQUIRE(path);
  CHECK(path->bucket == "pkg");
  CHECK(path->key == "p/ab.template");
  CHECK(path->version.empty());

  auto global =
      s3_object_of_url("https://s3.amazonaws.com/pkg/a%20b.template?versionId=v%2B1", k_aws);
  REQUIRE(global);
  CHECK(global->bucket == "pkg");
  CHECK(global->key == "a b.template");
  CHECK(global->version == "v+1");

  auto dashed = s3_object_of_url("https://s3-us-west-2.amazonaws.com/pkg/k", k_aws);
  REQUIRE(dashed);
  CHECK(dashed->bucket == "pkg");

  auto hosted = s3_object_of_url("https://pkg.s3.us-east-1.amazonaws.com/p/ab.template", k_aws);
  REQUIRE(hosted);
  CHECK(hosted->bucket == "pkg");
  CHECK(hosted->key == "p/ab.template");
  auto hosted_global = s3_object_of_url("https://my.pkg.s3.amazonaws.com/k.yaml", k_aws);
  REQUIRE(hosted_global);
  CHECK(hosted_global->bucket == "my.pkg");

  auto s3 = s3_object_of_url("s3://pkg/p/k.yaml", k_aws);
  REQUIRE(s3);
  CHECK(s3->bucket == "pkg");
  CHECK(s3->key == "p/k.yaml");

  // `sam package --endpoint-url http://127.0.0.1:5000`: the deploy's own endpoint, path-style.
  auto local = s3_object_of_url("http://127.0.0.1:5000/pkg/p/k.template", "http://127.0.0.1:5000");
  REQUIRE(local);
  CHECK(local->bucket == "pkg");
  CHECK(local->key == "p/k.template");
}

TEST_CASE("s3_object_of_url: other hosts and incomplete URLs name no object") {
  CHECK_FALSE(s3_object_of_url("https://example.com/pkg/k.yaml", k_aws));
  CHECK_FALSE(s3_object_of_url("http://127.0.0.1:5000/pkg/k", "http://127.0.0.1:5001"));
  CHECK_FALSE(s3_object_of_url("https://s3.amazonaws.com/pkg", k_aws));
  CHECK_FALSE(s3_object_of_url("https://s3.amazonaws.com/", k_aws));
  CHECK_FALSE(s3_object_of_url("https://nots3.amazonaws.com/pkg/k", k_aws));
  CHECK_FALSE(s3_object_of_url("https://pkg.s3.amazonaws.com/", k_aws));
  CHECK_FALSE(s3_object_of_url("s3://pkg", k_aws));
  CHECK_FALSE(s3_object_of_url("s3:///k", k_aws));
  CHECK_FALSE(s3_object_of_url("./child.yaml", k_aws));
}
