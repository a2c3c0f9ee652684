// wisp local trigger FUNCTION EVENT — fires one of a function's event sources now.

#include "../command.hpp"
#include "load.hpp"

#include <wisp/aws/config.hpp>
#include <wisp/events/events.hpp>
#include <wisp/events/trigger.hpp>
#include <wisp/runtime/local_invoke.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <optional>

namespace wisp::cli {

namespace {

class LocalTriggerCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "trigger"},
            "Fire one of a function's event sources now",
            "Builds the event the named event source would deliver now: a Schedule or "
            "ScheduleV2 event for this minute (Input and Scheduler's placeholders applied), an "
            "SQS record for a message, the SNS, EventBridge (with the rule's Input, InputPath or "
            "InputTransformer), S3, Kinesis or DynamoDB event, with the builders `wisp local "
            "start` uses, and runs the function once with it, as `wisp local invoke` does: the "
            "response on stdout, the logs on stderr, exit 1 when the function fails. No backend "
            "is needed; names and ARNs come from the template (and the names `local start "
            "--create-resources` remembered). Details: docs/events.md.",
            {{"wisp local trigger Nightly CleanupSchedule", "Run a scheduled function now"},
             {"wisp local trigger Process OrdersQueue --body '{\"order\": 1}'",
              "Deliver one SQS message"},
             {"wisp local trigger OnUpload Upload --key 'in/photo 1.jpg'",
              "An S3 event for a key (encoded as S3 encodes it)"},
             {"wisp local trigger Tick Noon --time 2026-01-01T12:00:00Z --print",
              "Print the event without running the function"}},
            k_group_template | k_group_parameters | k_group_aws};
  }

  void add_options(CLI::App& app) override {
    app.add_option("function", m_options.function, "Logical id or FunctionName")->required();
    app.add_option("event", m_options.event, "The event source: its key under Events")->required();
    app.add_option("--body", m_body,
                   "SQS/SNS message, EventBridge detail (JSON), Kinesis data, DynamoDB item "
                   "(DynamoDB JSON), S3 object content");
    app.add_option("--key", m_options.key, "S3 object key (default: example.txt)");
    app.add_option("--time", m_time,
                   "When the event happens (ISO 8601, e.g. 2026-01-01T12:00:00Z; default: now)");
    app.add_option("-n,--env-vars", m_env_vars,
                   "JSON file of environment variables (SAM's format)");
    app.add_flag("--print", m_print, "Print the event instead of running the function");
  }

  int run(Context& context) override {
    auto& console = context.console;
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
    if (!m_body.empty())
      m_options.body = m_body;
    if (!m_time.empty()) {
      auto at = aws::parse_iso8601(m_time);
      if (!at) {
        console.error(
            fmt::format("--time '{}' is not a date and time (e.g. 2026-01-01T12:00:00Z)", m_time));
        return 2;
      }
      m_options.time = *at;
    }
    m_options.region = load.region;
    auto event = events::trigger_event(*model, m_options);
    if (!event) {
      print_error(context, event.error());
      return static_cast<int>(event.error().exit_code);
    }
    if (m_print) {
      console.out(event->payload);
      console.out("\n");
      return 0;
    }
    runtime::LocalInvokeOptions options;
    options.function = event->function_id;
    options.event = event->payload;
    if (!m_env_vars.empty())
      options.env_vars = m_env_vars;
    options.region = load.region;
    options.endpoint_url = context.global.endpoint_url;
    runtime::LocalInvokeCallbacks callbacks;
    callbacks.log_line = [](std::string_view line) {
      std::fwrite(line.data(), 1, line.size(), stderr);
      std::fputc('\n', stderr);
    };
    callbacks.warning = [&](std::string_view message) { console.warning(message); };
    auto result = runtime::local_invoke(*model, options, callbacks);
    if (!result) {
      print_error(context, result.error());
      return static_cast<int>(result.error().exit_code);
    }
    if (result->interrupted_by != 0) {
      console.error("interrupted; the function's worker was stopped");
      return 128 + result->interrupted_by;
    }
    console.out(result->body);
    console.out("\n");
    return result->outcome == runtime::Outcome::success ? 0 : 1;
  }

private:
  events::TriggerOptions m_options;
  std::string m_body;
  std::string m_time;
  std::string m_env_vars;
  bool m_print = false;
};

} // namespace

std::unique_ptr<Command> make_local_trigger_command() {
  return std::make_unique<LocalTriggerCommand>();
}

} // namespace wisp::cli
