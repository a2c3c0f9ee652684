// wisp cost — what the app's functions cost, from their REPORT lines (local or CloudWatch).

#include "../command.hpp"

#include <wisp/console/cost_report.hpp>

namespace wisp::cli {

namespace {

class CostCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"cost"},
            "Report what the functions cost, from their REPORT lines (local or CloudWatch Logs)",
            "Reads the REPORT of every invocation in a time window -- from CloudWatch Logs for a "
            "deployed stack, or with --local from what `wisp local invoke/start-api/"
            "start-lambda` wrote under .wisp/logs -- and prints per function and in total: "
            "invocations, cold starts, errors, duration and INIT percentiles, memory used, "
            "billed GB-seconds, the window's cost and a month's at the window's request rate "
            "(free tier applied), and the memory size that would cost least. Text REPORT lines "
            "and JSON platform.report records are read; Billed Duration already includes a "
            "billed INIT (since 2025-08-01) and is never added to. Prices: the table shipped "
            "with wisp (see its date with --output json), or --prices FILE. The window starts "
            "24 hours ago unless -s says otherwise. See docs/console.md.",
            {{"wisp cost --local", "What the functions run locally cost in the last 24 hours"},
             {"wisp cost --stack-name my-app -s '7 days ago'",
              "A deployed app's last week, from CloudWatch Logs"},
             {"wisp cost --stack-name my-app --stage live --output json",
              "Only the versions the 'live' alias routes to, as JSON"},
             {"wisp cost --local --prices my-prices.toml",
              "With your own price table (same shape as the built-in one)"}},
            k_group_parameters | k_group_aws | k_group_aws_calls | k_group_output};
  }

  void add_options(CLI::App& app) override {
    auto& logs = m_request.logs;
    app.add_option("-n,--name", logs.names,
                   "Function: logical id, FunctionName or physical name (repeatable; default: "
                   "every function of the template)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--stack-name", logs.stack_name,
                   "The app's stack name (physical function names are <stack-name>-<LogicalId>)");
    app.add_option("--stage", logs.stage, "Only the versions this stage alias routes to (remote)");
    app.add_option("--cw-log-group", logs.log_groups, "A CloudWatch log group (repeatable)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("-s,--start-time", logs.start_time, "Start of the window (default: 24h ago)");
    app.add_option("-e,--end-time", logs.end_time, "End of the window (default: now)");
    app.add_flag("--local", logs.local,
                 "Read the local log store (.wisp/logs) instead of CloudWatch Logs");
    app.add_option("--prices", m_prices, "A price table (TOML) instead of the built-in one")
        ->check(CLI::ExistingFile);
    app.add_option("--template,--template-file", m_template,
                   "SAM template (default: template.yaml, then template.yml)");
  }

  int run(Context& context) override {
    auto& term = context.console;
    auto& logs = m_request.logs;
    logs.template_path = m_template;
    logs.parameter_overrides = context.global.parameter_overrides;
    logs.client.region = context.global.region;
    logs.client.profile = context.global.profile;
    logs.client.endpoint_url = context.global.endpoint_url;
    logs.client.connect_timeout = std::chrono::seconds(context.global.cli_connect_timeout);
    logs.client.read_timeout = std::chrono::seconds(context.global.cli_read_timeout);
    if (term.debug)
      logs.client.debug = [&term](std::string_view line) { term.debug_log(line); };
    m_request.prices_file = m_prices;
    m_request.warning = [&term](std::string_view message) { term.warning(message); };

    auto report = console::cost_report(m_request);
    if (!report) {
      print_error(context, report.error());
      return static_cast<int>(report.error().exit_code);
    }
    term.out(term.json ? console::render_json(*report)
                       : console::render_text(*report, term.color_out));
    return 0;
  }

private:
  console::CostRequest m_request;
  std::string m_template;
  std::string m_prices;
};

} // namespace

std::unique_ptr<Command> make_cost_command() {
  return std::make_unique<CostCommand>();
}

} // namespace wisp::cli
