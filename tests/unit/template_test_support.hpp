#pragma once
// Helpers for the template area's unit tests: write a template into a temp directory,
// load it, and look at the diagnostics as "line:col: severity: message [code]" strings.

#include <wisp/support/fs.hpp>
#include <wisp/template/load.hpp>

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace wisp::test {

struct TemplateFixture {
  support::TempDir dir{"wisp-template-test"};

  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto path = dir.path() / name;
    (void)support::write_file_atomic(path, text);
    return path;
  }

  sam::LoadResult load(const std::string& text, sam::LoadOptions options = {},
                       const std::string& name = "template.yaml") const {
    options.template_path = write(name, text);
    if (options.today.empty())
      options.today = "2026-11-23";
    return sam::load(options);
  }
};

// Diagnostics without the (temp) file name.
inline std::vector<std::string> lines(const sam::LoadResult& result) {
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics.items())
    out.push_back(fmt::format("{}:{}: {}: {} [{}]", d.line, d.column,
                              support::to_string(d.severity), d.message, d.code));
  return out;
}

inline std::string joined(const sam::LoadResult& result) {
  std::string out;
  for (const auto& line : lines(result))
    out += line + "\n";
  return out;
}

inline bool has_code(const sam::LoadResult& result, std::string_view code) {
  for (const auto& d : result.diagnostics.items())
    if (d.code == code)
      return true;
  return false;
}

// The pointee, or a test failure (an exception) when it is null.
template <class T> const T& must(const T* pointer) {
  if (pointer == nullptr)
    throw std::runtime_error("unexpected null pointer");
  return *pointer;
}

constexpr const char* k_header = "AWSTemplateFormatVersion: '2010-09-09'\n"
                                 "Transform: AWS::Serverless-2016-10-31\n";

} // namespace wisp::test
