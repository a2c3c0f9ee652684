#pragma once
// The contract between wisp's CLI and its commands. Each command lives in
// cli/commands/<name>.cpp: it parses flags (CLI11) into an options struct, calls libwisp,
// and renders the result. No business logic lives in cli/.

#include <wisp/support/error.hpp>
#include <wisp/support/terminal.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace wisp::cli {

// Groups of shared options a command opts into.
enum OptionGroup : unsigned {
  k_group_template = 1u << 0u,   // -t/--template
  k_group_parameters = 1u << 1u, // --parameter-overrides
  k_group_aws = 1u << 2u,        // --region, --profile, --endpoint-url
  k_group_output = 1u << 3u,     // --output text|json
  k_group_aws_calls = 1u << 4u,  // --cli-connect-timeout, --cli-read-timeout (calls the backend)
};

// Options every command can see. Some are on every command (config, colour, debug);
// the rest only where the command's groups include them.
struct GlobalOptions {
  std::string template_file; // empty: template.yaml, then template.yml
  std::string config_file = "samconfig.toml";
  std::string config_env = "default";
  std::vector<std::string> parameter_overrides;
  std::string region;
  std::string profile;
  std::string endpoint_url;
  int cli_connect_timeout = 10; // seconds; 0 = none
  int cli_read_timeout = 60;    // seconds without a byte; 0 = none
  // `build_dir` of the samconfig's build command (local runs look for builds there, as
  // `wisp build` puts them there).
  std::string config_build_dir;
  std::string output = "text";
  std::string color = "auto";
  bool debug = false;
};

struct Context {
  GlobalOptions global;
  support::Console console;
  CLI::App* root = nullptr;              // the whole command tree (for completion)
  std::vector<std::string> command_path; // e.g. {"local", "start-api"}
  bool stdin_is_tty = false;
};

struct Example {
  std::string command;
  std::string explanation;
};

struct CommandInfo {
  std::vector<std::string> path; // {"validate"} or {"local", "invoke"}
  std::string summary;           // one line for the command list
  std::string description;       // a paragraph for `--help`
  std::vector<Example> examples; // shown under `--help`
  unsigned groups = 0;           // OptionGroup bits
};

class Command {
public:
  Command() = default;
  virtual ~Command() = default;
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  [[nodiscard]] virtual CommandInfo info() const = 0;
  // Adds the command's own flags and positionals to `app` (its subcommand).
  virtual void add_options(CLI::App& app) = 0;
  // Runs after parsing and samconfig; returns the process exit code.
  virtual int run(Context& context) = 0;
};

// Every command, in help order (cli/commands/registry.cpp).
std::vector<std::unique_ptr<Command>> make_commands();

// Descriptions of command groups that have subcommands of their own ("local").
std::string group_description(const std::string& name);

// Enumerated values of an option or positional: checked on parse, listed in help and
// offered by shell completion.
CLI::Option* set_choices(CLI::Option* option, std::vector<std::string> values);
// The same for values `check` decides on: it returns why a value is refused, or an empty
// string to accept it. `values` are what help lists and completion offers; `check` may
// accept others too (e.g. a deprecated runtime it warns about later).
CLI::Option* set_choices(CLI::Option* option, std::vector<std::string> values,
                         std::function<std::string(const std::string&)> check);
const std::vector<std::string>* choices_of(const CLI::Option* option);

// Prints an error (its diagnostics with source lines on a TTY) to stderr.
void print_error(const Context& context, const support::Error& error);

// Runtimes wisp knows (shared by init's and others' choices).
const std::vector<std::string>& known_runtimes();

} // namespace wisp::cli
