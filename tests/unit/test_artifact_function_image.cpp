#include "artifact_test_util.hpp"

#include <wisp/artifact/function_image.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace wisp;
using namespace wisp::artifact;
namespace fs = std::filesystem;
namespace json = boost::json;

TEST_CASE("a function image: code at /var/task, layers at /opt, wisp's bootstrap when needed") {
  support::TempDir dir("wisp-fn-image");
  test::write(dir.path() / "fn/app.py", "def handler(e, c):\n    return 1\n");
  test::write(dir.path() / "libs/helper.py", "X = 1\n");
  sam::Model model;
  model.base_dir = dir.path();
  sam::Function fn;
  fn.logical_id = "Hello";
  fn.runtime = "python3.12";
  fn.handler = "app.handler";
  fn.code_dir = dir.path() / "fn";
  fn.architectures = {"arm64"};
  fn.layers.push_back(sam::ResourceRef{"Libs", ""});
  fn.layers.push_back(sam::ResourceRef{"", "arn:aws:lambda:us-east-1:123:layer:x:1"});
  model.functions.push_back(fn);
  sam::Layer layer;
  layer.logical_id = "Libs";
  layer.content_dir = dir.path() / "libs";
  layer.metadata["BuildMethod"] = "python3.12";
  model.layers.push_back(layer);
  BuildOptions build_options;
  auto report = build(model, build_options);
  REQUIRE(report);
  REQUIRE(report->ok());

  std::vector<std::string> warnings;
  auto image = build_function_image(model, fn, *report, dir.path() / "oci", {}, warnings);
  REQUIRE_MESSAGE(image, image.error().message);
  CHECK(image->tag == "hello");
  REQUIRE(image->layers.size() == 3); // bootstrap, layer, code
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0] == "Hello: layer arn:aws:lambda:us-east-1:123:layer:x:1 is not part of the "
                       "template and is not in the image");
  const auto config =
      json::parse(test::bytes_of(blob_path(dir.path() / "oci", image->config.digest))).as_object();
  CHECK(config.at("architecture").as_string() == "arm64");
  CHECK(config.at("config").at("Entrypoint").as_array()[0].as_string() == "/var/runtime/bootstrap");
  CHECK(config.at("config").at("Cmd").as_array()[0].as_string() == "app.handler");
  CHECK(config.at("config").at("WorkingDir").as_string() == "/var/task");

  // Same inputs, same digests.
  std::vector<std::string> again_warnings;
  auto again = build_function_image(model, fn, *report, dir.path() / "oci2", {}, again_warnings);
  REQUIRE(again);
  CHECK(again->manifest.digest == image->manifest.digest);

  // provided*: the entrypoint is the function's own bootstrap.
  test::write(dir.path() / "custom/bootstrap", "#!/bin/sh\n", 0755);
  sam::Function custom;
  custom.logical_id = "Custom";
  custom.runtime = "provided.al2023";
  custom.handler = "x";
  custom.code_dir = dir.path() / "custom";
  model.functions.push_back(custom);
  report = build(model, build_options);
  REQUIRE(report);
  warnings.clear();
  auto provided = build_function_image(model, custom, *report, dir.path() / "oci", {}, warnings);
  REQUIRE(provided);
  CHECK(warnings.empty());
  CHECK(provided->layers.size() == 1);
  const auto cfg =
      json::parse(test::bytes_of(blob_path(dir.path() / "oci", provided->config.digest)))
          .as_object();
  CHECK(cfg.at("config").at("Entrypoint").as_array()[0].as_string() == "/var/task/bootstrap");
}
