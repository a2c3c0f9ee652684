#include <wisp/config/samconfig.hpp>

#include <doctest/doctest.h>

using namespace wisp::config;

namespace {
const Entry* find(const std::vector<Entry>& entries, const std::string& key) {
  for (const auto& e : entries)
    if (e.key == key)
      return &e;
  return nullptr;
}
} // namespace

TEST_CASE("command key joins words and turns dashes into underscores") {
  const std::vector<std::string> words{"local", "start-api"};
  CHECK(command_key(words) == "local_start_api");
}

TEST_CASE("global parameters merge under the command's; the command wins") {
  const auto config = SamConfig::parse(R"(version = 0.1
[default.global.parameters]
stack_name = "app"
region = "eu-west-1"
[default.deploy.parameters]
region = "us-east-2"
resolve_s3 = true
parameter_overrides = ["A=1", "B=2"]
[prod.deploy.parameters]
stack_name = "app-prod"
)",
                                       "samconfig.toml");
  REQUIRE(config.has_value());
  const auto deploy = config->parameters("default", "deploy");
  REQUIRE(find(deploy, "stack_name") != nullptr);
  CHECK(find(deploy, "stack_name")->values == std::vector<std::string>{"app"});
  CHECK(find(deploy, "stack_name")->from_global);
  CHECK(find(deploy, "region")->values == std::vector<std::string>{"us-east-2"});
  CHECK_FALSE(find(deploy, "region")->from_global);
  CHECK(find(deploy, "resolve_s3")->values == std::vector<std::string>{"true"});
  CHECK(find(deploy, "parameter_overrides")->is_list);
  CHECK(find(deploy, "parameter_overrides")->values.size() == 2);
  CHECK(find(deploy, "region")->line == 6);
  CHECK(find(deploy, "region")->column == 1);
  // No inheritance from default into another env (as SAM).
  const auto prod = config->parameters("prod", "deploy");
  CHECK(prod.size() == 1);
  CHECK(find(prod, "region") == nullptr);
  CHECK(config->parameters("staging", "deploy").empty());
}

TEST_CASE("malformed TOML is an error with file:line:col") {
  const auto config =
      SamConfig::parse("version = 0.1\n[default.deploy.parameters\nx = 1\n", "samconfig.toml");
  REQUIRE_FALSE(config.has_value());
  REQUIRE(config.error().diagnostics.size() == 1);
  const auto& d = config.error().diagnostics[0];
  CHECK(d.file == "samconfig.toml");
  CHECK(d.line == 2);
  CHECK(d.column > 1);
}

TEST_CASE("wrong shapes are errors at their position") {
  auto config = SamConfig::parse("version = 0.1\n[default.deploy.params]\nx = 1\n", "s.toml");
  REQUIRE_FALSE(config.has_value());
  CHECK(config.error().diagnostics[0].message.find("only 'default.deploy.parameters'") !=
        std::string::npos);
  CHECK(config.error().diagnostics[0].line == 2);

  config = SamConfig::parse("[default.deploy.parameters]\nx = {a = 1}\n", "s.toml");
  REQUIRE_FALSE(config.has_value());
  CHECK(config.error().diagnostics[0].line == 2);

  config = SamConfig::parse("version = \"zero\"\n", "s.toml");
  REQUIRE_FALSE(config.has_value());
  CHECK(config.error().diagnostics[0].message.find("'version' must be a number") !=
        std::string::npos);
}

TEST_CASE("YAML samconfig has the same semantics") {
  const auto config = SamConfig::parse(R"(version: 0.1
default:
  global:
    parameters:
      stack_name: app
  local_start_api:
    parameters:
      warm_containers: EAGER
      port: 3005
)",
                                       "samconfig.yaml");
  REQUIRE(config.has_value());
  const auto entries = config->parameters("default", "local_start_api");
  CHECK(find(entries, "warm_containers")->values == std::vector<std::string>{"EAGER"});
  CHECK(find(entries, "port")->values == std::vector<std::string>{"3005"});
  CHECK(find(entries, "port")->line == 9);
  CHECK(find(entries, "stack_name")->from_global);

  const auto bad = SamConfig::parse("default:\n  deploy: [1, 2\n", "samconfig.yml");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().diagnostics[0].line >= 2);
}
