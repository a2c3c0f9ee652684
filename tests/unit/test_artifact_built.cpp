// Builds shared between functions (SAM's build graph) and what local runs use after a build
// (src/wisp/artifact/built.hpp): the staged build, a warning when its sources changed, the
// sources when never built, zip CodeUris extracted to a digest-keyed cache.

#include "artifact_test_util.hpp"

#include <wisp/artifact/build.hpp>
#include <wisp/artifact/built.hpp>
#include <wisp/artifact/zip.hpp>

#include <doctest/doctest.h>

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

// A makefile function: staged in a directory of its own (not in place), no network.
sam::Function made(const std::string& id, const fs::path& code) {
  auto f = function(id, code, "python3.12");
  f.metadata["BuildMethod"] = "makefile";
  return f;
}

void write_makefile(const fs::path& dir, const std::string& id) {
  test::write(dir / "Makefile", "build-" + id +
                                    ":\n\tcp app.py \"$(ARTIFACTS_DIR)/app.py\"\n\techo built > "
                                    "\"$(ARTIFACTS_DIR)/marker\"\n");
}

} // namespace

TEST_CASE("functions with the same CodeUri, runtime, Metadata and architecture build once") {
  support::TempDir dir("wisp-built-share");
  test::write(dir.path() / "one.py", "def handler(e, c):\n    return 1\n");
  auto model = model_in(dir.path());
  model.functions.push_back(function("First", dir.path() / "one.py", "python3.12"));
  auto second = function("Second", dir.path() / "one.py", "python3.12");
  second.handler = "one.other"; // the handler does not matter outside esbuild
  model.functions.push_back(second);
  auto arm = function("Arm", dir.path() / "one.py", "python3.12");
  arm.architectures = {"arm64"};
  model.functions.push_back(arm);
  model.functions.push_back(function("Third", dir.path() / "one.py", "python3.12"));
  model.functions.push_back(function("Fourth", dir.path() / "one.py", "python3.12"));
  auto tagged = function("Tagged", dir.path() / "one.py", "python3.12");
  tagged.metadata["Owner"] = "x"; // any Metadata difference separates builds (as in SAM)
  model.functions.push_back(tagged);

  std::vector<std::string> started;
  BuildOptions options;
  options.on_event = [&](const BuildEvent& e) {
    if (e.type == BuildEvent::Type::started)
      started.push_back(e.logical_id + ": " + e.detail);
  };
  auto report = build(model, options).value();
  REQUIRE(report.ok());
  REQUIRE(report.artifacts.size() == 6);
  const auto* first = report.find("First");
  const auto* shared = report.find("Second");
  CHECK(first->method == BuildMethod::file);
  CHECK(first->shared_with.empty());
  CHECK(shared->shared_with == "First");
  CHECK(shared->staged_dir == first->staged_dir);
  CHECK(shared->zip_path == first->zip_path);
  CHECK(shared->zip_digest == first->zip_digest);
  CHECK(report.find("Fourth")->shared_with == "First");
  CHECK(report.find("Fourth")->zip_digest == first->zip_digest);
  CHECK(report.find("Arm")->shared_with.empty());
  CHECK(report.find("Tagged")->shared_with.empty());
  CHECK(test::bytes_of(first->staged_dir / "one.py") == "def handler(e, c):\n    return 1\n");
  // It says so.
  CHECK(std::find(started.begin(), started.end(),
                  "First: one build for First, Second, Third, Fourth (same CodeUri, Runtime, "
                  "Metadata and Architectures)") != started.end());
  CHECK_FALSE(fs::exists(dir.path() / ".wisp/build/Second"));

  // Cached: both reused.
  options.cached = true;
  auto again = build(model, options).value();
  CHECK(again.find("First")->cached);
  CHECK(again.find("Second")->cached);
  CHECK(again.find("Second")->shared_with == "First");
}

TEST_CASE("makefile builds are never shared") {
  support::TempDir dir("wisp-built-make");
  test::write(dir.path() / "fn/app.py", "x");
  test::write(dir.path() / "fn/Makefile", "build-A:\n\tcp app.py \"$(ARTIFACTS_DIR)\"\n"
                                          "build-B:\n\tcp app.py \"$(ARTIFACTS_DIR)\"\n");
  auto model = model_in(dir.path());
  model.functions.push_back(made("A", dir.path() / "fn"));
  model.functions.push_back(made("B", dir.path() / "fn"));
  auto report = build(model, BuildOptions{}).value();
  REQUIRE(report.ok());
  CHECK(report.find("B")->shared_with.empty());
  CHECK(report.find("B")->staged_dir == dir.path() / ".wisp/build/B");
}

TEST_CASE("local runs use the build; a changed source warns; never built runs the source") {
  support::TempDir dir("wisp-built-local");
  test::write(dir.path() / "fn/app.py", "v1");
  write_makefile(dir.path() / "fn", "Made");
  test::write(dir.path() / "other/app.py", "other");
  auto model = model_in(dir.path());
  model.functions.push_back(made("Made", dir.path() / "fn"));
  model.functions.push_back(function("Plain", dir.path() / "other", "python3.12"));
  model.functions.push_back(function("Never", dir.path() / "other", "python3.12"));

  {
    // Nothing built yet: everything runs from its sources.
    auto local = model;
    auto report = use_local_builds(local, {}).value();
    CHECK(report.warnings.empty());
    CHECK(report.from_build.empty());
    CHECK(local.functions[0].code_dir == dir.path() / "fn");
  }

  BuildOptions options;
  options.only = {"Made", "Plain"};
  REQUIRE(build(model, options).value().ok());
  {
    auto local = model;
    auto report = use_local_builds(local, {}).value();
    CHECK(report.warnings.empty());
    CHECK(report.from_build == std::vector<std::string>{"Made"});
    CHECK(local.functions[0].code_dir == dir.path() / ".wisp/build/Made");
    CHECK(test::bytes_of(local.functions[0].code_dir / "marker") == "built\n");
    // Staged in place: the sources are the build.
    CHECK(local.functions[1].code_dir == dir.path() / "other");
    CHECK(local.functions[2].code_dir == dir.path() / "other");
  }
  {
    // Touched but unchanged: still current (the digest decides, not the time).
    test::set_mtime(dir.path() / "fn/app.py", 2'000'000'000);
    auto local = model;
    CHECK(use_local_builds(local, {}).value().warnings.empty());
  }
  {
    test::write(dir.path() / "fn/app.py", "v2");
    test::write(dir.path() / "fn/new.py", "new");
    auto local = model;
    auto report = use_local_builds(local, {}).value();
    REQUIRE(report.warnings.size() == 1);
    CHECK(report.warnings[0] == "function Made runs its last build, but app.py and new.py (new) "
                                "changed since: run `wisp build` to refresh it");
    CHECK(local.functions[0].code_dir == dir.path() / ".wisp/build/Made");
  }
  {
    // Only the functions asked for are checked.
    auto local = model;
    LocalCodeOptions only;
    only.only = {"Plain"};
    CHECK(use_local_builds(local, only).value().warnings.empty());
  }
  REQUIRE(build(model, options).value().ok());
  {
    auto local = model;
    local.functions[0].metadata["BuildProperties"] = boost::json::object{{"X", 1}};
    auto report = use_local_builds(local, {}).value();
    REQUIRE(report.warnings.size() == 1);
    CHECK(report.warnings[0].find("its template properties") != std::string::npos);
  }
  {
    // A build dir elsewhere (--build-dir): nothing built there.
    auto local = model;
    LocalCodeOptions elsewhere;
    elsewhere.build_dir = dir.path() / "elsewhere";
    CHECK(use_local_builds(local, elsewhere).value().from_build.empty());
    CHECK(local.functions[0].code_dir == dir.path() / "fn");
  }
}

TEST_CASE("a zip CodeUri runs from a digest-keyed cache; a corrupt one is a clear error") {
  support::TempDir dir("wisp-built-zip");
  test::write(dir.path() / "src/app.py", "zipped");
  REQUIRE(zip_directory(dir.path() / "src", dir.path() / "app.zip"));
  test::write(dir.path() / "single.py", "single");
  const auto cache = dir.path() / "cache";
  auto model = model_in(dir.path());
  model.functions.push_back(function("Zipped", dir.path() / "app.zip", "python3.12"));
  model.functions.push_back(function("Single", dir.path() / "single.py", "python3.12"));
  LocalCodeOptions options;
  options.cache_dir = cache;
  auto local = model;
  auto report = use_local_builds(local, options).value();
  CHECK(report.from_archive == std::vector<std::string>{"Zipped", "Single"});
  const auto zipped = local.functions[0].code_dir;
  CHECK(zipped.parent_path() == cache / "code");
  CHECK(zipped.filename() == digest_file(dir.path() / "app.zip").value().hex);
  CHECK(test::bytes_of(zipped / "app.py") == "zipped");
  CHECK(test::bytes_of(local.functions[1].code_dir / "single.py") == "single");

  // Corrupt: an error naming the function and the file; nothing left in the cache.
  test::write(dir.path() / "bad.zip", "PK\x03\x04 not really a zip");
  model.functions[0].code_dir = dir.path() / "bad.zip";
  local = model;
  auto bad = use_local_builds(local, options);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.starts_with("function Zipped: CodeUri " +
                                        (dir.path() / "bad.zip").string() + " cannot be used"));
  std::size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(cache / "code")) {
    (void)entry;
    ++entries;
  }
  CHECK(entries == 2); // the two good ones, no temporary left behind
}
