// ECR registry hosts (src/wisp/aws/ecr.hpp): which image references deploy resolves and logs
// into through the ECR API rather than a registry's own.

#include <wisp/aws/ecr.hpp>

#include <doctest/doctest.h>

using wisp::aws::ecr::parse_registry_host;

TEST_CASE("ECR registry hosts: account and region, including the China and FIPS forms") {
  const auto plain = parse_registry_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com");
  REQUIRE(plain.has_value());
  CHECK(plain->account == "123456789012");
  CHECK(plain->region == "eu-west-1");
  const auto china = parse_registry_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn");
  REQUIRE(china.has_value());
  CHECK(china->region == "cn-north-1");
  const auto fips = parse_registry_host("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com");
  REQUIRE(fips.has_value());
  CHECK(fips->region == "us-east-1");
}

TEST_CASE("ECR registry hosts: other registries are not ECR") {
  CHECK_FALSE(parse_registry_host("127.0.0.1:5000").has_value());
  CHECK_FALSE(parse_registry_host("registry-1.docker.io").has_value());
  CHECK_FALSE(parse_registry_host("public.ecr.aws").has_value());
  CHECK_FALSE(parse_registry_host("12345.dkr.ecr.us-east-1.amazonaws.com").has_value());
  CHECK_FALSE(parse_registry_host("123456789012.dkr.ecr.us-east-1.amazonaws.com.evil").has_value());
  CHECK_FALSE(parse_registry_host("123456789012.dkr.ecr.us-east-1.example.com").has_value());
}
