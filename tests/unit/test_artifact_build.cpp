#include "artifact_test_util.hpp"

#include <wisp/artifact/build.hpp>
#include <wisp/artifact/limits.hpp>

#include <doctest/doctest.h>

#include <thread>

using namespace wisp;
using namespace wisp::artifact;
namespace fs = std::filesystem;

namespace {

sam::Function function(const std::string& id, const fs::path& code, const std::string& runtime) {
  sam::Function f;
  f.logical_id = id;
  f.resource_type = "AWS::Serverless::Function";
  f.runtime = runtime;
  f.handler = "app.handler";
  f.code_dir = code;
  return f;
}

sam::Model model_in(const fs::path& dir) {
  sam::Model model;
  model.base_dir = dir;
  model.template_path = dir / "template.yaml";
  return model;
}

std::vector<std::string> zip_names(const fs::path& zip) {
  const auto entries = list_zip(zip).value();
  std::vector<std::string> names;
  for (const auto& e : entries)
    names.push_back(e.name);
  return names;
}

} // namespace

TEST_CASE("a copy build stages the code, zips it and reports digests") {
  support::TempDir dir("wisp-build");
  test::write(dir.path() / "hello/app.py", "def handler(e, c):\n    return 1\n");
  test::write(dir.path() / "hello/__pycache__/app.cpython-312.pyc", "junk");
  test::write(dir.path() / "hello/.wispignore", "*.md\n");
  test::write(dir.path() / "hello/README.md", "docs");
  auto model = model_in(dir.path());
  model.functions.push_back(function("Hello", dir.path() / "hello", "python3.12"));

  auto report = build(model, BuildOptions{});
  REQUIRE(report);
  REQUIRE(report->ok());
  REQUIRE(report->artifacts.size() == 1);
  const auto& a = report->artifacts[0];
  CHECK(a.logical_id == "Hello");
  CHECK(a.method == BuildMethod::copy);
  // Nothing to transform: the code directory itself is the staged directory.
  CHECK(a.staged_dir == dir.path() / "hello");
  CHECK_FALSE(fs::exists(dir.path() / ".wisp/build/Hello"));
  CHECK(a.zip_path == dir.path() / ".wisp/build/Hello.zip");
  CHECK(zip_names(a.zip_path) == std::vector<std::string>{"app.py"});
  CHECK(a.zip_digest == digest_file(a.zip_path).value());
  CHECK(a.unzipped_size == 32);
  CHECK_FALSE(a.cached);
  CHECK(a.key.size() == 64);
}

TEST_CASE("--cached reuses unchanged artifacts and rebuilds changed ones") {
  support::TempDir dir("wisp-build-cache");
  test::write(dir.path() / "a/app.js", "exports.handler = 1;\n");
  test::write(dir.path() / "b/app.js", "exports.handler = 2;\n");
  auto model = model_in(dir.path());
  model.functions.push_back(function("A", dir.path() / "a", "nodejs20.x"));
  model.functions.push_back(function("B", dir.path() / "b", "nodejs20.x"));
  BuildOptions options;
  options.cached = true;
  auto first = build(model, options).value();
  REQUIRE(first.ok());
  CHECK_FALSE(first.artifacts[0].cached);

  auto second = build(model, options).value();
  REQUIRE(second.ok());
  CHECK(second.artifacts[0].cached);
  CHECK(second.artifacts[1].cached);
  CHECK(second.artifacts[0].zip_digest == first.artifacts[0].zip_digest);
  CHECK(second.artifacts[0].key == first.artifacts[0].key);

  test::write(dir.path() / "b/app.js", "exports.handler = 3;\n");
  auto third = build(model, options).value();
  CHECK(third.find("A")->cached);
  CHECK_FALSE(third.find("B")->cached);
  CHECK(third.find("B")->zip_digest != first.artifacts[1].zip_digest);

  // Without --cached everything is rebuilt, to the same bytes.
  auto fourth = build(model, BuildOptions{}).value();
  CHECK_FALSE(fourth.find("A")->cached);
  CHECK(fourth.find("A")->zip_digest == first.artifacts[0].zip_digest);

  // A changed runtime changes the key.
  model.functions[0].runtime = "nodejs22.x";
  auto fifth = build(model, options).value();
  CHECK_FALSE(fifth.find("A")->cached);
  CHECK(fifth.find("A")->key != first.artifacts[0].key);
}

TEST_CASE("makefile builds run make build-<LogicalId> with ARTIFACTS_DIR") {
  support::TempDir dir("wisp-build-make");
  test::write(dir.path() / "fn/Makefile",
              "build-Custom:\n\tprintf 'built by make\\n' > \"$(ARTIFACTS_DIR)/bootstrap\"\n"
              "\tchmod +x \"$(ARTIFACTS_DIR)/bootstrap\"\n\tcp src.txt \"$(ARTIFACTS_DIR)/\"\n");
  test::write(dir.path() / "fn/src.txt", "source\n");
  auto model = model_in(dir.path());
  auto f = function("Custom", dir.path() / "fn", "provided.al2023");
  f.metadata["BuildMethod"] = "makefile";
  model.functions.push_back(f);
  std::vector<std::string> events;
  BuildOptions options;
  options.on_event = [&](const BuildEvent& e) { events.push_back(e.detail); };
  auto report = build(model, options).value();
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.failures[0].message));
  const auto& a = report.artifacts[0];
  CHECK(a.method == BuildMethod::makefile);
  CHECK(zip_names(a.zip_path) == std::vector<std::string>{"bootstrap", "src.txt"});
  CHECK(test::bytes_of(a.staged_dir / "bootstrap") == "built by make\n");
  const auto entries = list_zip(a.zip_path).value();
  CHECK(entries[0].mode == 0755u);
  CHECK_FALSE(fs::exists(dir.path() / "fn/bootstrap")); // the source tree is untouched
  REQUIRE_FALSE(events.empty());
  CHECK(events[0].find("make -f ") == 0);
  CHECK(events[0].find(" build-Custom") != std::string::npos);
}

TEST_CASE("a failing build shows the tool's output; other artifacts are kept") {
  support::TempDir dir("wisp-build-fail");
  test::write(dir.path() / "bad/Makefile",
              "build-Bad:\n\t@echo 'compiler says no' >&2\n\t@exit 3\n");
  test::write(dir.path() / "good/app.py", "x = 1\n");
  auto model = model_in(dir.path());
  auto bad = function("Bad", dir.path() / "bad", "provided.al2023");
  bad.metadata["BuildMethod"] = "makefile";
  model.functions.push_back(bad);
  model.functions.push_back(function("Good", dir.path() / "good", "python3.12"));
  BuildOptions options;
  options.parallel = true;
  auto report = build(model, options).value();
  CHECK_FALSE(report.ok());
  REQUIRE(report.failures.size() == 1);
  const auto& f = report.failures[0];
  CHECK(f.logical_id == "Bad");
  CHECK(f.message == "'" + f.command + "' failed with exit code 2"); // make's status
  CHECK(f.command ==
        "make -f " + (dir.path() / ".wisp/build/.work/Bad/Makefile").string() + " build-Bad");
  CHECK(f.tool_output.find("compiler says no") != std::string::npos);
  REQUIRE(report.artifacts.size() == 1);
  CHECK(report.artifacts[0].logical_id == "Good");
  CHECK(fs::is_regular_file(dir.path() / ".wisp/build/Good.zip"));
  CHECK_FALSE(fs::exists(dir.path() / ".wisp/build/Bad.zip"));
  // No temp or work directories are left behind.
  for (const auto& entry : fs::directory_iterator(dir.path() / ".wisp/build"))
    CHECK_FALSE(entry.path().filename().string().starts_with(".tmp-"));
}

TEST_CASE("a failed rebuild keeps the previous good build") {
  support::TempDir dir("wisp-build-keep");
  test::write(dir.path() / "fn/Makefile", "build-Fn:\n\techo ok > \"$(ARTIFACTS_DIR)/out\"\n");
  auto model = model_in(dir.path());
  auto f = function("Fn", dir.path() / "fn", "provided.al2023");
  f.metadata["BuildMethod"] = "makefile";
  model.functions.push_back(f);
  REQUIRE(build(model, BuildOptions{}).value().ok());
  const auto zip = test::bytes_of(dir.path() / ".wisp/build/Fn.zip");
  test::write(dir.path() / "fn/Makefile", "build-Fn:\n\texit 1\n");
  CHECK_FALSE(build(model, BuildOptions{}).value().ok());
  CHECK(test::bytes_of(dir.path() / ".wisp/build/Fn.zip") == zip);
  CHECK(test::bytes_of(dir.path() / ".wisp/build/Fn/out") == "ok\n");
}

TEST_CASE("build problems are clear errors") {
  support::TempDir dir("wisp-build-errors");
  auto model = model_in(dir.path());
  SUBCASE("missing tool") {
    test::write(dir.path() / "fn/Makefile", "build-Fn:\n\ttrue\n");
    auto f = function("Fn", dir.path() / "fn", "provided.al2023");
    f.metadata["BuildMethod"] = "makefile";
    model.functions.push_back(f);
    const char* saved = std::getenv("PATH");
    const std::string old = saved != nullptr ? saved : "";
    ::setenv("PATH", "/nonexistent", 1);
    auto report = build(model, BuildOptions{}).value();
    ::setenv("PATH", old.c_str(), 1);
    REQUIRE(report.failures.size() == 1);
    CHECK(report.failures[0].message.find("Fn: make not found on PATH") == 0);
  }
  SUBCASE("makefile without a Makefile") {
    test::write(dir.path() / "fn/app.sh", "x");
    auto f = function("Fn", dir.path() / "fn", "provided.al2023");
    f.metadata["BuildMethod"] = "makefile";
    model.functions.push_back(f);
    auto report = build(model, BuildOptions{}).value();
    REQUIRE(report.failures.size() == 1);
    CHECK(report.failures[0].message == "Fn: Metadata BuildMethod is makefile, but " +
                                            (dir.path() / "fn").string() + " has no Makefile");
  }
  SUBCASE("unsupported BuildMethod") {
    test::write(dir.path() / "fn/app.rb", "x");
    auto f = function("Fn", dir.path() / "fn", "nodejs20.x");
    f.metadata["BuildMethod"] = "ruby3.3";
    model.functions.push_back(f);
    auto report = build(model, BuildOptions{}).value();
    REQUIRE(report.failures.size() == 1);
    CHECK(report.failures[0].message ==
          "Fn: Metadata BuildMethod 'ruby3.3' is not supported by wisp (use 'makefile' or "
          "'esbuild', or leave it out to build for the runtime)");
  }
  SUBCASE("missing CodeUri directory") {
    model.functions.push_back(function("Fn", dir.path() / "nope", "python3.12"));
    auto report = build(model, BuildOptions{}).value();
    REQUIRE(report.failures.size() == 1);
    CHECK(report.failures[0].message ==
          "Fn: CodeUri " + (dir.path() / "nope").string() + " does not exist");
  }
  SUBCASE("symlink escaping the code directory") {
    test::write(dir.path() / "secret", "s");
    test::write(dir.path() / "fn/app.py", "x");
    fs::create_symlink("../secret", dir.path() / "fn/leak");
    model.functions.push_back(function("Fn", dir.path() / "fn", "python3.12"));
    auto report = build(model, BuildOptions{}).value();
    REQUIRE(report.failures.size() == 1);
    CHECK(report.failures[0].message.find("Fn: symlink leak points outside") == 0);
  }
  SUBCASE("unknown resource named") {
    model.functions.push_back(function("HelloWorld", dir.path(), "python3.12"));
    BuildOptions options;
    options.only = {"HelloWorl"};
    auto report = build(model, options);
    REQUIRE_FALSE(report);
    CHECK(report.error().message ==
          "'HelloWorl' is not a function or layer of the template; did you mean 'HelloWorld'?");
  }
}

TEST_CASE("skipped: inline code, S3 code, images; selection includes used layers") {
  support::TempDir dir("wisp-build-select");
  test::write(dir.path() / "fn/app.py", "x");
  test::write(dir.path() / "layer/lib.py", "y");
  test::write(dir.path() / "other/app.py", "z");
  auto model = model_in(dir.path());
  auto inline_fn = function("Inline", {}, "python3.12");
  inline_fn.inline_code = "def handler(e, c): pass";
  model.functions.push_back(inline_fn);
  auto s3_fn = function("Remote", {}, "python3.12");
  s3_fn.code_s3_uri = "s3://bucket/key.zip";
  model.functions.push_back(s3_fn);
  auto fn = function("Fn", dir.path() / "fn", "python3.12");
  fn.layers.push_back(sam::ResourceRef{"Libs", ""});
  model.functions.push_back(fn);
  model.functions.push_back(function("Other", dir.path() / "other", "python3.12"));
  sam::Layer layer;
  layer.logical_id = "Libs";
  layer.content_dir = dir.path() / "layer";
  layer.metadata["BuildMethod"] = "python3.12";
  model.layers.push_back(layer);

  auto all = build(model, BuildOptions{}).value();
  CHECK(all.ok());
  CHECK(all.artifacts.size() == 3);
  REQUIRE(all.skipped.size() == 2);
  CHECK(all.skipped[0].reason == "InlineCode");
  CHECK(all.skipped[1].reason == "code already in S3 (s3://bucket/key.zip)");
  // The python layer is staged under python/.
  CHECK(zip_names(all.find("Libs")->zip_path) == std::vector<std::string>{"python/lib.py"});

  BuildOptions options;
  options.only = {"Fn"};
  auto some = build(model, options).value();
  REQUIRE(some.artifacts.size() == 2);
  CHECK(some.artifacts[0].logical_id == "Libs");
  CHECK(some.artifacts[1].logical_id == "Fn");
}

TEST_CASE("a layer built for provided runtimes is staged under bin/, executables kept") {
  support::TempDir dir("wisp-build-binlayer");
  test::write(dir.path() / "tools/jq", "#!/bin/sh\n");
  fs::permissions(dir.path() / "tools/jq", fs::perms::owner_exec, fs::perm_options::add);
  test::write(dir.path() / "tools/README", "doc");
  auto model = model_in(dir.path());
  sam::Layer layer;
  layer.logical_id = "Tools";
  layer.content_dir = dir.path() / "tools";
  layer.metadata["BuildMethod"] = "provided.al2023";
  model.layers.push_back(layer);
  auto report = build(model, BuildOptions{}).value();
  REQUIRE(report.ok());
  CHECK(zip_names(report.find("Tools")->zip_path) ==
        std::vector<std::string>{"bin/README", "bin/jq"});
  CHECK((fs::status(report.find("Tools")->staged_dir / "bin/jq").permissions() &
         fs::perms::owner_exec) != fs::perms::none);

  model.layers[0].metadata["BuildMethod"] = "esbuild";
  auto refused = build(model, BuildOptions{}).value();
  REQUIRE_FALSE(refused.ok());
}

TEST_CASE("a CodeUri that is a zip file is used unchanged") {
  support::TempDir dir("wisp-build-zipfile");
  test::write(dir.path() / "src/app.py", "x");
  REQUIRE(zip_directory(dir.path() / "src", dir.path() / "prebuilt.zip"));
  auto model = model_in(dir.path());
  model.functions.push_back(function("Zipped", dir.path() / "prebuilt.zip", "python3.12"));
  auto report = build(model, BuildOptions{}).value();
  REQUIRE(report.ok());
  const auto& a = report.artifacts[0];
  CHECK(a.method == BuildMethod::zip_file);
  CHECK(a.zip_digest == digest_file(dir.path() / "prebuilt.zip").value());
  CHECK(test::bytes_of(a.staged_dir / "app.py") == "x");
}

TEST_CASE("Lambda's size limits name the function and the largest contributors") {
  sam::Model model;
  auto f = function("Big", "/code", "nodejs20.x");
  f.layers.push_back(sam::ResourceRef{"Deps", ""});
  model.functions.push_back(f);
  BuildReport report;
  ArtifactBuild fn;
  fn.logical_id = "Big";
  fn.unzipped_size = 200'000'000;
  fn.zip_digest.size = 60'000'000;
  fn.largest = {
      {"node_modules/", 190'000'000}, {"node_modules/aws-sdk/", 61'200'000}, {"index.js", 1000}};
  ArtifactBuild layer;
  layer.logical_id = "Deps";
  layer.kind = ArtifactKind::layer;
  layer.unzipped_size = 70'000'000;
  report.artifacts = {layer, fn};
  const auto violations = check_limits(model, report, true);
  REQUIRE(violations.size() == 2);
  CHECK(violations[0].message ==
        "Big: unzipped size 270000000 bytes (270.0 MB; function 200.0 MB, layers 70.0 MB) "
        "exceeds Lambda's limit of 262144000 bytes (250 MB) for a function and its layers; "
        "largest: node_modules/ (190.0 MB), layer Deps (70.0 MB), node_modules/aws-sdk/ "
        "(61.2 MB), index.js (1.0 kB)");
  CHECK(violations[1].message.find("Big: zip of 60000000 bytes (60.0 MB) exceeds Lambda's "
                                   "limit of 52428800 bytes (50 MB) for a direct upload") == 0);
  CHECK(check_limits(model, report, false).size() == 1);
  report.artifacts[0].unzipped_size = 62'144'000; // exactly at the limit: allowed
  CHECK(check_limits(model, report, false).empty());
  CHECK(check_image_size("Img", k_max_image).empty());
  CHECK(check_image_size("Img", k_max_image + 1).size() == 1);
}

TEST_CASE("a build dir inside the code directory stays out of the zip") {
  support::TempDir dir("wisp-build-inside");
  test::write(dir.path() / "app.py", "x");
  auto model = model_in(dir.path());
  model.functions.push_back(function("Fn", dir.path(), "python3.12"));
  BuildOptions options;
  options.build_dir = dir.path() / "out" / "build";
  REQUIRE(build(model, options).value().ok());
  REQUIRE(build(model, options).value().ok()); // the first zip is now inside the code dir
  CHECK(zip_names(dir.path() / "out/build/Fn.zip") == std::vector<std::string>{"app.py"});
}
