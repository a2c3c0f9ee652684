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
#include <string_view>
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
  // A parameter with neither a Default nor a value from --parameter-overrides is an error
  // (`wisp deploy`: CloudFormation refuses such a stack, "Parameters: [X] must have values");
  // the local commands leave it unset (SAM CLI runs them so).
  bool require_parameter_values = false;
  // The template's text, when it does not come from a file (tests, fuzzing, stdin);
  // template_path then only names it in diagnostics and gives the base directory.
  std::optional<std::string> template_text;
  // Set by the loader for a nested application's template (AWS::Serverless::Application
  // with a local Location, loaded as SAM CLI does): the values its parent's `Parameters:`
  // pass (applied as exact values; one the template does not declare is an error, as in
  // CloudFormation), where the parent declares the application, and the templates of the
  // stacks above it (a template that includes itself is an error).
  // Load nested applications' local templates into the model (the local commands, build,
  // validate, deploy — which deploys the children's functions, layers and APIs and generates
  // their templates: infra::nested_templates_for_deploy). `wisp package` does not: it uploads a
  // child as it is, or packages it when it holds code (infra::nested_templates, PackageChild).
  bool nested_applications = true;
  std::vector<std::pair<std::string, std::string>> parent_parameters;
  SourceRef parent_source;
  std::vector<std::filesystem::path> enclosing_templates;
};

// A nested application run locally (AWS::Serverless::Application with a local Location, or
// AWS::CloudFormation::Stack with a local TemplateURL):
// its functions, layers, APIs and routes are in the Model under this stack path
// ("Child/Function", "Child/Grandchild/Function": SAM CLI's full path). Model::find_function
// finds them by that full path, and by their own logical id when no other function has it.
// The property that names a nested stack's template: "Location" of an
// AWS::Serverless::Application, "TemplateURL" of an AWS::CloudFormation::Stack; nullptr for
// any other type. The loader (run locally) and infra (package, deploy) read both alike.
const char* nested_template_property(std::string_view type);
// A template location that is not a local file: s3://, http://, https://.
bool is_remote_template(std::string_view location);

struct NestedStack {
  std::string stack_path;              // "Child", "Child/Grandchild"
  std::filesystem::path template_path; // absolute
};

struct LoadResult {
  Model model;                      // meaningful only when !diagnostics.has_errors()
  support::Diagnostics diagnostics; // every problem found, errors and warnings
  // Nested applications loaded from local templates, parents before their children.
  std::vector<NestedStack> nested_stacks;
};

// Nested stacks' functions whose own logical id (the part after the stack path) is `id`:
// more than one means a short name is ambiguous (name the function by its full path).
std::vector<const Function*> nested_functions_named(const Model& model, std::string_view id);

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
