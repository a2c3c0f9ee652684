#pragma once
// Shared by the commands that talk to a backend (deploy, deploy status, promote, rollback,
// delete): the AWS client from the global flags, the target flags, progress output and
// Ctrl-C handling.

#include "../command.hpp"

#include <wisp/aws/client.hpp>
#include <wisp/deploy/deploy.hpp>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

namespace wisp::cli {

// The client for --region/--profile/--endpoint-url; --debug logs its requests (never secrets).
support::Result<std::shared_ptr<aws::Client>> make_aws_client(const Context& context);

// --stack-name, --stage, --s3-bucket, --resolve-s3, --s3-prefix, --break-lock.
void add_target_options(CLI::App& app, deploy::Target& target, bool stage_help_for_deploy);

// Fills the bucket and prefix from .wisp/deploy-targets.json (written by deploy) when no
// flag named them; then checks a stack name is there.
support::Status complete_target(const Context& context, deploy::Target& target);
// Records where a stack's state lives, for the other commands.
void remember_target(const Context& context, const deploy::Target& target,
                     const std::string& bucket);

// Progress on stderr: step lines; on a TTY a status line redrawn in place.
class ConsoleReporter final : public deploy::Reporter {
public:
  explicit ConsoleReporter(const Context& context, bool print_plan = true);
  ~ConsoleReporter() override;
  void plan(const deploy::Plan& plan) override;
  void step(std::string_view line) override;
  void status(std::string_view line) override;
  void warning(std::string_view line) override;
  void clear_status();

private:
  const Context& m_context;
  bool m_print_plan;
  bool m_tty;
  bool m_status_shown = false;
  std::chrono::steady_clock::time_point m_last_plain_status{};
};

// Sets the returned flag on the first SIGINT/SIGTERM; a second SIGINT exits at once.
const std::atomic<bool>* install_interrupt_handler(const Context& context);

// Prints an error and returns its exit code.
int fail(const Context& context, const support::Error& error);

// The project directory: the template's when -t was given, else the current one.
std::filesystem::path project_dir(const Context& context);

} // namespace wisp::cli
