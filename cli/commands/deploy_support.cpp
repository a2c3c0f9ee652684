#include "deploy_support.hpp"

#include <wisp/support/fs.hpp>
#include <wisp/support/strings.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace wisp::cli {

namespace fs = std::filesystem;
namespace json = boost::json;

support::Result<std::shared_ptr<aws::Client>> make_aws_client(const Context& context) {
  aws::ClientOptions options;
  options.region = context.global.region;
  options.profile = context.global.profile;
  options.endpoint_url = context.global.endpoint_url;
  options.connect_timeout = std::chrono::seconds(context.global.cli_connect_timeout);
  options.read_timeout = std::chrono::seconds(context.global.cli_read_timeout);
  if (context.global.debug) {
    const auto* console = &context.console;
    options.debug = [console](std::string_view line) { console->debug_log(line); };
  }
  return aws::make_client(options);
}

void add_target_options(CLI::App& app, deploy::Target& target, bool stage_help_for_deploy) {
  app.add_option("--stack-name", target.stack, "Name of the app (prefixes its resources)")
      ->group("Target");
  app.add_option("--stage", target.stage,
                 stage_help_for_deploy
                     ? "Stage: the alias every function moves and the API stage (default: the "
                       "functions' AutoPublishAlias, else 'live')"
                     : "Stage (needed when the app has several)")
      ->group("Target");
  app.add_option("--s3-bucket", target.bucket, "Bucket holding the artifacts and deploy state")
      ->group("Target");
  app.add_flag("--resolve-s3", target.resolve_s3,
               "Use (and create) wisp's managed bucket wisp-managed-<account>-<region>")
      ->group("Target");
  app.add_option("--s3-prefix", target.prefix, "Key prefix in the bucket (default: the stack name)")
      ->group("Target");
  app.add_flag("--break-lock", target.break_lock,
               "Take the stage's lock even if another wisp holds it (when that one died)")
      ->group("Target");
}

std::filesystem::path project_dir(const Context& context) {
  if (!context.global.template_file.empty()) {
    const auto parent = fs::path(context.global.template_file).parent_path();
    if (!parent.empty())
      return fs::absolute(parent);
  }
  return fs::current_path();
}

namespace {
fs::path targets_file(const Context& context) {
  return project_dir(context) / ".wisp" / "deploy-targets.json";
}
} // namespace

support::Status complete_target(const Context& context, deploy::Target& target) {
  if (target.stack.empty())
    return support::fail("missing --stack-name (or stack_name in samconfig.toml)",
                         support::ExitCode::usage);
  if (target.bucket.empty() && !target.resolve_s3) {
    if (auto text = support::read_file(targets_file(context), 1024 * 1024)) {
      boost::system::error_code ec;
      const auto value = json::parse(*text, ec);
      if (!ec && value.is_object())
        if (const auto* entry = value.as_object().if_contains(target.stack);
            entry != nullptr && entry->is_object()) {
          const auto& o = entry->as_object();
          if (const auto* b = o.if_contains("bucket"); b != nullptr && b->is_string())
            target.bucket = std::string(b->as_string());
          if (const auto* p = o.if_contains("prefix");
              p != nullptr && p->is_string() && target.prefix.empty())
            target.prefix = std::string(p->as_string());
          context.console.debug_log(
              fmt::format("bucket {} from {}", target.bucket, targets_file(context).string()));
        }
    }
  }
  return {};
}

void remember_target(const Context& context, const deploy::Target& target,
                     const std::string& bucket) {
  json::object all;
  if (auto text = support::read_file(targets_file(context), 1024 * 1024)) {
    boost::system::error_code ec;
    auto value = json::parse(*text, ec);
    if (!ec && value.is_object())
      all = std::move(value.as_object());
  }
  all[target.stack] = json::object{{"bucket", bucket}, {"prefix", target.prefix}};
  if (auto written = support::write_file_atomic(targets_file(context), json::serialize(all) + "\n");
      !written)
    context.console.debug_log("could not write " + targets_file(context).string());
}

ConsoleReporter::ConsoleReporter(const Context& context, bool print_plan)
    : m_context(context), m_print_plan(print_plan), m_tty(support::is_tty(STDERR_FILENO)) {}

ConsoleReporter::~ConsoleReporter() {
  clear_status();
}

void ConsoleReporter::clear_status() {
  if (m_status_shown) {
    std::fputs("\r\x1b[2K", stderr);
    std::fflush(stderr);
    m_status_shown = false;
  }
}

void ConsoleReporter::plan(const deploy::Plan& plan) {
  if (!m_print_plan || m_context.console.json)
    return;
  clear_status();
  m_context.console.out(deploy::render_plan(plan, m_context.console.out_style()));
  std::fflush(stdout);
}

void ConsoleReporter::step(std::string_view line) {
  clear_status();
  const auto style = m_context.console.err_style();
  m_context.console.err(fmt::format("{} {}\n", style.green("•"), line));
  std::fflush(stderr);
}

void ConsoleReporter::status(std::string_view line) {
  if (m_tty) {
    fmt::print(stderr, "\r\x1b[2K{}", m_context.console.err_style().dim(line));
    std::fflush(stderr);
    m_status_shown = true;
    return;
  }
  // Without a TTY: at most one status line every 30 s (step lines carry the rest).
  const auto now = std::chrono::steady_clock::now();
  if (now - m_last_plain_status < std::chrono::seconds(30))
    return;
  m_last_plain_status = now;
  m_context.console.err(fmt::format("{}\n", line));
}

void ConsoleReporter::warning(std::string_view line) {
  clear_status();
  m_context.console.warning(line);
}

namespace {
std::atomic<bool> g_interrupted{false};
std::atomic<int> g_interrupts{0};

extern "C" void on_interrupt(int signal_number) {
  g_interrupted = true;
  if (g_interrupts.fetch_add(1) >= 1) {
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
    return;
  }
  static const char k_message[] =
      "\ninterrupted: stopping; aliases being shifted return to their old versions "
      "(Ctrl-C again to quit at once)\n";
  [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, k_message, sizeof k_message - 1);
}
} // namespace

const std::atomic<bool>* install_interrupt_handler(const Context& context) {
  (void)context;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return &g_interrupted;
}

int fail(const Context& context, const support::Error& error) {
  print_error(context, error);
  return static_cast<int>(error.exit_code);
}

} // namespace wisp::cli
