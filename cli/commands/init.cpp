// wisp init — creates a new SAM app from a scaffold (src/wisp/scaffold). Asks for what is
// missing when stdin is a terminal; otherwise names the missing flag.

#include "../command.hpp"

#include <wisp/scaffold/catalogue.hpp>
#include <wisp/scaffold/create.hpp>
#include <wisp/scaffold/names.hpp>
#include <wisp/scaffold/runtimes.hpp>
#include <wisp/support/prompt.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

namespace wisp::cli {

namespace {

namespace scaffold = wisp::scaffold;
namespace fs = std::filesystem;

constexpr std::string_view k_example = "wisp init --name my-app --runtime python3.13";
constexpr std::string_view k_default_name = "wisp-app";

class InitCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"init"},
            "Create a new SAM app from a scaffold",
            "Creates NAME/ (in --output-dir) holding a SAM app: template.yaml with one function "
            "behind a REST API route and an HTTP API route, sample events, samconfig.toml, a "
            "README and a unit test for the handler. Asks for the runtime and the name when they "
            "are not given and stdin is a terminal. Never overwrites an existing directory. "
            "Runtimes AWS Lambda no longer lets you create are refused.",
            {{"wisp init", "Ask for the runtime and the name"},
             {std::string(k_example), "A Python app in ./my-app"},
             {"wisp init -n api -r nodejs22.x --app-template hello-world-esm -o ~/src",
              "A Node.js ES module app in ~/src/api"},
             {"wisp init -n fn -r provided.al2023 --no-interactive",
              "A custom runtime (shell bootstrap); never ask"}},
            k_group_output};
  }

  void add_options(CLI::App& app) override {
    m_name_option =
        app.add_option("-n,--name", m_name,
                       "Project name: the directory to create (letters, digits, '-' and '_'; at "
                       "most 64)");
    set_choices(app.add_option("-r,--runtime", m_runtime, "Lambda runtime of the function"),
                scaffold::creatable_runtimes(scaffold::k_lifecycle_reviewed),
                [](const std::string& value) {
                  const auto check = scaffold::check_runtime(value, scaffold::today());
                  if (check.state == scaffold::RuntimeState::supported ||
                      check.state == scaffold::RuntimeState::deprecated)
                    return std::string();
                  return check.message;
                });
    const auto names = scaffold::app_template_names();
    set_choices(app.add_option("--app-template", m_app_template,
                               "Scaffold to use (default: hello-world; hello-world-esm is the "
                               "Node.js ES module variant)"),
                std::vector<std::string>(names.begin(), names.end()));
    app.add_option("-o,--output-dir", m_output_dir,
                   "Directory to create the project in (default: the current directory)");
    app.add_flag("--no-interactive", m_no_interactive,
                 "Never ask: fail when --name or --runtime is missing");
  }

  int run(Context& context) override {
    auto& console = context.console;
    auto templates = scaffold::find_templates_dir();
    if (!templates) {
      print_error(context, templates.error());
      return static_cast<int>(templates.error().exit_code);
    }
    console.debug_log(fmt::format("scaffolds from {}", templates->string()));
    auto catalogue = scaffold::Catalogue::load(*templates);
    if (!catalogue) {
      print_error(context, catalogue.error());
      return static_cast<int>(catalogue.error().exit_code);
    }

    // A name given on the command line (or in samconfig) is checked before asking anything.
    if (m_name_option->count() > 0) {
      if (auto valid = scaffold::validate_name(m_name); !valid) {
        print_error(context, valid.error());
        return static_cast<int>(valid.error().exit_code);
      }
    }

    std::vector<std::string> missing;
    if (m_runtime.empty())
      missing.emplace_back("--runtime");
    if (m_name_option->count() == 0)
      missing.emplace_back("--name");
    const bool interactive = context.stdin_is_tty && !m_no_interactive;
    if (!missing.empty() && !interactive) {
      const auto what = support::join(missing, " and ");
      const auto them = missing.size() == 1 ? "it" : "them";
      if (m_no_interactive)
        console.error(fmt::format("missing {}: --no-interactive was given, so wisp init does not "
                                  "ask for {} (example: {})",
                                  what, them, k_example));
      else
        console.error(fmt::format("missing {}: stdin is not a terminal, so wisp init cannot ask "
                                  "for {} (example: {})",
                                  what, them, k_example));
      return static_cast<int>(support::ExitCode::usage);
    }

    if (interactive) {
      if (auto asked = ask(context, *catalogue); !asked) {
        print_error(context, asked.error());
        return static_cast<int>(asked.error().exit_code);
      }
    }

    const auto runtime_check = scaffold::check_runtime(m_runtime, scaffold::today());
    if (runtime_check.state == scaffold::RuntimeState::deprecated)
      console.warning(runtime_check.message);

    scaffold::Request request;
    request.name = m_name;
    request.runtime = m_runtime;
    request.app_template = m_app_template;
    if (!m_output_dir.empty())
      request.output_dir = m_output_dir;
    auto project = scaffold::create(*catalogue, request);
    if (!project) {
      print_error(context, project.error());
      return static_cast<int>(project.error().exit_code);
    }
    render(context, *project);
    return 0;
  }

private:
  support::Status ask(Context& context, const scaffold::Catalogue& catalogue) {
    support::Prompter prompter(std::cin, std::cerr, context.console.color_err);
    const auto day = scaffold::today();
    if (m_runtime.empty()) {
      std::vector<support::Choice> choices;
      std::size_t default_index = 0;
      const auto preferred = scaffold::default_runtime(day);
      for (const auto& runtime : scaffold::creatable_runtimes(day)) {
        if (catalogue.app_templates_for(runtime).empty())
          continue;
        if (runtime == preferred)
          default_index = choices.size();
        std::string note;
        if (scaffold::check_runtime(runtime, day).state == scaffold::RuntimeState::deprecated)
          note = "(deprecated)";
        choices.push_back({runtime, note});
      }
      WISP_TRY_ASSIGN(m_runtime, prompter.choose("Which runtime?", choices, default_index));
    }
    if (m_app_template.empty()) {
      const auto available = catalogue.app_templates_for(m_runtime);
      if (available.size() > 1) {
        std::vector<support::Choice> choices;
        choices.reserve(available.size());
        for (const auto& name : available)
          choices.push_back({name, fmt::format("({})", catalogue.find(m_runtime, name)->summary)});
        WISP_TRY_ASSIGN(m_app_template, prompter.choose("Which app template?", choices, 0));
      }
    }
    if (m_name_option->count() == 0) {
      const fs::path output_dir = m_output_dir.empty() ? fs::path(".") : fs::path(m_output_dir);
      WISP_TRY_ASSIGN(m_name,
                      prompter.ask("Project name", k_default_name,
                                   [&](std::string_view name) -> support::Status {
                                     WISP_TRY(scaffold::validate_name(name));
                                     const auto target = (output_dir / name).lexically_normal();
                                     std::error_code ec;
                                     if (fs::exists(fs::symlink_status(target, ec)))
                                       return support::failf("{} already exists", target.string());
                                     return {};
                                   }));
    }
    return {};
  }

  static void render(const Context& context, const scaffold::Project& project) {
    const auto& console = context.console;
    if (console.json) {
      boost::json::array files;
      for (const auto& file : project.files)
        files.emplace_back(file);
      const boost::json::object result = {
          {"directory", project.directory.string()}, {"runtime", project.runtime},
          {"app_template", project.app_template},    {"stack_name", project.stack_name},
          {"test_command", project.test_command},    {"files", std::move(files)}};
      console.out(boost::json::serialize(result) + "\n");
      return;
    }
    const auto style = console.out_style();
    console.out(fmt::format("{} {} ({}, {}): {} files\n", style.green_bold("Created"),
                            project.directory.string(), project.runtime, project.app_template,
                            project.files.size()));
    console.out(fmt::format("\n{}\n  cd {}\n  {}{}\n", style.bold("Next steps:"),
                            project.directory.string(), project.test_command,
                            style.dim("    # the handler's unit test")));
    console.out("  See README.md there to run the app locally and deploy it.\n");
  }

  CLI::Option* m_name_option = nullptr;
  std::string m_name;
  std::string m_runtime;
  std::string m_app_template;
  std::string m_output_dir;
  bool m_no_interactive = false;
};

} // namespace

std::unique_ptr<Command> make_init_command() {
  return std::make_unique<InitCommand>();
}

} // namespace wisp::cli
