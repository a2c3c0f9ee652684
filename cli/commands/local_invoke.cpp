// wisp local invoke [FUNCTION] — runs one function once, locally, without Docker.

#include "../command.hpp"
#include "interpreters.hpp"
#include "load.hpp"
#include "local_code.hpp"
#include "local_serve.hpp"

#include <wisp/aws/config.hpp>
#include <wisp/durable/service.hpp>
#include <wisp/gateway/server.hpp>
#include <wisp/runtime/lambda_config.hpp>
#include <wisp/runtime/lambda_text.hpp>
#include <wisp/runtime/local_invoke.hpp>
#include <wisp/runtime/runtimes.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/read_input.hpp>
#include <wisp/template/load.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

namespace wisp::cli {

namespace {

class LocalInvokeCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "invoke"},
            "Invoke a function once, locally, without Docker",
            "Runs the function on this machine through wisp's Lambda Runtime API (python and "
            "node with wisp's bootstraps, provided* with the function's own bootstrap). The "
            "response goes to stdout, the function's logs (with START/END/REPORT) to stderr. "
            "Exit status 0 when the function succeeded, 1 when it failed or timed out (SAM CLI "
            "exits 0 either way), 2 for usage errors.",
            {{"wisp local invoke HelloFunction -e events/event.json", "Invoke with an event file"},
             {"wisp local generate-event s3 put | wisp local invoke -e -",
              "The template's only function, with an event from stdin"},
             {"wisp local invoke Api --env-vars env.json --parameter-overrides Stage=dev",
              "SAM's --env-vars file and template parameters"},
             {"wisp local invoke Fn -e <(wisp local generate-event sqs receive-message)",
              "An event from a command (a pipe is read like a file)"},
             {"wisp local invoke Fn --interpreter nodejs24.x=$HOME/node24/bin/node",
              "Name the interpreter for a runtime (also samconfig `interpreter`, or "
              "WISP_INTERPRETER_NODEJS24_X)"},
             {"wisp local invoke OrderFunction --durable-execution-name order-42 -e order.json",
              "Run a durable function's execution to its end (waits, retries, callbacks)"},
             {"wisp local invoke OrderFunction --skip-waits",
              "A durable function whose waits end as soon as it suspends"},
             {"wisp local invoke Child/Function",
              "A nested application's function (AWS::Serverless::Application with a local "
              "Location, AWS::CloudFormation::Stack with a local TemplateURL) by its full "
              "path; its own logical id alone works when unique"}},
            k_group_template | k_group_parameters | k_group_aws};
  }

  void add_options(CLI::App& app) override {
    app.add_option("function", m_function,
                   "Logical id (Child/Id in a nested application) or FunctionName (optional with a "
                   "single function)");
    app.add_option("-e,--event", m_event_file, "Event file; '-' reads stdin (default: {})");
    app.add_option("-n,--env-vars", m_env_vars,
                   "JSON file of environment variables (SAM's format: per function and "
                   "\"Parameters\" for all)");
    app.add_option("-l,--log-file", m_log_file,
                   "Append the function's logs to this file instead of stderr");
    app.add_flag("--enforce-memory", m_enforce_memory,
                 "Kill the function when its memory exceeds MemorySize (Runtime.OutOfMemory)");
    app.add_option("--tenant-id", m_tenant_id,
                   "Tenant ID for a multi-tenant function (TenancyConfig); the function gets it "
                   "as context.tenantId / context.tenant_id")
        ->check([](const std::string& value) {
          return runtime::tenant_id_format_problem("--tenant-id", value);
        });
    add_interpreter_option(app, m_interpreters);
    add_build_dir_option(app, m_build_dir);
    app.add_option("--durable-execution-name", m_durable_name,
                   "Durable functions: the execution's name (an execution of that name and event "
                   "is attached to, not started again)");
    add_durable_time_options(app, m_time_scale, m_skip_waits);
  }

  int run(Context& context) override {
    auto& console = context.console;
    std::string event = "{}";
    if (!m_event_file.empty()) {
      if (m_event_file == "-") {
        event.clear();
        char buffer[65536];
        std::size_t n = 0;
        while ((n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0)
          event.append(buffer, n);
      } else {
        // A file, or a pipe: `-e <(wisp local generate-event s3 put)`.
        auto text = support::read_file_or_pipe(m_event_file, 16u * 1024 * 1024);
        if (!text) {
          print_error(context, text.error());
          return 1;
        }
        event = std::move(*text);
      }
    }
    // Region and credentials the way the AWS CLI finds them (flags, environment, profile),
    // without instance metadata or container endpoints: a local run never calls out.
    aws::ConfigInputs inputs;
    inputs.profile = context.global.profile;
    inputs.region = context.global.region;
    auto aws_config = aws::load_config(inputs);
    if (!aws_config) {
      print_error(context, aws_config.error());
      return 1;
    }
    auto credentials =
        aws::resolve_credentials(*aws_config, aws::process_env(), [](const aws::MetadataRequest&) {
          return aws::MetadataResponse{};
        });
    if (!credentials)
      console.debug_log("no AWS credentials found; functions get dummy ones");

    sam::LoadOptions load;
    load.region = aws_config->region.empty() ? "us-east-1" : aws_config->region;
    // A missing handler file or bootstrap is reported by the runtime, as Lambda reports it
    // (Runtime.ImportModuleError, Runtime.InvalidEntrypoint; a bootstrap may come from a
    // layer), not refused up front.
    load.check_code = false;
    int exit_code = 0;
    auto model = load_template(context, load, exit_code);
    if (!model)
      return exit_code;
    // After `wisp build`, the function runs from its build (dependencies, bundle, layers).
    std::vector<std::string> only;
    if (!m_function.empty())
      only.push_back(m_function);
    if (!use_local_builds(context, *model, m_build_dir, std::move(only)))
      return 1;

    // A durable function runs as an execution: the durable execution service and its
    // invocations until the execution ends (docs/durable.md).
    const sam::Function* target = m_function.empty() && model->functions.size() == 1
                                      ? &model->functions.front()
                                      : model->find_function(m_function);
    if (target != nullptr && durable::durable_config(*model, *target))
      return run_durable(context, *model, *target, std::move(event), load.region,
                         credentials ? &*credentials : nullptr);
    if (!m_durable_name.empty() && target != nullptr) {
      console.error(fmt::format("--durable-execution-name: function {} has no DurableConfig",
                                target->logical_id));
      return static_cast<int>(support::ExitCode::usage);
    }

    std::FILE* log_file = nullptr;
    if (!m_log_file.empty()) {
      log_file = std::fopen(m_log_file.c_str(), "ae");
      if (log_file == nullptr) {
        console.error(fmt::format("cannot open {}: {}", m_log_file, std::strerror(errno)));
        return 1;
      }
    }
    runtime::LocalInvokeOptions options;
    options.function = m_function;
    options.event = std::move(event);
    if (!m_env_vars.empty())
      options.env_vars = m_env_vars;
    options.region = load.region;
    if (credentials) {
      options.access_key_id = credentials->access_key_id;
      options.secret_access_key = credentials->secret_access_key;
      options.session_token = credentials->session_token;
    }
    options.enforce_memory = m_enforce_memory;
    options.tenant_id = m_tenant_id;
    options.interpreters = interpreter_choices(m_interpreters);
    options.endpoint_url = context.global.endpoint_url;
    runtime::LocalInvokeCallbacks callbacks;
    callbacks.log_line = [&](std::string_view line) {
      std::FILE* out = log_file != nullptr ? log_file : stderr;
      std::fwrite(line.data(), 1, line.size(), out);
      std::fputc('\n', out);
      std::fflush(out);
    };
    callbacks.warning = [&](std::string_view message) { console.warning(message); };
    callbacks.progress = [&](std::string_view message) { console.info(message); };
    bool streamed_any = false;
    callbacks.stream_chunk = [&](std::string_view bytes) {
      streamed_any = true;
      std::fwrite(bytes.data(), 1, bytes.size(), stdout);
      std::fflush(stdout);
    };
    auto result = runtime::local_invoke(*model, options, callbacks);
    if (log_file != nullptr)
      std::fclose(log_file);
    if (!result) {
      print_error(context, result.error());
      return static_cast<int>(result.error().exit_code);
    }
    if (result->interrupted_by != 0) {
      console.error("interrupted; the function's worker was stopped");
      return 128 + result->interrupted_by;
    }
    if (!result->streamed || !streamed_any || result->outcome != runtime::Outcome::success) {
      if (streamed_any && result->outcome != runtime::Outcome::success)
        console.out("\n");
      console.out(result->body);
      console.out("\n");
    }
    return result->outcome == runtime::Outcome::success ? 0 : 1;
  }

private:
  int run_durable(Context& context, const sam::Model& model, const sam::Function& function,
                  std::string event, const std::string& region,
                  const aws::Credentials* credentials) {
    auto& console = context.console;
    std::optional<runtime::EnvVarsFile> env_vars;
    if (!m_env_vars.empty()) {
      auto loaded = runtime::load_env_vars(m_env_vars);
      if (!loaded) {
        print_error(context, loaded.error());
        return static_cast<int>(loaded.error().exit_code);
      }
      env_vars = std::move(*loaded);
    }
    gateway::DurableInvokeOptions options;
    options.function = function.logical_id;
    options.name = m_durable_name;
    options.event = std::move(event);
    options.region = region;
    options.env_vars = env_vars ? &*env_vars : nullptr;
    options.log_store_dir = model.base_dir / ".wisp" / "logs";
    options.time_scale = durable_time_scale(m_time_scale);
    options.skip_waits = m_skip_waits;
    options.prompt_callbacks = context.stdin_is_tty && !context.console.json;
    options.endpoint_url = context.global.endpoint_url;
    options.interpreters = interpreter_choices(m_interpreters);
    if (credentials != nullptr) {
      options.access_key_id = credentials->access_key_id;
      options.secret_access_key = credentials->secret_access_key;
      options.session_token = credentials->session_token;
    }
    std::FILE* log_file = nullptr;
    if (!m_log_file.empty()) {
      log_file = std::fopen(m_log_file.c_str(), "ae");
      if (log_file == nullptr) {
        console.error(fmt::format("cannot open {}: {}", m_log_file, std::strerror(errno)));
        return 1;
      }
    }
    gateway::ServeOutput output;
    output.warning = [&](std::string_view message) { console.warning(message); };
    output.progress = [&](std::string_view message) { console.info(message); };
    output.log = [&](std::string_view lines) {
      std::FILE* out = log_file != nullptr ? log_file : stderr;
      std::fwrite(lines.data(), 1, lines.size(), out);
      std::fputc('\n', out);
      std::fflush(out);
    };
    auto result = gateway::invoke_durable(model, options, output);
    if (log_file != nullptr)
      std::fclose(log_file);
    if (!result) {
      print_error(context, result.error());
      return static_cast<int>(result.error().exit_code);
    }
    if (!result->finished) {
      console.error(fmt::format("interrupted; durable execution {} stays RUNNING in .wisp/durable "
                                "(run the same command again, or `wisp local start-lambda`, to "
                                "resume it)",
                                result->arn));
      return 128 + (result->signal != 0 ? result->signal : SIGINT);
    }
    console.out(result->body);
    console.out("\n");
    console.info(fmt::format("Durable execution {}{}: {}\n  wisp local execution history '{}'",
                             result->status, result->attached ? " (attached)" : "", result->arn,
                             result->arn));
    return result->status == "SUCCEEDED" ? 0 : 1;
  }

  std::string m_function;
  std::string m_event_file;
  std::string m_env_vars;
  std::string m_log_file;
  std::string m_tenant_id;
  std::vector<std::string> m_interpreters;
  std::string m_build_dir;
  bool m_enforce_memory = false;
  std::string m_durable_name;
  double m_time_scale = 0;
  bool m_skip_waits = false;
};

} // namespace

std::unique_ptr<Command> make_local_invoke_command() {
  return std::make_unique<LocalInvokeCommand>();
}

} // namespace wisp::cli
