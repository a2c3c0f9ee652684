// wisp local execution get|history|stop|list — a durable function's executions, from the
// app's store (.wisp/durable); stop goes to the wisp that runs the execution, or to the store
// when none does.

#include "durable_cli.hpp"

#include <wisp/durable/control.hpp>
#include <wisp/durable/format.hpp>

#include <boost/json/serialize.hpp>

#include <fmt/format.h>

namespace wisp::cli {

namespace {

constexpr unsigned k_groups = k_group_template | k_group_output;

std::optional<durable::Execution> load_or_report(Context& context, const std::string& arn) {
  durable::Store store(durable_store_root(context));
  auto loaded = durable::load_by_arn(store, arn);
  if (!loaded) {
    print_error(context, loaded.error());
    return std::nullopt;
  }
  if (!*loaded) {
    context.console.error(
        fmt::format("ResourceNotFoundException: Durable execution not found: {}", arn));
    return std::nullopt;
  }
  return std::move(**loaded);
}

class GetCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "execution", "get"},
            "Show a durable execution: status, input, result or error",
            "Reads the execution from the app's local store (.wisp/durable beside the template), "
            "whether or not a wisp is running it. --format json (or --output json) prints "
            "GetDurableExecution's response.",
            {{"wisp local execution get ARN",
              "Summary of one execution (ARN: as `wisp local execution list` prints it)"},
             {"wisp local execution get ARN --format json", "The API's JSON"}},
            k_groups};
  }
  void add_options(CLI::App& app) override {
    app.add_option("durable_execution_arn", m_arn, "The execution's ARN")->required();
    set_choices(app.add_option("--format", m_format, "summary (default) or json"),
                {"summary", "json"});
  }
  int run(Context& context) override {
    const auto execution = load_or_report(context, m_arn);
    if (!execution)
      return 1;
    if (m_format == "json" || context.console.json)
      context.console.out(durable::format_json(durable::execution_json(*execution)));
    else
      context.console.out(durable::format_summary(*execution));
    return 0;
  }

private:
  std::string m_arn;
  std::string m_format = "summary";
};

class HistoryCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "execution", "history"},
            "Show a durable execution's history events",
            "One row per event (ExecutionStarted, StepSucceeded, WaitStarted, CallbackStarted, "
            "InvocationCompleted, ...) with its time as a real run would have it; --format json "
            "(or --output json) prints GetDurableExecutionHistory's response with every event.",
            {{"wisp local execution history ARN", "The events as a table"},
             {"wisp local execution history ARN --format json", "The API's JSON"}},
            k_groups};
  }
  void add_options(CLI::App& app) override {
    app.add_option("durable_execution_arn", m_arn, "The execution's ARN")->required();
    set_choices(app.add_option("--format", m_format, "table (default) or json"), {"table", "json"});
  }
  int run(Context& context) override {
    const auto execution = load_or_report(context, m_arn);
    if (!execution)
      return 1;
    if (m_format == "json" || context.console.json)
      context.console.out(durable::format_json(durable::history_json(*execution)));
    else
      context.console.out(durable::format_history(*execution));
    return 0;
  }

private:
  std::string m_arn;
  std::string m_format = "table";
};

class StopCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "execution", "stop"},
            "Stop a running durable execution",
            "The execution becomes STOPPED with the error given (default: \"Execution stopped "
            "by user request\"); its function is not invoked again. Goes to the wisp running "
            "the execution (local invoke, start-lambda) or, when none is, to the store.",
            {{"wisp local execution stop ARN --error-message 'cancelled by ops'",
              "Stop with a message"}},
            k_groups};
  }
  void add_options(CLI::App& app) override {
    app.add_option("durable_execution_arn", m_arn, "The execution's ARN")->required();
    m_error.add_to(app, " recorded with the stop");
  }
  int run(Context& context) override {
    const auto error = m_error.error();
    durable::Store store(durable_store_root(context));
    const auto answer = durable::stop_execution(store, m_arn, error);
    if (const int code = report_answer(context, answer); code != 0)
      return code;
    if (context.console.json)
      context.console.out(answer.body + "\n");
    else
      context.console.out(fmt::format("Stopped {}\n", m_arn));
    return 0;
  }

private:
  std::string m_arn;
  ErrorOptions m_error;
};

class ListCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "execution", "list"},
            "List durable executions, oldest first",
            "Every execution in the app's local store, or a function's (logical id or "
            "FunctionName); --status keeps those in the given states. --output json prints "
            "ListDurableExecutionsByFunction's shape.",
            {{"wisp local execution list", "All executions"},
             {"wisp local execution list OrderFunction --status RUNNING",
              "The running executions of one function"}},
            k_groups};
  }
  void add_options(CLI::App& app) override {
    app.add_option("function", m_function, "A function (logical id or FunctionName)");
    set_choices(
        app.add_option("--status", m_statuses, "Only executions in this state (repeatable)"),
        {"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"});
  }
  int run(Context& context) override {
    durable::Store store(durable_store_root(context));
    std::string function = m_function;
    // A logical id names the function's store directory through its FunctionName.
    if (!function.empty()) {
      if (auto path = sam::resolve_template_path(context.global.template_file)) {
        sam::LoadOptions load;
        load.template_path = *path;
        load.parameter_overrides = context.global.parameter_overrides;
        load.check_code = false;
        if (auto model = sam::load_model(load)) {
          if (const auto* fn = model->find_function(function); fn != nullptr)
            function = fn->function_name.empty() ? fn->logical_id : fn->function_name;
        }
      }
    }
    auto executions = store.list(function);
    if (!m_statuses.empty())
      std::erase_if(executions, [&](const durable::ExecutionSummary& s) {
        return std::find(m_statuses.begin(), m_statuses.end(),
                         std::string(durable::to_string(s.status))) == m_statuses.end();
      });
    if (context.console.json) {
      boost::json::array items;
      for (const auto& s : executions)
        items.push_back(durable::summary_json(s));
      boost::json::object out;
      out["DurableExecutions"] = std::move(items);
      context.console.out(durable::format_json(out));
    } else if (executions.empty()) {
      context.console.info("no durable executions");
    } else {
      context.console.out(durable::format_list(executions));
    }
    return 0;
  }

private:
  std::string m_function;
  std::vector<std::string> m_statuses;
};

} // namespace

std::unique_ptr<Command> make_local_execution_get_command() {
  return std::make_unique<GetCommand>();
}
std::unique_ptr<Command> make_local_execution_history_command() {
  return std::make_unique<HistoryCommand>();
}
std::unique_ptr<Command> make_local_execution_stop_command() {
  return std::make_unique<StopCommand>();
}
std::unique_ptr<Command> make_local_execution_list_command() {
  return std::make_unique<ListCommand>();
}

} // namespace wisp::cli
