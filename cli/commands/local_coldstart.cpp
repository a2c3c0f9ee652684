// wisp local coldstart [FUNCTION] — where a function's cold start goes, module by module.

#include "../command.hpp"
#include "function_config.hpp"

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
    int exit_code = 0;
    auto target = load_function_config(context, m_function, m_env_vars, exit_code);
    if (!target)
      return exit_code;
    auto profile = console::profile_cold_start(target->config, target->region);
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
