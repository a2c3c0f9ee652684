// The template corpus (tests/fixtures/templates/{valid,invalid}): every fixture loads
// without crashing, valid ones have no errors, and each fixture's diagnostics are exactly
// those its `# expect: LINE:COL severity code` lines list (in the template, or in a
// `<file>.expect` sidecar for files that cannot hold comments).

#include "template_test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

using namespace wisp;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  fs::path template_path;
  std::string name;
};

std::vector<Fixture> fixtures(const std::string& kind) {
  std::vector<Fixture> out;
  const fs::path dir = fs::path(WISP_TEST_DATA_DIR) / "fixtures" / "templates" / kind;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto& path = entry.path();
    if (entry.is_directory()) {
      out.push_back({path / "template.yaml", path.filename().string()});
    } else if (path.extension() != ".expect") {
      out.push_back({path, path.filename().string()});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Fixture& a, const Fixture& b) { return a.name < b.name; });
  return out;
}

std::vector<std::string> expectations(const fs::path& path) {
  std::vector<std::string> out;
  for (const auto& file : {path, fs::path(path.string() + ".expect")}) {
    auto text = support::read_file(file);
    if (!text)
      continue;
    std::istringstream lines(*text);
    std::string line;
    constexpr std::string_view marker = "# expect: ";
    while (std::getline(lines, line))
      if (line.starts_with(marker))
        out.push_back(line.substr(marker.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> actual(const sam::LoadResult& result) {
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics.items())
    out.push_back(
        fmt::format("{}:{} {} {}", d.line, d.column, support::to_string(d.severity), d.code));
  std::sort(out.begin(), out.end());
  return out;
}

sam::LoadResult load(const Fixture& fixture) {
  sam::LoadOptions options;
  options.template_path = fixture.template_path;
  options.today = "2026-11-23";
  return sam::load(options);
}

} // namespace

TEST_CASE("corpus: valid templates load without errors") {
  const auto all = fixtures("valid");
  CHECK(all.size() >= 20);
  for (const auto& fixture : all) {
    INFO(fixture.name);
    const auto result = load(fixture);
    INFO(test::joined(result));
    CHECK_FALSE(result.diagnostics.has_errors());
    CHECK(actual(result) == expectations(fixture.template_path));
    CHECK_FALSE(result.model.resources.empty());
  }
}

TEST_CASE("corpus: invalid templates report exactly the expected diagnostics") {
  const auto all = fixtures("invalid");
  CHECK(all.size() >= 100);
  for (const auto& fixture : all) {
    INFO(fixture.name);
    const auto result = load(fixture);
    INFO(test::joined(result));
    CHECK(result.diagnostics.has_errors());
    const auto expected = expectations(fixture.template_path);
    CHECK_FALSE(expected.empty());
    CHECK(actual(result) == expected);
  }
}
