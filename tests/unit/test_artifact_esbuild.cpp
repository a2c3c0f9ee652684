// The esbuild mapping of `Metadata: BuildMethod: esbuild`, checked against what SAM CLI and
// aws-lambda-builders' nodejs_npm_esbuild workflow produce (no esbuild needed here).

#include "artifact_test_util.hpp"

#include <wisp/artifact/esbuild.hpp>
#include <wisp/support/fs.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace wisp;
using namespace wisp::artifact::detail;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

json::object metadata(std::string_view build_properties) {
  return json::object{{"BuildMethod", "esbuild"},
                      {"BuildProperties", json::parse(build_properties).as_object()}};
}

} // namespace

TEST_CASE("BuildProperties keys are normalised as SAM does") {
  CHECK(snake_case("EntryPoints") == "entry_points");
  CHECK(snake_case("UseNpmCi") == "use_npm_ci");
  CHECK(snake_case("MainFields") == "main_fields");
  CHECK(snake_case("Sourcemap") == "sourcemap");
  CHECK(snake_case("OutExtension") == "out_extension");
  // SAM's regex puts "_" before every capital but the first.
  CHECK(snake_case("UseNpmCI") == "use_npm_c_i");
}

TEST_CASE("options: entry points from the handler, Sourcemap from NODE_OPTIONS") {
  auto options = esbuild_options(metadata(R"({"Minify": true, "Target": "es2022"})"),
                                 "src/handlers/app.lambdaHandler", {});
  CHECK(json::serialize(options) ==
        R"({"minify":true,"target":"es2022","entry_points":["src/handlers/app"]})");
  // An empty EntryPoints list is replaced too (SAM tests its truth value).
  options = esbuild_options(metadata(R"({"EntryPoints": []})"), "app.handler", {});
  CHECK(json::serialize(options.at("entry_points")) == R"(["app"])");
  options = esbuild_options(metadata(R"({"EntryPoints": ["a.ts", "b.ts"]})"), "app.handler", {});
  CHECK(json::serialize(options.at("entry_points")) == R"(["a.ts","b.ts"])");

  std::map<std::string, std::string> env{{"NODE_OPTIONS", "--max-old-space-size=100 "
                                                          "--enable-source-maps"}};
  options = esbuild_options(metadata("{}"), "app.handler", env);
  CHECK(options.at("sourcemap") == json::value(true));
  CHECK_FALSE(sourcemap_environment(options, env));
  // An explicit Sourcemap (even false) is left alone.
  options = esbuild_options(metadata(R"({"Sourcemap": false})"), "app.handler", env);
  CHECK(options.at("sourcemap") == json::value(false));
}

TEST_CASE("a Sourcemap adds --enable-source-maps to NODE_OPTIONS as SAM joins it") {
  auto options = esbuild_options(metadata(R"({"Sourcemap": true})"), "app.handler", {});
  auto added = sourcemap_environment(options, {});
  REQUIRE(added);
  CHECK(added->first == "NODE_OPTIONS");
  CHECK(added->second == " --enable-source-maps");
  added = sourcemap_environment(options, {{"NODE_OPTIONS", "--trace-warnings"}});
  REQUIRE(added);
  CHECK(added->second == "--trace-warnings --enable-source-maps");
  // Python truthiness: the string "false" is true, false is not.
  options = esbuild_options(metadata(R"({"Sourcemap": "false"})"), "app.handler", {});
  CHECK(sourcemap_environment(options, {}));
  options = esbuild_options(metadata(R"({"Sourcemap": false})"), "app.handler", {});
  CHECK_FALSE(sourcemap_environment(options, {}));
}

TEST_CASE("esbuild arguments: entry points, defaults, then every property generically") {
  support::TempDir dir("wisp-esbuild");
  test::write(dir.path() / "src/app.ts", "export const handler = async () => 1;\n");
  test::write(dir.path() / "other.js", "exports.x = 1;\n");
  const fs::path out = "/out";

  auto options = esbuild_options(metadata(R"({"Format": "esm", "Minify": false,
      "OutExtension": [".js=.mjs"], "External": ["@aws-sdk/*", "pg"], "Sourcemap": true,
      "Banner": "js=//x", "UseNpmCi": true, "Bundle": false, "Platform": "browser",
      "EntryPoints": ["src/app", "other.js"]})"),
                                 "src/app.handler", {});
  auto args = esbuild_arguments(options, dir.path(), out, {"pg"});
  REQUIRE(args);
  CHECK(*args == std::vector<std::string>{"src/app.ts", "other.js", "--bundle", "--platform=node",
                                          "--outdir=/out", "--target=es2020", "--format=esm",
                                          "--out-extension:.js=.mjs", "--external:@aws-sdk/*",
                                          "--external:pg", "--sourcemap", "--banner=js=//x"});

  // Defaults only.
  options = esbuild_options(metadata("{}"), "src/app.handler", {});
  args = esbuild_arguments(options, dir.path(), out, {});
  REQUIRE(args);
  CHECK(*args == std::vector<std::string>{"src/app.ts", "--bundle", "--platform=node",
                                          "--outdir=/out", "--target=es2020", "--format=cjs",
                                          "--minify"});
}

TEST_CASE("./node_modules/* in External marks every dependency external, as lambda-builders") {
  support::TempDir dir("wisp-esbuild");
  test::write(dir.path() / "app.ts", "");
  auto options =
      esbuild_options(metadata(R"({"External": ["./node_modules/*", "left-out"], "Minify": true})"),
                      "app.handler", {});
  CHECK(externalizes_dependencies(options));
  auto args = esbuild_arguments(options, dir.path(), "/o", {"lodash", "pg"});
  REQUIRE(args);
  CHECK(*args == std::vector<std::string>{"--external:lodash", "--external:pg", "app.ts",
                                          "--bundle", "--platform=node", "--outdir=/o",
                                          "--target=es2020", "--format=cjs", "--minify"});
}

TEST_CASE("esbuild arguments: bad properties and missing entry points are clear errors") {
  support::TempDir dir("wisp-esbuild");
  test::write(dir.path() / "app.ts", "");
  auto options = esbuild_options(metadata(R"({"Define": {"a": "b"}})"), "app.handler", {});
  auto args = esbuild_arguments(options, dir.path(), "/o", {});
  REQUIRE_FALSE(args);
  CHECK(args.error().message.find("'define' takes a string, a boolean or a list") !=
        std::string::npos);

  options = esbuild_options(metadata(R"({"EntryPoints": ["missing.ts"]})"), "app.handler", {});
  args = esbuild_arguments(options, dir.path(), "/o", {});
  REQUIRE_FALSE(args);
  CHECK(args.error().message == "entry point missing.ts does not exist");

  options = esbuild_options(metadata(R"({"EntryPoints": "app.ts"})"), "app.handler", {});
  args = esbuild_arguments(options, dir.path(), "/o", {});
  REQUIRE_FALSE(args);
  CHECK(args.error().message.find("must be a list") != std::string::npos);

  options = esbuild_options(metadata("{}"), "nothing.handler", {});
  args = esbuild_arguments(options, dir.path(), "/o", {});
  REQUIRE_FALSE(args);
  CHECK(args.error().message.find("entry point nothing does not exist") != std::string::npos);
}

TEST_CASE("the handler is rewritten to the bundle's file where SAM rewrites it") {
  support::TempDir dir("wisp-esbuild");
  test::write(dir.path() / "app.js", "");
  test::write(dir.path() / "hello.mjs", "");
  CHECK(bundled_handler("app.lambdaHandler", dir.path()) == "app.lambdaHandler");
  CHECK(bundled_handler("src/handlers/app.lambdaHandler", dir.path()) == "app.lambdaHandler");
  // SAM looks for .js only: an .mjs bundle gets the short handler (node finds hello.mjs).
  CHECK(bundled_handler("src/hello.handler", dir.path()) == "hello.handler");
  CHECK(bundled_handler("/opt/nodejs/lib.handler", dir.path()) == "/opt/nodejs/lib.handler");
}

TEST_CASE("esbuild's errors become file:line:col: message") {
  const std::string output = "\xE2\x9C\x98 [ERROR] Expected \";\" but found \"y\"\n"
                             "\n"
                             "    src/app.ts:1:15:\n"
                             "      1 \xE2\x94\x82 export const x y = 1;\n"
                             "        \xE2\x95\xB5                ^\n"
                             "\n"
                             "\xE2\x9C\x98 [ERROR] Could not resolve \"nope\"\n"
                             "\n"
                             "    b.ts:1:7:\n"
                             "\n"
                             "2 errors\n";
  const auto errors = esbuild_errors(output);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "src/app.ts:1:15: Expected \";\" but found \"y\"");
  CHECK(errors[1] == "b.ts:1:7: Could not resolve \"nope\"");
  CHECK(esbuild_errors("\xE2\x9C\x98 [ERROR] Must use \"outdir\"\n\n1 error\n") ==
        std::vector<std::string>{"Must use \"outdir\""});
}

TEST_CASE("esbuild versions compare numerically") {
  CHECK(version_at_least("0.14.13", "0.14.13"));
  CHECK(version_at_least("0.28.2\n", "0.14.13"));
  CHECK(version_at_least("1.0.0", "0.14.13"));
  CHECK_FALSE(version_at_least("0.14.9", "0.14.13"));
}
