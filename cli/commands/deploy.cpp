// wisp deploy, wisp deploy status, wisp promote, wisp rollback, wisp delete — push an app
// to an AWS-compatible backend and manage its stages (src/wisp/deploy).

#include "deploy_support.hpp"
#include "load.hpp"

#include <wisp/artifact/build.hpp>
#include <wisp/deploy/backend.hpp>
#include <wisp/deploy/deploy.hpp>
#include <wisp/deploy/nested_fetch.hpp>
#include <wisp/deploy/shift.hpp>
#include <wisp/support/strings.hpp>
#include <wisp/template/load.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace wisp::cli {

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string git_commit(const fs::path& dir) {
  const auto command =
      fmt::format("git -C '{}' rev-parse --verify -q HEAD 2>/dev/null", dir.string());
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    return {};
  std::array<char, 128> buffer{};
  std::string out;
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr)
    out += buffer.data();
  ::pclose(pipe);
  out = std::string(support::trim(out));
  const bool hex = out.size() == 40 && std::all_of(out.begin(), out.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                   });
  return hex ? out : std::string();
}

json::object result_json(const deploy::DeployResult& result, bool with_plan) {
  json::object versions;
  for (const auto& [k, v] : result.versions)
    versions[k] = v;
  json::array endpoints;
  for (const auto& e : result.endpoints)
    endpoints.push_back(
        json::object{{"api", e.api}, {"kind", e.kind}, {"stage", e.stage}, {"url", e.url}});
  json::array warnings;
  for (const auto& w : result.warnings)
    warnings.emplace_back(w);
  json::object out{{"status", result.status},
                   {"message", result.message},
                   {"versions", std::move(versions)},
                   {"endpoints", std::move(endpoints)},
                   {"warnings", std::move(warnings)},
                   {"calls", result.calls},
                   {"mutating_calls", result.mutating_calls},
                   {"duration_ms", result.duration.count()}};
  if (with_plan)
    out["plan"] = deploy::plan_to_json(result.plan);
  return out;
}

void print_result(const Context& context, const deploy::DeployResult& result,
                  std::string_view what) {
  if (context.console.json) {
    context.console.out(json::serialize(result_json(result, what == "deploy")) + "\n");
    return;
  }
  const auto style = context.console.out_style();
  std::string versions;
  for (const auto& [id, version] : result.versions)
    versions += fmt::format("{}{} v{}", versions.empty() ? "" : ", ", id, version);
  std::string headline;
  if (result.status == "no-change")
    headline = "No changes to deploy.";
  else if (result.status == "dry-run")
    headline = "Dry run: nothing was changed.";
  else if (result.status == "cancelled")
    headline = "Cancelled: nothing was changed.";
  else if (result.status == "deployed" && what != "deploy")
    headline = result.message.empty() ? style.green("Promoted.") : result.message + ".";
  else if (result.status == "deployed")
    headline =
        style.green(fmt::format("Deployed in {}.", deploy::format_duration(result.duration)));
  else
    headline = style.red(fmt::format("{}: {}", result.status, result.message));
  context.console.out(headline + "\n");
  if (!versions.empty())
    context.console.out(fmt::format("Versions: {}\n", versions));
  for (const auto& endpoint : result.endpoints)
    context.console.out(fmt::format("Endpoint {} ({} API, stage {}): {}\n", endpoint.api,
                                    endpoint.kind == "rest" ? "REST" : "HTTP", endpoint.stage,
                                    endpoint.url));
}

int exit_code_of(const deploy::DeployResult& result) {
  return result.ok() ? 0 : static_cast<int>(support::ExitCode::failure);
}

bool ask_yes(const std::string& question) {
  std::fprintf(stderr, "%s [y/N] ", question.c_str());
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer))
    return false;
  answer = support::to_lower(support::trim(answer));
  return answer == "y" || answer == "yes";
}

class DeployCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"deploy"},
            "Deploy the app: plan, apply only the changes, shift traffic per stage",
            "Builds the functions (deterministic zips, reused when unchanged), compares the "
            "template with what the backend holds, prints the plan (+ create, ~ update, = "
            "unchanged) and applies only the changes: roles, function code and configuration, "
            "versions, the stage alias, REST and HTTP APIs, layers. Image functions are "
            "compared by digest: a tag is resolved, an image built from the template is pushed "
            "to --image-repository first. The template's other resources "
            "(tables, queues, buckets, rules, state machines, event sources) go into one "
            "CloudFormation stack named after the app, through change sets. Aliases with a "
            "DeploymentPreference "
            "shift traffic step by step (Canary/Linear/AllAtOnce) while alarms are watched; an "
            "alarm, a failing hook or Ctrl-C returns them to the old version. A deploy without "
            "changes makes no mutating call. State and a lock live in the artifact bucket. "
            "See docs/deploy.md.",
            {{"wisp deploy --stack-name app --resolve-s3", "Deploy to the stage named by "
                                                           "AutoPublishAlias (else 'live')"},
             {"wisp deploy --stack-name app --stage prod --s3-bucket my-artifacts",
              "Deploy stage prod (alias prod, API stage prod)"},
             {"wisp deploy --stack-name app --stage dev --dry-run", "Print the plan only"},
             {"wisp deploy --stack-name app --stage dev --step-interval 2s",
              "Shift traffic with 2-second steps instead of minutes"},
             {"wisp deploy --endpoint-url http://127.0.0.1:5000 --stack-name app --resolve-s3",
              "Deploy to moto or LocalStack"},
             {"wisp deploy --stack-name app --resolve-s3 --image-repository "
              "123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
              "Push the images built from the template to ECR, then deploy them"}},
            k_group_template | k_group_parameters | k_group_aws | k_group_aws_calls |
                k_group_output};
  }

  void add_options(CLI::App& app) override {
    add_target_options(app, m_options.target, true);
    app.add_flag("--dry-run,--no-execute-changeset", m_options.dry_run,
                 "Print the plan; change nothing");
    app.add_flag("--fail-on-empty-changeset,!--no-fail-on-empty-changeset", m_fail_on_empty,
                 "Exit 1 when there is nothing to deploy (SAM's default; wisp's is to exit 0)");
    app.add_option("--capabilities", m_capabilities,
                   "Accepted for SAM compatibility and ignored: wisp creates the IAM roles the "
                   "template needs without it")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--step-interval", m_step_interval,
                   "Duration of every traffic-shifting step (e.g. 2s, 30s, 1m), instead of the "
                   "DeploymentPreference's minutes");
    app.add_option("--max-parallel", m_options.max_parallel,
                   "Backend calls made at once (default 8)")
        ->check(CLI::Range(1, 64));
    app.add_option("--tags", m_tags, "Tags for every function and role: Key=Value (repeatable)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_flag("--refresh", m_options.refresh,
                 "Re-read roles and invoke permissions from the backend even when the recorded "
                 "state says they are current");
    app.add_flag("--confirm-changeset", m_confirm,
                 "Ask before applying the plan (needs a terminal)");
    app.add_option("--image-repository", m_options.images.repository,
                   "Registry repository (host[:port]/name, or an ECR repository URI) that images "
                   "built from the template (Metadata DockerContext) are pushed to");
    app.add_option("--image-repositories", m_image_repositories,
                   "Function=repository: where one function's image is pushed (repeatable; wins "
                   "over --image-repository)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_flag("--insecure-registry", m_options.images.insecure,
                 "Talk plain HTTP to image registries (loopback test registries)");
  }

  int run(Context& context) override {
    auto& target = m_options.target;
    if (auto done = complete_target(context, target); !done)
      return fail(context, done.error());
    if (!m_step_interval.empty()) {
      auto interval = deploy::parse_duration(m_step_interval);
      if (!interval)
        return fail(context, support::Error{fmt::format("--step-interval: '{}' is not a duration "
                                                        "(e.g. 2s, 500ms, 1m)",
                                                        m_step_interval),
                                            {},
                                            support::ExitCode::usage});
      m_options.step_interval = *interval;
    }
    for (const auto& tag : m_tags) {
      const auto eq = tag.find('=');
      if (eq == std::string::npos || eq == 0)
        return fail(context, support::Error{fmt::format("--tags: '{}' is not Key=Value", tag),
                                            {},
                                            support::ExitCode::usage});
      m_options.tags[tag.substr(0, eq)] = tag.substr(eq + 1);
    }
    for (const auto& entry : m_image_repositories) {
      const auto eq = entry.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size())
        return fail(
            context,
            support::Error{fmt::format("--image-repositories: '{}' is not Function=URI", entry),
                           {},
                           support::ExitCode::usage});
      m_options.images.repositories[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    if (m_confirm && !context.stdin_is_tty)
      return fail(context, support::Error{"--confirm-changeset needs a terminal to ask on; run "
                                          "without it (or --dry-run first)",
                                          {},
                                          support::ExitCode::usage});

    auto client = make_aws_client(context);
    if (!client)
      return fail(context, client.error());
    auto account = deploy::Backend(*client).account_id();
    if (!account)
      return fail(context, account.error());

    sam::LoadOptions load;
    load.require_parameter_values = true; // as CloudFormation, before anything is sent
    load.region = (*client)->region();
    load.account_id = *account;
    load.stack_name = target.stack;
    // Children: uploaded as nested stacks (infra/nested.cpp); their functions, layers and
    // APIs are deployed as `Child/Fn`, as `wisp local` runs them.
    load.nested_applications = true;
    const auto started = std::chrono::steady_clock::now();
    const auto since = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now() - started)
          .count();
    };
    // A packaged template's children (`https://s3...` URLs, as `sam package` and `wisp package`
    // write them) that hold functions, layers or APIs: read from the backend's S3 and deployed
    // as local children are (the loader is given the root's text naming the local copies).
    auto path = sam::resolve_template_path(context.global.template_file);
    auto fetched =
        path ? deploy::fetch_nested_templates(**client, *path) : deploy::FetchedTemplates{};
    if (!fetched.text.empty()) {
      load.template_path = *path;
      load.template_text = fetched.text;
    }
    int exit_code = 0;
    // What the loader says of nested applications for a local run (a value only a deployed
    // stack knows, a remote template not run) does not hold here: CloudFormation passes the
    // value, and deploys the remote template.
    auto model =
        load_template(context, std::move(load), exit_code, {"nested-parameter", "nested-remote"});
    if (!model)
      return exit_code;
    context.console.debug_log(fmt::format("template loaded in {} ms", since()));

    ConsoleReporter reporter(context);
    for (const auto& child : fetched.fetched)
      reporter.step(fmt::format("read nested template {}", child));
    for (const auto& warning : fetched.warnings)
      reporter.warning(warning);
    artifact::BuildOptions build;
    build.build_dir = context.global.config_build_dir; // where `wisp build` puts builds
    build.cached = true;
    build.parallel = true;
    build.on_event = [&](const artifact::BuildEvent& event) {
      if (event.type == artifact::BuildEvent::Type::finished)
        reporter.step(fmt::format("built {}", event.logical_id));
      else if (event.type == artifact::BuildEvent::Type::failed)
        reporter.warning(fmt::format("build of {} failed: {}", event.logical_id, event.detail));
    };
    auto built = artifact::build(*model, build);
    context.console.debug_log(fmt::format("artifacts ready after {} ms", since()));
    if (!built)
      return fail(context, built.error());
    if (!built->ok()) {
      for (const auto& failure : built->failures) {
        context.console.error(
            fmt::format("build of {} failed: {}", failure.logical_id, failure.message));
        if (!failure.tool_output.empty())
          context.console.err(failure.tool_output + "\n");
      }
      return static_cast<int>(support::ExitCode::failure);
    }
    // What the build changed in a function ships with it (esbuild: handler, NODE_OPTIONS).
    artifact::apply_build_outputs(*model, *built);

    m_options.git_commit = git_commit(model->base_dir);
    m_options.account = *account;
    m_options.cancel = install_interrupt_handler(context);
    if (m_confirm)
      m_options.confirm = [&](const deploy::Plan&) {
        reporter.clear_status();
        return ask_yes("Deploy this plan?");
      };
    auto result = deploy::deploy(*model, *built, *client, m_options, reporter);
    reporter.clear_status();
    if (!result)
      return fail(context, result.error());
    if (result->status != "dry-run" && result->status != "cancelled") {
      auto remembered = target;
      if (remembered.prefix.empty())
        remembered.prefix = target.stack;
      remember_target(context, remembered, result->plan.bucket);
    }
    print_result(context, *result, "deploy");
    if (!result->ok() && !context.console.json)
      context.console.error(fmt::format("{}: {}", result->status, result->message));
    if (result->status == "no-change" && m_fail_on_empty) {
      context.console.error("no changes to deploy (--fail-on-empty-changeset)");
      return static_cast<int>(support::ExitCode::failure);
    }
    return exit_code_of(*result);
  }

private:
  deploy::DeployOptions m_options;
  std::string m_step_interval;
  std::vector<std::string> m_tags;
  std::vector<std::string> m_capabilities;
  std::vector<std::string> m_image_repositories;
  bool m_confirm = false;
  bool m_fail_on_empty = false;
};

class StatusCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"deploy", "status"},
            "Show a stage: versions, live traffic split, unfinished shifts, history",
            "Reads the stage's state from the artifact bucket and each alias from the backend: "
            "the version it serves, any traffic still routed to another version, the lock, the "
            "endpoints and the recorded deployments.",
            {{"wisp deploy status --stack-name app --stage prod", "The prod stage"},
             {"wisp deploy status --stack-name app --stage dev --output json",
              "The same, for scripts"}},
            k_group_template | k_group_aws | k_group_aws_calls | k_group_output};
  }

  void add_options(CLI::App& app) override { add_target_options(app, m_target, false); }

  int run(Context& context) override {
    if (auto done = complete_target(context, m_target); !done)
      return fail(context, done.error());
    auto client = make_aws_client(context);
    if (!client)
      return fail(context, client.error());
    auto status = deploy::stage_status(*client, m_target);
    if (!status)
      return fail(context, status.error());
    if (context.console.json) {
      context.console.out(json::serialize(deploy::status_to_json(*status)) + "\n");
      return 0;
    }
    const auto style = context.console.out_style();
    std::string out = fmt::format(
        "{} stage {}: {} (updated {}{})\n", style.bold(status->stack), style.bold(status->stage),
        status->status, status->updated,
        status->git_commit.empty() ? "" : ", commit " + status->git_commit.substr(0, 12));
    if (status->locked)
      out += style.yellow(fmt::format("locked by {}\n", status->lock_owner));
    for (const auto& f : status->functions) {
      std::string routing;
      for (const auto& [version, weight] : f.weights)
        routing += fmt::format(", {:.0f}% on version {}", weight * 100.0, version);
      out += fmt::format("  {:<24} {}:{} → version {}{}{}\n", f.logical_id, f.name, f.alias,
                         f.version.empty() ? "(no alias)" : f.version,
                         routing.empty() ? "" : style.yellow(" (shifting" + routing + ")"),
                         f.recorded_version != f.version && !f.version.empty()
                             ? style.yellow(fmt::format(" (recorded: {})", f.recorded_version))
                             : "");
    }
    for (const auto& e : status->endpoints)
      out += fmt::format("  endpoint {} ({}): {}\n", e.api, e.kind, e.url);
    const auto& history = status->history;
    const std::size_t shown = std::min<std::size_t>(history.size(), 5);
    if (shown > 0)
      out += "History (newest last):\n";
    for (std::size_t i = history.size() - shown; i < history.size(); ++i) {
      const auto& h = history[i].as_object();
      std::string versions;
      for (const auto& item : h.at("versions").as_object())
        versions += fmt::format("{}{}=v{}", versions.empty() ? "" : " ", std::string(item.key()),
                                item.value().as_string().c_str());
      const auto message = std::string(h.at("message").as_string());
      out += fmt::format("  #{} {} {} {}{}\n", h.at("id").as_int64(),
                         h.at("time").as_string().c_str(), h.at("status").as_string().c_str(),
                         versions, message.empty() ? "" : " — " + message);
    }
    if (status->stages.size() > 1)
      out += fmt::format("Stages: {}\n", support::join(status->stages, ", "));
    context.console.out(out);
    return 0;
  }

private:
  deploy::Target m_target;
};

class PromoteCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"promote"},
            "Finish an unfinished traffic shift now",
            "Moves every alias of the stage that still routes part of its traffic to an older "
            "version (an interrupted or crashed deploy) to the new version, and promotes REST "
            "API stage canaries.",
            {{"wisp promote --stack-name app --stage prod", "Finish prod's shift"},
             {"wisp promote --stack-name app --stage prod --break-lock",
              "After the deploying wisp was killed"}},
            k_group_template | k_group_aws | k_group_aws_calls | k_group_output};
  }

  void add_options(CLI::App& app) override { add_target_options(app, m_target, false); }

  int run(Context& context) override {
    if (auto done = complete_target(context, m_target); !done)
      return fail(context, done.error());
    auto client = make_aws_client(context);
    if (!client)
      return fail(context, client.error());
    ConsoleReporter reporter(context, false);
    auto result = deploy::promote(*client, {m_target, nullptr}, reporter);
    if (!result)
      return fail(context, result.error());
    print_result(context, *result, "promote");
    return exit_code_of(*result);
  }

private:
  deploy::Target m_target;
};

class RollbackCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"rollback"},
            "Return a stage to its previous versions (or to --to VERSION)",
            "Points every alias of the stage back at the version it served before the last "
            "deploy (or, during an unfinished shift, at the old version), with no traffic "
            "routed elsewhere; removes REST API stage canaries. With --to, one function's "
            "alias goes to that version.",
            {{"wisp rollback --stack-name app --stage prod", "Undo prod's last deploy"},
             {"wisp rollback --stack-name app --stage prod --function Hello --to 3",
              "Serve version 3 of Hello"}},
            k_group_template | k_group_aws | k_group_aws_calls | k_group_output};
  }

  void add_options(CLI::App& app) override {
    add_target_options(app, m_options.stage.target, false);
    app.add_option("--to", m_options.to_version, "Version number to serve");
    app.add_option("--function", m_options.function,
                   "Logical id of the function --to applies to (needed with several)");
  }

  int run(Context& context) override {
    if (auto done = complete_target(context, m_options.stage.target); !done)
      return fail(context, done.error());
    if (!m_options.function.empty() && m_options.to_version.empty())
      return fail(context, support::Error{
                               "--function is only used with --to", {}, support::ExitCode::usage});
    auto client = make_aws_client(context);
    if (!client)
      return fail(context, client.error());
    ConsoleReporter reporter(context, false);
    auto result = deploy::rollback(*client, m_options, reporter);
    if (!result)
      return fail(context, result.error());
    if (context.console.json) {
      print_result(context, *result, "rollback");
      return 0;
    }
    std::string versions;
    for (const auto& [id, version] : result->versions)
      versions += fmt::format("{}{} v{}", versions.empty() ? "" : ", ", id, version);
    context.console.out(fmt::format("Rolled back. Versions: {}\n", versions));
    return 0;
  }

private:
  deploy::RollbackOptions m_options;
};

class DeleteCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"delete"},
            "Delete one stage, or the whole app",
            "With --stage: the stage's aliases (and their permissions), its API stages and its "
            "state. Without: every stage, the functions with all versions, the roles, APIs, "
            "alarms and layer versions wisp made, then the app's CloudFormation stack (resources "
            "with DeletionPolicy Retain stay and are listed), and the artifacts and state under "
            "the prefix. Lists what goes "
            "and asks first on a terminal; without one, --no-prompts is required.",
            {{"wisp delete --stack-name app --stage dev", "Delete the dev stage"},
             {"wisp delete --stack-name app --no-prompts", "Delete everything, without asking"}},
            k_group_template | k_group_aws | k_group_aws_calls | k_group_output};
  }

  void add_options(CLI::App& app) override {
    add_target_options(app, m_options.target, false);
    app.add_flag("--no-prompts", m_no_prompts, "Do not ask for confirmation");
  }

  int run(Context& context) override {
    if (auto done = complete_target(context, m_options.target); !done)
      return fail(context, done.error());
    auto client = make_aws_client(context);
    if (!client)
      return fail(context, client.error());
    if (!m_no_prompts) {
      if (!context.stdin_is_tty)
        return fail(context, support::Error{"wisp delete asks before deleting, but stdin is not a "
                                            "terminal: pass --no-prompts to delete without asking",
                                            {},
                                            support::ExitCode::usage});
      auto preview = deploy::delete_preview(*client, m_options);
      if (!preview)
        return fail(context, preview.error());
      context.console.err("wisp delete will remove:\n");
      for (const auto& line : *preview)
        context.console.err("  - " + line + "\n");
      if (!ask_yes("Delete these?")) {
        context.console.err("Nothing was deleted.\n");
        return 0;
      }
    }
    ConsoleReporter reporter(context, false);
    auto result = deploy::remove(*client, m_options, reporter);
    if (!result)
      return fail(context, result.error());
    if (context.console.json) {
      json::array deleted;
      for (const auto& line : result->deleted)
        deleted.emplace_back(line);
      json::array retained;
      for (const auto& line : result->retained)
        retained.emplace_back(line);
      context.console.out(json::serialize(json::object{{"deleted", std::move(deleted)},
                                                       {"retained", std::move(retained)}}) +
                          "\n");
    } else {
      context.console.out(fmt::format("Deleted {} ({} items).\n",
                                      m_options.target.stage.empty()
                                          ? "app " + m_options.target.stack
                                          : "stage " + m_options.target.stage,
                                      result->deleted.size()));
      for (const auto& kept : result->retained)
        context.console.out(fmt::format("Kept (DeletionPolicy Retain): {}\n", kept));
    }
    return 0;
  }

private:
  deploy::DeleteOptions m_options;
  bool m_no_prompts = false;
};

} // namespace

std::unique_ptr<Command> make_deploy_command() {
  return std::make_unique<DeployCommand>();
}
std::unique_ptr<Command> make_deploy_status_command() {
  return std::make_unique<StatusCommand>();
}
std::unique_ptr<Command> make_promote_command() {
  return std::make_unique<PromoteCommand>();
}
std::unique_ptr<Command> make_rollback_command() {
  return std::make_unique<RollbackCommand>();
}
std::unique_ptr<Command> make_delete_command() {
  return std::make_unique<DeleteCommand>();
}

} // namespace wisp::cli
