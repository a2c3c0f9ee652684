// wisp local callback succeed|fail|heartbeat — answer a durable function's callback, as an
// external system does with SendDurableExecutionCallback{Success,Failure,Heartbeat}. The
// answer goes to the wisp running the execution, or to the store when none does (the next
// wisp to resume the execution sees it).

#include "durable_cli.hpp"

#include <wisp/durable/control.hpp>

#include <boost/json/serialize.hpp>

#include <fmt/format.h>

namespace wisp::cli {

namespace {

constexpr unsigned k_groups = k_group_template | k_group_output;

int send(Context& context, const std::string& id, std::string_view action, std::string_view body,
         std::string_view done) {
  durable::Store store(durable_store_root(context));
  const auto answer = durable::send_callback(store, id, action, body);
  if (const int code = report_answer(context, answer); code != 0)
    return code;
  if (context.console.json)
    context.console.out(answer.body + "\n");
  else
    context.console.out(fmt::format("{} {}\n", done, id));
  return 0;
}

class SucceedCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "callback", "succeed"},
            "Complete a durable function's callback successfully",
            "The callback's operation SUCCEEDS with the result given (the bytes as they are, at "
            "most 256 KiB) and the function runs again to use it.",
            {{"wisp local callback succeed CALLBACK_ID -r '{\"approved\": true}'",
              "Approve with a JSON result"}},
            k_groups};
  }
  void add_options(CLI::App& app) override {
    app.add_option("callback_id", m_id, "The CallbackId")->required();
    app.add_option("-r,--result", m_result, "The result payload");
  }
  int run(Context& context) override {
    return send(context, m_id, "succeed", m_result, "Callback succeeded:");
  }

private:
  std::string m_id;
  std::string m_result;
};

class FailCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {
        {"local", "callback", "fail"},
        "Fail a durable function's callback",
        "The callback's operation FAILS with the error given; the function runs again and "
        "sees it as an error.",
        {{"wisp local callback fail CALLBACK_ID --error-type Rejected --error-message 'no budget'",
          "Reject with an error"}},
        k_groups};
  }
  void add_options(CLI::App& app) override {
    app.add_option("callback_id", m_id, "The CallbackId")->required();
    m_error.add_to(app);
  }
  int run(Context& context) override {
    const auto error = m_error.error();
    return send(context, m_id, "fail", boost::json::serialize(durable::to_json(error)),
                "Callback failed:");
  }

private:
  std::string m_id;
  ErrorOptions m_error;
};

class HeartbeatCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"local", "callback", "heartbeat"},
            "Send a heartbeat for a durable function's callback",
            "Restarts the callback's HeartbeatTimeout: without heartbeats a callback with one "
            "times out (Callback.Heartbeat).",
            {{"wisp local callback heartbeat CALLBACK_ID", "Keep the callback alive"}},
            k_groups};
  }
  void add_options(CLI::App& app) override {
    app.add_option("callback_id", m_id, "The CallbackId")->required();
  }
  int run(Context& context) override {
    return send(context, m_id, "heartbeat", {}, "Heartbeat sent:");
  }

private:
  std::string m_id;
};

} // namespace

std::unique_ptr<Command> make_local_callback_succeed_command() {
  return std::make_unique<SucceedCommand>();
}
std::unique_ptr<Command> make_local_callback_fail_command() {
  return std::make_unique<FailCommand>();
}
std::unique_ptr<Command> make_local_callback_heartbeat_command() {
  return std::make_unique<HeartbeatCommand>();
}

} // namespace wisp::cli
