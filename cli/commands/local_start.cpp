// wisp local start — the whole app: its APIs, the Invoke API and its event sources, on one set
// of warm workers.

#include "local_serve.hpp"

#include <wisp/events/events.hpp>

namespace wisp::cli {

namespace {

class LocalStartCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "start"},
            "Serve the whole app: APIs, the Invoke API and the event sources",
            "Serves everything the template declares on one set of warm workers, with one access "
            "log and one Ctrl+C: its APIs, function URLs and WebSocket APIs as `local start-api` "
            "does (from --port on), the Lambda "
            "Invoke API as `local start-lambda` does (on --lambda-port), and its event sources "
            "against the backend --endpoint-url names (moto or LocalStack on loopback, or an AWS "
            "account): SQS, Kinesis and DynamoDB Streams polled with Lambda's semantics "
            "(batches, partial failures, filters, retries, bisection, OnFailure), Schedule and "
            "ScheduleV2 fired on time, SNS, EventBridge rules and S3 notifications delivered "
            "through the backend's own routing. With --create-resources the template's queues, "
            "topics, tables, streams, buckets and buses are created when missing (names are "
            "printed and reused on the next start); functions see their real names, URLs and "
            "ARNs and AWS_ENDPOINT_URL. Startup prints what runs where. Details: "
            "docs/events.md and docs/local-api.md.",
            {{"wisp local start --endpoint-url http://127.0.0.1:5000 --create-resources",
              "Everything, against moto_server, creating the resources on the first run"},
             {"wisp local start -p 8080 --lambda-port 8081",
              "The APIs on :8080, the Invoke API on :8081"},
             {"wisp local start --endpoint-url http://127.0.0.1:5000 --clock 2026-01-01T23:59:50Z",
              "Start the schedules' clock ten seconds before midnight"}},
            k_group_template | k_group_parameters | k_group_aws | k_group_aws_calls};
  }

  void add_options(CLI::App& app) override {
    add_serve_options(app, m_flags, 3000);
    app.add_option("--lambda-port", m_lambda_port,
                   "Port of the Lambda Invoke API (default: 3001; 0 picks a free one)")
        ->check(CLI::Range(0, 65535));
    app.add_option("-s,--static-dir", m_static_dir,
                   "Directory of static files served at / (default: public, beside the template)");
    app.add_option("--stage", m_stage,
                   "Stage name the API events report (default: each API's StageName)");
    app.add_flag("--disable-authorizer", m_disable_authorizer,
                 "Do not run authorizers (Lambda, JWT, Cognito, IAM): every request is allowed");
    app.add_option("--jwks", m_jwks,
                   "[ISSUER=]FILE|URL: the JSON Web Key Set JWT and Cognito authorizers verify "
                   "tokens with (repeatable; without ISSUER: for every issuer without its own). "
                   "Default: the issuer's /.well-known/openid-configuration");
    app.add_flag("--create-resources", m_create_resources,
                 "Create the template's queues, topics, tables, streams, buckets and buses (and "
                 "wisp's delivery queues) in the backend when missing");
    app.add_option("--clock", m_clock,
                   "Start the schedules' clock at this time (ISO 8601, e.g. "
                   "2026-01-01T11:59:58Z); it then runs at the normal pace");
  }

  int run(Context& context) override {
    int code = 0;
    auto app = load_app(context, m_flags, code);
    if (!app)
      return code;
    const auto output = serve_output(context);
    events::EventsOptions events_options;
    events_options.client.region = context.global.region;
    events_options.client.profile = context.global.profile;
    events_options.client.endpoint_url = context.global.endpoint_url;
    events_options.client.connect_timeout =
        std::chrono::seconds(context.global.cli_connect_timeout);
    events_options.client.read_timeout = std::chrono::seconds(context.global.cli_read_timeout);
    if (context.global.debug) {
      const auto* console = &context.console;
      events_options.client.debug = [console](std::string_view line) { console->debug_log(line); };
    }
    events_options.create_resources = m_create_resources;
    events_options.log_store_dir = app->model.base_dir / ".wisp" / "logs";
    events_options.info = output.info;
    events_options.log = output.log;
    events_options.warn = output.warning;
    if (!m_clock.empty()) {
      auto clock = events::clock_starting_at(m_clock);
      if (!clock) {
        print_error(context, clock.error());
        return static_cast<int>(clock.error().exit_code);
      }
      events_options.now = *clock;
    }
    auto prepared = events::LocalEvents::prepare(app->model, events_options);
    if (!prepared) {
      print_error(context, prepared.error());
      return static_cast<int>(prepared.error().exit_code);
    }
    auto& local_events = **prepared;

    gateway::StartOptions options;
    apply_serve_flags(m_flags, *app, options);
    options.lambda_port = m_lambda_port;
    options.stage = m_stage;
    options.disable_authorizer = m_disable_authorizer;
    options.jwks = m_jwks;
    std::filesystem::path static_dir = m_static_dir.empty() ? "public" : m_static_dir;
    if (static_dir.is_relative())
      static_dir = app->model.base_dir / static_dir;
    options.static_dir = static_dir;
    options.region = local_events.region();
    options.account_id = local_events.account();
    if (auto credentials = local_events.credentials()) {
      options.access_key_id = credentials->access_key_id;
      options.secret_access_key = credentials->secret_access_key;
      options.session_token = credentials->session_token;
    } else {
      // No event sources to resolve them: found as start-api finds them (functions, IAM
      // routes, function URLs and @connections need them).
      apply_credentials(context, options);
    }

    std::vector<gateway::Attachment> attachments;
    gateway::Attachment sources;
    sources.title = "Event sources";
    sources.functions = local_events.functions();
    sources.attach = [&](runtime::Engine& engine, std::function<void(std::string_view)> log) {
      return local_events.attach(engine, std::move(log));
    };
    sources.describe = [&] { return local_events.describe(); };
    sources.start = [&] { local_events.start(); };
    sources.stop = [&] { local_events.stop(); };
    sources.join = [&] { local_events.join(); };
    attachments.push_back(std::move(sources));

    if (auto served =
            gateway::serve_start(local_events.model(), options, output, std::move(attachments));
        !served) {
      print_error(context, served.error());
      return static_cast<int>(served.error().exit_code);
    }
    return 0;
  }

private:
  ServeFlags m_flags;
  int m_lambda_port = 3001;
  std::string m_static_dir;
  std::string m_stage;
  bool m_disable_authorizer = false;
  std::vector<std::string> m_jwks;
  bool m_create_resources = false;
  std::string m_clock;
};

} // namespace

std::unique_ptr<Command> make_local_start_command() {
  return std::make_unique<LocalStartCommand>();
}

} // namespace wisp::cli
