// wisp local coldstart [FUNCTION] — where a function's cold start goes, module by module.

#include "../command.hpp"
#include "load.hpp"

#include <wisp/aws/config.hpp>
#include <wisp/console/coldstart.hpp>
#include <wisp/runtime/function.hpp>
#include <wisp/runtime/local_invoke.hpp>

namespace wisp::cli {

namespace {

class LocalColdStartCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "coldstart"},
            "Break a function's cold start down by module, and size its package",
            "Loads the function's handler module as wisp's bootstrap does -- python under "
            "`python -X importtime`, node (CommonJS or ES module) under `node --cpu-prof` -- and "
            "prints how long that took, the packages and modules that took it (self time; "
            "cumulative for python), and the code's size (with layers) against Lambda's 250 MB "
            "limit with its largest entries. provided* runtimes get the size only. The module "
            "runs with the function's environment, as in a worker's INIT. See docs/console.md.",
            {{"wisp local coldstart HelloFunction", "Where HelloFunction's INIT goes"},
             {"wisp local coldstart Api --output json", "The same as JSON"}},
            k_group_template | k_group_parameters | k_group_aws | k_group_output};
  }

  void add_options(CLI::App& app) override {
    app.add_option("function", m_function,
                   "Logical id or FunctionName (optional with a single function)");
    app.add_option("-n,--env-vars", m_env_vars,
                   "JSON file of environment variables (SAM's format)");
  }

  int run(Context& context) override {
    auto& term = context.console;
    aws::ConfigInputs inputs;
    inputs.profile = context.global.profile;
    inputs.region = context.global.region;
    auto aws_config = aws::load_config(inputs);
    if (!aws_config) {
      print_error(context, aws_config.error());
      return 1;
    }
    sam::LoadOptions load;
    load.region = aws_config->region.empty() ? "us-east-1" : aws_config->region;
    load.check_code = false;
    int exit_code = 0;
    auto model = load_template(context, load, exit_code);
    if (!model)
      return exit_code;
    auto function = runtime::pick_function(*model, m_function);
    if (!function) {
      print_error(context, function.error());
      return static_cast<int>(function.error().exit_code);
    }
    std::optional<runtime::EnvVarsFile> env_vars;
    if (!m_env_vars.empty()) {
      auto loaded = runtime::load_env_vars(m_env_vars);
      if (!loaded) {
        print_error(context, loaded.error());
        return 1;
      }
      env_vars = std::move(*loaded);
    }
    std::vector<std::string> warnings;
    auto config = runtime::make_function_config(*model, **function, env_vars ? &*env_vars : nullptr,
                                                warnings);
    for (const auto& warning : warnings)
      term.warning(warning);
    if (!config) {
      print_error(context, config.error());
      return 1;
    }
    auto profile = console::profile_cold_start(*config, load.region);
    if (!profile) {
      print_error(context, profile.error());
      return 1;
    }
    term.out(term.json ? console::render_json(*profile)
                       : console::render_text(*profile, term.color_out));
    return 0;
  }

private:
  std::string m_function;
  std::string m_env_vars;
};

} // namespace

std::unique_ptr<Command> make_local_coldstart_command() {
  return std::make_unique<LocalColdStartCommand>();
}

} // namespace wisp::cli
