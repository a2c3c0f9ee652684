// wisp local start-api — the template's APIs on a local API Gateway, on warm workers.

#include "local_serve.hpp"

#include <filesystem>

namespace wisp::cli {

namespace {

class LocalStartApiCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {
        {"local", "start-api"},
        "Serve the template's APIs locally, as API Gateway does, on warm workers",
        "Serves every Api/HttpApi of the template (REST APIs with payload 1.0, HTTP APIs with "
        "payload 2.0 or 1.0) on --port; an API whose routes could collide with another's "
        "gets the following port. Events, responses, status codes and error texts are API "
        "Gateway's; Lambda, JWT, Cognito and IAM authorizers verify requests; CORS, binary media "
        "types, stage variables and "
        "stage throttling apply. Functions run as warm child processes (no Docker) and "
        "reload when their code changes. Function URLs (FunctionUrlConfig, AWS::Lambda::Url) get "
        "the ports after the APIs', with response streaming. Ctrl+C stops everything. Details and "
        "the documented "
        "deviations: docs/local-api.md.",
        {{"wisp local start-api", "Serve on http://127.0.0.1:3000"},
         {"wisp local start-api -p 8080 --warm-containers EAGER",
          "Start every function's worker before the first request"},
         {"wisp local start-api --env-vars env.json --parameter-overrides Stage=dev",
          "Override environment variables and template parameters"},
         {"wisp local start-api --static-dir web --disable-authorizer",
          "Serve files from web/ at / and skip authorizers"},
         {"wisp local start-api --jwks https://issuer.example.com=jwks.json",
          "Verify the issuer's JWTs with a local key set (offline)"}},
        k_group_template | k_group_parameters};
  }

  void add_options(CLI::App& app) override {
    add_serve_options(app, m_flags, 3000);
    app.add_option("-s,--static-dir", m_static_dir,
                   "Directory of static files served at / (default: public, beside the template)");
    app.add_option("--stage", m_stage,
                   "Stage name the events report (default: each API's StageName)");
    app.add_flag("--disable-authorizer", m_disable_authorizer,
                 "Do not run authorizers (Lambda, JWT, Cognito, IAM): every request is allowed");
    app.add_option("--jwks", m_jwks,
                   "[ISSUER=]FILE|URL: the JSON Web Key Set JWT and Cognito authorizers verify "
                   "tokens with (repeatable; without ISSUER: for every issuer without its own). "
                   "Default: the issuer's /.well-known/openid-configuration");
  }

  int run(Context& context) override {
    int code = 0;
    auto app = load_app(context, m_flags, code);
    if (!app)
      return code;
    gateway::StartApiOptions options;
    apply_serve_flags(m_flags, *app, options);
    apply_credentials(context, options);
    options.stage = m_stage;
    options.disable_authorizer = m_disable_authorizer;
    options.jwks = m_jwks;
    std::filesystem::path static_dir = m_static_dir.empty() ? "public" : m_static_dir;
    if (static_dir.is_relative())
      static_dir = app->model.base_dir / static_dir;
    options.static_dir = static_dir;
    const auto output = serve_output(context);
    if (auto served = gateway::serve_api(app->model, options, output); !served) {
      print_error(context, served.error());
      return static_cast<int>(served.error().exit_code);
    }
    return 0;
  }

private:
  ServeFlags m_flags;
  std::string m_static_dir;
  std::string m_stage;
  bool m_disable_authorizer = false;
  std::vector<std::string> m_jwks;
};

} // namespace

std::unique_ptr<Command> make_local_start_api_command() {
  return std::make_unique<LocalStartApiCommand>();
}

} // namespace wisp::cli
