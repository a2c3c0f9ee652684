#pragma once
// Loading a SAM template into a Model: read (YAML or JSON, with positions), resolve, check.

#include <wisp/support/diagnostic.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace wisp::sam {

struct LoadOptions {
  // Empty: template.yaml, then template.yml, in the current directory.
  std::filesystem::path template_path;
  // SAM's forms: "K=V K2=V2" and "ParameterKey=K,ParameterValue=V"; one or more strings.
  std::vector<std::string> parameter_overrides;
  // Fn::ImportValue overrides (export name → value), e.g. from --import-values file.json.
  std::map<std::string, std::string> import_values;
  // Pseudo parameters.
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  std::string stack_name = "local";
  bool lint = false; // also best-practice warnings
};

struct LoadResult {
  Model model;                      // meaningful only when !diagnostics.has_errors()
  support::Diagnostics diagnostics; // every problem found, errors and warnings
};

// Never throws on bad input: every problem is a diagnostic with file:line:col.
LoadResult load(const LoadOptions& options);

// load(), failing with all error diagnostics when there are errors; warnings are
// appended to `warnings` when given.
support::Result<Model> load_model(const LoadOptions& options,
                                  support::Diagnostics* warnings = nullptr);

// The template a command uses when -t is not given: template.yaml, then template.yml,
// in `dir`. Error when neither exists.
support::Result<std::filesystem::path> default_template_path(const std::filesystem::path& dir);

} // namespace wisp::sam
