#include <wisp/scaffold/catalogue.hpp>
#include <wisp/scaffold/create.hpp>
#include <wisp/scaffold/runtimes.hpp>
#include <wisp/support/fs.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <sys/stat.h>

using namespace wisp;
using namespace wisp::scaffold;

namespace {

const fs::path k_templates = fs::path(WISP_SOURCE_DIR) / "templates";

// A templates dir with one scaffold whose files are given.
fs::path make_scaffold(const support::TempDir& dir, const std::string& manifest,
                       const std::vector<std::pair<std::string, std::string>>& files) {
  const auto root = dir.path() / "templates";
  REQUIRE(support::write_file_atomic(root / "one" / "manifest.toml", manifest).has_value());
  fs::create_directories(root / "one" / "files");
  for (const auto& [path, content] : files)
    REQUIRE(support::write_file_atomic(root / "one" / "files" / path, content).has_value());
  return root;
}

const std::string k_manifest = "app_template = \"hello-world\"\nsummary = \"s\"\n"
                               "runtimes = [\"python3.13\"]\ntest_command = \"true\"\n";

} // namespace

TEST_CASE("the source tree's scaffolds serve exactly the runtimes wisp lists") {
  auto catalogue = Catalogue::load(k_templates);
  REQUIRE_MESSAGE(catalogue.has_value(), (catalogue ? "" : catalogue.error().message));
  std::set<std::string> from_manifests;
  for (const auto& scaffold : catalogue->scaffolds())
    from_manifests.insert(scaffold.runtimes.begin(), scaffold.runtimes.end());
  const auto served = served_runtimes();
  CHECK(from_manifests == std::set<std::string>(served.begin(), served.end()));
  for (const auto& runtime : served)
    CHECK_MESSAGE(catalogue->find(runtime, "hello-world") != nullptr, runtime);
  CHECK(catalogue->app_templates_for("nodejs22.x") ==
        std::vector<std::string>{"hello-world", "hello-world-esm"});
  CHECK(catalogue->app_templates_for("python3.13") == std::vector<std::string>{"hello-world"});
  CHECK(catalogue->find("python3.13", "hello-world-esm") == nullptr);
}

TEST_CASE("a malformed manifest is an error with file:line:col") {
  support::TempDir dir("wisp-test");
  const auto root =
      make_scaffold(dir, "app_template = \"hello-world\"\nruntimes = [\"python3.13\"\n", {});
  auto catalogue = Catalogue::load(root);
  REQUIRE_FALSE(catalogue.has_value());
  REQUIRE(catalogue.error().diagnostics.size() == 1);
  const auto& diagnostic = catalogue.error().diagnostics.front();
  CHECK(diagnostic.file == (root / "one" / "manifest.toml").string());
  CHECK(diagnostic.line == 2);
  CHECK(diagnostic.column > 1);

  const auto bad_runtime = make_scaffold(dir,
                                         "app_template = \"hello-world\"\nsummary = "
                                         "\"s\"\ntest_command = \"t\"\nruntimes = [\"cobol\"]\n",
                                         {});
  auto refused = Catalogue::load(bad_runtime);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message == "runtime 'cobol' is not one wisp serves");
  CHECK(refused.error().diagnostics.front().line == 4);
  CHECK(refused.error().diagnostics.front().column == 12);
}

TEST_CASE("create renders placeholders, sets modes and lists files") {
  support::TempDir dir("wisp-test");
  const auto root = make_scaffold(
      dir, k_manifest + "executables = [\"bin/run\"]\n",
      {{"README.md", "# {{name}} on {{runtime}} ({{app_template}}), stack {{stack_name}}\n"},
       {"bin/run", "#!/bin/sh\n"},
       {"keep.txt", "{{ not a placeholder }} and ${{x}\n"},
       {"__pycache__/junk.pyc", "x"}});
  auto catalogue = Catalogue::load(root);
  REQUIRE(catalogue.has_value());
  Request request;
  request.name = "my_app";
  request.runtime = "python3.13";
  request.output_dir = dir.path() / "out" / "deeper";
  auto project = create(*catalogue, request);
  REQUIRE_MESSAGE(project.has_value(), (project ? "" : project.error().message));
  CHECK(project->directory == dir.path() / "out" / "deeper" / "my_app");
  CHECK(project->files == std::vector<std::string>{"README.md", "bin/run", "keep.txt"});
  CHECK(support::read_file(project->directory / "README.md").value() ==
        "# my_app on python3.13 (hello-world), stack my-app\n");
  CHECK(support::read_file(project->directory / "keep.txt").value() ==
        "{{ not a placeholder }} and ${{x}\n");
  struct stat st {};
  REQUIRE(::stat((project->directory / "bin" / "run").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0755);
  REQUIRE(::stat((project->directory / "README.md").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  // Nothing but the project is left in the output dir.
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(request.output_dir))
    ++entries;
  CHECK(entries == 1);
}

TEST_CASE("create never overwrites and leaves nothing behind on failure") {
  support::TempDir dir("wisp-test");
  const auto root = make_scaffold(dir, k_manifest, {{"a.txt", "a {{nmae}}\nb\n"}});
  auto catalogue = Catalogue::load(root);
  REQUIRE(catalogue.has_value());
  Request request;
  request.name = "app";
  request.runtime = "python3.13";
  request.output_dir = dir.path() / "out";

  auto failed = create(*catalogue, request);
  REQUIRE_FALSE(failed.has_value());
  REQUIRE(failed.error().diagnostics.size() == 1);
  CHECK(failed.error().diagnostics.front().line == 1);
  CHECK(failed.error().diagnostics.front().column == 3);
  CHECK(failed.error().message == "unknown placeholder {{nmae}}");
  CHECK(fs::is_empty(request.output_dir)); // no staging directory left

  fs::create_directories(request.output_dir / "app");
  REQUIRE(support::write_file_atomic(request.output_dir / "app" / "mine", "precious").has_value());
  const auto good = make_scaffold(dir, k_manifest, {{"a.txt", "fine"}});
  auto catalogue2 = Catalogue::load(good);
  REQUIRE(catalogue2.has_value());
  auto refused = create(*catalogue2, request);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message ==
        (request.output_dir / "app").string() +
            " already exists; wisp init never overwrites (choose another --name or --output-dir)");
  CHECK(support::read_file(request.output_dir / "app" / "mine").value() == "precious");
  CHECK_FALSE(fs::exists(request.output_dir / "app" / "a.txt"));
}

TEST_CASE("create checks the name and the app template") {
  auto catalogue = Catalogue::load(k_templates);
  REQUIRE(catalogue.has_value());
  support::TempDir dir("wisp-test");
  Request request;
  request.name = "bad name";
  request.runtime = "python3.13";
  request.output_dir = dir.path();
  auto bad_name = create(*catalogue, request);
  REQUIRE_FALSE(bad_name.has_value());
  CHECK(bad_name.error().exit_code == support::ExitCode::usage);
  request.name = "ok";
  request.app_template = "hello-world-esm";
  auto bad_template = create(*catalogue, request);
  REQUIRE_FALSE(bad_template.has_value());
  CHECK(bad_template.error().message ==
        "app template 'hello-world-esm' is not available for python3.13 (available: hello-world)");
  CHECK(fs::is_empty(dir.path()));
}
