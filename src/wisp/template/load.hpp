#pragma once
// Loading a SAM template into a Model: read (YAML or JSON, with positions), resolve, check.
//
// load() reports every problem it finds in one run, each with file:line:col (the file as
// the user named it). It never throws on bad input and never hangs: hostile documents
// (alias bombs, deep nesting, huge scalars, invalid UTF-8, duplicate keys, a directory
// instead of a file) are diagnostics. Codes are stable identifiers (docs/validate.md).

#include <wisp/support/diagnostic.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
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
  // Date (YYYY-MM-DD) runtime deprecations are judged against; empty: today (UTC).
  std::string today;
  // Check that handler files exist under local CodeUri directories.
  bool check_code = true;
  // How a local CodeUri/ContentUri that does not exist is reported: an error for the commands
  // that need the files; `wisp validate` makes it a warning (a build output such as
  // target/app.zip may not exist yet, and neither samtranslator nor CloudFormation looks at
  // local files). A handler file missing from an existing CodeUri is always a warning (SAM
  // never checks it: a layer or an exec wrapper may provide it).
  bool missing_code_is_error = true;
  // The template's text, when it does not come from a file (tests, fuzzing, stdin);
  // template_path then only names it in diagnostics and gives the base directory.
  std::optional<std::string> template_text;
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

// Parses --parameter-overrides values in SAM's two forms, which may be mixed: "K=V K2=V2"
// and "ParameterKey=K,ParameterValue=V" (several per string, separated by spaces).
// Values may be quoted ('a b' or "a b"). In order; a later key wins when applied.
// Error (usage) for an entry that is neither form.
support::Result<std::vector<std::pair<std::string, std::string>>>
parse_parameter_overrides(const std::vector<std::string>& overrides);

// The template a command uses: `given` when not empty (it must exist and be a file),
// otherwise default_template_path() of the current directory.
support::Result<std::filesystem::path> resolve_template_path(const std::filesystem::path& given);

// The template a command uses when -t is not given: template.yaml, then template.yml,
// in `dir`. Error when neither exists.
support::Result<std::filesystem::path> default_template_path(const std::filesystem::path& dir);

} // namespace wisp::sam
