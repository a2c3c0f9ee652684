#pragma once
// From the template model to what the engine runs: a FunctionConfig per function (code
// directory, layers, limits, environment), and SAM's --env-vars file.
//
// --env-vars (SAM's format): {"LogicalId": {"VAR": "value"}, "Parameters": {"VAR": "v"}}.
// "Parameters" applies to every function, a function's own object wins over it; both are
// applied over Lambda's own variables (FunctionConfig::env_overrides). Unlike SAM CLI, a
// variable need not be declared in the template to be set (docs/local-execution.md).

#include <wisp/runtime/engine.hpp>
#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::runtime {

struct EnvVarsFile {
  std::map<std::string, std::map<std::string, std::string>> functions; // by logical id / name
  std::map<std::string, std::string> parameters;                       // "Parameters"
};

// Parses an --env-vars document; errors carry file:line:col. Non-string values become
// strings as SAM makes them (true/false, numbers as written, null as "").
support::Result<EnvVarsFile> parse_env_vars(std::string_view text, const std::string& file_name);
support::Result<EnvVarsFile> load_env_vars(const std::filesystem::path& path);

// The engine's view of `function`. Fails for what cannot run locally (PackageType Image, code
// only in S3). InlineCode is written under <base_dir>/.wisp/inline/<LogicalId>/. Appends
// warnings (unresolvable variables, layers that are not local).
support::Result<FunctionConfig> make_function_config(const sam::Model& model,
                                                     const sam::Function& function,
                                                     const EnvVarsFile* env_vars,
                                                     std::vector<std::string>& warnings);

} // namespace wisp::runtime
