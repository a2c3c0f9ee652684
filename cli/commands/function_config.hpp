#pragma once
// One function of the template as the engine runs it, for the commands that run a single
// function outside a server (`local coldstart`, `local tune`).

#include "../command.hpp"
#include "load.hpp"

#include <wisp/aws/config.hpp>
#include <wisp/runtime/function.hpp>
#include <wisp/runtime/local_invoke.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wisp::cli {

struct LoadedFunction {
  std::string region; // as the AWS CLI resolves it; us-east-1 when none is set
  runtime::FunctionConfig config;
};

// Loads the template (without checking code paths), picks `function` (the only one when empty),
// applies the --env-vars file when given and prints the warnings; on failure prints the error
// and returns nothing with `exit_code` set.
inline std::optional<LoadedFunction> load_function_config(Context& context,
                                                          const std::string& function,
                                                          const std::string& env_vars_file,
                                                          int& exit_code) {
  exit_code = 1;
  aws::ConfigInputs inputs;
  inputs.profile = context.global.profile;
  inputs.region = context.global.region;
  auto aws_config = aws::load_config(inputs);
  if (!aws_config) {
    print_error(context, aws_config.error());
    return std::nullopt;
  }
  sam::LoadOptions load;
  load.region = aws_config->region.empty() ? "us-east-1" : aws_config->region;
  load.check_code = false;
  auto model = load_template(context, load, exit_code);
  if (!model)
    return std::nullopt;
  auto picked = runtime::pick_function(*model, function);
  if (!picked) {
    print_error(context, picked.error());
    exit_code = static_cast<int>(picked.error().exit_code);
    return std::nullopt;
  }
  exit_code = 1;
  std::optional<runtime::EnvVarsFile> env_vars;
  if (!env_vars_file.empty()) {
    auto loaded = runtime::load_env_vars(env_vars_file);
    if (!loaded) {
      print_error(context, loaded.error());
      return std::nullopt;
    }
    env_vars = std::move(*loaded);
  }
  std::vector<std::string> warnings;
  auto config =
      runtime::make_function_config(*model, **picked, env_vars ? &*env_vars : nullptr, warnings);
  for (const auto& warning : warnings)
    context.console.warning(warning);
  if (!config) {
    print_error(context, config.error());
    return std::nullopt;
  }
  return LoadedFunction{load.region, std::move(*config)};
}

} // namespace wisp::cli
