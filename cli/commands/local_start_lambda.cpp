// wisp local start-lambda — the Lambda Invoke API for the template's functions.

#include "local_serve.hpp"

namespace wisp::cli {

namespace {

class LocalStartLambdaCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "start-lambda"},
            "Serve the template's functions on a local Lambda Invoke API",
            "Answers POST /2015-03-31/functions/<name>/invocations as Lambda does: "
            "RequestResponse (200), Event (202, runs in the background) and DryRun (204); "
            "X-Amz-Log-Type: Tail returns the last 4 KB of the log in X-Amz-Log-Result; function "
            "errors carry X-Amz-Function-Error: Unhandled; unknown functions answer 404 "
            "ResourceNotFoundException and throttled ones 429 TooManyRequestsException. Point "
            "the AWS CLI or an SDK at it with --endpoint-url. Functions run as warm child "
            "processes (no Docker). Details: docs/local-api.md.",
            {{"wisp local start-lambda", "Serve every function on http://127.0.0.1:3001"},
             {"aws lambda invoke --endpoint-url http://127.0.0.1:3001 --function-name "
              "HelloWorldFunction --cli-binary-format raw-in-base64-out --payload '{}' out.json",
              "Invoke a function with the AWS CLI"},
             {"wisp local start-lambda HelloWorldFunction -p 4001",
              "Serve one function on another port"}},
            k_group_template | k_group_parameters};
  }

  void add_options(CLI::App& app) override {
    add_serve_options(app, m_flags, 3001);
    app.add_option("functions", m_functions,
                   "Functions to serve (logical ids or names; default: all)");
  }

  int run(Context& context) override {
    int code = 0;
    auto app = load_app(context, m_flags, code);
    if (!app)
      return code;
    gateway::StartLambdaOptions options;
    apply_serve_flags(m_flags, *app, options);
    options.functions = m_functions;
    const auto output = serve_output(context);
    if (auto served = gateway::serve_lambda(app->model, options, output); !served) {
      print_error(context, served.error());
      return static_cast<int>(served.error().exit_code);
    }
    return 0;
  }

private:
  ServeFlags m_flags;
  std::vector<std::string> m_functions;
};

} // namespace

std::unique_ptr<Command> make_local_start_lambda_command() {
  return std::make_unique<LocalStartLambdaCommand>();
}

} // namespace wisp::cli
