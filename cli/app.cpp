#include "app.hpp"

#include "command.hpp"
#include "manpage.hpp"

#include <wisp/config/samconfig.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/version.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <unistd.h>

namespace wisp::cli {

namespace fs = std::filesystem;

namespace {

std::string help_footer(const CommandInfo& info) {
  std::string footer;
  if (!info.description.empty())
    footer += info.description + "\n";
  if (!info.examples.empty()) {
    footer += "\nExamples:\n";
    for (const auto& example : info.examples) {
      footer += fmt::format("  {}\n", example.command);
      if (!example.explanation.empty())
        footer += fmt::format("      {}\n", example.explanation);
    }
  }
  return footer;
}

void add_common_options(CLI::App& app, GlobalOptions& global, unsigned groups) {
  if ((groups & k_group_template) != 0u)
    app.add_option("-t,--template,--template-file", global.template_file,
                   "SAM template (default: template.yaml, then template.yml)")
        ->group("Common");
  if ((groups & k_group_parameters) != 0u)
    app.add_option("--parameter-overrides", global.parameter_overrides,
                   "Template parameters: 'Key=Value Key2=Value2' or "
                   "'ParameterKey=Key,ParameterValue=Value' (repeatable)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->group("Common");
  if ((groups & k_group_aws) != 0u) {
    app.add_option("--region", global.region, "AWS region (default: from the AWS config)")
        ->group("AWS");
    app.add_option("--profile", global.profile, "Profile from ~/.aws/credentials and config")
        ->group("AWS");
    app.add_option("--endpoint-url", global.endpoint_url,
                   "Backend endpoint (e.g. moto or LocalStack on loopback)")
        ->group("AWS");
  }
  if ((groups & k_group_aws_calls) != 0u) {
    app.add_option("--cli-connect-timeout", global.cli_connect_timeout,
                   "Seconds to wait for a connection to the backend (0: no limit)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str()
        ->group("AWS");
    app.add_option("--cli-read-timeout", global.cli_read_timeout,
                   "Seconds a backend answer may stall before the call is retried (0: no limit)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str()
        ->group("AWS");
  }
  if ((groups & k_group_output) != 0u)
    set_choices(app.add_option("--output", global.output, "Output format"), {"text", "json"})
        ->group("Common");
  app.add_option("--config-file", global.config_file, "samconfig file (default: samconfig.toml)")
      ->group("Config");
  app.add_option("--config-env", global.config_env,
                 "Environment in the samconfig file (default: default)")
      ->group("Config");
  set_choices(app.add_option("--color", global.color, "Colour output"), {"auto", "always", "never"})
      ->group("Common");
  app.add_flag("--debug", global.debug, "Print debug logs")->group("Common");
}

CLI::App* find_or_add_group(CLI::App& parent, const std::string& name) {
  for (auto* sub : parent.get_subcommands({}))
    if (sub->get_name() == name)
      return sub;
  auto* group = parent.add_subcommand(name, group_description(name));
  group->require_subcommand(1);
  return group;
}

// The parsed leaf subcommand and its path of names.
CLI::App* selected_leaf(CLI::App& root, std::vector<std::string>& path) {
  CLI::App* current = &root;
  while (true) {
    auto parsed = current->get_subcommands();
    if (parsed.empty())
      return current == &root ? nullptr : current;
    current = parsed.front();
    path.push_back(current->get_name());
  }
}

bool option_given(const CLI::App& app, const std::string& name) {
  const auto* option = app.get_option_no_throw(name);
  return option != nullptr && option->count() > 0;
}

// Finds the option a samconfig key names: `stack_name` → `--stack-name`.
CLI::Option* option_for_key(CLI::App& app, const std::string& key) {
  std::string name = "--";
  for (const char c : key)
    name += c == '_' ? '-' : c;
  return app.get_option_no_throw(name);
}

std::vector<std::string> option_keys(const CLI::App& app) {
  std::vector<std::string> keys;
  for (const auto* option : app.get_options()) {
    for (const auto& lname : option->get_lnames()) {
      std::string key;
      for (const char c : lname)
        key += c == '-' ? '_' : c;
      keys.push_back(key);
    }
  }
  return keys;
}

// Applies samconfig entries to the options the command line left unset.
support::Status apply_config(CLI::App& leaf, Context& context, bool config_explicit,
                             bool env_explicit, const fs::path& base_dir) {
  auto& global = context.global;
  fs::path path = global.config_file;
  if (path.is_relative())
    path = base_dir / path;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (config_explicit)
      return support::failf("config file {} does not exist", global.config_file);
    // SAM also reads samconfig.yaml / samconfig.yml when the default is absent.
    bool found = false;
    for (const char* alternative : {"samconfig.yaml", "samconfig.yml"}) {
      if (fs::exists(base_dir / alternative, ec)) {
        path = base_dir / alternative;
        found = true;
        break;
      }
    }
    if (!found) {
      if (env_explicit && global.config_env != "default")
        return support::failf("--config-env {} given, but there is no config file {}",
                              global.config_env, global.config_file);
      return {};
    }
  }
  auto display = path.lexically_relative(fs::current_path());
  if (display.empty() || display.native().starts_with(".."))
    display = path;
  auto text = support::read_file(path, 16u * 1024 * 1024);
  if (!text)
    return tl::unexpected(text.error());
  auto config = config::SamConfig::parse(*text, display.string());
  if (!config)
    return tl::unexpected(config.error());
  if (!config->has_env(global.config_env)) {
    if (env_explicit)
      return support::failf("environment '{}' is not in {} (it has: {})", global.config_env,
                            display.string(), support::join(config->envs(), ", "));
    return {};
  }
  for (const auto& entry : config->parameters(global.config_env, "build"))
    if (entry.key == "build_dir" && entry.values.size() == 1)
      global.config_build_dir = entry.values.front();
  const auto key = config::command_key(context.command_path);
  for (const auto& entry : config->parameters(global.config_env, key)) {
    auto* option = option_for_key(leaf, entry.key);
    if (option == nullptr) {
      if (entry.from_global)
        continue; // global parameters apply only to the commands that have them
      const auto keys = option_keys(leaf);
      std::string hint;
      if (auto close = support::closest_match(entry.key, keys))
        hint = fmt::format("; did you mean '{}'?", *close);
      context.console.err(support::render(
          support::Diagnostic{entry.file, entry.line, entry.column, support::Severity::warning,
                              "config",
                              fmt::format("'{}' is not a parameter of 'wisp {}'{}", entry.key,
                                          support::join(context.command_path, " "), hint)},
          {context.console.color_err, false}));
      continue;
    }
    if (option->count() > 0)
      continue; // the command line wins
    const bool single = option->get_items_expected_max() <= 1 &&
                        option->get_multi_option_policy() != CLI::MultiOptionPolicy::TakeAll;
    if (entry.is_list && single && entry.values.size() != 1)
      return support::fail(support::Diagnostic{
          entry.file, entry.line, entry.column, support::Severity::error, "config",
          fmt::format("'{}' takes a single value, not a list", entry.key)});
    try {
      option->add_result(entry.values);
      option->run_callback();
    } catch (const CLI::Error& e) {
      return support::fail(support::Diagnostic{
          entry.file, entry.line, entry.column, support::Severity::error, "config",
          fmt::format("invalid value for '{}': {}", entry.key, e.what())});
    }
  }
  return {};
}

} // namespace

void print_error(const Context& context, const support::Error& error) {
  if (error.diagnostics.empty()) {
    context.console.error(error.message);
    return;
  }
  for (const auto& diagnostic : error.diagnostics) {
    std::string source;
    if (context.console.color_err && diagnostic.line > 0 && !diagnostic.file.empty()) {
      if (auto text = support::read_file(diagnostic.file))
        source = std::move(*text);
    }
    context.console.err(
        support::render(diagnostic, {context.console.color_err, !source.empty()}, source));
  }
}

namespace {

// The whole command tree: the root, one subcommand per command (in registry order), and
// the options every command shares.
struct Tree {
  Context context;
  CLI::App app{"wisp — build, run and deploy SAM serverless applications: fast, Docker-free "
               "and exact.",
               "wisp"};
  std::vector<std::unique_ptr<Command>> commands;
  std::map<CLI::App*, Command*> by_app;
  std::map<const CLI::App*, CommandInfo> infos;

  Tree() {
    app.set_version_flag("--version", std::string("wisp ") + std::string(version()),
                         "Print the version and exit");
    app.require_subcommand(0, 1);
    app.add_flag("--debug", context.global.debug, "Print debug logs");
    set_choices(app.add_option("--color", context.global.color, "Colour output"),
                {"auto", "always", "never"});
    app.footer("Run 'wisp COMMAND --help' for a command's flags and examples.\n"
               "Documentation: README.md and docs/ in the source tree.");
    context.root = &app;

    commands = make_commands();
    for (auto& command : commands) {
      auto info = command->info();
      CLI::App* parent = &app;
      for (std::size_t i = 0; i + 1 < info.path.size(); ++i)
        parent = find_or_add_group(*parent, info.path[i]);
      auto* sub = parent->add_subcommand(info.path.back(), info.summary);
      sub->footer(help_footer(info));
      command->add_options(*sub);
      add_common_options(*sub, context.global, info.groups);
      by_app[sub] = command.get();
      infos[sub] = std::move(info);
    }
  }
};

} // namespace

std::string man_page() {
  const Tree tree;
  return render_man_page(tree.app, tree.infos);
}

int run(int argc, char** argv) {
  auto tree = std::make_unique<Tree>();
  auto& app = tree->app;
  auto& context = tree->context;
  auto& by_app = tree->by_app;
  context.stdin_is_tty = support::is_tty(STDIN_FILENO);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(support::ExitCode::usage);
  }

  const auto color_mode = support::parse_color_mode(context.global.color);
  context.console.color_out = support::use_color(color_mode, STDOUT_FILENO);
  context.console.color_err = support::use_color(color_mode, STDERR_FILENO);
  context.console.debug = context.global.debug;

  auto* leaf = selected_leaf(app, context.command_path);
  if (leaf == nullptr) {
    std::fputs(app.help().c_str(), stderr);
    return static_cast<int>(support::ExitCode::usage);
  }
  auto* command = by_app.at(leaf);
  context.console.json = context.global.output == "json";

  // A relative --config-file is looked up beside an explicitly given template (SAM's rule),
  // otherwise in the current directory.
  fs::path base_dir = fs::current_path();
  if (option_given(*leaf, "--template") && !context.global.template_file.empty()) {
    const auto parent = fs::path(context.global.template_file).parent_path();
    if (!parent.empty())
      base_dir = fs::absolute(parent);
  }
  const bool config_explicit = option_given(*leaf, "--config-file");
  const bool env_explicit = option_given(*leaf, "--config-env");
  if (auto applied = apply_config(*leaf, context, config_explicit, env_explicit, base_dir);
      !applied) {
    print_error(context, applied.error());
    return static_cast<int>(applied.error().exit_code);
  }
  // Config may have changed colour/debug/output.
  const auto final_color = support::parse_color_mode(context.global.color);
  context.console.color_out = support::use_color(final_color, STDOUT_FILENO);
  context.console.color_err = support::use_color(final_color, STDERR_FILENO);
  context.console.debug = context.global.debug;
  context.console.json = context.global.output == "json";

  return command->run(context);
}

} // namespace wisp::cli
