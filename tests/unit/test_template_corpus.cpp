// The template corpus (tests/fixtures/templates/{valid,invalid}): every fixture loads (as
// `wisp validate` loads it) without crashing, valid ones have no errors, and each fixture's
// diagnostics are exactly — position, severity, code and message text — those its
// `# expect: LINE:COL severity code: message` lines list (in the template, or in a
// `<file>.expect` sidecar for files that cannot end in comments). Judged as of 2026-11-23
// so runtime deprecations do not drift.
//
// After an intended change of diagnostics, regenerate the expectations and review the diff:
//   WISP_UPDATE_EXPECTATIONS=1 build/dev/tests/wisp_unit -tc='corpus*'

#include "template_test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

using namespace wisp;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_marker = "# expect: ";

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

fs::path sidecar(const fs::path& path) {
  return fs::path(path.string() + ".expect");
}

std::vector<std::string> expectations(const fs::path& path) {
  std::vector<std::string> out;
  for (const auto& file : {path, sidecar(path)}) {
    auto text = support::read_file(file);
    if (!text)
      continue;
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line))
      if (line.starts_with(k_marker))
        out.push_back(line.substr(k_marker.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> actual(const sam::LoadResult& result) {
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics.items()) {
    std::string message = d.message;
    std::replace(message.begin(), message.end(), '\n', ' ');
    out.push_back(fmt::format("{}:{} {} {}: {}", d.line, d.column, support::to_string(d.severity),
                              d.code, message));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// As `wisp validate` loads them: missing local code is a warning (the corpus is also the
// differential test's, which drives `wisp validate`).
sam::LoadResult load(const Fixture& fixture) {
  sam::LoadOptions options;
  options.template_path = fixture.template_path;
  options.today = "2026-11-23";
  options.missing_code_is_error = false;
  return sam::load(options);
}

// Rewrites the fixture's expectations (update mode): drops the old `# expect:` lines and
// writes the current diagnostics in their place (the sidecar when there is one).
void rewrite(const Fixture& fixture, const std::vector<std::string>& lines) {
  const bool has_sidecar = fs::exists(sidecar(fixture.template_path));
  const auto target = has_sidecar ? sidecar(fixture.template_path) : fixture.template_path;
  auto text = support::read_file(target).value_or(std::string());
  std::istringstream in(text);
  std::string kept;
  std::string line;
  while (std::getline(in, line))
    if (!line.starts_with(k_marker))
      kept += line + "\n";
  for (const auto& expected : lines)
    kept += std::string(k_marker) + expected + "\n";
  REQUIRE(support::write_file_atomic(target, kept).has_value());
}

bool updating() {
  return std::getenv("WISP_UPDATE_EXPECTATIONS") != nullptr;
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
    CHECK_FALSE(result.model.resources.empty());
    if (updating())
      rewrite(fixture, actual(result));
    else
      CHECK(actual(result) == expectations(fixture.template_path));
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
    if (updating()) {
      rewrite(fixture, actual(result));
      continue;
    }
    const auto expected = expectations(fixture.template_path);
    CHECK_FALSE(expected.empty());
    CHECK(actual(result) == expected);
  }
}
