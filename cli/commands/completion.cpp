// wisp completion bash|zsh|fish — prints a completion script for the shell.

#include "../completion.hpp"
#include "../command.hpp"

namespace wisp::cli {

namespace {

class CompletionCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"completion"},
            "Print a shell completion script (bash, zsh, fish)",
            "Prints a completion script generated from wisp's own command definitions: "
            "commands, flags and their enumerated values.",
            {{"source <(wisp completion bash)", "Enable completion in the current bash"},
             {"wisp completion zsh > \"${fpath[1]}/_wisp\"", "Install for zsh"},
             {"wisp completion fish > ~/.config/fish/completions/wisp.fish", "Install for fish"}},
            0};
  }

  void add_options(CLI::App& app) override {
    set_choices(app.add_option("shell", m_shell, "Shell to generate for")->required(),
                completion_shells());
  }

  int run(Context& context) override {
    auto script = completion_script(*context.root, m_shell);
    if (!script) {
      context.console.error("unknown shell '" + m_shell + "' (bash, zsh or fish)");
      return static_cast<int>(support::ExitCode::usage);
    }
    context.console.out(*script);
    return 0;
  }

private:
  std::string m_shell;
};

} // namespace

std::unique_ptr<Command> make_completion_command() {
  return std::make_unique<CompletionCommand>();
}

} // namespace wisp::cli
