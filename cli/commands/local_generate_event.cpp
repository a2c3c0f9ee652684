// wisp local generate-event SERVICE EVENT [flags] — prints a sample event as JSON.

#include "../command.hpp"

#include <wisp/runtime/events.hpp>

#include <fmt/format.h>

#include <map>
#include <set>

namespace wisp::cli {

namespace {

class GenerateEventCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    std::string list;
    for (const auto& kind : runtime::event_catalogue())
      list += fmt::format("  {:<11} {:<19} {}\n", kind.service, kind.event, kind.summary);
    return {{"local", "generate-event"},
            "Print a sample event (API Gateway, S3, SQS, SNS, ...) as JSON",
            "Prints the event an AWS service sends to Lambda, ready for `wisp local invoke -e`. "
            "Ids and timestamps are fresh; flags set the fields people change (each event "
            "takes only its own flags).\n\nEvents:\n" +
                list,
            {{"wisp local generate-event s3 put --bucket photos --key 'raw/cat 1.jpg'",
              "An S3 upload notification (the key is URL-encoded as S3 does)"},
             {"wisp local generate-event apigateway aws-proxy --method GET --path /users/7 | "
              "wisp local invoke UsersFunction -e -",
              "Pipe a REST API request into a function"},
             {"wisp local generate-event sqs receive-message --body '{\"id\": 1}'",
              "An SQS batch of one message"}},
            0};
  }

  void add_options(CLI::App& app) override {
    std::vector<std::string> services;
    std::vector<std::string> events;
    for (const auto& kind : runtime::event_catalogue()) {
      if (std::find(services.begin(), services.end(), kind.service) == services.end())
        services.push_back(kind.service);
      if (std::find(events.begin(), events.end(), kind.event) == events.end())
        events.push_back(kind.event);
    }
    set_choices(app.add_option("service", m_service, "AWS service")->required(), services);
    set_choices(app.add_option("event", m_event, "Event of that service")->required(), events);
    for (const auto& flag : runtime::all_event_flags()) {
      auto* option = app.add_option("--" + flag.name, m_values[flag.name], flag.help);
      option->group("Event fields");
      m_options[flag.name] = option;
    }
  }

  int run(Context& context) override {
    std::map<std::string, std::string> given;
    for (const auto& [name, option] : m_options)
      if (option->count() > 0)
        given[name] = m_values[name];
    auto event = runtime::generate_event(m_service, m_event, given);
    if (!event) {
      print_error(context, event.error());
      return static_cast<int>(event.error().exit_code);
    }
    context.console.out(*event);
    return 0;
  }

private:
  std::string m_service;
  std::string m_event;
  std::map<std::string, std::string> m_values;
  std::map<std::string, CLI::Option*> m_options;
};

} // namespace

std::unique_ptr<Command> make_local_generate_event_command() {
  return std::make_unique<GenerateEventCommand>();
}

} // namespace wisp::cli
