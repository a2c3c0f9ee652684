#include <wisp/artifact/registry.hpp>

#include <doctest/doctest.h>

using namespace wisp::artifact;

TEST_CASE("image references") {
  auto local = parse_image_reference("127.0.0.1:5000/team/app:v1");
  REQUIRE(local);
  CHECK(local->registry == "127.0.0.1:5000");
  CHECK(local->repository == "team/app");
  CHECK(local->tag == "v1");
  CHECK(local->str() == "127.0.0.1:5000/team/app:v1");

  auto bare = parse_image_reference("python");
  REQUIRE(bare);
  CHECK(bare->registry == "registry-1.docker.io");
  CHECK(bare->repository == "library/python");
  CHECK(bare->tag == "latest");

  auto ecr = parse_image_reference("public.ecr.aws/lambda/python:3.12");
  REQUIRE(ecr);
  CHECK(ecr->registry == "public.ecr.aws");
  CHECK(ecr->repository == "lambda/python");
  CHECK(ecr->tag == "3.12");

  const std::string digest = "sha256:" + std::string(64, 'a');
  auto pinned = parse_image_reference("localhost/app@" + digest);
  REQUIRE(pinned);
  CHECK(pinned->registry == "localhost");
  CHECK(pinned->tag.empty());
  CHECK(pinned->digest == digest);

  auto upper = parse_image_reference("127.0.0.1:5000/App:v1");
  REQUIRE_FALSE(upper);
  CHECK(upper.error().message == "image reference '127.0.0.1:5000/App:v1': repository 'App' must "
                                 "be lower-case letters, digits, '.', '_', '-' and '/'");
  CHECK_FALSE(parse_image_reference(""));
  CHECK_FALSE(parse_image_reference("app@sha256:short"));
  CHECK_FALSE(parse_image_reference("app:"));
  CHECK_FALSE(parse_image_reference("127.0.0.1:5000//app"));
}
