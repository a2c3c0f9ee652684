// wisp logs — prints and tails function logs from CloudWatch Logs or the local log store.

#include "../command.hpp"

#include <wisp/durable/control.hpp>
#include <wisp/durable/store.hpp>
#include <wisp/logs/format.hpp>
#include <wisp/logs/logs.hpp>
#include <wisp/template/load.hpp>

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <set>
#include <unistd.h>

namespace wisp::cli {

namespace {

std::atomic<int> g_signals{0};

extern "C" void on_stop_signal(int) {
  // The first Ctrl-C ends the tail cleanly (held events are printed); a second one exits now.
  if (g_signals.fetch_add(1) >= 1)
    ::_exit(130);
}

// Installs SIGINT/SIGTERM handlers for the duration of a tail.
class StopSignals {
public:
  StopSignals() {
    g_signals = 0;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &m_old_int);
    sigaction(SIGTERM, &action, &m_old_term);
  }
  ~StopSignals() {
    sigaction(SIGINT, &m_old_int, nullptr);
    sigaction(SIGTERM, &m_old_term, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  [[nodiscard]] static bool stopped() { return g_signals.load() > 0; }

private:
  struct sigaction m_old_int {};
  struct sigaction m_old_term {};
};

class LogsCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"logs"},
            "Print or tail function logs, from CloudWatch Logs or the local log store",
            "Prints the logs of the app's functions (or of -n functions, or of --cw-log-group "
            "groups) from CloudWatch Logs, merged by time: time, function, [version], request "
            "id, message. --tail keeps following them (a poll every second, slower while "
            "throttled), printing every event exactly once and in order. --local reads what "
            "`wisp local invoke` and `wisp local start-api` wrote under .wisp/logs instead. "
            "--filter takes CloudWatch's filter pattern syntax (terms, \"phrases\", -excluded, "
            "?optional, %regex%, { $.json.selectors }, [space, delimited, fields]). Times: "
            "'10m ago', '2h', 'yesterday', ISO 8601 or epoch milliseconds; the start defaults "
            "to 10 minutes ago. See docs/logs.md.",
            {{"wisp logs --stack-name my-app --tail",
              "Follow every function of the app deployed as stack my-app"},
             {"wisp logs -n HelloFunction --stack-name my-app -s '1h ago' --filter ERROR",
              "One function's ERROR lines of the last hour"},
             {"wisp logs --stack-name my-app --stage live --tail",
              "Only the versions the 'live' alias routes to (both during a canary)"},
             {"wisp logs --local --tail", "Follow the functions run by local invoke/start-api"},
             {"wisp logs --cw-log-group /aws/lambda/other -s 2026-11-23T10:00:00Z "
              "-e 2026-11-23T11:00:00Z",
              "Any log group, within a time window"},
             {"wisp logs --local --filter '{ $.level = \"ERROR\" }' --output json",
              "JSON log lines at level ERROR, one JSON object per event"},
             {"wisp logs --local --durable-execution ARN",
              "Every invocation of one durable execution (its replays included)"}},
            k_group_parameters | k_group_aws | k_group_aws_calls | k_group_output};
  }

  void add_options(CLI::App& app) override {
    app.add_option("-n,--name", m_request.names,
                   "Function: logical id, FunctionName or physical name (repeatable; default: "
                   "every function of the template)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--stack-name", m_request.stack_name,
                   "The app's stack name (physical function names are <stack-name>-<LogicalId>)");
    app.add_option("--stage", m_request.stage,
                   "Only the versions this stage alias routes to (remote)");
    app.add_option("--cw-log-group", m_request.log_groups, "A CloudWatch log group (repeatable)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_flag("-t,--tail", m_request.tail, "Keep printing new events as they arrive");
    app.add_option("--filter", m_request.filter, "CloudWatch filter pattern");
    app.add_option("-s,--start-time", m_request.start_time,
                   "Start of the window (default: 10m ago)");
    app.add_option("-e,--end-time", m_request.end_time, "End of the window (default: now)");
    app.add_flag("--local", m_request.local,
                 "Read the local log store (.wisp/logs) instead of CloudWatch Logs");
    app.add_option("--template,--template-file", m_template,
                   "SAM template (default: template.yaml, then template.yml)");
    app.add_option("--durable-execution", m_execution,
                   "With --local: only the invocations of this durable execution (its ARN), from "
                   "its start");
  }

  int run(Context& context) override {
    auto& console = context.console;
    m_request.template_path = m_template;
    m_request.parameter_overrides = context.global.parameter_overrides;
    m_request.client.region = context.global.region;
    m_request.client.profile = context.global.profile;
    m_request.client.endpoint_url = context.global.endpoint_url;
    m_request.client.connect_timeout = std::chrono::seconds(context.global.cli_connect_timeout);
    m_request.client.read_timeout = std::chrono::seconds(context.global.cli_read_timeout);
    if (console.debug)
      m_request.client.debug = [&console](std::string_view line) { console.debug_log(line); };

    // A durable execution's invocations: its function, from its start, by request id.
    std::set<std::string> request_ids;
    if (!m_execution.empty()) {
      if (!m_request.local) {
        console.error("--durable-execution reads the local log store: add --local");
        return static_cast<int>(support::ExitCode::usage);
      }
      auto path = sam::resolve_template_path(m_template);
      const auto dir =
          path ? std::filesystem::absolute(*path).parent_path() : std::filesystem::current_path();
      durable::Store store(durable::Store::default_root(dir));
      auto loaded = durable::load_by_arn(store, m_execution);
      if (!loaded || !*loaded) {
        console.error(
            fmt::format("ResourceNotFoundException: Durable execution not found: {}", m_execution));
        return 1;
      }
      const auto& execution = **loaded;
      for (const auto& invocation : execution.invocations())
        request_ids.insert(invocation.request_id);
      m_request.names = {execution.identity().function_id};
      if (m_request.start_time.empty())
        m_request.start_time = std::to_string(execution.start_ms() - 1000);
    }

    auto plan = logs::plan(m_request);
    if (!plan) {
      print_error(context, plan.error());
      return static_cast<int>(plan.error().exit_code);
    }
    for (const auto& warning : plan->warnings)
      console.warning(warning);
    std::vector<std::string> labels;
    for (const auto& source : plan->sources)
      labels.push_back(source.label);
    const logs::Formatter formatter(std::move(labels), console.color_out, console.json);

    // Without --tail the output is buffered (a large window prints fast); with --tail every
    // event is written as it is released.
    std::string buffer;
    const bool tail = plan->tail;
    logs::Sink sink;
    sink.event = [&](const logs::LogEvent& event) {
      if (!m_execution.empty() && !request_ids.contains(event.request_id))
        return;
      buffer += formatter.line(event);
      if (tail || buffer.size() >= 64u * 1024) {
        console.out(buffer);
        buffer.clear();
      }
    };
    sink.warning = [&](std::string_view message) { console.warning(message); };
    sink.notice = [&](std::string_view message) { console.info(message); };
    sink.stopped = [] { return StopSignals::stopped(); };

    support::Status status;
    if (tail) {
      const StopSignals signals;
      status = logs::run(*plan, sink);
    } else {
      status = logs::run(*plan, sink);
    }
    if (!buffer.empty())
      console.out(buffer);
    if (!status) {
      print_error(context, status.error());
      return static_cast<int>(status.error().exit_code);
    }
    return 0;
  }

private:
  logs::LogsRequest m_request;
  std::string m_template;
  std::string m_execution;
};

} // namespace

std::unique_ptr<Command> make_logs_command() {
  return std::make_unique<LogsCommand>();
}

} // namespace wisp::cli
