#include <wisp/runtime/function.hpp>
#include <wisp/support/fs.hpp>

#include <doctest/doctest.h>

using namespace wisp;
using namespace wisp::runtime;

TEST_CASE("--env-vars: per-function objects and Parameters, SAM's value conversions") {
  auto parsed = parse_env_vars(R"({"Fn": {"A": "1", "B": true, "C": 2.5, "D": null},
                                   "Parameters": {"P": "all"}})",
                               "env.json");
  REQUIRE(parsed.has_value());
  CHECK(parsed->functions.at("Fn").at("A") == "1");
  CHECK(parsed->functions.at("Fn").at("B") == "true");
  CHECK(parsed->functions.at("Fn").at("C") == "2.5");
  CHECK(parsed->functions.at("Fn").at("D").empty());
  CHECK(parsed->parameters.at("P") == "all");
}

TEST_CASE("--env-vars: bad input is an error with file:line:col") {
  auto broken = parse_env_vars("{\n  \"Fn\": {\"A\": }\n}", "env.json");
  REQUIRE_FALSE(broken.has_value());
  REQUIRE(broken.error().diagnostics.size() == 1);
  CHECK(broken.error().diagnostics[0].file == "env.json");
  CHECK(broken.error().diagnostics[0].line == 2);
  CHECK(broken.error().diagnostics[0].column == 15);

  auto nested = parse_env_vars("{\"Fn\": {\"A\": {\"x\": 1}}}", "env.json");
  REQUIRE_FALSE(nested.has_value());
  CHECK(nested.error().message.find("the value of A must be a string") != std::string::npos);

  auto not_object = parse_env_vars("{\"Fn\": 3}", "env.json");
  REQUIRE_FALSE(not_object.has_value());
  CHECK(not_object.error().message.find("'Fn' must be an object") != std::string::npos);
}

TEST_CASE("make_function_config: environment layers, overrides, inline code, errors") {
  support::TempDir dir("wisp-fn");
  sam::Model model;
  model.base_dir = dir.path();
  sam::Layer layer;
  layer.logical_id = "Deps";
  layer.content_dir = dir.path() / "layer";
  model.layers.push_back(layer);
  sam::Function fn;
  fn.logical_id = "Fn";
  fn.runtime = "python3.12";
  fn.handler = "app.handler";
  fn.inline_code = "def handler(e, c):\n    return 1\n";
  fn.timeout = 7;
  fn.memory_size = 256;
  fn.environment = {{"TABLE", "t"}, {"ARN", ""}};
  fn.unresolved_environment = {"ARN"};
  fn.layers = {sam::ResourceRef{"Deps", ""},
               sam::ResourceRef{"", "arn:aws:lambda:us-east-1:1:layer:x:1"}};
  EnvVarsFile vars;
  vars.parameters = {{"TABLE", "from-parameters"}};
  vars.functions["Fn"] = {{"TABLE", "from-function"}};
  std::vector<std::string> warnings;
  auto config = make_function_config(model, fn, &vars, warnings);
  REQUIRE(config.has_value());
  CHECK(config->timeout == 7);
  CHECK(config->memory_size == 256);
  CHECK(config->name == "Fn");
  CHECK(config->code_dir == dir.path() / ".wisp" / "inline" / "Fn");
  CHECK(support::read_file(config->code_dir / "app.py").value() == *fn.inline_code);
  REQUIRE(config->layer_dirs.size() == 1);
  CHECK(config->layer_dirs[0] == dir.path() / "layer");
  REQUIRE(config->env_overrides.size() == 2);
  CHECK(config->env_overrides.back().second == "from-function");
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].find("not available locally") != std::string::npos);
  CHECK(warnings[1].find("ARN cannot be resolved locally") != std::string::npos);

  fn.package_type = sam::PackageType::image;
  auto image = make_function_config(model, fn, nullptr, warnings);
  REQUIRE_FALSE(image.has_value());
  CHECK(image.error().message.find("PackageType Image") != std::string::npos);
}
